import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertRedisInstalled, RedisServer } from '../helpers/redis-server.ts';

// The stack's own redis.conf, with only what a test on the host must change: where to listen and
// which folder to write to. Redis reads `dir /data` (the container's volume) before any override
// on the command line, so that one line is dropped from a copy; --dir gives the test's folder.
const REDIS_CONF = (() => {
  const text = readFileSync(fileURLToPath(new URL('../../redis/redis.conf', import.meta.url)), 'utf8');
  assert.match(text, /^dir \/data$/m);
  const copy = join(mkdtempSync(join(tmpdir(), 'visit-counter-conf-')), 'redis.conf');
  writeFileSync(copy, text.replace(/^dir \/data$/m, ''));
  return copy;
})();

const withProjectConfig = (appendfsync: 'always' | 'everysec') =>
  new RedisServer({ config: REDIS_CONF, args: ['--appendfsync', appendfsync] });

const incrementBy = async (redis: RedisServer, n: number): Promise<number> => {
  let last = 0;
  for (let i = 0; i < n; i += 1) last = Number(await redis.command(['INCR', 'visits']));
  return last;
};

describe("Redis durability with the stack's redis.conf", () => {
  let redis: RedisServer | undefined;

  before(() => {
    assertRedisInstalled();
  });
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

  it('a torn last record of the append-only file does not stop Redis from starting', async () => {
    redis = withProjectConfig('always');
    await redis.start();
    const acknowledged = await incrementBy(redis, 20);
    await redis.stop('SIGKILL');
    const aofDir = join(redis.dir, 'appendonlydir');
    const incrFile = readdirSync(aofDir).find((name) => name.endsWith('.incr.aof'));
    assert.ok(incrFile, 'an incremental AOF file exists');
    // Half a command, as a crash in the middle of a write leaves it.
    appendFileSync(join(aofDir, incrFile), '*2\r\n$4\r\nINCR\r\n$6\r\nvis');
    await redis.start();
    assert.equal(await redis.visits(), acknowledged);
    assert.equal(await redis.command(['INCR', 'visits']), acknowledged + 1);
  });
});
