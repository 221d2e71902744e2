import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { createRedisStore, MARKER_PREFIX, MARKER_TTL_SECONDS } from '../../src/redis-store.ts';
import type { VisitStore } from '../../src/visit-store.ts';
import { counterUserPermissions } from '../helpers/counter-user.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

describe('the Redis store, as the restricted counter user', () => {
  // The Compose stack's ACL: default user off, the app's user limited to what counting needs.
  const redis = new RedisServer({
    // DEBUG enabled so that the ACL, not this switch, is what refuses it below.
    args: ['--enable-debug-command', 'yes', '--user', 'default', 'off', 'resetpass', '~*', '&*', '+@all', '--user', 'counter', 'on', '>counter-pw', ...counterUserPermissions(), '--user', 'admin', 'on', '>admin-pw', '~*', '&*', '+@all'],
    password: 'admin-pw',
    username: 'admin',
  });
  let store: VisitStore;

  before(async () => {
    await redis.start();
    store = createRedisStore({
      connection: { url: redis.url, username: 'counter', password: 'counter-pw', database: 0 },
      timeoutMs: 500,
      log: createLogger('silent', 'it'),
    });
    await waitFor('the store ready', () => store.isReady(), 5000);
  });
  after(async () => {
    await store.close();
    await redis.destroy();
  });

  it('counts with plain INCR and with idempotency keys', async () => {
    const start = await redis.visits();
    assert.equal(await store.increment(), start + 1);
    assert.equal(await store.increment('req-a'), start + 2);
  });

  it('counts a key once, answers repeats with the first total, and lets the marker expire', async () => {
    const first = await store.increment('req-b');
    assert.equal(await store.increment('req-b'), first);
    assert.equal(await redis.visits(), first);
    const ttl = Number(await redis.command(['TTL', `${MARKER_PREFIX}req-b`]));
    assert.ok(ttl > 0 && ttl <= MARKER_TTL_SECONDS, `ttl ${ttl}`);
  });

  it('counts 400 concurrent calls over 200 keys (each sent twice) exactly 200 times', async () => {
    const start = await redis.visits();
    const keys = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
    const totals = await Promise.all([...keys, ...keys].map((key) => store.increment(key)));
    assert.equal(await redis.visits(), start + 200);
    assert.equal(new Set(totals).size, 200);
    keys.forEach((key, i) => {
      assert.equal(totals[i], totals[i + 200], `${key} answered twice alike`);
    });
  });

  it('is refused everything else: FLUSHALL, CONFIG, KEYS, DEBUG and other keys are NOPERM', async () => {
    const asCounter = new RedisServer({ username: 'counter', password: 'counter-pw' });
    asCounter.port = redis.port;
    for (const command of [['FLUSHALL'], ['CONFIG', 'GET', 'dir'], ['KEYS', '*'], ['DEBUG', 'SLEEP', '0'], ['GET', 'other-key'], ['DEL', 'visits']]) {
      await assert.rejects(asCounter.command(command), /NOPERM/, command.join(' '));
    }
  });

  it('cannot be used without credentials: the default user is off', async () => {
    const anonymous = new RedisServer();
    anonymous.port = redis.port;
    await assert.rejects(anonymous.command(['GET', 'visits']), /NOAUTH|WRONGPASS|NOPERM/);
  });
});
