import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { CounterStore } from '../../src/store/counter-store.ts';
import { FUNCTIONS_VERSION } from '../../src/store/keys.ts';
import { createRedisStore } from '../../src/store/redis-store.ts';
import { freePort } from '../helpers/free-port.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';
import type { pino } from 'pino';
import { capturedLog } from '../helpers/captured-log.ts';

const WARN = 40;
const INFO = 30;

/** The Redis store's life around its connection: what it logs, and what close() does. */
describe('the Redis store, connecting, losing Redis and closing', () => {
  const redis = new RedisServer();
  let redisUp = false;
  // Every store is closed at the end, also after a failed test (an open one would keep the process alive).
  const stores: CounterStore[] = [];

  before(async () => {
    await redis.start();
    redisUp = true;
  });
  after(async () => {
    for (const store of stores) await store.close();
    await redis.destroy();
  });

  const open = (log: pino.Logger, statsFlushMs = 60_000): CounterStore => {
    const store = createRedisStore({ connection: { url: redis.url, database: 0 }, timeoutMs: 500, log, ttlDays: 0, historyDays: 30, timeZone: 'UTC', statsFlushMs });
    stores.push(store);
    return store;
  };

  it('logs "redis ready", then one warning per distinct connection problem while Redis is away, and "redis ready" again', async () => {
    const { log, lines } = capturedLog();
    const store = open(log);
    try {
      await waitFor('the store ready', () => store.isReady(), 5000);
      assert.deepEqual(lines.filter((line) => line.msg === 'redis ready').map((line) => line.level), [INFO]);

      await redis.stop();
      redisUp = false;
      await waitFor('a connection problem logged', async () => lines.some((line) => line.msg === 'redis connection problem'), 5000);
      // Reconnect attempts go on (at most a second apart); the same error is not logged again.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const problems = lines.filter((line) => line.msg === 'redis connection problem');
      assert.ok(problems.length >= 1 && problems.every((line) => line.level === WARN && typeof line.err === 'string' && line.err !== ''), JSON.stringify(problems));
      assert.equal(new Set(problems.map((line) => line.err)).size, problems.length, `each distinct error once: ${JSON.stringify(problems)}`);
      assert.equal(await store.isReady(), false);

      await redis.start();
      redisUp = true;
      await waitFor('the store ready again', () => store.isReady(), 10_000);
      assert.equal(lines.filter((line) => line.msg === 'redis ready').length, 2);
    } finally {
      if (!redisUp) {
        await redis.start();
        redisUp = true;
      }
    }
  });

  it('a subscription made while Redis is away starts when Redis comes; one ended while Redis is away stays ended, and its end is no warning', async () => {
    const { log, lines } = capturedLog();
    const store = open(log);
    const subscribers = async () => ((await redis.command(['PUBSUB', 'NUMSUB', 'counter-updates'])) as [string, number])[1];
    let kept: (() => Promise<void>) | undefined;
    try {
      await waitFor('the store ready', () => store.isReady(), 5000);
      await redis.stop();
      redisUp = false;
      kept = await store.subscribe(() => undefined);
      const ended = await store.subscribe(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await ended();
      await redis.start();
      redisUp = true;
      await waitFor('the kept subscription back', async () => (await subscribers()) >= 1, 10_000);
      // Reconnect attempts are at most a second apart: an ended subscriber still trying would be back by now.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      assert.equal(await subscribers(), 1);
      assert.deepEqual(lines.filter((line) => line.msg === 'cannot subscribe to counter updates'), [], 'ending a subscription is not reported as a failure');
      await kept();
      kept = undefined;
      await waitFor('no subscriber left', async () => (await subscribers()) === 0, 2000);
    } finally {
      await kept?.(); // a failed check must not leave a subscription holding the process open
      if (!redisUp) {
        await redis.start();
        redisUp = true;
      }
    }
  });

  it('ignores a counter-updates message that is not JSON, logging it, and goes on listening', async () => {
    const { log, lines } = capturedLog();
    const store = open(log);
    await waitFor('the store ready', () => store.isReady(), 5000);
    const heard: unknown[] = [];
    const unsubscribe = await store.subscribe((changes) => heard.push(changes));
    try {
      await waitFor('subscribed', async () => ((await redis.command(['PUBSUB', 'NUMSUB', 'counter-updates'])) as [string, number])[1] === 1, 5000);
      await redis.command(['PUBLISH', 'counter-updates', 'not json']);
      await redis.command(['PUBLISH', 'counter-updates', '{"changes":{"a/b":1}}']);
      await waitFor('the valid message heard', async () => heard.length === 1, 5000);
      assert.deepEqual(heard, [{ changes: { 'a/b': 1 } }]);
      const ignored = lines.filter((line) => line.msg === 'ignored a malformed counter-updates message');
      assert.equal(ignored.length, 1);
      assert.equal(ignored[0]?.level, WARN);
      assert.match(ignored[0].err ?? '', /^SyntaxError: /);
    } finally {
      await unsubscribe();
    }
  });

  it('close() adds the requests not yet flushed to /stats', async () => {
    const { log } = capturedLog();
    const counting = open(log);
    await waitFor('the store ready', () => counting.isReady(), 5000);
    const before = await counting.stats();
    await counting.hit({ namespace: 'lifecycle', key: 'flush' });
    await counting.close();

    const reader = open(log);
    await waitFor('the reader ready', () => reader.isReady(), 5000);
    const after = await reader.stats();
    // The first stats() call, the hit; the flush interval (a minute) never came.
    assert.equal(after.requests - before.requests, 2);
    assert.equal(after.keysCreated - before.keysCreated, 1);
    assert.equal(after.keysUpdated - before.keysUpdated, 1);
  });

  it('with history off (HISTORY_DAYS=0) counts hits and keeps no day', async () => {
    const { log } = capturedLog();
    const store = createRedisStore({ connection: { url: redis.url, database: 0 }, timeoutMs: 500, log, ttlDays: 0, historyDays: 0, timeZone: 'UTC' });
    stores.push(store);
    await waitFor('the store ready', () => store.isReady(), 5000);
    const id = { namespace: 'lifecycle', key: 'no-history' };
    assert.deepEqual(await store.hit(id), { value: 1, created: true });
    assert.deepEqual(await store.hit(id), { value: 2, created: false });
    const fields = (await redis.command(['HKEYS', 'c:{lifecycle/no-history}'])) as string[];
    assert.deepEqual(fields.filter((field) => /^\d{8}$/.test(field)), []);
  });

  it('is not ready, and logs an error naming the cause, when Redis refuses the readiness check (no functions loaded)', async () => {
    const { log, lines } = capturedLog();
    await redis.command(['FUNCTION', 'FLUSH']);
    try {
      const store = open(log);
      await waitFor('the readiness check refused', async () => !(await store.isReady()) && lines.some((line) => line.msg === 'redis refused the readiness check'), 5000);
      const refused = lines.filter((line) => line.msg === 'redis refused the readiness check');
      assert.ok(refused.every((line) => line.level === 50 && /Function not found/i.test(line.err ?? '')), JSON.stringify(refused));
    } finally {
      await redis.loadFunctions();
    }
  });

  // Cluster: the error says the seeds gave no layout; Sentinel: the sentinel's own connection error.
  const unreachable = [
    { mode: "a Cluster's seeds", failure: 'All the root nodes are unavailable', connection: (port: number) => ({ url: `redis://127.0.0.1:${port}`, database: 0, clusterNodes: [{ host: '127.0.0.1', port }] }) },
    { mode: 'the sentinels', failure: 'Socket closed unexpectedly', connection: (port: number) => ({ kind: 'sentinel' as const, sentinels: [{ host: '127.0.0.1', port }], masterName: 'counter-master', database: 0 }) },
  ];
  for (const { mode, failure, connection } of unreachable) {
    it(`with ${mode} unreachable at start, logs why and keeps trying, backing off up to a second apart, until closed`, async () => {
      // A port that takes each connection and drops it at once: the count of connections is the count of attempts.
      let attempts = 0;
      const dropper = createServer((socket) => {
        attempts += 1;
        socket.destroy();
      });
      await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
      const { port } = dropper.address() as AddressInfo;
      try {
        const { log, lines } = capturedLog();
        const store = createRedisStore({ connection: connection(port), timeoutMs: 500, log, ttlDays: 0, historyDays: 30, timeZone: 'UTC' });
        stores.push(store);
        await waitFor('the failed attempt logged', async () => lines.some((line) => line.msg === 'redis connection problem' && line.err === failure), 5000);
        const from = attempts;
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const tried = attempts - from;
        // Waits of 50, 100, 200, 400, 800 ms, then 1 s: a few attempts in 3 s, not one every few milliseconds.
        assert.ok(tried >= 2 && tried <= 10, `${tried} attempts in 3 s`);
        // Every attempt fails again, with errors that may alternate: each distinct one is logged once.
        const warned = lines.filter((line) => line.msg === 'redis connection problem').map((line) => String(line.err));
        assert.deepEqual(warned, [...new Set(warned)], `each connection problem logged once over ${attempts} attempts`);
        assert.equal(await store.isReady(), false);
        await store.close();
        const atClose = attempts;
        await new Promise((resolve) => setTimeout(resolve, 1500));
        assert.equal(attempts, atClose, 'no attempt after close()');
      } finally {
        dropper.close();
      }
    });
  }

  it('retries a Redis it cannot reach after 50 ms, then backing off: several attempts in its first second, not one a second', async () => {
    // A Redis that takes each connection and drops it before the handshake (AUTH) is answered:
    // the count of connections is the count of attempts.
    const attempts: number[] = [];
    const dropper = createServer((socket) => {
      attempts.push(performance.now());
      socket.destroy();
    });
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    const { port } = dropper.address() as AddressInfo;
    try {
      const { log } = capturedLog();
      const store = createRedisStore({ connection: { url: `redis://127.0.0.1:${port}`, password: 'no-redis-here', database: 0 }, timeoutMs: 500, log, ttlDays: 0, historyDays: 30, timeZone: 'UTC' });
      stores.push(store);
      await waitFor('a first attempt', async () => attempts.length > 0, 5000, 10);
      const first = attempts[0] ?? 0;
      await waitFor('the first 1.2 s of attempts', async () => performance.now() - first > 1200, 5000, 50);
      // Waits of 50, 100, 200, 400 ms: 5 attempts by 750 ms (a wait of a second from the start would allow 2).
      const early = attempts.filter((at) => at - first <= 1200).length;
      assert.ok(early >= 4, `${early} attempts in the first 1.2 s`);
      await store.close();
    } finally {
      dropper.close();
    }
  });

  it('close() ends at once while Redis is away; the store then refuses calls', async () => {
    const { log, lines } = capturedLog();
    const nowhere = createRedisStore({
      connection: { url: `redis://127.0.0.1:${await freePort()}`, database: 0 },
      timeoutMs: 500,
      log,
      ttlDays: 0,
      historyDays: 30,
      timeZone: 'UTC',
    });
    stores.push(nowhere);
    await waitFor('a connection problem logged', async () => lines.some((line) => line.msg === 'redis connection problem'), 5000);
    const started = Date.now();
    await nowhere.close();
    assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`);
    assert.equal(await nowhere.isReady(), false);
    await assert.rejects(nowhere.get({ namespace: 'lifecycle', key: 'gone' }), { name: 'StoreUnavailableError', message: 'redis is not connected' });
  });
});

describe('the Redis store of a Cluster whose nodes are up but not yet joined (no slot assigned)', () => {
  // A node as the stack starts it with REDIS_CLUSTER=yes, before `redis-cli --cluster create`.
  const node = new RedisServer({
    username: 'counter',
    password: 'counter-pw',
    asInTheStack: { adminPassword: 'admin-pw', cluster: { nodeTimeoutMs: 2000, replicationPassword: 'replication-pw' } },
  });
  let store: CounterStore | undefined;

  before(() => node.start());
  after(async () => {
    await store?.close();
    await node.destroy();
  });

  it('is not ready, with an error line saying it found no master, though the node answers', async () => {
    const { log, lines } = capturedLog();
    store = createRedisStore({
      connection: { url: `redis://127.0.0.1:${node.port}`, username: 'counter', password: 'counter-pw', database: 0, clusterNodes: [{ host: '127.0.0.1', port: node.port }] },
      timeoutMs: 500, log, ttlDays: 0, historyDays: 30, timeZone: 'UTC',
    });
    await waitFor('the cluster found (its layout read)', async () => lines.some((line) => line.msg === 'redis ready'), 5000, 20);
    assert.equal(await store.isReady(), false);
    const noMaster = lines.filter((line) => line.msg === 'redis has another version of the counter functions');
    assert.equal(noMaster.length, 1, JSON.stringify(lines));
    assert.equal(noMaster[0]?.level, 50);
    assert.equal(noMaster[0].found, 'no master');
    assert.equal(noMaster[0].needed, FUNCTIONS_VERSION);
  });
});
