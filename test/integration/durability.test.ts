import assert from 'node:assert/strict';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { VISITS } from '../../src/routes/count.ts';
import { createRedisStore } from '../../src/store/redis-store.ts';
import { COUNTING } from '../helpers/in-process-app.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

// The stack's own start script, redis.conf and ACL, on the host: only where it listens and
// writes differ from the container.
const withProjectConfig = (appendfsync: 'always' | 'everysec') =>
  new RedisServer({ asInTheStack: { appendfsync }, username: 'counter', password: 'durability-pw' });


const incrementBy = async (redis: RedisServer, n: number): Promise<number> => {
  let last = 0;
  for (let i = 0; i < n; i += 1) last = await redis.hit();
  return last;
};

describe("Redis durability with the stack's redis.conf", () => {
  let redis: RedisServer | undefined;

  afterEach(async () => {
    await redis?.destroy();
  });

  it('appendfsync always: a SIGKILL right after the last acknowledged INCR loses nothing', async () => {
    redis = withProjectConfig('always');
    await redis.start();
    const acknowledged = await incrementBy(redis, 200);
    await redis.stop('SIGKILL');
    await redis.start();
    assert.equal(await redis.visits(), acknowledged);
  });

  it('appendfsync everysec: a SIGKILL keeps everything acknowledged more than 2 s before it', async () => {
    redis = withProjectConfig('everysec');
    await redis.start();
    const acknowledgedEarly = await incrementBy(redis, 200);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const acknowledgedLate = await incrementBy(redis, 50);
    await redis.stop('SIGKILL');
    await redis.start();
    const recovered = await redis.visits();
    assert.ok(recovered >= acknowledgedEarly, `recovered ${recovered} < ${acknowledgedEarly} acknowledged 2 s before the crash`);
    assert.ok(recovered <= acknowledgedLate);
  });

  it('hits counted through the counter function with idempotency keys (MULTI/EXEC in the AOF) survive a restart', async () => {
    redis = withProjectConfig('everysec');
    await redis.start();
    const store = createRedisStore({
      connection: { url: redis.url, username: 'counter', password: 'durability-pw', database: 0 },
      timeoutMs: 1000,
      log: createLogger('silent', 'it'),
      ...COUNTING,
    });
    try {
      await waitFor('the store ready', () => store.isReady(), 5000);
      let total = 0;
      for (let i = 0; i < 50; i += 1) total = (await store.hit(VISITS, { idempotencyKey: `restart-${i}` })).value;
      await redis.stop('SIGTERM');
      await redis.start();
      assert.equal(await redis.visits(), total);
    } finally {
      await store.close();
    }
  });

  it('a torn last record of the append-only file does not stop Redis from starting', async () => {
    redis = withProjectConfig('always');
    await redis.start();
    const acknowledged = await incrementBy(redis, 20);
    await redis.stop('SIGKILL');
    const aofDir = join(redis.dir, 'appendonlydir');
    const incrFile = readdirSync(aofDir).find((name) => name.endsWith('.incr.aof'));
    assert.ok(incrFile, 'an incremental AOF file exists');
    // Half a command, as a crash in the middle of a write leaves it.
    appendFileSync(join(aofDir, incrFile), '*4\r\n$7\r\nHINCRBY\r\n$18\r\nc:{default/vis');
    await redis.start();
    assert.equal(await redis.visits(), acknowledged);
    assert.equal(await redis.hit(), acknowledged + 1);
  });
});
