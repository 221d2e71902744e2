import assert from 'node:assert/strict';
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
});
