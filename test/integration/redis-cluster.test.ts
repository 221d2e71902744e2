import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import type { CounterId } from '../../src/counters/names.ts';
import { digestOf } from '../../src/counters/owner-keys.ts';
import { createLogger } from '../../src/logger.ts';
import type { CounterChanges, CounterStore } from '../../src/store/counter-store.ts';
import { counterKeys, instanceKeys, saltKey, STATS_KEY } from '../../src/store/keys.ts';
import { createRedisStore } from '../../src/store/redis-store.ts';
import { checkCounterHistory, type Operation } from '../helpers/counter-history.ts';
import { CLUSTER_ADMIN, CLUSTER_COUNTER, LocalRedisCluster } from '../helpers/redis-cluster.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { run } from '../helpers/run.ts';
import { waitFor } from '../helpers/wait.ts';

const NODE_TIMEOUT_MS = 2000;

// Loads still running (a test that failed half-way): stopped before the stores close.
const loads = new Set<() => Promise<unknown>>();

/** `workers` loops hitting one counter until stop(), each request recorded for the history check. */
const hammer = (store: CounterStore, id: CounterId, workers: number) => {
  const history: Operation[] = [];
  let running = true;
  const stop = async (): Promise<Operation[]> => {
    running = false;
    loads.delete(stop);
    await Promise.all(loops);
    return history;
  };
  loads.add(stop);
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const start = performance.now();
      try {
        const { value } = await store.hit(id);
        history.push({ start, end: performance.now(), outcome: 'ok', value });
      } catch {
        // An error answer or none: the hit may or may not have counted (the checker allows both).
        history.push({ start, end: performance.now(), outcome: 'failed' });
        await sleep(20);
      }
    }
  });
  return { history, stop };
};

const acknowledged = (history: Operation[], from: number, to = Infinity) => history.filter((op) => op.outcome === 'ok' && op.end >= from && op.end < to).length;
const failed = (history: Operation[]) => history.filter((op) => op.outcome !== 'ok').length;
/** From `since` to the first acknowledged hit that began after it (ms). */
// reduce, not Math.min(...): a history of some 100,000 hits is beyond the arguments' stack.
const recoveredAfter = (history: Operation[], since: number): number =>
  history.filter((op) => op.outcome === 'ok' && op.start >= since).reduce((first, op) => Math.min(first, op.end), Infinity) - since;
/** The longest time without an acknowledged hit, from `since` on (ms). */
const longestPause = (history: Operation[], since: number): number => {
  const ends = history.filter((op) => op.outcome === 'ok' && op.end >= since).map((op) => op.end).sort((a, b) => a - b);
  return ends.reduce((longest, end, i) => Math.max(longest, end - (ends[i - 1] ?? since)), -Infinity);
};

