import assert from 'node:assert/strict';
import { createServer, connect, Socket, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createStoreClient, type StoreClient, type StoreClientSettings } from '../../src/store/store-client.ts';
import { freePort } from '../helpers/free-port.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { recorder, settle } from '../helpers/store-client-recorder.ts';
import { waitFor } from '../helpers/wait.ts';


/** The node-redis client of one Redis (store-client.ts): its settings, its subscriber, and closing. */
describe('the store client of one Redis', () => {
  const redis = new RedisServer();
  // Every client is closed at the end, also after a failed test (an open one would keep the process alive).
  const clients: StoreClient[] = [];
  const subscriptions: (() => Promise<void>)[] = [];

  before(() => redis.start());
  after(async () => {
    for (const end of subscriptions) await end();
    for (const client of clients) await client.close();
    await redis.destroy();
  });

  const open = async (url: string, settings: StoreClientSettings, credentials: { username?: string; password?: string } = {}): Promise<StoreClient> => {
    const client = createStoreClient({ url, database: 0, ...credentials }, settings);
    clients.push(client);
    client.connect();
    return client;
  };
  const subscribe = async (client: StoreClient, listener: (message: string) => void): Promise<() => Promise<void>> => {
    const end = await client.subscribe('store-client-test', listener);
    subscriptions.push(end);
    return end;
  };

  it('does not send CLIENT SETINFO (the app\'s Redis user may not run it; a refusal would fill the ACL log)', async () => {
    // A TCP relay in front of the real Redis that keeps what the client sends.
    let sent = '';
    const sockets = new Set<Socket>();
    const relay = createServer((inbound) => {
      const outbound = connect(redis.port, '127.0.0.1');
      for (const socket of [inbound, outbound]) {
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => { inbound.destroy(); outbound.destroy(); });
      }
      inbound.on('data', (chunk: Buffer) => { sent += chunk.toString('latin1'); outbound.write(chunk); });
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const { seen, settings } = recorder();
      const client = await open(`redis://127.0.0.1:${(relay.address() as AddressInfo).port}`, settings);
      await waitFor('the client ready', async () => client.isReady, 5000, 20);
      assert.equal(await client.send(undefined, ['PING']), 'PONG');
      assert.equal(seen.readies, 1);
      assert.match(sent, /PING/);
      assert.doesNotMatch(sent, /SETINFO/i, sent);
      await client.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('refuses a command at once while Redis is unreachable (no offline queue), retries with reconnectDelay, and closes without waiting', async () => {
    const { seen, settings } = recorder();
    const client = await open(`redis://127.0.0.1:${await freePort()}`, settings);
    const sent = await settle(client.send(undefined, ['PING']), 1000);
    assert.notEqual(sent, 'pending', 'a command to an unreachable Redis must fail at once, not wait for a reconnection');
    assert.match(String((sent as { error?: unknown }).error), /offline/i);
    await waitFor('two reconnection delays asked for', async () => seen.delays.length >= 2, 5000, 20);
    assert.deepEqual(seen.delays.slice(0, 2), [0, 1]);
    assert.ok(seen.errors.length >= 1, 'each failed attempt is reported');

    assert.notEqual(await settle(client.close(), 1000), 'pending');
    const asked = seen.delays.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(seen.delays.length, asked, 'no more attempts once closed');
    // Closing twice is harmless (the store may be closed by a signal and by the end of a test).
    assert.deepEqual(await settle(client.close(), 1000), { value: undefined });
  });

  it('makes no timer per command (node-redis would give each an AbortSignal.timeout of 5 s by default)', async (t) => {
    const { settings } = recorder();
    const client = await open(redis.url, settings);
    await waitFor('the client ready', async () => client.isReady, 5000, 20);
    const timeouts = t.mock.method(AbortSignal, 'timeout');
    for (let i = 0; i < 10; i += 1) assert.equal(await client.send(undefined, ['PING']), 'PONG');
    assert.deepEqual(timeouts.mock.calls.map((call) => call.arguments), []);
  });

  it('gives a connection attempt at least a second, even when timeoutMs is shorter', async () => {
    // A Redis whose accept queue (tcp-backlog 0) is full while it is frozen: the kernel ignores
    // further connection requests, so a connection attempt hangs until the client gives up on it.
    const frozen = new RedisServer({ args: ['--tcp-backlog', '0'] });
    await frozen.start();
    const filler = new Socket();
    let client: StoreClient | undefined;
    try {
      await frozen.pause();
      await new Promise<void>((resolve, reject) => {
        filler.once('error', reject);
        filler.connect(frozen.port, '127.0.0.1', resolve);
      });
      const { seen, settings } = recorder();
      const started = performance.now();
      client = await open(frozen.url, { ...settings, timeoutMs: 300 });
      await waitFor('the attempt given up', async () => seen.errors.length > 0, 5000, 20);
      const waited = performance.now() - started;
      assert.match(String(seen.errors[0]), /timeout/i);
      assert.ok(waited >= 990, `gave up on connecting after ${Math.round(waited)} ms`);
    } finally {
      await client?.close();
      filler.destroy();
      await frozen.destroy();
    }
  });

  it('ends a subscription and closes at once while Redis froze in the middle of their connecting (AUTH sent, no answer)', async () => {
    // Closing gracefully would wait for the handshake's answer, which a frozen Redis never sends.
    const frozen = new RedisServer({ password: 'frozen-pw' });
    await frozen.start();
    try {
      await frozen.pause();
      const { settings } = recorder();
      const client = await open(frozen.url, settings, { password: 'frozen-pw' });
      const end = await subscribe(client, () => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300)); // both connected (the kernel accepts for the frozen Redis), AUTH sent
      assert.equal(client.isReady, false);
      assert.deepEqual(await settle(end(), 1000), { value: undefined });
      assert.deepEqual(await settle(client.close(), 1000), { value: undefined });
    } finally {
      await frozen.destroy();
    }
  });

  it('lets a command in flight finish when closing a ready client', async () => {
    const { settings } = recorder();
    const client = await open(redis.url, settings);
    await waitFor('the client ready', async () => client.isReady, 5000, 20);
    // BLPOP on an empty list answers nil after its timeout: a command still waiting when close() starts.
    const waiting = client.send(undefined, ['BLPOP', 'store-client-test:empty', '0.2']);
    await client.close();
    assert.deepEqual(await settle(waiting, 1000), { value: null });
    assert.equal(client.isReady, false);
  });

  it('reports a refused SUBSCRIBE through onSubscribeError, once, and ends quietly', async () => {
    await redis.command(['ACL', 'SETUSER', 'no-pubsub', 'on', '>no-pubsub-password', '~*', '&*', '+@all', '-subscribe']);
    const { seen, settings } = recorder();
    const client = await open(redis.url, settings, { username: 'no-pubsub', password: 'no-pubsub-password' });
    await waitFor('the client ready', async () => client.isReady, 5000, 20);
    const end = await subscribe(client, () => undefined);
    await waitFor('the refusal reported', async () => seen.subscribeErrors.length > 0, 5000, 20);
    assert.equal(seen.subscribeErrors.length, 1);
    assert.match(String(seen.subscribeErrors[0]), /NOPERM/);
    await end();
    assert.equal(seen.subscribeErrors.length, 1);
  });

  it('subscribes, delivers each message once, and reports nothing when ended', async () => {
    const { seen, settings } = recorder();
    const client = await open(redis.url, settings);
    await waitFor('the client ready', async () => client.isReady, 5000, 20);
    const messages: string[] = [];
    const end = await subscribe(client, (message) => messages.push(message));
    await waitFor('subscribed', async () => Number((await client.send<unknown[]>(undefined, ['PUBSUB', 'NUMSUB', 'store-client-test']))[1]) === 1, 5000, 20);
    await client.send(undefined, ['PUBLISH', 'store-client-test', 'one']);
    await waitFor('the message', async () => messages.length > 0, 5000, 20);
    assert.deepEqual(messages, ['one']);
    await end();
    await waitFor('unsubscribed', async () => Number((await client.send<unknown[]>(undefined, ['PUBSUB', 'NUMSUB', 'store-client-test']))[1]) === 0, 5000, 20);
    // Ending twice is harmless.
    await end();
    assert.deepEqual(seen.subscribeErrors, []);
  });

  it('ends a subscription whose connection never came up without reporting it', async () => {
    const { seen, settings } = recorder();
    const client = await open(`redis://127.0.0.1:${await freePort()}`, settings);
    const end = await subscribe(client, () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(await settle(end(), 1000), { value: undefined });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(seen.subscribeErrors, []);
  });
  // Last: it restarts Redis.
  it('after Redis restarts, is subscribed again, with one SUBSCRIBE, and delivers each message once', async () => {
    const { seen, settings } = recorder();
    const client = await open(redis.url, settings);
    await waitFor('the client ready', async () => client.isReady, 5000, 20);
    const messages: string[] = [];
    await subscribe(client, (message) => messages.push(message));
    await waitFor('subscribed', async () => Number((await client.send<unknown[]>(undefined, ['PUBSUB', 'NUMSUB', 'store-client-test']))[1]) === 1, 5000, 20);
    await redis.stop();
    await redis.start();
    // A restarted Redis counts commands from zero.
    const subscribeCalls = async () => Number(/cmdstat_subscribe:calls=(\d+)/.exec(String(await redis.command(['INFO', 'commandstats'])))?.[1] ?? 0);
    await waitFor('subscribed again', async () => (await subscribeCalls()) >= 1, 10_000, 20);
    await waitFor('the client ready again', async () => client.isReady, 5000, 20);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await subscribeCalls(), 1);
    await client.send(undefined, ['PUBLISH', 'store-client-test', 'after']);
    await waitFor('the message', async () => messages.length > 0, 5000, 20);
    assert.deepEqual(messages, ['after']);
    assert.deepEqual(seen.subscribeErrors, []);
  });
});
