import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf } from '../../src/counters/owner-keys.ts';
import { StoreFaultError, StoreUnavailableError } from '../../src/store/counter-store.ts';
import { apiApp } from '../helpers/api-app.ts';
import { capturedLog } from '../helpers/captured-log.ts';

const CALLBACK_RULE = 'callback must be a JavaScript identifier of at most 64 characters (A-Z a-z 0-9 _ $, not starting with a digit)';
const ns = { namespace: 'site', key: 'page' };
const ADMIN_KEY = 'k'.repeat(43);

/** One request per route of the API, all valid on a counter site/page that exists. */
const EVERY_ROUTE = [
  { method: 'GET', url: '/hit/site/page' },
  { method: 'GET', url: '/hit/page' },
  { method: 'GET', url: '/get/site/page' },
  { method: 'GET', url: '/get/page' },
  { method: 'GET', url: '/set/site/page?value=1' },
  { method: 'GET', url: '/set/page?value=1' },
  { method: 'GET', url: '/update/site/page?amount=1' },
  { method: 'GET', url: '/update/page?amount=1' },
  { method: 'GET', url: '/info/site/page' },
  { method: 'GET', url: '/info/page' },
  { method: 'GET', url: '/create?key=fresh' },
  { method: 'GET', url: '/stats' },
  { method: 'DELETE', url: '/counters/site/page' },
  { method: 'DELETE', url: '/counters/page' },
  { method: 'GET', url: '/badge/site/page' },
  { method: 'GET', url: '/badge/page' },
  { method: 'GET', url: '/history/site/page' },
  { method: 'GET', url: '/history/page' },
] as const;

describe('CORS', () => {
  it('lets any origin read every API answer and its X-Path', async (t) => {
    const { app } = await apiApp(t);
    for (const { method, url } of [...EVERY_ROUTE, { method: 'GET', url: '/openapi.json' }, { method: 'GET', url: '/get/nothing' }]) {
      const res = await app.inject({ method, url, headers: { origin: 'https://elsewhere.example' } });
      assert.equal(res.headers['access-control-allow-origin'], '*', url);
      assert.equal(res.headers['access-control-expose-headers'], 'X-Path', url);
    }
  });

  it('answers the preflight of a DELETE with Authorization, without running the route', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 1, adminKeyDigest: digestOf(ADMIN_KEY) });
    const res = await app.inject({
      method: 'OPTIONS',
      url: '/counters/site/page',
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' },
    });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.headers['access-control-allow-methods'], 'GET, HEAD, DELETE');
    assert.equal(res.headers['access-control-allow-headers'], 'Authorization, Idempotency-Key');
    assert.equal(res.headers['access-control-max-age'], '86400');
    assert.equal(counters.count('delete'), 0);
    assert.ok(counters.peek(ns));
  });

  it('answers preflights on every API URL (a page may send Idempotency-Key or Authorization)', async (t) => {
    const { app } = await apiApp(t);
    for (const { url } of EVERY_ROUTE) {
      const res = await app.inject({
        method: 'OPTIONS',
        url,
        headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'idempotency-key' },
      });
      assert.equal(res.statusCode, 204, url);
      assert.equal(res.headers['access-control-allow-origin'], '*', url);
    }
  });

  it('stays off the rest of the app', async (t) => {
    const { app } = await apiApp(t);
    const preflight = { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET' };
    const count = await app.inject({ method: 'OPTIONS', url: '/count', headers: preflight });
    assert.equal(count.statusCode, 405);
    assert.equal(count.headers['access-control-allow-origin'], undefined);
    const unknown = await app.inject({ method: 'OPTIONS', url: '/nowhere', headers: preflight });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.headers['content-type'], 'text/plain; charset=utf-8');
    const health = await app.inject({ url: '/healthz', headers: { origin: 'https://elsewhere.example' } });
    assert.equal(health.headers['access-control-allow-origin'], undefined);
  });
});