describe('a Redis Cluster of three masters and three replicas, through the store as the counter user', () => {
  const cluster = new LocalRedisCluster(3, NODE_TIMEOUT_MS);
  const stores: CounterStore[] = [];
  let store: CounterStore;
  const log = createLogger('silent', 'it');
  const open = async (seeds = cluster.seeds.slice(0, 2)): Promise<CounterStore> => {
    const opened = createRedisStore({
      connection: { url: 'redis://unused', ...CLUSTER_COUNTER, database: 0, clusterNodes: seeds },
      timeoutMs: 1000,
      log,
      ttlDays: 0,
      historyDays: 30,
      timeZone: 'UTC',
      statsFlushMs: 50,
    });
    stores.push(opened);
    await waitFor('the store ready', () => opened.isReady(), 10_000);
    return opened;
  };

  before(async () => {
    await cluster.start();
    store = await open();
  });
  after(async () => {
    for (const stop of loads) await stop();
    for (const opened of stores) await opened.close();
    await cluster.destroy();
  });

  it('makes no timer per command (node-redis would give each an AbortSignal.timeout of 5 s by default)', async (t) => {
    const timeouts = t.mock.method(AbortSignal, 'timeout');
    for (let i = 0; i < 10; i += 1) await store.hit({ namespace: 'site', key: `timers-${i}` });
    assert.equal(await store.get({ namespace: 'site', key: 'timers-9' }), 1);
    assert.deepEqual(timeouts.mock.calls.map((call) => call.arguments), []);
  });

  it('counts, keeps history, uniques and owners, with each counter on the master of its slot', async () => {
    const ids = Array.from({ length: 24 }, (_, i) => ({ namespace: 'site', key: `page-${i}` }));
    for (const node of cluster.nodes) await cluster.admin(node, 'CONFIG', 'RESETSTAT');
    for (const id of ids) {
      for (let visit = 0; visit < 3; visit += 1) await store.hit(id, { visitor: { address: `10.0.0.${visit % 2}`, userAgent: 'test' } });
    }
    for (const id of ids) {
      assert.equal(await store.get(id), 3);
      const [today] = (await store.history(id, 1)).slice(-1);
      assert.deepEqual({ hits: today?.hits, uniques: today?.uniques }, { hits: 3, uniques: 2 });
    }
    // The counters are spread over all three masters, and each one's keys on its slot's master.
    const holders = new Set<number>();
    for (const id of ids) {
      const { master } = await cluster.shardOf(counterKeys(id).counter);
      holders.add(master.port);
      assert.equal(await cluster.admin(cluster.node(master.port), 'HGET', counterKeys(id).counter, 'v'), '3');
    }
    assert.equal(holders.size, 3, 'counters on every master');
    // Each call went straight to its slot's master: no node had to redirect one (MOVED).
    for (const node of cluster.nodes) assert.doesNotMatch(String(await cluster.admin(node, 'INFO', 'errorstats')), /MOVED|ASK/, `node ${node.port}`);

    const owned = { namespace: 'site', key: 'owned' };
    assert.deepEqual(await store.create(owned, { value: 5, enableReset: false, lowerBound: -1, upperBound: 1, adminKeyDigest: digestOf('secret-key') }, 'create-1'), { created: true, value: 5 });
    assert.deepEqual(await store.update(owned, 10, digestOf('secret-key'), 'update-1'), { status: 'ok', value: 15 });
    assert.deepEqual(await store.update(owned, 10, digestOf('secret-key'), 'update-1'), { status: 'ok', value: 15 }, 'a repeat is answered once');
    assert.deepEqual(await store.set(owned, 1, digestOf('wrong-key')), { status: 'forbidden' });
    assert.equal((await store.info(owned))?.hasOwner, true);
    assert.deepEqual(await store.delete(owned, digestOf('secret-key')), { status: 'ok' });
    assert.equal(await store.get(owned), null);

    // salt:DAY and stats are single-key calls: each lives on the master of its own slot.
    await waitFor('stats flushed', async () => (await store.stats()).requests > 0, 5000);
    const { master: statsMaster } = await cluster.shardOf(STATS_KEY);
    assert.ok(Number(await cluster.admin(cluster.node(statsMaster.port), 'HGET', STATS_KEY, 'requests')) > 0);
    const salts = await Promise.all(cluster.nodes.map((node) => cluster.admin(node, 'KEYS', saltKey('*'))));
    assert.equal(salts.flat().length, 2, 'the day\'s salt on one master and its replica');
  });

  it("serves the dashboard's view from the master of {instance}, and every replica hears every announcement", async () => {
    const other = await open(cluster.seeds.slice(4));
    const heard: CounterChanges[] = [];
    const stop = await store.subscribe((changes) => heard.push(changes));
    // PUBLISH in a Cluster reaches every node: a subscriber on any one of them hears it.
    const listeners = await Promise.all(cluster.nodes.map(async (node) => {
      const subscriber = createClient({ url: node.url, ...CLUSTER_ADMIN });
      await subscriber.connect();
      const messages: string[] = [];
      await subscriber.subscribe('counter-updates', (message) => messages.push(message));
      return { subscriber, messages };
    }));
    try {
      await sleep(300); // the store's subscription, made in the background
      await other.report({ replica: 'web-2', requests: 7, hits: new Map([['site/page-0', 4]]), changes: new Map([['site/page-0', 42]]) });
      await waitFor('the change heard through the store', async () => heard.length > 0, 5000);
      assert.deepEqual(heard[0], { replica: 'web-2', changes: { 'site/page-0': 42 } });
      await waitFor('every node heard it', async () => listeners.every(({ messages }) => messages.length === 1), 5000);
    } finally {
      await stop();
      for (const { subscriber } of listeners) await subscriber.close();
    }
    const view = await store.instance();
    assert.deepEqual(view.replicas.map((replica) => replica.name), ['web-2']);
    assert.deepEqual(view.busiest, [{ path: 'site/page-0', hits: 4 }]);
    assert.equal(view.load.at(-1)?.requests['web-2'], 7);
    assert.ok(Number(view.redis.used_memory) > 0, 'INFO of the master of {instance}');
    const { master } = await cluster.shardOf(instanceKeys.replicas);
    assert.equal(await cluster.admin(cluster.node(master.port), 'ZSCORE', instanceKeys.replicas, 'web-2') !== null, true);
  });

  it('is ready only while every master has the functions of this release', async () => {
    assert.equal(await store.isReady(), true);
    const { master } = await cluster.shardOf(counterKeys({ namespace: 'site', key: 'page-3' }).counter);
    const node = cluster.node(master.port);
    await cluster.admin(node, 'FUNCTION', 'DELETE', 'counter');
    try {
      // Not a random master: every check sees the one without functions.
      for (let i = 0; i < 6; i += 1) assert.equal(await store.isReady(), false, `check ${i}`);
    } finally {
      await cluster.admin(node, 'FUNCTION', 'LOAD', 'REPLACE', readFileSync(new URL('../../redis/functions/counter.lua', import.meta.url), 'utf8'));
    }
    await waitFor('ready again', () => store.isReady(), 5000);
  });

  it('moves the slot of a busy counter to another master under load: no count lost or doubled', async () => {
    const id = { namespace: 'site', key: 'migrating' };
    await store.hit(id);
    const before = Number(await store.get(id));
    const { slot, master: source } = await cluster.shardOf(counterKeys(id).counter);
    const target = (await cluster.entries()).find((entry) => entry.role === 'master' && entry.id !== source.id);
    assert.ok(target);
    const [from, to] = [cluster.node(source.port), cluster.node(target.port)];
    const load = hammer(store, id, 16);
    await sleep(500);
    const started = performance.now();
    // As `redis-cli --cluster reshard` does it, one slot: mark, move the keys, hand over.
    await cluster.admin(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', source.id);
    await cluster.admin(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target.id);
    for (;;) {
      const keys = (await cluster.admin(from, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100')) as string[];
      if (keys.length === 0) break;
      await cluster.admin(from, 'MIGRATE', '127.0.0.1', String(target.port), '', '0', '5000', 'AUTH2', CLUSTER_ADMIN.username, CLUSTER_ADMIN.password, 'KEYS', ...keys);
    }
    for (const node of [to, from, ...cluster.nodes.filter((n) => n !== to && n !== from)]) {
      await cluster.admin(node, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', target.id).catch(() => undefined);
    }
    const moved = performance.now() - started;
    await sleep(700);
    const history = await load.stop();
    const after = Number(await store.get(id));
    assert.deepEqual(checkCounterHistory(history, before, after), []);
    assert.equal((await cluster.shardOf(counterKeys(id).counter)).master.id, target.id, 'the slot is on the other master');
    assert.equal(await cluster.admin(to, 'HGET', counterKeys(id).counter, 'v'), String(after));
    assert.ok(acknowledged(history, started + moved) > 0, 'counting went on after the move');
    process.stdout.write(`# slot migration under load: ${history.length} hits, ${failed(history)} refused while the slot moved (${moved.toFixed(0)} ms), none lost or doubled\n`);
  });

  it('fails over to a replica on CLUSTER FAILOVER under load: no count lost or doubled', async () => {
    const id = { namespace: 'site', key: 'failover' };
    await store.hit(id);
    const before = Number(await store.get(id));
    const { master, replica } = await cluster.shardOf(counterKeys(id).counter);
    assert.ok(replica);
    const load = hammer(store, id, 16);
    await sleep(500);
    const started = performance.now();
    await cluster.admin(cluster.node(replica.port), 'CLUSTER', 'FAILOVER');
    await waitFor('the replica promoted', async () => (await cluster.shardOf(counterKeys(id).counter)).master.id === replica.id, 10_000);
    await sleep(1500);
    const history = await load.stop();
    const after = Number(await store.get(id));
    assert.deepEqual(checkCounterHistory(history, before, after), []);
    const recovery = longestPause(history, started);
    assert.ok(recovery < 5000, `no pause in counting longer than ${recovery.toFixed(0)} ms`);
    assert.notEqual((await cluster.shardOf(counterKeys(id).counter)).master.id, master.id);
    process.stdout.write(`# planned failover under load: ${history.length} hits, ${failed(history)} refused, none lost or doubled, longest pause in counting ${recovery.toFixed(0)} ms\n`);
  });

  it('survives a SIGKILL of a master under load: its replica takes over, losses bounded, nothing counted twice', async () => {
    const id = { namespace: 'site', key: 'crash' };
    await store.hit(id);
    const before = Number(await store.get(id));
    const { master, replica } = await cluster.shardOf(counterKeys(id).counter);
    assert.ok(replica);
    const victim = cluster.node(master.port);
    const load = hammer(store, id, 16);
    await sleep(1000);
    const killed = performance.now();
    await victim.stop('SIGKILL');
    await waitFor('the replica promoted', async () => (await cluster.shardOf(counterKeys(id).counter)).master.id === replica.id, 20_000);
    await waitFor('counting again', async () => acknowledged(load.history, killed + 1) > 0, 10_000);
    await sleep(1000);
    const history = await load.stop();
    const after = Number(await store.get(id));
    const acked = acknowledged(history, 0);
    const lost = Math.max(0, acked - (after - before));
    // Replication is asynchronous: what the master acknowledged but had not yet sent its replica
    // is lost, at most what it acknowledged in its last second.
    const lastSecond = acknowledged(history, killed - 1000, killed);
    assert.ok(lost <= lastSecond, `lost ${lost}, more than the ${lastSecond} acknowledged in the last second`);
    const problems = checkCounterHistory(history, before, after);
    assert.deepEqual(problems.filter((problem) => /counted twice|ahead of the requests/.test(problem)), [], 'nothing counted twice');
    if (lost === 0) assert.deepEqual(problems, []);
    const recovery = recoveredAfter(history, killed);
    assert.ok(recovery < 15_000, `writes back within ${recovery.toFixed(0)} ms`);
    process.stdout.write(`# master SIGKILL under load: ${history.length} hits, ${lost} acknowledged and lost (of ${lastSecond} in its last second), ${failed(history)} refused, counting again ${recovery.toFixed(0)} ms after the kill (cluster-node-timeout ${NODE_TIMEOUT_MS} ms)\n`);

    // The old master comes back as a replica of the new one, with the new master's count.
    await victim.start();
    await cluster.waitHealthy(20_000);
    const entry = (await cluster.entries()).find((candidate) => candidate.port === victim.port);
    assert.equal(entry?.role, 'replica');
    await waitFor('the count replicated to the old master', async () => (await cluster.readOnReplica(victim, 'HGET', counterKeys(id).counter, 'v')) === String(after), 10_000);
  });
});

describe('start-redis.sh for a Cluster node', () => {
  const start = (env: Record<string, string>) =>
    run('sh', [fileURLToPath(new URL('../../redis/start-redis.sh', import.meta.url))], {
      env: { PATH: process.env.PATH ?? '', REDIS_CONF_DIR: fileURLToPath(new URL('../../redis/', import.meta.url)), REDIS_PASSWORD_FILE: '/dev/null', ...env },
      timeoutMs: 10_000,
    });
  const folder = mkdtempSync(join(tmpdir(), 'vc-cluster-'));
  const password = join(folder, 'pw');
  writeFileSync(password, 'pw\n');
  after(() => { rmSync(folder, { recursive: true, force: true }); });

  it('refuses a bad REDIS_CLUSTER, a missing replication password or a bad node timeout, naming the setting (exit 78)', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ REDIS_CLUSTER: 'maybe' }, /^start-redis: REDIS_CLUSTER must be yes or no \(got "maybe"\)$/m],
      [{ REDIS_CLUSTER: 'yes', REDIS_REPLICATION_PASSWORD_FILE: join(folder, 'missing') }, /^start-redis: REDIS_REPLICATION_PASSWORD_FILE cannot be read/m],
      [{ REDIS_CLUSTER: 'yes', REDIS_REPLICATION_PASSWORD_FILE: password, REDIS_CLUSTER_NODE_TIMEOUT: '5s' }, /^start-redis: REDIS_CLUSTER_NODE_TIMEOUT must be milliseconds/m],
    ];
    for (const [env, message] of cases) {
      const result = await start({ REDIS_PASSWORD_FILE: password, ...env });
      assert.equal(result.code, 78, JSON.stringify(env));
      assert.match(result.stderr, message);
    }
  });
});

