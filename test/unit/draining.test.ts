import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { FakeCounterStore } from '../helpers/fake-counter-store.ts';

describe('while the app closes', () => {
  it('finishes a request in flight and answers it with Connection: close; before that, keep-alive is left alone', async () => {
    const app = await buildApp({ replicaName: 'drain', store: new FakeCounterStore(), counting: { historyDays: 30, timeZone: 'UTC' } });
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    app.get('/slow', async () => {
      entered();
      await gate;
      return 'done\n';
    });
    // Runs after the app's own preClose hooks, as the shutdown has begun.
    app.addHook('preClose', async () => {
      release();
    });

    const before = await app.inject('/healthz');
    assert.notEqual(before.headers.connection, 'close');

    const pending = app.inject('/slow');
    await inHandler;
    const closed = app.close();
    const during = await pending;
    await closed;
    assert.equal(during.statusCode, 200);
    assert.equal(during.body, 'done\n');
    assert.equal(during.headers.connection, 'close');
  });

  it('serves a request that arrives on a kept-alive connection once closing began, instead of Fastify\'s 503', async (t) => {
    const app = await buildApp({ replicaName: 'drain', store: new FakeCounterStore(), counting: { historyDays: 30, timeZone: 'UTC' } });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // Also when an assertion fails before the app is closed (a listening app keeps the file alive).
    t.after(async () => { agent.destroy(); await app.close(); });
    const get = () =>
      new Promise<{ status: number | undefined; connection: string | undefined }>((resolve, reject) => {
        const { port } = app.server.address() as AddressInfo;
        request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
          res.resume().on('end', () => { resolve({ status: res.statusCode, connection: res.headers.connection }); });
        }).on('error', reject).end();
      });
    let late: Awaited<ReturnType<typeof get>> | undefined;
    // nginx's next request on a socket it keeps: it would pass a 503 on to the client, not retry it.
    app.addHook('preClose', async () => {
      late = await get();
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    assert.deepEqual(await get(), { status: 200, connection: 'keep-alive' });
    await app.close();
    assert.deepEqual(late, { status: 200, connection: 'close' });
  });
});