describe('JSONP (?callback=NAME)', () => {
  it('wraps the JSON answer as NAME(...); as JavaScript', async (t) => {
    const { app } = await apiApp(t);
    const res = await app.inject('/hit/site/page?callback=showCount');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/javascript; charset=utf-8');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.body, 'showCount({"value":1});');
    for (const name of ['$', '_', 'jQuery3510_$cb', `a${'b'.repeat(63)}`]) {
      assert.equal((await app.inject(`/get/site/page?callback=${name}`)).body, `${name}({"value":1});`);
    }
  });

  it('wraps error answers too, keeping their status', async (t) => {
    const { app } = await apiApp(t);
    const missing = await app.inject('/get/site/page?callback=cb');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.body, 'cb({"value":null});');
    const bad = await app.inject('/set/site/page?value=x&callback=cb');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.body, 'cb({"error":"value must be an integer from -9007199254740991 to 9007199254740991"});');
  });

  it('refuses (400, plain JSON) any callback that is not a plain identifier, before doing anything', async (t) => {
    const { app, counters } = await apiApp(t);
    const attempts = [
      'alert(1)',
      'a.b',
      'a;b',
      'a b',
      'a=b',
      '<script>',
      '</script><script>alert(1)</script>',
      '1abc',
      '',
      'a//',
      'a/**/',
      'a\u2028b',
      'ü',
      'a[0]',
      `a${'b'.repeat(64)}`,
    ];
    for (const callback of attempts) {
      const res = await app.inject(`/hit/site/page?callback=${encodeURIComponent(callback)}`);
      assert.equal(res.statusCode, 400, callback);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8', callback);
      assert.deepEqual(res.json(), { error: CALLBACK_RULE }, callback);
    }
    const twice = await app.inject('/hit/site/page?callback=a&callback=b');
    assert.deepEqual(twice.json(), { error: 'callback must be given once' });
    assert.equal(counters.count('hit'), 0);
  });

  it('is offered on every JSON route', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 1, enableReset: true });
    counters.put({ namespace: 'default', key: 'page' }, { value: 1, enableReset: true });
    for (const { method, url } of EVERY_ROUTE) {
      if (method !== 'GET' || url.startsWith('/badge')) continue;
      const res = await app.inject(`${url}${url.includes('?') ? '&' : '?'}callback=cb`);
      assert.equal(res.statusCode, 200, url);
      assert.match(res.body, /^cb\(\{.*\}\);$/, url);
    }
  });
});

describe('?img', () => {
  it('answers a 1x1 transparent GIF after doing the action, whatever its value', async (t) => {
    const { app, counters } = await apiApp(t);
    for (const query of ['img', 'img=', 'img=1', 'img=anything']) {
      const res = await app.inject(`/hit/site/page?${query}`);
      assert.equal(res.statusCode, 200, query);
      assert.equal(res.headers['content-type'], 'image/gif');
      assert.equal(res.headers['cache-control'], 'no-store');
      const gif = res.rawPayload;
      assert.equal(gif.subarray(0, 6).toString('latin1'), 'GIF89a');
      assert.equal(gif.readUInt16LE(6), 1, 'width 1');
      assert.equal(gif.readUInt16LE(8), 1, 'height 1');
      // Graphic control extension with the transparency flag set.
      const control = gif.indexOf(Buffer.from([0x21, 0xf9, 0x04]));
      assert.ok(control > 0);
      assert.equal((gif[control + 3] ?? 0) & 1, 1, 'transparent');
      assert.equal(gif.at(-1), 0x3b, 'trailer');
    }
    assert.equal(counters.peek(ns)?.value, 4);
  });

  it('takes precedence over callback, and failures stay JSON with their status', async (t) => {
    const { app } = await apiApp(t);
    const both = await app.inject('/hit/site/page?img&callback=cb');
    assert.equal(both.headers['content-type'], 'image/gif');
    const missing = await app.inject('/get/site/nothing?img');
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { value: null });
    const forbidden = await app.inject('/set/site/page?value=3&img');
    assert.equal(forbidden.statusCode, 403);
    assert.equal(forbidden.headers['content-type'], 'application/json; charset=utf-8');
  });
});

