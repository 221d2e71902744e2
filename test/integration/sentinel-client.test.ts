// The node-redis Sentinel client behind the store (sentinel-client.ts), against one real master
// and one real sentinel (redis/start-redis.sh and start-sentinel.sh, as redis-ha.ts starts them):
// what it reports, what it sends the sentinels, markers on writes, subscribing and closing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SentinelRedisConnection } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { CounterStore } from '../../src/store/counter-store.ts';
import { counterKeys } from '../../src/store/keys.ts';
import { createRedisStore } from '../../src/store/redis-store.ts';
import { createStoreClient, type StoreClient, type StoreClientSettings } from '../../src/store/store-client.ts';
import { freePort } from '../helpers/free-port.ts';
import { COUNTING } from '../helpers/in-process-app.ts';
import { assertSentinelBinary, HA_ADMIN, HA_COUNTER, MASTER_NAME, SENTINEL_USER, SentinelProcess } from '../helpers/redis-ha.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { recorder, settle } from '../helpers/store-client-recorder.ts';
import { waitFor } from '../helpers/wait.ts';


// What the app's counter user may ask a sentinel (start-sentinel.sh), given to the test's users too.
const SENTINEL_RULES = ['resetchannels', '&*', '-@all', '+auth', '+hello', '+ping', '+psubscribe', '+punsubscribe', '+subscribe', '+unsubscribe',
  '+sentinel|get-master-addr-by-name', '+sentinel|master', '+sentinel|sentinels', '+sentinel|replicas', '+sentinel|slaves'];
const NO_SUBSCRIBE = { username: 'no-subscribe', password: 'no-subscribe-pw' };

