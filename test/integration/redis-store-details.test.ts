import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, it, mock } from 'node:test';
import { createClient } from 'redis';
import type { pino } from 'pino';
import { compactDay, lastDays, secondsLeftInDay } from '../../src/counters/days.ts';
import { digestOf } from '../../src/counters/owner-keys.ts';
import type { CounterStore } from '../../src/store/counter-store.ts';
import { counterKeys, instanceKeys } from '../../src/store/keys.ts';
import { LOAD_BUCKET_SECONDS, LOAD_BUCKETS } from '../../src/store/instance-view.ts';
import { createRedisStore, type RedisStoreOptions } from '../../src/store/redis-store.ts';
import { capturedLog, type LogLine } from '../helpers/captured-log.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

const ERROR = 50;
const WARN = 40;
const defaults = { value: 0, enableReset: false, lowerBound: -1, upperBound: 1, adminKeyDigest: '' };
const LIBRARY = readFileSync(new URL('../../redis/functions/counter.lua', import.meta.url), 'utf8');
// A user that may read (FCALL_RO) but not count (FCALL): its hits are refused with NOPERM.
const READER = { username: 'reader', password: 'reader-pw' };

/**
 * The Redis store's details that users see through /stats, /readyz, the counters' answers and the
 * log: what counts as an outage or a fault, what each request adds to /stats, which day a hit
 * lands on, how long its keys live, and how fast it reconnects. Each against a real Redis.
 */
