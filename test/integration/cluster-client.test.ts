import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import type { CounterStore } from '../../src/store/counter-store.ts';
import { counterKeys } from '../../src/store/keys.ts';
import { createRedisStore } from '../../src/store/redis-store.ts';
import { createStoreClient, type StoreClient, type StoreClientSettings } from '../../src/store/store-client.ts';
import { CLUSTER_ADMIN, CLUSTER_COUNTER, LocalRedisCluster } from '../helpers/redis-cluster.ts';
import { recorder, settle } from '../helpers/store-client-recorder.ts';
import { waitFor } from '../helpers/wait.ts';


/** The node-redis Cluster client behind the store (cluster-client.ts): readiness, TRYAGAIN, pub/sub, markers. */
describe('the store client of a Redis Cluster', () => {
  const cluster = new LocalRedisCluster(3, 2000);
  const clients: StoreClient[] = [];
  const stores: CounterStore[] = [];

  before(() => cluster.start());
  after(async () => {
    for (const client of clients) await client.close();
    for (const store of stores) await store.close();
    await cluster.destroy();
  });

  const open = (settings: StoreClientSettings, seeds = cluster.seeds.slice(0, 2)): StoreClient => {
    const client = createStoreClient({ url: 'redis://unused', ...CLUSTER_ADMIN, database: 0, clusterNodes: seeds }, settings);
    clients.push(client);
    client.connect();
    return client;
  };
  const errorCount = async (port: number, kind: string) =>
    Number(new RegExp(`errorstat_${kind}:count=(\\d+)`).exec(String(await cluster.admin(cluster.node(port), 'INFO', 'errorstats')))?.[1] ?? 0);
  const publish = (channel: string, message: string) => cluster.admin(cluster.node(cluster.seeds[0]?.port ?? 0), 'PUBLISH', channel, message);
  /** Subscribers of a channel on all nodes (a Cluster's PUBSUB NUMSUB counts one node's). */
  const subscribers = async (channel: string) => {
    let total = 0;
    for (const node of cluster.nodes) total += ((await cluster.admin(node, 'PUBSUB', 'NUMSUB', channel)) as [string, number])[1];
    return total;
  };

  it('reports ready once it has found the cluster ("redis ready" in the log)', async () => {
    const { seen, settings } = recorder();
    const client = open(settings);
    await waitFor('the client ready', async () => client.isReady, 10_000, 20);
    assert.equal(seen.readies, 1);
    // Connected once, it stops trying: no further attempt (a later one would fail and be reported).
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual({ errors: seen.errors.map(String), delays: seen.delays }, { errors: [], delays: [] });
  });

  it('tries a call refused with TRYAGAIN (keys split by a slot migration) six times in all, then gives up with the refusal; any other refusal is not tried again', async () => {
    const { settings } = recorder();
    const client = open(settings);
    await waitFor('the client ready', async () => client.isReady, 10_000, 20);
    const [present, absent] = ['{tryagain}present', '{tryagain}absent'];
    await client.send(present, ['SET', present, 'x']);
    const { slot, master } = await cluster.shardOf(present);
    const target = (await cluster.entries()).find((entry) => entry.role === 'master' && entry.id !== master.id);
    assert.ok(target);
    const source = cluster.node(master.port);
    // The slot is migrating and only one of the two keys is still on its source: Redis refuses a
    // call naming both with TRYAGAIN for as long as the migration lasts.
    await cluster.admin(source, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target.id);
    try {
      await cluster.admin(source, 'CONFIG', 'RESETSTAT');
      const refused = await settle(client.send(present, ['MGET', present, absent]), 5000);
      assert.notEqual(refused, 'pending', 'a lasting TRYAGAIN must end in an error, not be tried for ever');
      assert.match(String((refused as { error?: unknown }).error), /TRYAGAIN/);
      assert.equal(await errorCount(master.port, 'TRYAGAIN'), 6, 'the first try and five more');
    } finally {
      await cluster.admin(source, 'CLUSTER', 'SETSLOT', String(slot), 'STABLE');
    }
    await cluster.admin(source, 'CONFIG', 'RESETSTAT');
    const wrongType = await settle(client.send(present, ['HGET', present, 'field']), 5000);
    assert.match(String((wrongType as { error?: unknown }).error), /WRONGTYPE/);
    assert.equal(await errorCount(master.port, 'WRONGTYPE'), 1, 'a refusal other than TRYAGAIN is sent once');
  });

  it('ends a subscription: no node has the subscriber any more, and nothing is heard after', async () => {
    const { seen, settings } = recorder();
    const client = open(settings);
    await waitFor('the client ready', async () => client.isReady, 10_000, 20);
    const messages: string[] = [];
    const end = await client.subscribe('cluster-client-test', (message) => messages.push(message));
    await waitFor('the first message', async () => {
      await publish('cluster-client-test', 'one');
      return messages.length > 0;
    }, 10_000, 50);
    assert.equal(await subscribers('cluster-client-test'), 1);
    await end();
    assert.equal(await subscribers('cluster-client-test'), 0);
    const heard = messages.length;
    await publish('cluster-client-test', 'after');
    assert.equal(await subscribers('cluster-client-test'), 0);
    assert.equal(messages.length, heard);
    assert.deepEqual(seen.subscribeErrors, []);
  });

  it('ends a subscription quietly after the client closed', async () => {
    const { settings } = recorder();
    const client = open(settings);
    await waitFor('the client ready', async () => client.isReady, 10_000, 20);
    const end = await client.subscribe('cluster-client-closed', () => undefined);
    await waitFor('subscribed', async () => (await subscribers('cluster-client-closed')) === 1, 10_000, 20);
    await client.close();
    assert.deepEqual(await settle(end(), 2000), { value: undefined });
  });

  it('ends a subscription quietly while the cluster is still being looked for (a seed that never answers)', async () => {
    // A seed that accepts the connection and never answers: finding the cluster stays under way.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => { sockets.add(socket); socket.on('error', () => undefined); });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { seen, settings } = recorder();
      const client = open(settings, [{ host: '127.0.0.1', port: (silent.address() as AddressInfo).port }]);
      const end = await client.subscribe('cluster-client-never', () => undefined);
      await waitFor('connected to the seed', async () => sockets.size > 0, 5000, 20);
      assert.equal(client.isReady, false);
      assert.deepEqual(await settle(end(), 2000), { value: undefined });
      assert.deepEqual(await settle(client.close(), 2000), { value: undefined });
      assert.deepEqual(seen.subscribeErrors, []);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('writes no idempotency marker for a hit sent without a key (a Cluster client never sends a command twice by itself)', async () => {
    const store = createRedisStore({
      connection: { url: 'redis://unused', ...CLUSTER_COUNTER, database: 0, clusterNodes: cluster.seeds.slice(0, 2) },
      timeoutMs: 1000,
      log: createLogger('silent', 'it'),
      ttlDays: 0,
      historyDays: 30,
      timeZone: 'UTC',
    });
    stores.push(store);
    await waitFor('the store ready', () => store.isReady(), 10_000);
    const id = { namespace: 'site', key: 'no-marker' };
    const keys = counterKeys(id);
    assert.equal((await store.hit(id)).value, 1);
    assert.equal((await store.hit(id, { idempotencyKey: 'given' })).value, 2);
    const { master } = await cluster.shardOf(keys.counter);
    const node = cluster.node(master.port);
    const windows = (await cluster.admin(node, 'KEYS', keys.hitMarkers(0).replace(/0$/, '*'))) as string[];
    const markers = (await Promise.all(windows.map(async (name) => (await cluster.admin(node, 'HKEYS', name)) as string[]))).flat();
    assert.deepEqual(markers, ['given'], 'only the marker of the hit that came with one');
  });
});
