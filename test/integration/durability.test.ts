import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
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
const ADMIN = { username: 'admin', password: 'durability-admin-pw' };
const withProjectConfig = (appendfsync: 'always' | 'everysec') =>
  new RedisServer({ asInTheStack: { appendfsync, adminPassword: ADMIN.password }, username: 'counter', password: 'durability-pw' });

/** The incremental append-only file, where the writes since the last rewrite go. */
const incrementalAof = (redis: RedisServer): string => {
  const aofDir = join(redis.dir, 'appendonlydir');
  const incrFile = readdirSync(aofDir).find((name) => name.endsWith('.incr.aof'));
  assert.ok(incrFile, 'an incremental AOF file exists');
  return join(aofDir, incrFile);
};


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

  // A SIGKILL of the Redis process cannot tell the two policies apart (the file is written before
  // the reply either way): what the tests can check is that the setting reaches the running Redis.
  for (const appendfsync of ['always', 'everysec'] as const) {
    it(`REDIS_APPENDFSYNC=${appendfsync} is the running Redis's appendfsync, with the append-only file on`, async () => {
      redis = withProjectConfig(appendfsync);
      await redis.start();
      assert.deepEqual(await redis.command(['CONFIG', 'GET', 'appendfsync'], ADMIN), { appendfsync });
      assert.deepEqual(await redis.command(['CONFIG', 'GET', 'appendonly'], ADMIN), { appendonly: 'yes' });
    });
  }

  it('a torn last record of the append-only file does not stop Redis from starting', async () => {
    redis = withProjectConfig('always');
    await redis.start();
    const acknowledged = await incrementBy(redis, 20);
    await redis.stop('SIGKILL');
    // Half a command, as a crash in the middle of a write leaves it.
    appendFileSync(incrementalAof(redis), '*4\r\n$7\r\nHINCRBY\r\n$18\r\nc:{default/vis');
    await redis.start();
    assert.equal(await redis.visits(), acknowledged);
    assert.equal(await redis.hit(), acknowledged + 1);
  });

  it("a torn MULTI … EXEC block (a counter function's writes, cut off before EXEC ends) is left out: Redis starts with the count before it", async () => {
    redis = withProjectConfig('always');
    await redis.start();
    const acknowledged = await incrementBy(redis, 20);
    await redis.stop('SIGKILL');
    // The last block a function call wrote whole (here the first hit's, which made the counter:
    // MULTI, HINCRBY of the value and of the creation time, EXEC; later hits write one command),
    // written once more and cut off inside the EXEC: a crash in the middle of that write.
    const file = incrementalAof(redis);
    const written = readFileSync(file, 'latin1');
    const MULTI = '*1\r\n$5\r\nMULTI\r\n';
    const EXEC = '*1\r\n$4\r\nEXEC\r\n';
    const start = written.lastIndexOf(MULTI);
    const block = written.slice(start, written.indexOf(EXEC, start) + EXEC.length);
    assert.ok(start >= 0 && block.endsWith(EXEC), 'the function call wrote a MULTI … EXEC block');
    assert.match(block, /HINCRBY\r\n\$18\r\nc:\{default\/visits\}/);
    appendFileSync(file, block.slice(0, -4), 'latin1');
    await redis.start();
    assert.equal(await redis.visits(), acknowledged, 'the torn block counted nothing');
    assert.equal(await redis.hit(), acknowledged + 1);
  });
});
