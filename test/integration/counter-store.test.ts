import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it, mock } from 'node:test';
import clusterKeySlot from 'cluster-key-slot';
import { digestOf } from '../../src/counters/owner-keys.ts';
import { createLogger } from '../../src/logger.ts';
import type { CounterStore } from '../../src/store/counter-store.ts';
import { MARKER_TTL_SECONDS, MAX_HITS_PER_CALL, counterKeys } from '../../src/store/keys.ts';
import { createRedisStore, type RedisStoreOptions } from '../../src/store/redis-store.ts';
import { waitFor } from '../helpers/wait.ts';
import { RedisServer } from '../helpers/redis-server.ts';

const ADMIN = { username: 'admin', password: 'admin-pw' };
const defaults = { value: 0, enableReset: false, lowerBound: -1, upperBound: 1, adminKeyDigest: '' };

describe('the Redis counter store, through the functions, as the restricted counter user', () => {
  // Started exactly as in the stack: start-redis.sh loads the functions and the counter user's ACL.
  const redis = new RedisServer({ username: 'counter', password: 'counter-pw', asInTheStack: { adminPassword: ADMIN.password } });
  const stores: CounterStore[] = [];
  let store: CounterStore;
  const open = async (options: Partial<RedisStoreOptions> = {}): Promise<CounterStore> => {
    const opened = createRedisStore({
      connection: { url: redis.url, username: 'counter', password: 'counter-pw', database: 0 },
      timeoutMs: 500,
      log: createLogger('silent', 'it'),
      ttlDays: 0,
      historyDays: 400,
      timeZone: 'UTC',
      statsFlushMs: 50,
      ...options,
    });
    stores.push(opened);
    await waitFor('the store ready', () => opened.isReady(), 5000);
    return opened;
  };
  const admin = (...args: string[]) => redis.command(args, ADMIN);

  before(async () => {
    await redis.start();
    store = await open();
  });
  after(async () => {
    for (const opened of stores) await opened.close();
    await redis.destroy();
  });

  it('hits create a counter at 1 and count each call once', async () => {
    const id = { namespace: 'site', key: 'hits-1' };
    assert.equal(await store.get(id), null);
    assert.deepEqual(await store.hit(id), { value: 1, created: true });
    assert.deepEqual(await store.hit(id), { value: 2, created: false });
    assert.equal(await store.get(id), 2);
  });

  it('counts 400 concurrent hits over 200 idempotency keys (each sent twice) exactly 200 times', async () => {
    const id = { namespace: 'site', key: 'burst' };
    const keys = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
    const results = await Promise.all([...keys, ...keys].map((idempotencyKey) => store.hit(id, { idempotencyKey })));
    assert.equal(await store.get(id), 200);
    assert.equal(new Set(results.map((r) => r.value)).size, 200);
    keys.forEach((key, i) => { assert.equal(results[i]?.value, results[i + 200]?.value, key); });
    // The markers live in the hash of their window, which outlives the next window's lookups.
    const windows = (await admin('KEYS', 'h:{site/burst}:*')) as string[];
    let window = '';
    for (const name of windows) if ((await admin('HEXISTS', name, 'burst-7')) === 1) window = name;
    assert.equal(await admin('HGET', window, 'burst-7'), String(results[7]?.value));
    const ttl = Number(await admin('TTL', window));
    assert.ok(ttl > MARKER_TTL_SECONDS && ttl <= 2 * MARKER_TTL_SECONDS, `marker window ttl ${ttl}`);
  });

  it('sends the hits of one counter that arrive together as one call (group commit), each answered with its own value', async () => {
    const id = { namespace: 'site', key: 'group' };
    // A store of its own that adds to /stats only hourly, and time for the others to add theirs: the FCALLs counted are the hits'.
    const grouped = await open({ statsFlushMs: 3_600_000 });
    await sleep(200);
    const calls = async () => Number(/cmdstat_fcall:calls=(\d+)/.exec(String(await admin('INFO', 'commandstats')))?.[1] ?? 0);
    const before = await calls();
    const burst = await Promise.all(Array.from({ length: MAX_HITS_PER_CALL + 5 }, () => grouped.hit(id)));
    assert.equal(await calls() - before, 2, `${MAX_HITS_PER_CALL + 5} hits in one turn: a full call and one more`);
    assert.deepEqual(burst.map(({ value }) => value), Array.from({ length: MAX_HITS_PER_CALL + 5 }, (_, i) => i + 1));
    assert.deepEqual(burst.filter(({ created }) => created).length, 1, 'one hit made the counter');
    assert.equal(burst[0]?.created, true);
    // Markers seen in an earlier call are answered as then, fresh ones counted, in one call.
    const seen = await Promise.all(['a', 'b'].map((idempotencyKey) => store.hit(id, { idempotencyKey })));
    const mixed = await Promise.all(['a', 'new-1', 'b', 'new-2'].map((idempotencyKey) => store.hit(id, { idempotencyKey })));
    assert.deepEqual(mixed.map(({ value }) => value), [seen[0]?.value, MAX_HITS_PER_CALL + 8, seen[1]?.value, MAX_HITS_PER_CALL + 9]);
    assert.equal(await store.get(id), MAX_HITS_PER_CALL + 9);
  });

  it('finds a hit\'s marker written by a replica whose clock is a window ahead or behind (a retry there counts once)', async () => {
    const id = { namespace: 'site', key: 'skew' };
    const keys = counterKeys(id);
    for (const [skew, idempotencyKey] of [[1, 'ahead'], [-1, 'behind']] as const) {
      // The other replica's hit, as its store sends it, with its own idea of the window.
      const window = Math.floor(Date.now() / 1000 / MARKER_TTL_SECONDS) + skew;
      const markers = [keys.hitMarkers(window), keys.hitMarkers(window - 1), keys.hitMarkers(window + 1)];
      const [first] = (await redis.command(['FCALL', 'counter_hit', '5', keys.counter, keys.uniques('20260101'), ...markers, String(Date.now()), '20260101', '0', '0', '60', String(MARKER_TTL_SECONDS), '', idempotencyKey])) as number[];
      const before = await store.get(id);
      assert.deepEqual(await store.hit(id, { idempotencyKey }), { value: first, created: first === 1 }, `${idempotencyKey}: the first answer again`);
      assert.equal(await store.get(id), before, `${idempotencyKey}: not counted again`);
    }
  });

  it('creates once and never resets an existing counter', async () => {
    const id = { namespace: 'site', key: 'made' };
    assert.deepEqual(await store.create(id, { ...defaults, value: 41 }), { created: true, value: 41 });
    await store.hit(id);
    assert.deepEqual(await store.create(id, { ...defaults, value: 0 }), { created: false, value: 42 });
    assert.equal(await store.get(id), 42);
    const info = await store.info(id);
    assert.ok(info);
    assert.equal(info.value, 42);
    assert.equal(info.enableReset, false);
    assert.equal(info.lowerBound, -1);
    assert.equal(info.upperBound, 1);
    assert.equal(info.hasOwner, false);
    assert.equal(info.ttl, -1);
    assert.ok(Math.abs(info.created - Date.now()) < 5000, `created ${info.created}`);
  });

  it('a repeated create (same idempotency key) gets the first answer', async () => {
    const id = { namespace: 'site', key: 'made-once' };
    assert.deepEqual(await store.create(id, { ...defaults, value: 5 }, 'create-1'), { created: true, value: 5 });
    assert.deepEqual(await store.create(id, { ...defaults, value: 5 }, 'create-1'), { created: true, value: 5 });
    assert.deepEqual(await store.create(id, { ...defaults, value: 5 }, 'create-2'), { created: false, value: 5 });
  });

  it('set: refused without enable_reset, allowed with it or for the owner, refused for a wrong key', async () => {
    const owner = digestOf('the-owners-admin-key-000');
    const plain = { namespace: 'site', key: 'no-reset' };
    await store.create(plain, { ...defaults, value: 7, adminKeyDigest: owner });
    assert.deepEqual(await store.set(plain, 0), { status: 'forbidden' });
    assert.equal(await store.get(plain), 7);
    assert.deepEqual(await store.set(plain, 0, digestOf('somebody-elses-key-0000')), { status: 'forbidden' });
    assert.equal(await store.get(plain), 7);
    assert.deepEqual(await store.set(plain, 3, owner), { status: 'ok', oldValue: 7, value: 3 });
    const resettable = { namespace: 'site', key: 'resettable' };
    await store.create(resettable, { ...defaults, value: 9, enableReset: true, adminKeyDigest: owner });
    assert.deepEqual(await store.set(resettable, 100), { status: 'ok', oldValue: 9, value: 100 });
    assert.deepEqual(await store.set(resettable, 1, digestOf('somebody-elses-key-0000')), { status: 'forbidden' });
    assert.equal(await store.get(resettable), 100);
    assert.deepEqual(await store.set({ namespace: 'site', key: 'nothing-here' }, 1), { status: 'missing' });
  });

  it('update: within the bounds for anyone, beyond them only for the owner', async () => {
    const owner = digestOf('the-owners-admin-key-111');
    const id = { namespace: 'site', key: 'bounded' };
    await store.create(id, { ...defaults, value: 10, lowerBound: -2, upperBound: 5, adminKeyDigest: owner });
    assert.deepEqual(await store.update(id, 5), { status: 'ok', value: 15 });
    assert.deepEqual(await store.update(id, -2), { status: 'ok', value: 13 });
    assert.deepEqual(await store.update(id, 6), { status: 'forbidden' });
    assert.deepEqual(await store.update(id, -3), { status: 'forbidden' });
    assert.deepEqual(await store.update(id, 1, digestOf('somebody-elses-key-1111')), { status: 'forbidden' });
    assert.equal(await store.get(id), 13);
    assert.deepEqual(await store.update(id, 1000, owner), { status: 'ok', value: 1013 });
    assert.deepEqual(await store.update(id, 1, undefined, 'upd-1'), { status: 'ok', value: 1014 });
    assert.deepEqual(await store.update(id, 1, undefined, 'upd-1'), { status: 'ok', value: 1014 });
    assert.deepEqual(await store.update({ namespace: 'site', key: 'nothing-here' }, 1), { status: 'missing' });
    const info = await store.info(id);
    assert.equal(info?.lowerBound, -2);
    assert.equal(info.upperBound, 5);
    assert.equal(info.hasOwner, true);
  });

  it('delete: only the owner, and every key of the counter goes', async () => {
    const owner = digestOf('the-owners-admin-key-222');
    const id = { namespace: 'gone', key: 'soon' };
    await store.create(id, { ...defaults, value: 1, adminKeyDigest: owner });
    await store.hit(id, { visitor: { address: '192.0.2.1', userAgent: 'test' } });
    assert.deepEqual(await store.delete(id, digestOf('somebody-elses-key-2222')), { status: 'forbidden' });
    assert.deepEqual(await store.delete(id, ''), { status: 'forbidden' });
    assert.equal(await store.get(id), 2);
    assert.ok(((await admin('KEYS', '*{gone/soon}*')) as string[]).length >= 3);
    assert.deepEqual(await store.delete(id, owner), { status: 'ok' });
    assert.deepEqual(await admin('KEYS', '*{gone/soon}*'), []);
    assert.deepEqual(await store.delete(id, owner), { status: 'missing' });
  });

  it('keeps every key of a counter in one Cluster slot (the hash tag)', async () => {
    const id = { namespace: 'slot', key: 'check' };
    await store.create(id, { ...defaults, adminKeyDigest: digestOf('k'.repeat(20)) });
    await store.hit(id, { idempotencyKey: 'slot-1', visitor: { address: '192.0.2.9', userAgent: 'x' } });
    const keys = (await admin('KEYS', '*{slot/check}*')) as string[];
    assert.ok(keys.length >= 4, keys.join(' '));
    // Redis Cluster's own slot function (CRC16 of the hash tag), as cluster clients compute it.
    const slots = new Set(keys.map((key) => clusterKeySlot(key)));
    assert.equal(slots.size, 1);
  });

  it('counts unique visitors within HyperLogLog error, one visitor once, without storing addresses', async () => {
    const id = { namespace: 'site', key: 'uniques' };
    for (let batch = 0; batch < 10; batch += 1) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.hit(id, { visitor: { address: `198.51.100.${i}`, userAgent: `agent-${batch}` } })));
    }
    for (let i = 0; i < 50; i += 1) await store.hit(id, { visitor: { address: '198.51.100.1', userAgent: 'agent-1' } });
    const [today] = (await store.history(id, 1)).slice(-1);
    assert.equal(today?.hits, 1050);
    // Redis's HyperLogLog has a standard error of 0.81 %; 3 % is far outside it.
    assert.ok(Math.abs((today.uniques - 1000) / 1000) < 0.03, `uniques ${today.uniques}`);
    const dump = JSON.stringify(await admin('KEYS', '*'));
    assert.ok(!dump.includes('198.51.100'), 'no address in any key name');
    const salts = (await admin('KEYS', 'salt:*')) as string[];
    assert.equal(salts.length, 1);
    const saltTtl = Number(await admin('TTL', salts[0] ?? ''));
    assert.ok(saltTtl > 0 && saltTtl <= 86_400 + 60, `salt ttl ${saltTtl}`);
  });

  it('keeps history per day in the operator\'s time zone, across a day boundary', async () => {
    // 23:30 on 27 November in Auckland is 10:30 UTC the same day; an hour later it is the 28th there.
    const auckland = await open({ timeZone: 'Pacific/Auckland' });
    const id = { namespace: 'tz', key: 'auckland' };
    mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-11-27T10:30:00Z') });
    try {
      await auckland.hit(id);
      await auckland.hit(id);
      mock.timers.setTime(Date.parse('2026-11-27T11:30:00Z'));
      await new Promise((resolve) => setImmediate(resolve));
      await auckland.hit(id);
      const days = await auckland.history(id, 3);
      assert.deepEqual(days.map((d) => [d.day, d.hits]), [['2026-11-26', 0], ['2026-11-27', 2], ['2026-11-28', 1]]);
    } finally {
      mock.timers.reset();
    }
  });

  it('drops days older than HISTORY_DAYS on the first hit of a new day', async () => {
    const short = await open({ historyDays: 2 });
    const id = { namespace: 'tz', key: 'short' };
    mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-01-01T12:00:00Z') });
    try {
      await short.hit(id);
      mock.timers.setTime(Date.parse('2026-01-02T12:00:00Z'));
      await short.hit(id);
      mock.timers.setTime(Date.parse('2026-01-03T12:00:00Z'));
      await short.hit(id);
    } finally {
      mock.timers.reset();
    }
    const fields = (await admin('HKEYS', 'c:{tz/short}')) as string[];
    assert.deepEqual(fields.sort(), ['20260102', '20260103', 't', 'v']);
  });

  it('with a retention (COUNTER_TTL_DAYS) counters expire, and info says when', async () => {
    const expiring = await open({ ttlDays: 30 });
    const id = { namespace: 'ttl', key: 'thirty' };
    await expiring.hit(id);
    const ttl = (await expiring.info(id))?.ttl ?? 0;
    assert.ok(ttl > 29 * 86_400 && ttl <= 30 * 86_400, `ttl ${ttl}`);
  });

  it('adds every replica\'s requests, creations and updates to /stats', async () => {
    // The other stores of this file add their own requests to the same totals about once a
    // second: closed here (a close adds what is pending), they cannot land in the difference;
    // the shared store gets time for a late addition (one that timed out under load still lands).
    for (const other of stores.splice(0)) {
      if (other === store) stores.push(other);
      else await other.close();
    }
    await sleep(1_000);
    const own = await open({ statsFlushMs: 3_600_000 });
    const before = await own.stats();
    await own.hit({ namespace: 'stats', key: 'one' });
    await own.get({ namespace: 'stats', key: 'one' });
    const after = await own.stats();
    assert.equal(after.requests - before.requests, 3); // hit, get and this stats call: what this replica served, added when asked
    assert.equal(after.keysCreated - before.keysCreated, 1);
    assert.equal(after.keysUpdated - before.keysUpdated, 1);
  });

  it('adds a replica\'s requests to /stats once, also when the call that added them timed out (Redis stalled)', async () => {
    for (const other of stores.splice(0)) {
      if (other === store) stores.push(other);
      else await other.close();
    }
    await sleep(100); // the shared store's last requests added
    const requests = async () => Number(await admin('HGET', 'stats', 'requests'));
    const before = await requests();
    const stalled = await open({ statsFlushMs: 100, timeoutMs: 200 });
    for (let i = 0; i < 5; i += 1) await stalled.get({ namespace: 'stats', key: 'stalled' });
    await redis.pause(); // the next flush is sent, and times out
    try {
      await sleep(500);
    } finally {
      await redis.resume();
    }
    await sleep(400); // Redis ran the call that timed out; another flush had its chance to add it again
    assert.equal(await requests() - before, 5, 'the 5 requests, added once');
  });

  it('is not ready while Redis has another version of the functions', async () => {
    const library = readFileSync(new URL('../../redis/functions/counter.lua', import.meta.url), 'utf8');
    assert.equal(await store.isReady(), true);
    await admin('FUNCTION', 'LOAD', 'REPLACE', library.replace('local VERSION = 3', 'local VERSION = 4'));
    try {
      assert.equal(await store.isReady(), false);
    } finally {
      await admin('FUNCTION', 'LOAD', 'REPLACE', library);
    }
    assert.equal(await store.isReady(), true);
  });
});
