import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { FakeCounterStore } from '../helpers/fake-counter-store.ts';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('routes', () => {
  let store: FakeCounterStore;
  let app: FastifyInstance;

  beforeEach(async () => {
    store = new FakeCounterStore();
    app = await buildApp({ replicaName: 'web-test-1', store, counting: { historyDays: 30, timeZone: 'UTC' } });
  });
  afterEach(async () => {
    await app.close();
  });

  describe('GET /', () => {
    it('answers plain text to clients without a preference', async () => {
      const res = await app.inject({ url: '/', headers: { accept: '*/*' } });
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'] as string, /^text\/plain/);
      assert.match(res.body, /Welcome/);
      assert.equal(store.visits, 0, 'the welcome page counts nothing');
    });

    it('answers an HTML page linking to /count for browsers', async () => {
      const res = await app.inject({ url: '/', headers: { accept: BROWSER_ACCEPT } });
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'] as string, /^text\/html/);
      assert.match(res.body, /<a href="\/count">/);
    });

    it('answers JSON with the link to /count under links', async () => {
      const res = await app.inject({ url: '/', headers: { accept: 'application/json' } });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), {
        message: 'Welcome to the visit counter! Visit /count to count your visit.',
        links: { count: '/count', dashboard: '/dashboard/default/visits', docs: '/docs', api: '/openapi.json' },
        servedBy: 'web-test-1',
      });
    });

    it('refuses an unacceptable type with 406 in plain text', async () => {
      const res = await app.inject({ url: '/', headers: { accept: 'image/png' } });
      assert.equal(res.statusCode, 406);
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      assert.match(res.body, /^Not Acceptable/);
    });

    it('answers HEAD without a body', async () => {
      const res = await app.inject({ method: 'HEAD', url: '/' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, '');
    });
  });

  describe('GET /count', () => {
    it('increments once per request and shows the new total as text', async () => {
      const first = await app.inject({ url: '/count' });
      const second = await app.inject({ url: '/count', headers: { accept: '*/*' } });
      assert.equal(first.statusCode, 200);
      assert.equal(first.body, 'Total visits: 1\n');
      assert.equal(second.body, 'Total visits: 2\n');
      assert.equal(store.visits, 2);
      assert.equal(first.headers['cache-control'], 'no-store');
    });

    it('answers JSON when asked for it', async () => {
      const res = await app.inject({ url: '/count', headers: { accept: 'application/json' } });
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'] as string, /^application\/json/);
      assert.deepEqual(res.json(), { count: 1, servedBy: 'web-test-1' });
    });

    it('answers an HTML page for browsers, counting the visit once', async () => {
      const res = await app.inject({ url: '/count', headers: { accept: BROWSER_ACCEPT } });
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'] as string, /^text\/html/);
      assert.match(res.body, /<span class="count" id="count">1<\/span>/);
      assert.match(res.body, /rel="icon" href="data:,"/, 'no extra favicon request per page view');
      assert.equal(store.visits, 1);
    });

    it('honours quality values', async () => {
      const res = await app.inject({ url: '/count', headers: { accept: 'text/html;q=0.5, application/json' } });
      assert.match(res.headers['content-type'] as string, /^application\/json/);
    });

    it('refuses an unacceptable type with 406 and counts nothing', async () => {
      const res = await app.inject({ url: '/count', headers: { accept: 'image/png' } });
      assert.equal(res.statusCode, 406);
      assert.match(res.body, /Not Acceptable/);
      assert.equal(store.visits, 0);
    });

    it('answers 503 with a clear message when the store is down, and counts nothing', async () => {
      store.available = false;
      const res = await app.inject({ url: '/count' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.headers['retry-after'], '1');
      assert.match(res.body, /^Service Unavailable: the counter store is not reachable/);
      assert.doesNotMatch(res.body, /at .*\.ts:\d+/, 'no stack trace');
      assert.equal(res.headers['x-served-by'], 'web-test-1');
      assert.equal(store.visits, 0);
    });

    it('counts a repeated Idempotency-Key once and answers it with the first total', async () => {
      const first = await app.inject({ url: '/count', headers: { 'idempotency-key': 'nginx-req-1' } });
      const retry = await app.inject({ url: '/count', headers: { 'idempotency-key': 'nginx-req-1' } });
      const other = await app.inject({ url: '/count', headers: { 'idempotency-key': 'nginx-req-2' } });
      assert.equal(first.body, 'Total visits: 1\n');
      assert.equal(retry.body, 'Total visits: 1\n');
      assert.equal(other.body, 'Total visits: 2\n');
      assert.equal(store.visits, 2);
    });

    it('refuses a malformed Idempotency-Key with 400 and counts nothing', async () => {
      const res = await app.inject({ url: '/count', headers: { 'idempotency-key': 'has space' } });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /Idempotency-Key/);
      assert.equal(store.visits, 0);
    });

    it('refuses a body on GET with 413 and counts nothing', async () => {
      const res = await app.inject({ url: '/count', payload: 'x=1', headers: { 'content-type': 'text/plain' } });
      assert.equal(res.statusCode, 413);
      assert.equal(store.visits, 0);
    });

    it('answers a malformed URL with a short 400', async () => {
      const res = await app.inject({ url: '/count%AA' });
      assert.equal(res.statusCode, 400);
      assert.equal(res.body, 'Bad Request: malformed URL\n');
      assert.equal(res.headers['x-served-by'], 'web-test-1');
    });

    it('does not count HEAD requests (405 with Allow: GET)', async () => {
      const res = await app.inject({ method: 'HEAD', url: '/count' });
      assert.equal(res.statusCode, 405);
      assert.equal(res.headers.allow, 'GET');
      assert.equal(store.visits, 0);
    });

    it('does not count POST (405 with Allow: GET)', async () => {
      const res = await app.inject({ method: 'POST', url: '/count', payload: 'x' });
      assert.equal(res.statusCode, 405);
      assert.equal(res.headers.allow, 'GET');
      assert.match(res.body, /Method Not Allowed/);
      assert.equal(store.visits, 0);
    });
  });

  describe('health', () => {
    it('/healthz is 200 even when the store is down', async () => {
      store.available = false;
      const res = await app.inject({ url: '/healthz' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
      // A probe must never be answered from a cache.
      assert.equal(res.headers['cache-control'], 'no-store');
    });

    it('/readyz follows the store, and is never cached', async () => {
      const up = await app.inject({ url: '/readyz' });
      assert.equal(up.statusCode, 200);
      assert.deepEqual(up.json(), { status: 'ready', redis: 'up' });
      assert.equal(up.headers['cache-control'], 'no-store');
      store.available = false;
      const down = await app.inject({ url: '/readyz' });
      assert.equal(down.statusCode, 503);
      assert.deepEqual(down.json(), { status: 'not ready', redis: 'down' });
      assert.equal(down.headers['cache-control'], 'no-store');
    });
  });

  describe('errors and headers', () => {
    it('unknown paths are 404 with a short body', async () => {
      const res = await app.inject({ url: '/nope' });
      assert.equal(res.statusCode, 404);
      assert.equal(res.body, 'Not Found\n');
    });

    it('wrong methods on / are 405 listing GET and HEAD', async () => {
      const res = await app.inject({ method: 'DELETE', url: '/' });
      assert.equal(res.statusCode, 405);
      assert.equal(res.headers.allow, 'GET, HEAD');
    });

    it('every response names the replica', async () => {
      for (const url of ['/', '/count', '/healthz', '/readyz', '/missing']) {
        const res = await app.inject({ url });
        assert.equal(res.headers['x-served-by'], 'web-test-1', url);
      }
    });

    it('takes the request id from X-Request-ID and echoes it', async () => {
      const res = await app.inject({ url: '/', headers: { 'x-request-id': 'abc123def' } });
      assert.equal(res.headers['x-request-id'], 'abc123def');
    });

    it('replaces a malformed request id with its own', async () => {
      const res = await app.inject({ url: '/', headers: { 'x-request-id': 'bad id\twith spaces' } });
      assert.match(res.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
    });

    it('sends no X-Powered-By and no stack on internal errors', async () => {
      app.get('/boom', async () => {
        throw new Error('secret internals');
      });
      const res = await app.inject({ url: '/boom' });
      assert.equal(res.statusCode, 500);
      assert.equal(res.body, 'Internal Server Error\n');
      assert.equal(res.headers['x-powered-by'], undefined);
    });

    it('closes the store when the app closes', async () => {
      await app.close();
      assert.equal(store.closed, true);
    });
  });
});