describe('the store client of a master found through Sentinel', () => {
  const secrets = mkdtempSync(join(tmpdir(), 'visit-counter-sentinel-client-'));
  const master = new RedisServer({
    ...HA_COUNTER,
    asInTheStack: { adminPassword: HA_ADMIN.password, env: { REDIS_SENTINEL_PASSWORD_FILE: join(secrets, 'sentinel_password'), REDIS_REPLICATION_PASSWORD_FILE: join(secrets, 'replication_password') } },
  });
  let sentinel: SentinelProcess;
  const clients: StoreClient[] = [];
  const stores: CounterStore[] = [];

  const connection = (as: { username: string; password: string }, port = sentinel.port): SentinelRedisConnection =>
    ({ kind: 'sentinel', sentinels: [{ host: '127.0.0.1', port }], masterName: MASTER_NAME, ...as, database: 0 });
  const open = (settings: StoreClientSettings, as: { username: string; password: string } = HA_ADMIN, port?: number): StoreClient => {
    const client = createStoreClient(connection(as, port), settings);
    clients.push(client);
    client.connect();
    return client;
  };

  before(async () => {
    assertSentinelBinary();
    writeFileSync(join(secrets, 'sentinel_password'), `${SENTINEL_USER.password}\n`);
    writeFileSync(join(secrets, 'replication_password'), 'sentinel-client-replication-pw\n');
    writeFileSync(join(secrets, 'counter_password'), `${HA_COUNTER.password}\n`);
    await master.start();
    sentinel = new SentinelProcess({
      SENTINEL_MONITOR: `127.0.0.1 ${master.port}`,
      SENTINEL_MASTER_NAME: MASTER_NAME,
      SENTINEL_QUORUM: '1',
      SENTINEL_DOWN_AFTER_MS: '60000',
      REDIS_SENTINEL_PASSWORD_FILE: join(secrets, 'sentinel_password'),
      REDIS_PASSWORD_FILE: join(secrets, 'counter_password'),
    });
    await sentinel.start();
    // The admin user may ask the sentinel what the counter user may (and no more), and run anything on the master.
    for (const user of [HA_ADMIN, NO_SUBSCRIBE]) await sentinel.command(['ACL', 'SETUSER', user.username, 'on', `>${user.password}`, ...SENTINEL_RULES]);
    await master.command(['ACL', 'SETUSER', NO_SUBSCRIBE.username, 'on', `>${NO_SUBSCRIBE.password}`, '~*', '&*', '+@all', '-subscribe'], HA_ADMIN);
    await sentinel.command(['ACL', 'LOG', 'RESET']);
  });
  after(async () => {
    for (const client of clients) await client.close();
    for (const store of stores) await store.close();
    sentinel.killNow();
    await master.destroy();
    rmSync(secrets, { recursive: true, force: true });
  });

  it("reports ready once; asks the sentinels nothing their ACL refuses; connects to them with the store's deadline", async (t) => {
    const timeouts = t.mock.method(Socket.prototype, 'setTimeout');
    const { seen, settings } = recorder(300);
    const client = open(settings);
    await waitFor('the client ready', async () => client.isReady, 10_000, 20);
    assert.equal(await client.send(undefined, ['PING']), 'PONG');
    assert.equal(seen.readies, 1);
    // Connected once, it stops trying: no further attempt (a later one would fail and be reported).
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual({ errors: seen.errors.map(String), delays: seen.delays }, { errors: [], delays: [] });
    assert.deepEqual(await sentinel.command(['ACL', 'LOG']), []);
    // Every connection (to the sentinel and to the master) gives up connecting after max(timeoutMs, 1 s), not node-redis's 5 s.
    const deadlines = new Set(timeouts.mock.calls.map((call) => call.arguments[0]).filter((ms) => typeof ms === 'number' && ms > 0));
    assert.deepEqual([...deadlines], [1000]);
  });

  it('gives a hit sent without an idempotency key a marker of its own (the client may send a write twice after a failover)', async () => {
    const store = createRedisStore({ connection: connection(HA_COUNTER), timeoutMs: 1000, log: createLogger('silent', 'it'), ...COUNTING });
    stores.push(store);
    await waitFor('the store ready', () => store.isReady(), 10_000);
    const id = { namespace: 'sentinel', key: 'marked' };
    const keys = counterKeys(id);
    assert.equal((await store.hit(id)).value, 1);
    const windows = (await master.command(['KEYS', keys.hitMarkers(0).replace(/0$/, '*')], HA_ADMIN)) as string[];
    const markers = (await Promise.all(windows.map(async (name) => (await master.command(['HKEYS', name], HA_ADMIN)) as string[]))).flat();
    assert.equal(markers.length, 1, `one marker for the one hit: ${JSON.stringify(markers)}`);
  });

  it('lets a command in flight finish when closing a ready client; closing twice is harmless', async () => {
    const { settings } = recorder(300);
    const client = open(settings);
    await waitFor('the client ready', async () => client.isReady, 10_000, 20);
    // BLPOP on an empty list answers nil after its timeout: a command still waiting when close() starts.
    const waiting = client.send(undefined, ['BLPOP', 'sentinel-client-test:empty', '0.5']);
    await waitFor('the BLPOP waiting on the master', async () => /blocked_clients:1\b/.test(String(await master.command(['INFO', 'clients'], HA_ADMIN))), 5000, 10);
    await client.close();
    assert.deepEqual(await settle(waiting, 1000), { value: null });
    assert.equal(client.isReady, false);
    assert.deepEqual(await settle(client.close(), 1000), { value: undefined });
  });

  it('closes at once while still looking for the sentinels', async () => {
    const { settings } = recorder(300);
    const client = open(settings, HA_ADMIN, await freePort());
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await settle(client.close(), 3000), { value: undefined });
    assert.deepEqual(await settle(client.close(), 1000), { value: undefined });
  });

  it('reports a refused SUBSCRIBE through onSubscribeError, once', async () => {
    const { seen, settings } = recorder(300);
    const client = open(settings, NO_SUBSCRIBE);
    await waitFor('the client ready', async () => client.isReady, 10_000, 20);
    const end = await client.subscribe('sentinel-client-test', () => undefined);
    try {
      await waitFor('the refusal reported', async () => seen.subscribeErrors.length > 0, 10_000, 20);
      assert.equal(seen.subscribeErrors.length, 1);
      assert.match(String(seen.subscribeErrors[0]), /NOPERM/);
    } finally {
      await end();
    }
  });

  it("reports the master's connection problems (node-redis would keep them to the master's own client)", async () => {
    const { seen, settings } = recorder(300);
    const client = open(settings);
    await waitFor('the client ready', async () => client.isReady, 10_000, 20);
    assert.deepEqual(seen.errors, []);
    await master.stop();
    try {
      await waitFor("the master's connection problem reported", async () => seen.errors.some((error) => error.message.includes(String(master.port))), 10_000, 20);
    } finally {
      await master.start();
    }
    await waitFor('ready again', async () => client.isReady && (await client.send(undefined, ['PING'])) === 'PONG', 10_000, 50);
  });

  it('keeps looking for the sentinels after node-redis gives up on them (16 rounds, some 17 s), and is ready once one answers', { timeout: 60_000 }, async () => {
    const { seen, settings } = recorder(300);
    const port = await freePort();
    const client = open(settings, HA_ADMIN, port);
    // A second client, closed the moment it hears that node-redis gave up: it must not look again.
    const second = recorder(300);
    const closing: StoreClient = open({
      ...second.settings,
      onError: (error) => {
        second.seen.errors.push(error);
        if (error.message === 'None of the sentinels are available') void closing.close();
      },
    }, HA_ADMIN, port);
    await waitFor('node-redis giving up reported', async () => seen.errors.some((error) => error.message === 'None of the sentinels are available'), 30_000, 100);
    assert.equal(client.isReady, false);
    // The sentinel comes (late) at the address the client was given: a relay to the real one.
    const relay = createServer((socket) => {
      const upstream = connect(sentinel.port, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve));
    try {
      await waitFor('ready through the sentinel that came', async () => client.isReady, 15_000, 50);
      assert.equal(seen.readies, 1);
      // node-redis asks once a second: by now a closed client that went on looking would be ready too.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(closing.isReady, false);
      assert.equal(second.seen.readies, 0);
    } finally {
      await client.close();
      relay.close();
    }
  });
});
