import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { FakeCounterStore } from '../helpers/fake-counter-store.ts';

/** Answers given before any route runs: by Fastify's router (app.ts frameworkErrors) or the canonical-paths hook. */
const app = async (t: TestContext) => {
  const store = new FakeCounterStore();
  const built = await buildApp({ replicaName: 'early', store, counting: { historyDays: 30, timeZone: 'UTC' } });
  t.after(() => built.close());
  return { app: built, store };
};

describe('answers given before routing', () => {
  it('a malformed URL: 400 in plain text, with the replica and a request id', async (t) => {
    const { app: early } = await app(t);
    const res = await early.inject({ url: '/count%AA', headers: { 'x-request-id': 'req-malformed-1' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.body, 'Bad Request: malformed URL\n');
    assert.equal(res.headers['x-served-by'], 'early');
    assert.equal(res.headers['x-request-id'], 'req-malformed-1');
  });

  it('a path parameter over 100 characters: 414 with its own short message, never counted', async (t) => {
    const { app: early, store } = await app(t);
    const key = 'k'.repeat(101);
    const res = await early.inject({ url: `/hit/${key}` });
    assert.equal(res.statusCode, 414);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.body, `'/hit/${key}' is exceeding the max param length\n`);
    assert.equal(res.headers['x-served-by'], 'early');
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(store.count('hit'), 0);
  });

  it('a path that is not canonical: 400 saying so', async (t) => {
    const { app: early, store } = await app(t);
    // (inject resolves dot segments itself; integration raw-paths sends those over a socket.)
    for (const url of ['/%2fcount', '/%5Ccount', '/count%00']) {
      const res = await early.inject({ url });
      assert.equal(res.statusCode, 400, url);
      assert.equal(res.body, 'Bad Request: path is not canonical\n', url);
    }
    assert.equal(store.visits, 0);
  });
});