describe('the Redis store, in detail', () => {
  // A script running longer than 100 ms makes Redis answer BUSY to everything else.
  const redis = new RedisServer({ args: ['--busy-reply-threshold', '100'] });
  const stores: CounterStore[] = [];
  const command = (...args: string[]) => redis.command(args);

  const open = async (options: Partial<RedisStoreOptions> & { log?: pino.Logger } = {}): Promise<CounterStore> => {
    const store = createRedisStore({
      connection: { url: redis.url, database: 0 },
      timeoutMs: 1000,
      log: capturedLog().log,
      ttlDays: 0,
      historyDays: 30,
      timeZone: 'UTC',
      statsFlushMs: 3_600_000,
      ...options,
    });
    stores.push(store);
    await waitFor('the store ready', () => store.isReady(), 5000, 10);
    return store;
  };
  const statsHash = async () => {
    const [requests = 0, keysCreated = 0, keysUpdated = 0] = ((await command('HMGET', 'stats', 'requests', 'keys_created', 'keys_updated')) as (string | null)[]).map(Number);
    return { requests, keysCreated, keysUpdated };
  };
  const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;

  before(async () => {
    await redis.start();
    await command('ACL', 'SETUSER', READER.username, 'on', `>${READER.password}`, '~*', '+@all', '-fcall');
  });
  afterEach(async () => {
    mock.timers.reset();
    for (const store of stores.splice(0)) await store.close();
  });
  after(async () => {
    await redis.destroy();
  });

  describe('outage or fault', () => {
    it('an error reply that is no outage is a fault: StoreFaultError naming the function, an error line, not ready for 10 s (by the clock) unless a call succeeds', async () => {
      const { log, lines } = capturedLog();
      const store = await open({ log, connection: { url: redis.url, database: 0, ...READER } });
      const started = Date.now();
      mock.timers.enable({ apis: ['Date'], now: started });
      await assert.rejects(store.hit({ namespace: 'fault', key: 'one' }), (error: Error) => {
        assert.equal(error.name, 'StoreFaultError');
        assert.match(error.message, /^redis refused counter_hit: NOPERM /);
        return true;
      });
      const refused = lines.filter((line) => line.msg === 'redis refused a counter function');
      assert.equal(refused.length, 1, JSON.stringify(lines));
      assert.equal(refused[0]?.level, ERROR);
      assert.equal(refused[0].function, 'counter_hit');
      assert.match(refused[0].err ?? '', /^NOPERM /);

      mock.timers.setTime(started + 9_999);
      assert.equal(await store.isReady(), false);
      const held = lines.filter((line) => line.msg === 'not ready: the last counter function call failed');
      assert.equal(held.length, 1);
      assert.equal(held[0]?.level, ERROR);
      assert.match(held[0].err ?? '', /^NOPERM /);
      mock.timers.setTime(started + 10_000);
      assert.equal(await store.isReady(), true, 'ready again 10 s after the fault (the readiness check itself passes)');
    });

    it("an error reply that only mentions a transient word (not at its start) is a fault", async () => {
      const store = await open();
      await command('FUNCTION', 'LOAD', 'REPLACE', LIBRARY.replace('if hits > MAX_HITS_PER_CALL then', "if true then return redis.error_reply('ERR the BUSY road is closed') end if hits > MAX_HITS_PER_CALL then"));
      try {
        await assert.rejects(store.hit({ namespace: 'fault', key: 'word' }), { name: 'StoreFaultError', message: 'redis refused counter_hit: ERR the BUSY road is closed' });
      } finally {
        await redis.loadFunctions();
      }
    });

    it('a fault is forgotten as soon as a call succeeds', async () => {
      const store = await open({ connection: { url: redis.url, database: 0, ...READER } });
      await assert.rejects(store.hit({ namespace: 'fault', key: 'two' }), { name: 'StoreFaultError' });
      assert.equal(await store.isReady(), false);
      assert.equal(await store.get({ namespace: 'fault', key: 'two' }), null); // FCALL_RO is allowed
      assert.equal(await store.isReady(), true);
    });

    it('BUSY (Redis running a long script) is an outage: StoreUnavailableError, a warning, no fault held afterwards', async () => {
      const { log, lines } = capturedLog();
      const store = await open({ log });
      const script = command('EVAL', "local s = redis.call('TIME')[1]; while redis.call('TIME')[1] - s < 5 do end; return 1", '0').catch((error: unknown) => error);
      try {
        await sleep(250);
        await assert.rejects(store.get({ namespace: 'busy', key: 'one' }), (error: Error) => {
          assert.equal(error.name, 'StoreUnavailableError');
          assert.match(error.message, /^BUSY /);
          return true;
        });
        assert.equal(await store.isReady(), false);
        const failed = lines.filter((line) => line.msg === 'redis readiness check failed');
        assert.equal(failed.length, 1, JSON.stringify(lines));
        assert.equal(failed[0]?.level, WARN);
        assert.match(failed[0].err ?? '', /^BUSY /);
        assert.deepEqual(lines.filter((line) => line.level >= ERROR), [], 'no error line for an outage');
      } finally {
        await command('SCRIPT', 'KILL').catch(() => undefined);
        await script;
      }
      assert.equal(await store.isReady(), true, 'ready as soon as Redis answers again: an outage leaves no fault');
    });

    it('a Redis that does not answer turns into StoreUnavailableError after timeoutMs', async () => {
      const store = await open({ timeoutMs: 200 });
      await redis.pause();
      try {
        await assert.rejects(store.get({ namespace: 'stall', key: 'one' }), { name: 'StoreUnavailableError', message: 'redis did not answer within 200 ms' });
      } finally {
        await redis.resume();
      }
    });

    it('leaves no deadline timer behind once a call has answered, or failed', async () => {
      // A minute's deadline: a timer not cleared would stay among the active resources.
      const store = await open({ timeoutMs: 60_000 });
      const before = timers();
      for (let i = 0; i < 20; i += 1) await store.get({ namespace: 'timers', key: 'one' });
      assert.ok(timers() - before < 10, `${timers() - before} timers left by 20 answered calls`);
      const refused = await open({ timeoutMs: 60_000, connection: { url: redis.url, database: 0, ...READER } });
      const beforeFailing = timers();
      for (let i = 0; i < 20; i += 1) await refused.hit({ namespace: 'timers', key: 'one' }).catch(() => undefined);
      assert.ok(timers() - beforeFailing < 10, `${timers() - beforeFailing} timers left by 20 failed calls`);
    });

    it('is not ready, with an error line naming both versions, while Redis has another version of the functions', async () => {
      const { log, lines } = capturedLog();
      const store = await open({ log });
      await command('FUNCTION', 'LOAD', 'REPLACE', LIBRARY.replace('local VERSION = 3', 'local VERSION = 4'));
      try {
        assert.equal(await store.isReady(), false);
      } finally {
        await redis.loadFunctions();
      }
      const other = lines.filter((line) => line.msg === 'redis has another version of the counter functions');
      assert.equal(other.length, 1);
      assert.equal(other[0]?.level, ERROR);
      assert.equal(other[0].found, 4);
      assert.equal(other[0].needed, 3);
      assert.equal(await store.isReady(), true);
    });
  });

  describe('connection', () => {
    it('reconnects within a fraction of a second after its connection drops, and logs a drop again after each recovery', async () => {
      const { log, lines } = capturedLog();
      const store = await open({ log });
      const problems = () => lines.filter((line) => line.msg === 'redis connection problem');
      for (const round of [1, 2]) {
        const dropped = Date.now();
        await command('CLIENT', 'KILL', 'TYPE', 'normal');
        await waitFor(`drop ${round} logged`, async () => problems().length === round, 2000, 5);
        await waitFor(`ready after drop ${round}`, () => store.isReady(), 3000, 10);
        // The first attempt after a drop comes after 50 ms; a second would be the slow pace.
        assert.ok(Date.now() - dropped < 700, `round ${round}: ready again after ${Date.now() - dropped} ms`);
      }
      assert.equal(problems()[0]?.err, problems()[1]?.err, 'the same problem, logged once per outage');
    });
  });

  describe('/stats', () => {
    it('adds what a replica served every statsFlushMs, without being asked; a hit on an existing counter, a creation alone', async () => {
      const store = await open({ statsFlushMs: 100 });
      await sleep(200);
      const before = await statsHash();
      await store.create({ namespace: 'flush', key: 'one' }, defaults);
      await waitFor('the creation added', async () => (await statsHash()).keysCreated === before.keysCreated + 1, 700, 20);
      await store.hit({ namespace: 'flush', key: 'one' });
      await waitFor('the hit added', async () => (await statsHash()).keysUpdated === before.keysUpdated + 1, 700, 20);
      assert.deepEqual(await statsHash(), { requests: before.requests + 2, keysCreated: before.keysCreated + 1, keysUpdated: before.keysUpdated + 1 });
    });

    it('counts every request, a creation only when made, an update only when the value changed', async () => {
      const store = await open();
      const owner = digestOf('the-owners-admin-key-333');
      const id = { namespace: 'counted', key: 'one' };
      const before = await store.stats();
      await store.create(id, { ...defaults, value: 5, enableReset: true, adminKeyDigest: owner }); // created
      await store.create(id, defaults); // not created
      await store.set(id, 1, digestOf('somebody-elses-key-3333')); // forbidden
      await store.set(id, 2); // updated
      await store.update(id, 1); // updated
      await store.update(id, 100); // forbidden (beyond the bounds)
      await store.update({ namespace: 'counted', key: 'none' }, 1); // missing
      await store.info(id);
      await store.history(id, 3);
      await store.delete(id, digestOf('somebody-elses-key-3333')); // forbidden
      await store.delete(id, owner);
      const after = await store.stats();
      assert.deepEqual(
        { requests: after.requests - before.requests, keysCreated: after.keysCreated - before.keysCreated, keysUpdated: after.keysUpdated - before.keysUpdated },
        { requests: 12, keysCreated: 1, keysUpdated: 2 },
      );
    });
  });

  describe('counters', () => {
    it('info: null for a counter that does not exist; its settings otherwise', async () => {
      const store = await open();
      assert.equal(await store.info({ namespace: 'info', key: 'none' }), null);
      const id = { namespace: 'info', key: 'full' };
      await store.create(id, { ...defaults, value: 3, enableReset: true, lowerBound: -4, upperBound: 6, adminKeyDigest: digestOf('the-owners-admin-key-444') });
      const info = await store.info(id);
      assert.ok(info);
      assert.equal(info.enableReset, true);
      assert.equal(info.hasOwner, true);
      assert.equal(info.lowerBound, -4);
      assert.equal(info.upperBound, 6);
    });

    it('reads (get, info, the dashboard) go as FCALL_RO, which a replica may answer', async () => {
      const store = await open();
      await command('CONFIG', 'RESETSTAT');
      await store.get({ namespace: 'ro', key: 'one' });
      await store.info({ namespace: 'ro', key: 'one' });
      await store.instance();
      const stats = String(await command('INFO', 'commandstats'));
      assert.match(stats, /cmdstat_fcall_ro:calls=3,/);
      assert.doesNotMatch(stats, /cmdstat_fcall:/);
    });

    it('hits of different counters that arrive together each count on their own counter', async () => {
      const store = await open();
      const a = { namespace: 'together', key: 'a' };
      const b = { namespace: 'together', key: 'b' };
      await Promise.all([store.hit(a), store.hit(b), store.hit(a)]);
      assert.equal(await store.get(a), 2);
      assert.equal(await store.get(b), 1);
    });

    it('a hit without a visitor adds no unique visitor', async () => {
      const store = await open();
      const id = { namespace: 'anonymous', key: 'one' };
      await store.hit(id);
      assert.deepEqual(await command('KEYS', 'u:{anonymous/one}:*'), []);
      assert.equal((await store.history(id, 1))[0]?.uniques, 0);
    });

    it("a visitor's day lives as long as the history (HISTORY_DAYS + 1 days), the day's salt until the day's end and a minute", async () => {
      const store = await open({ historyDays: 30 });
      const id = { namespace: 'visitors', key: 'ttl' };
      await store.hit(id, { visitor: { address: '192.0.2.7', userAgent: 'test' } });
      const today = compactDay(lastDays(new Date(), 'UTC', 1)[0] ?? '');
      const uniquesTtl = Number(await command('TTL', counterKeys(id).uniques(today)));
      assert.ok(uniquesTtl > 31 * 86_400 - 60 && uniquesTtl <= 31 * 86_400, `uniques ttl ${uniquesTtl}`);
      const saltTtl = Number(await command('TTL', `salt:${today}`));
      const left = secondsLeftInDay(new Date(), 'UTC');
      assert.ok(saltTtl > left + 30 && saltTtl <= left + 61, `salt ttl ${saltTtl}, ${left} s left in the day`);
    });

    it('a hit at the very first millisecond of a day counts on that day, also when the day before was last looked at mid-second', async () => {
      const store = await open();
      const onTheSecond = { namespace: 'midnight', key: 'exact' };
      const midSecond = { namespace: 'midnight', key: 'mid' };
      mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-03-01T23:59:59.500Z') });
      await store.hit(onTheSecond);
      mock.timers.setTime(Date.parse('2026-03-02T00:00:00.000Z'));
      await store.hit(onTheSecond);
      assert.deepEqual((await store.history(onTheSecond, 2)).map((day) => [day.day, day.hits]), [['2026-03-01', 1], ['2026-03-02', 1]]);
      mock.timers.setTime(Date.parse('2026-03-02T23:59:59.600Z'));
      await store.hit(midSecond);
      mock.timers.setTime(Date.parse('2026-03-03T00:00:00.100Z'));
      await store.hit(midSecond);
      assert.deepEqual((await store.history(midSecond, 2)).map((day) => [day.day, day.hits]), [['2026-03-02', 1], ['2026-03-03', 1]]);
    });

    it("delete removes every day's visitors the history may still show", async () => {
      const store = await open({ historyDays: 3 });
      const owner = digestOf('the-owners-admin-key-555');
      const id = { namespace: 'deleted', key: 'days' };
      await store.create(id, { ...defaults, adminKeyDigest: owner });
      for (const day of lastDays(new Date(), 'UTC', 4)) await command('PFADD', counterKeys(id).uniques(compactDay(day)), 'someone');
      assert.deepEqual(await store.delete(id, owner), { status: 'ok' });
      assert.deepEqual(await command('KEYS', '*{deleted/days}*'), []);
    });
  });

  describe('the dashboard and the live pages', () => {
    it('a report without changes announces nothing; one with changes announces them', async () => {
      const store = await open();
      const heard: string[] = [];
      const listener = createClient({ url: redis.url });
      listener.on('error', () => undefined);
      await listener.connect();
      try {
        await listener.subscribe('counter-updates', (message) => heard.push(message));
        await store.report({ replica: 'quiet', requests: 0, hits: new Map(), changes: new Map() });
        await store.report({ replica: 'busy', requests: 1, hits: new Map(), changes: new Map([['a/b', 3]]) });
        await waitFor('the change heard', async () => heard.length > 0, 2000, 10);
        assert.deepEqual(heard.map((message) => JSON.parse(message) as unknown), [{ replica: 'busy', changes: { 'a/b': 3 } }]);
      } finally {
        await listener.close();
      }
    });

    it('warns, naming the cause, when Redis refuses the subscription to counter updates (a user without that channel)', async () => {
      const { log, lines } = capturedLog();
      const store = await open({ log, connection: { url: redis.url, database: 0, ...READER } });
      const end = await store.subscribe(() => undefined);
      try {
        await waitFor('the refusal logged', async () => lines.some((line) => line.msg === 'cannot subscribe to counter updates'), 5000, 10);
        const refused = lines.filter((line) => line.msg === 'cannot subscribe to counter updates');
        assert.equal(refused.length, 1, JSON.stringify(lines));
        assert.equal(refused[0]?.level, WARN);
        assert.match(refused[0].err ?? '', /NOPERM/);
      } finally {
        await end();
      }
    });

    it('shows the load of the last five minutes in 10 s buckets, oldest first, each kept a bucket longer than shown', async () => {
      const store = await open();
      const now = Date.now();
      const bucket = Math.floor(now / 1000 / LOAD_BUCKET_SECONDS) * LOAD_BUCKET_SECONDS;
      mock.timers.enable({ apis: ['Date'], now: now - LOAD_BUCKET_SECONDS * 1000 });
      await store.report({ replica: 'earlier', requests: 7, hits: new Map(), changes: new Map() });
      mock.timers.setTime(now);
      const view = await store.instance();
      assert.equal(view.load.length, LOAD_BUCKETS);
      assert.deepEqual(view.load.at(-2), { start: (bucket - LOAD_BUCKET_SECONDS) * 1000, requests: { earlier: 7 } });
      assert.equal(view.load.at(-1)?.start, bucket * 1000);
      assert.equal(view.load.at(-1)?.requests.earlier, undefined);
      const ttl = Number(await command('TTL', instanceKeys.load(bucket - LOAD_BUCKET_SECONDS)));
      assert.ok(ttl > LOAD_BUCKETS * LOAD_BUCKET_SECONDS && ttl <= (LOAD_BUCKETS + 1) * LOAD_BUCKET_SECONDS, `load ttl ${ttl}`);
    });
  });

  describe('what it costs Redis', () => {
    const fcalls = async () => Number(/cmdstat_fcall:calls=(\d+)/.exec(String(await command('INFO', 'commandstats')))?.[1] ?? 0);

    it("asks Redis for the day's salt once, not on every visitor's hit", async () => {
      const store = await open();
      mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-04-01T12:00:00.000Z') });
      await command('CONFIG', 'RESETSTAT');
      for (const address of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) await store.hit({ namespace: 'salted', key: 'once' }, { visitor: { address, userAgent: 'test' } });
      assert.equal(await fcalls(), 4, 'one counter_salt, then one counter_hit per hit');
      assert.equal((await store.history({ namespace: 'salted', key: 'once' }, 1))[0]?.uniques, 3);
    });

    it('an idle replica adds nothing to /stats: no call to Redis while it has served nothing', async () => {
      const store = await open({ statsFlushMs: 20 });
      await command('CONFIG', 'RESETSTAT');
      await sleep(300); // about 15 flush periods
      assert.equal(await fcalls(), 0);
      await store.get({ namespace: 'idle', key: 'one' });
      await waitFor('the served request flushed', async () => (await fcalls()) === 1, 2000, 20);
    });
  });

  describe('Redis gone and back', () => {
    it('a /stats asked while Redis is away fails as an outage and keeps what it had to add, for when Redis is back', async () => {
      const { log, lines } = capturedLog();
      const store = await open({ log });
      const id = { namespace: 'away', key: 'one' };
      await store.create(id, defaults);
      await store.hit(id);
      await store.get(id);
      await redis.stop();
      try {
        await waitFor('the store not ready', async () => !(await store.isReady()), 2000, 10);
        await assert.rejects(store.stats(), { name: 'StoreUnavailableError', message: 'redis is not connected' });
        await sleep(1200); // reconnect attempts fail again and again
      } finally {
        await redis.start(); // empty: no data was saved
      }
      await waitFor('the store ready again', () => store.isReady(), 5000, 10);
      // The create, hit and get, the /stats that failed and this one.
      assert.deepEqual(await store.stats(), { requests: 5, keysCreated: 1, keysUpdated: 1 });
      const problems = lines.filter((line: LogLine) => line.msg === 'redis connection problem').map((line) => line.err);
      assert.deepEqual(problems, [...new Set(problems)], 'each distinct connection problem logged once per outage');
    });
  });
});