describe('throughput: the 3-master cluster against one Redis, in the same run (a figure, not a timed assertion)', () => {
  const cluster = new LocalRedisCluster(3, NODE_TIMEOUT_MS);
  const single = new RedisServer({ ...CLUSTER_COUNTER, asInTheStack: { adminPassword: CLUSTER_ADMIN.password } });
  const stores: CounterStore[] = [];
  before(async () => {
    await Promise.all([cluster.start(), single.start()]);
  });
  after(async () => {
    for (const opened of stores) await opened.close();
    await Promise.all([cluster.destroy(), single.destroy()]);
  });

  const CONCURRENCY = 64;
  const SECONDS = 3;
  /** Hits/s over SECONDS at CONCURRENCY, over 1,000 counters (spread over every slot). */
  const measure = async (connection: Parameters<typeof createRedisStore>[0]['connection']): Promise<number> => {
    const store = createRedisStore({ connection, timeoutMs: 2000, log: createLogger('silent', 'it'), ttlDays: 0, historyDays: 30, timeZone: 'UTC' });
    stores.push(store);
    await waitFor('the store ready', () => store.isReady(), 10_000);
    let hits = 0;
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = worker; performance.now() < until; i += CONCURRENCY) {
        await store.hit({ namespace: 'bench', key: `page-${i % 1000}` }, { visitor: { address: `10.0.${i % 250}.1`, userAgent: 'bench' } });
        hits += 1;
      }
    }));
    return hits / SECONDS;
  };
  /** FCALLs and CPU seconds of one Redis, from INFO. */
  const usage = async (node: RedisServer) => {
    const info = String(await node.command(['INFO', 'all'], CLUSTER_ADMIN));
    const number = (pattern: RegExp) => Number(pattern.exec(info)?.[1] ?? 0);
    return { calls: number(/cmdstat_fcall:calls=(\d+)/), cpu: number(/used_cpu_user:([\d.]+)/) + number(/used_cpu_sys:([\d.]+)/) };
  };

  it('measures hits per second through the store, and per master', async () => {
    const singleBefore = await usage(single);
    const singleRate = await measure({ url: single.url, ...CLUSTER_COUNTER, database: 0 });
    const singleAfter = await usage(single);
    const masters = (await cluster.entries()).filter((entry) => entry.role === 'master').map((entry) => cluster.node(entry.port));
    const mastersBefore = await Promise.all(masters.map(usage));
    const clusterRate = await measure({ url: 'redis://unused', ...CLUSTER_COUNTER, database: 0, clusterNodes: cluster.seeds.slice(0, 3) });
    const mastersAfter = await Promise.all(masters.map(usage));
    assert.ok(singleRate > 0 && clusterRate > 0);
    const perCpuSecond = (calls: number, cpu: number) => (cpu > 0 ? Math.round(calls / cpu) : 0);
    const shares = masters.map((_, i) => {
      const calls = (mastersAfter[i]?.calls ?? 0) - (mastersBefore[i]?.calls ?? 0);
      return { perSecond: Math.round(calls / SECONDS), perCpuSecond: perCpuSecond(calls, (mastersAfter[i]?.cpu ?? 0) - (mastersBefore[i]?.cpu ?? 0)) };
    });
    for (const share of shares) assert.ok(share.perSecond > 0, 'every master counts a share');
    process.stdout.write(
      `# throughput at ${CONCURRENCY} concurrent hits, one app process: single Redis ${Math.round(singleRate)} hits/s ` +
        `(${perCpuSecond(singleAfter.calls - singleBefore.calls, singleAfter.cpu - singleBefore.cpu)} per Redis CPU-second), ` +
        `cluster ${Math.round(clusterRate)} hits/s (ratio ${(clusterRate / singleRate).toFixed(2)}); per master: ` +
        `${shares.map((share) => `${share.perSecond} hits/s (${share.perCpuSecond} per CPU-second)`).join(', ')}\n`,
    );
  });
});