describe('failures', () => {
  it('answers 503 with Retry-After: 1 on every route while the store is unreachable', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 1, adminKeyDigest: digestOf(ADMIN_KEY) });
    counters.available = false;
    for (const { method, url } of EVERY_ROUTE) {
      const res = await app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      assert.equal(res.statusCode, 503, url);
      assert.equal(res.headers['retry-after'], '1', url);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8', url);
      assert.deepEqual(res.json(), { error: 'the counter store is not reachable, try again shortly' }, url);
    }
  });

  it('answers a store fault 503 with Retry-After: 1 too; logs an outage as a warning and an unexpected error, even one with a 5xx status, as an error with a bare 500', async (t) => {
    const { log, lines } = capturedLog();
    const { app, counters } = await apiApp(t, { log });
    counters.get = () => Promise.reject(new StoreFaultError('NOPERM this user has no permissions'));
    const fault = await app.inject('/get/site/page');
    assert.equal(fault.statusCode, 503);
    assert.equal(fault.headers['retry-after'], '1');
    assert.deepEqual(fault.json(), { error: 'the counter store failed, try again shortly' });
    counters.get = () => Promise.reject(new StoreUnavailableError('redis is down'));
    assert.equal((await app.inject('/get/site/page')).statusCode, 503);
    counters.get = () => Promise.reject(Object.assign(new Error('upstream detail'), { statusCode: 502 }));
    const odd = await app.inject('/get/site/page');
    assert.equal(odd.statusCode, 500);
    assert.deepEqual(odd.json(), { error: 'internal server error' });
    const said = lines.filter(({ msg }) => msg === 'counter store unavailable' || msg === 'request failed').map(({ level, msg, err }) => ({ level, msg, err: typeof err === 'string' ? err : (err as { message?: string } | undefined)?.message }));
    assert.deepEqual(said, [
      { level: 40, msg: 'counter store unavailable', err: 'redis is down' },
      { level: 50, msg: 'request failed', err: 'upstream detail' },
    ]);
  });

  it('answers an unexpected failure with a bare 500, never its message or stack', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.get = () => Promise.reject(new Error('secret detail at /srv/app.ts:12'));
    const res = await app.inject('/get/site/page');
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { error: 'internal server error' });
  });

  it('answers a bare 500 also for an error carrying a status that is not an error (2xx, 3xx)', async (t) => {
    const { app, counters } = await apiApp(t);
    for (const statusCode of [200, 302, 399]) {
      counters.get = () => Promise.reject(Object.assign(new Error('secret detail of a library'), { statusCode }));
      const res = await app.inject('/get/site/page');
      assert.equal(res.statusCode, 500, String(statusCode));
      assert.deepEqual(res.json(), { error: 'internal server error' }, String(statusCode));
    }
  });

  it("describes a bad header by the header's own rule, whatever the query string holds", async (t) => {
    const { app, counters } = await apiApp(t);
    // A query parameter of the same name, repeated, is no concern of the header's.
    const res = await app.inject({ url: '/hit/site/page?idempotency-key=a&idempotency-key=b', headers: { 'idempotency-key': 'no spaces' } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { error: 'Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 . _ : -' });
    assert.equal(counters.count('hit'), 0);
  });

  it('leaves the rest of the app with its plain-text errors', async (t) => {
    const { app } = await apiApp(t);
    const res = await app.inject('/nowhere');
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.body, 'Not Found\n');
    const post = await app.inject({ method: 'POST', url: '/stats' });
    assert.equal(post.statusCode, 405);
    assert.equal(post.headers['content-type'], 'text/plain; charset=utf-8');
  });

  it('closes the counter store with the app', async (t) => {
    const { app, counters } = await apiApp(t);
    await app.close();
    assert.equal(counters.closed, true);
  });
});
