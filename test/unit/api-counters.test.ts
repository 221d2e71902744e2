import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { digestOf } from '../../src/counters/owner-keys.ts';
import { apiApp } from '../helpers/api-app.ts';
import { FakeCounterStore } from '../helpers/fake-counter-store.ts';

const MAX = Number.MAX_SAFE_INTEGER;
const KEY_RULE = 'key must match ^[A-Za-z0-9_\\-.]{3,64}$';
const NAMESPACE_RULE = 'namespace must match ^[A-Za-z0-9_\\-.]{3,64}$';
const IDEMPOTENCY_RULE = 'Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 . _ : -';
const WRONG_KEY = "wrong admin key: it is not this counter's";
const ADMIN_KEY = 'k'.repeat(43);
const OTHER_KEY = 'o'.repeat(43);
const ns = { namespace: 'site', key: 'page' };

/** Bad spellings of an integer parameter, each refused with the parameter's rule. */
const NOT_INTEGERS = ['', ' ', '1.5', '1e3', '0x10', '+1', 'abc', 'true', String(MAX + 2), String(-MAX - 2), '99999999999999999999'];

describe('GET /hit', () => {
  it('creates a missing counter at 1 and counts each hit, in the default namespace', async (t) => {
    const { app } = await apiApp(t);
    const first = await app.inject('/hit/visits');
    assert.equal(first.statusCode, 200);
    assert.deepEqual(first.json(), { value: 1 });
    assert.equal(first.headers['x-path'], 'default/visits');
    assert.equal(first.headers['cache-control'], 'no-store');
    assert.deepEqual((await app.inject('/hit/visits')).json(), { value: 2 });
  });

  it('counts in the namespace given, apart from the default one', async (t) => {
    const { app, counters } = await apiApp(t);
    const res = await app.inject('/hit/site/page');
    assert.deepEqual(res.json(), { value: 1 });
    assert.equal(res.headers['x-path'], 'site/page');
    assert.equal(counters.peek(ns)?.value, 1);
    assert.equal(counters.peek({ namespace: 'default', key: 'page' }), undefined);
  });

  it('passes the visitor (address and user agent) and the Idempotency-Key to the store', async (t) => {
    const { app, counters } = await apiApp(t);
    await app.inject({ url: '/hit/site/page', headers: { 'user-agent': 'UA/1', 'idempotency-key': 'req-1' }, remoteAddress: '203.0.113.9' });
    assert.deepEqual(counters.calls.at(-1), {
      method: 'hit',
      args: [ns, { idempotencyKey: 'req-1', visitor: { address: '203.0.113.9', userAgent: 'UA/1' } }],
    });
  });

  it('answers a repeated Idempotency-Key with the first result, counting once', async (t) => {
    const { app, counters } = await apiApp(t);
    const headers = { 'idempotency-key': 'nginx:abc.1_2-3' };
    assert.deepEqual((await app.inject({ url: '/hit/site/page', headers })).json(), { value: 1 });
    assert.deepEqual((await app.inject({ url: '/hit/site/page', headers })).json(), { value: 1 });
    assert.equal(counters.peek(ns)?.value, 1);
  });

  it('refuses a malformed Idempotency-Key (400) without counting', async (t) => {
    const { app, counters } = await apiApp(t);
    for (const key of ['a b', 'x'.repeat(129), 'ü', 'a/b', '']) {
      const res = await app.inject({ url: '/hit/site/page', headers: { 'idempotency-key': key } });
      assert.equal(res.statusCode, 400, key);
      assert.deepEqual(res.json(), { error: IDEMPOTENCY_RULE });
    }
    assert.equal(counters.count('hit'), 0);
  });

  it('refuses names that break the rules, saying which', async (t) => {
    const { app, counters } = await apiApp(t);
    for (const [url, error] of [
      ['/hit/ab', KEY_RULE],
      [`/hit/${'k'.repeat(65)}`, KEY_RULE],
      ['/hit/a%20b%20c', KEY_RULE],
      ['/hit/key%2Bplus', KEY_RULE],
      ['/hit/ns/page', NAMESPACE_RULE],
      ['/hit/name~space/page', NAMESPACE_RULE],
    ] as const) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 400, url);
      assert.deepEqual(res.json(), { error: error }, url);
      assert.equal(res.headers['x-path'], undefined);
    }
    assert.equal(counters.count('hit'), 0);
  });

  it('substitutes :HOST: and :PATHNAME: from the page that asks', async (t) => {
    const { app } = await apiApp(t);
    const referer = await app.inject({ url: '/hit/:HOST:/:PATHNAME:', headers: { referer: 'https://blog.example.com/posts/1?x=2' } });
    assert.deepEqual(referer.json(), { value: 1 });
    assert.equal(referer.headers['x-path'], 'blog.example.com/.posts.1');
    const origin = await app.inject({ url: '/hit/:HOST:/likes', headers: { origin: 'https://example.org' } });
    assert.equal(origin.headers['x-path'], 'example.org/likes');
  });

  it('refuses :HOST: or :PATHNAME: when the request does not say which page it is', async (t) => {
    const { app } = await apiApp(t);
    const host = await app.inject('/hit/:HOST:/page');
    assert.equal(host.statusCode, 400);
    assert.deepEqual(host.json(), { error: 'namespace uses :HOST: but the request has no Origin or Referer' });
    const path = await app.inject({ url: '/hit/:PATHNAME:', headers: { origin: 'https://example.org' } });
    assert.equal(path.statusCode, 400);
    assert.deepEqual(path.json(), { error: 'key uses :PATHNAME: but the request has no Referer' });
  });

  it('does not serve HEAD, which would count a visit', async (t) => {
    const { app, counters } = await apiApp(t);
    const res = await app.inject({ method: 'HEAD', url: '/hit/site/page' });
    assert.equal(res.statusCode, 404);
    assert.equal(counters.count('hit'), 0);
  });
});

describe('GET /get', () => {
  it('reads a counter without changing it', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 41 });
    counters.put({ namespace: 'default', key: 'page' }, { value: 7 });
    const res = await app.inject('/get/site/page');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { value: 41 });
    assert.equal(res.headers['x-path'], 'site/page');
    assert.deepEqual((await app.inject('/get/page')).json(), { value: 7 });
    assert.equal(counters.peek(ns)?.value, 41);
  });

  it('answers 404 {"value": null} for a missing counter', async (t) => {
    const { app } = await apiApp(t);
    const res = await app.inject('/get/site/nothing');
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { value: null });
  });

  it('refuses bad names', async (t) => {
    const { app } = await apiApp(t);
    const key = await app.inject('/get/x');
    assert.equal(key.statusCode, 400);
    assert.deepEqual(key.json(), { error: KEY_RULE });
    const namespace = await app.inject('/get/n!/page');
    assert.equal(namespace.statusCode, 400);
    assert.deepEqual(namespace.json(), { error: NAMESPACE_RULE });
  });
});

describe('GET /set', () => {
  it('sets a counter created with enable_reset, answering the old and new value', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 5, enableReset: true });
    const res = await app.inject('/set/site/page?value=-12');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { old_value: 5, value: -12 });
    assert.equal(res.headers['x-path'], 'site/page');
    assert.equal(counters.peek(ns)?.value, -12);
  });

  it('refuses (403) a counter without enable_reset, unless the owner asks', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 5, adminKeyDigest: digestOf(ADMIN_KEY) });
    const stranger = await app.inject('/set/site/page?value=0');
    assert.equal(stranger.statusCode, 403);
    assert.deepEqual(stranger.json(), { error: 'this counter cannot be set: it was created without enable_reset' });
    assert.equal(counters.peek(ns)?.value, 5);
    const owner = await app.inject({ url: '/set/site/page?value=0', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(owner.statusCode, 200);
    assert.deepEqual(owner.json(), { old_value: 5, value: 0 });
  });

  it('refuses a wrong or malformed admin key (403) even where enable_reset would allow it', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 5, enableReset: true, adminKeyDigest: digestOf(ADMIN_KEY) });
    for (const authorization of [`Bearer ${OTHER_KEY}`, 'Bearer short', `Basic ${ADMIN_KEY}`, ADMIN_KEY, '']) {
      const res = await app.inject({ url: '/set/site/page?value=9', headers: { authorization } });
      assert.equal(res.statusCode, 403, authorization);
      assert.deepEqual(res.json(), { error: WRONG_KEY });
    }
    assert.equal(counters.peek(ns)?.value, 5);
  });

  it('answers 404 with both values null for a missing counter', async (t) => {
    const { app } = await apiApp(t);
    const res = await app.inject('/set/site/page?value=1');
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { old_value: null, value: null });
  });

  it('takes values up to ±MAX_SAFE_INTEGER and refuses anything else with the rule', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 0, enableReset: true });
    assert.deepEqual((await app.inject(`/set/site/page?value=${MAX}`)).json(), { old_value: 0, value: MAX });
    assert.deepEqual((await app.inject(`/set/site/page?value=${-MAX}`)).json(), { old_value: MAX, value: -MAX });
    for (const value of NOT_INTEGERS) {
      const res = await app.inject(`/set/site/page?value=${encodeURIComponent(value)}`);
      assert.equal(res.statusCode, 400, value);
      assert.deepEqual(res.json(), { error: 'value must be an integer from -9007199254740991 to 9007199254740991' }, value);
    }
    const missing = await app.inject('/set/site/page');
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(missing.json(), { error: 'value is required' });
    const twice = await app.inject('/set/site/page?value=1&value=2');
    assert.equal(twice.statusCode, 400);
    assert.deepEqual(twice.json(), { error: 'value must be given once' });
    assert.equal(counters.peek(ns)?.value, -MAX);
    assert.equal(counters.count('set'), 2);
  });

  it('passes the Idempotency-Key: a repeat answers the first result', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 5, enableReset: true });
    const headers = { 'idempotency-key': 'set-1' };
    assert.deepEqual((await app.inject({ url: '/set/site/page?value=8', headers })).json(), { old_value: 5, value: 8 });
    assert.deepEqual((await app.inject({ url: '/set/site/page?value=8', headers })).json(), { old_value: 5, value: 8 });
    const bad = await app.inject({ url: '/set/site/page?value=8', headers: { 'idempotency-key': 'bad key' } });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json(), { error: IDEMPOTENCY_RULE });
  });

  it('refuses bad names', async (t) => {
    const { app } = await apiApp(t);
    const res = await app.inject('/set/site/p?value=1');
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { error: KEY_RULE });
    const namespace = await app.inject('/set/s/page?value=1');
    assert.deepEqual(namespace.json(), { error: NAMESPACE_RULE });
  });
});

describe('GET /update', () => {
  it('adds an amount within the bounds (default -1..1)', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 10 });
    assert.deepEqual((await app.inject('/update/site/page?amount=1')).json(), { value: 11 });
    assert.deepEqual((await app.inject('/update/site/page?amount=-1')).json(), { value: 10 });
    const res = await app.inject('/update/site/page?amount=0');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-path'], 'site/page');
  });

  it("refuses (403) an amount outside the counter's bounds, unless the owner asks", async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 10, lowerBound: -2, upperBound: 5, adminKeyDigest: digestOf(ADMIN_KEY) });
    assert.deepEqual((await app.inject('/update/site/page?amount=5')).json(), { value: 15 });
    for (const amount of [6, -3]) {
      const res = await app.inject(`/update/site/page?amount=${amount}`);
      assert.equal(res.statusCode, 403);
      assert.deepEqual(res.json(), { error: "amount is outside this counter's update bounds" });
    }
    const owner = await app.inject({ url: '/update/site/page?amount=100', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.deepEqual(owner.json(), { value: 115 });
  });

  it('refuses a wrong admin key (403) even for an amount within the bounds', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 10, adminKeyDigest: digestOf(ADMIN_KEY) });
    const res = await app.inject({ url: '/update/site/page?amount=1', headers: { authorization: `Bearer ${OTHER_KEY}` } });
    assert.equal(res.statusCode, 403);
    assert.deepEqual(res.json(), { error: WRONG_KEY });
    assert.equal(counters.peek(ns)?.value, 10);
  });

  it('answers 404 {"value": null} for a missing counter', async (t) => {
    const { app } = await apiApp(t);
    const res = await app.inject('/update/site/page?amount=1');
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { value: null });
  });

  it('refuses an amount that is not a safe integer, or none', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 10 });
    for (const amount of NOT_INTEGERS) {
      const res = await app.inject(`/update/site/page?amount=${encodeURIComponent(amount)}`);
      assert.equal(res.statusCode, 400, amount);
      assert.deepEqual(res.json(), { error: 'amount must be an integer from -9007199254740991 to 9007199254740991' }, amount);
    }
    const missing = await app.inject('/update/site/page');
    assert.deepEqual(missing.json(), { error: 'amount is required' });
    assert.equal(counters.count('update'), 0);
  });

  it('passes the Idempotency-Key: a repeat changes nothing', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 10 });
    const headers = { 'idempotency-key': 'u-1' };
    await app.inject({ url: '/update/site/page?amount=1', headers });
    assert.deepEqual((await app.inject({ url: '/update/site/page?amount=1', headers })).json(), { value: 11 });
    assert.equal(counters.peek(ns)?.value, 11);
    const bad = await app.inject({ url: '/update/site/page?amount=1', headers: { 'idempotency-key': 'a*' } });
    assert.deepEqual(bad.json(), { error: IDEMPOTENCY_RULE });
  });

  it('refuses bad names', async (t) => {
    const { app } = await apiApp(t);
    assert.deepEqual((await app.inject('/update/s/page?amount=1')).json(), { error: NAMESPACE_RULE });
    assert.deepEqual((await app.inject('/update/pa?amount=1')).json(), { error: KEY_RULE });
  });
});

describe('GET /info', () => {
  it("answers the counter's settings, ttl in milliseconds", async (t) => {
    const created = new Date('2024-05-06T07:08:09.010Z');
    const counters = new FakeCounterStore({ now: () => created, ttl: 90 });
    const { app } = await apiApp(t, { counters });
    counters.put(ns, { value: 3, enableReset: true, lowerBound: -4, upperBound: 6 });
    const res = await app.inject('/info/site/page');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-path'], 'site/page');
    assert.deepEqual(res.json(), {
      namespace: 'site',
      key: 'page',
      ttl: 90_000,
      created: created.getTime(),
      update_lowerbound: -4,
      update_upperbound: 6,
      enable_reset: true,
      value: 3,
    });
  });

  it('says -1 for a counter that never expires, and works without namespace', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put({ namespace: 'default', key: 'page' }, { value: 0 });
    const body = (await app.inject('/info/page')).json<Record<string, unknown>>();
    assert.equal(body.ttl, -1);
    assert.equal(body.namespace, 'default');
    assert.equal(body.enable_reset, false);
    assert.equal(body.update_lowerbound, -1);
    assert.equal(body.update_upperbound, 1);
  });

  it('answers 404 for a missing counter and 400 for bad names', async (t) => {
    const { app } = await apiApp(t);
    const missing = await app.inject('/info/site/page');
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { error: 'counter not found' });
    assert.deepEqual((await app.inject('/info/s/page')).json(), { error: NAMESPACE_RULE });
    assert.deepEqual((await app.inject('/info/pa')).json(), { error: KEY_RULE });
  });
});

describe('GET /create', () => {
  it('creates a counter with a random key and the defaults, handing out an admin key once', async (t) => {
    const { app, counters } = await apiApp(t);
    const res = await app.inject('/create');
    assert.equal(res.statusCode, 200);
    const body = res.json<{ namespace: string; key: string; value: number; admin_key: string }>();
    assert.deepEqual(Object.keys(body).sort(), ['admin_key', 'key', 'namespace', 'value']);
    assert.equal(body.namespace, 'default');
    assert.match(body.key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(body.value, 0);
    assert.match(body.admin_key, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(res.headers['x-path'], `default/${body.key}`);
    const counter = counters.peek({ namespace: 'default', key: body.key });
    assert.ok(counter);
    assert.equal(counter.enableReset, false);
    assert.equal(counter.lowerBound, -1);
    assert.equal(counter.upperBound, 1);
    // Only the digest reaches the store.
    assert.equal(counter.adminKeyDigest, digestOf(body.admin_key));
    assert.doesNotMatch(JSON.stringify(counters.calls), new RegExp(body.admin_key));
    const other = (await app.inject('/create')).json<{ key: string; admin_key: string }>();
    assert.notEqual(other.key, body.key);
    assert.notEqual(other.admin_key, body.admin_key);
  });

  it('takes the namespace, key, value, enable_reset and bounds', async (t) => {
    const { app, counters } = await apiApp(t);
    const res = await app.inject('/create?namespace=site&key=page&value=42&enable_reset=1&update_lowerbound=-5&update_upperbound=10');
    assert.equal(res.statusCode, 200);
    const body = res.json<{ admin_key: string }>();
    assert.deepEqual({ ...body, admin_key: 'x' }, { namespace: 'site', key: 'page', value: 42, admin_key: 'x' });
    assert.deepEqual(counters.calls.at(-1), {
      method: 'create',
      args: [ns, { value: 42, enableReset: true, lowerBound: -5, upperBound: 10, adminKeyDigest: digestOf(body.admin_key) }, undefined],
    });
    for (const [flag, expected] of [['true', true], ['0', false], ['false', false]] as const) {
      await app.inject(`/create?key=flag-${flag}&enable_reset=${flag}`);
      assert.equal(counters.peek({ namespace: 'default', key: `flag-${flag}` })?.enableReset, expected);
    }
  });

  it('answers 409 for an existing counter and never resets it', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 77, adminKeyDigest: digestOf(ADMIN_KEY) });
    const res = await app.inject('/create?namespace=site&key=page&value=0&enable_reset=1');
    assert.equal(res.statusCode, 409);
    assert.deepEqual(res.json(), { error: 'counter site/page already exists' });
    assert.equal(counters.peek(ns)?.value, 77);
    assert.equal(counters.peek(ns)?.enableReset, false);
    assert.equal(counters.peek(ns)?.adminKeyDigest, digestOf(ADMIN_KEY));
  });

  it('substitutes :HOST: in the namespace', async (t) => {
    const { app } = await apiApp(t);
    const res = await app.inject({ url: '/create?namespace=:HOST:&key=likes', headers: { origin: 'https://example.org' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json<{ namespace: string }>().namespace, 'example.org');
  });

  it('refuses bad input on each parameter, creating nothing', async (t) => {
    const { app, counters } = await apiApp(t);
    const cases: [string, string][] = [
      ['namespace=ab', NAMESPACE_RULE],
      ['namespace=a&namespace=b', 'namespace must be given once'],
      ['key=a%2Fb', KEY_RULE],
      ['key=:PATHNAME:', 'key uses :PATHNAME: but the request has no Referer'],
      ['value=1.5', 'value must be an integer from -9007199254740991 to 9007199254740991'],
      [`value=${MAX + 2}`, 'value must be an integer from -9007199254740991 to 9007199254740991'],
      ['enable_reset=yes', 'enable_reset must be 0, 1, true or false'],
      ['enable_reset=', 'enable_reset must be 0, 1, true or false'],
      ['update_lowerbound=1', 'update_lowerbound must be an integer from -9007199254740991 to 0'],
      ['update_lowerbound=x', 'update_lowerbound must be an integer from -9007199254740991 to 0'],
      ['update_upperbound=-1', 'update_upperbound must be an integer from 0 to 9007199254740991'],
      ['update_upperbound=1.0', 'update_upperbound must be an integer from 0 to 9007199254740991'],
      ['callback=a.b', 'callback must be a JavaScript identifier of at most 64 characters (A-Z a-z 0-9 _ $, not starting with a digit)'],
    ];
    for (const [query, error] of cases) {
      const res = await app.inject(`/create?${query}`);
      assert.equal(res.statusCode, 400, query);
      assert.deepEqual(res.json(), { error }, query);
    }
    assert.equal(counters.counters.size, 0);
  });

  it('takes bounds of 0, and the widest ones', async (t) => {
    const { app, counters } = await apiApp(t);
    await app.inject(`/create?key=zero&update_lowerbound=0&update_upperbound=0`);
    await app.inject(`/create?key=wide&update_lowerbound=${-MAX}&update_upperbound=${MAX}`);
    assert.equal(counters.peek({ namespace: 'default', key: 'zero' })?.upperBound, 0);
    assert.equal(counters.peek({ namespace: 'default', key: 'wide' })?.lowerBound, -MAX);
  });

  describe('with a create token', () => {
    const token = 'create-token-of-the-operator';

    it('needs Authorization: Bearer <token> (401 without, 403 wrong)', async (t) => {
      const { app, counters } = await apiApp(t, { createToken: token });
      const none = await app.inject('/create?key=page');
      assert.equal(none.statusCode, 401);
      assert.equal(none.headers['www-authenticate'], 'Bearer');
      assert.deepEqual(none.json(), { error: 'creating a counter needs Authorization: Bearer <create token>' });
      for (const authorization of [`Bearer ${token}x`, `Bearer ${token.slice(1)}`, `bearer ${token}`, token]) {
        const res = await app.inject({ url: '/create?key=page', headers: { authorization } });
        const expected = authorization.startsWith('Bearer ') ? 403 : 401;
        assert.equal(res.statusCode, expected, authorization);
        assert.deepEqual(
          res.json(),
          { error: expected === 403 ? 'the create token is not valid' : 'creating a counter needs Authorization: Bearer <create token>' },
        );
      }
      assert.equal(counters.count('create'), 0);
      const ok = await app.inject({ url: '/create?key=page', headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.statusCode, 200);
    });

    it('is checked before the parameters', async (t) => {
      const { app } = await apiApp(t, { createToken: token });
      const res = await app.inject('/create?value=nope');
      assert.equal(res.statusCode, 401);
    });
  });
});

describe('owner keys', () => {
  it('the admin key from /create lets its holder set, update beyond bounds and delete', async (t) => {
    const { app, counters } = await apiApp(t);
    const { admin_key: adminKey } = (await app.inject('/create?namespace=site&key=page&value=5')).json<{ admin_key: string }>();
    const headers = { authorization: `Bearer ${adminKey}` };
    assert.deepEqual((await app.inject({ url: '/set/site/page?value=50', headers })).json(), { old_value: 5, value: 50 });
    assert.deepEqual((await app.inject({ url: '/update/site/page?amount=-20', headers })).json(), { value: 30 });
    assert.equal((await app.inject({ method: 'DELETE', url: '/counters/site/page', headers })).statusCode, 204);
    assert.equal(counters.peek(ns), undefined);
  });

  it("one counter's admin key is wrong for another", async (t) => {
    const { app } = await apiApp(t);
    const first = (await app.inject('/create?key=first&enable_reset=1')).json<{ admin_key: string }>();
    await app.inject('/create?key=second&enable_reset=1');
    const res = await app.inject({ url: '/set/second?value=1', headers: { authorization: `Bearer ${first.admin_key}` } });
    assert.equal(res.statusCode, 403);
    assert.deepEqual(res.json(), { error: WRONG_KEY });
  });
});

describe('DELETE /counters', () => {
  it('deletes for the owner (204, no body), in a namespace or the default one', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 1, adminKeyDigest: digestOf(ADMIN_KEY) });
    counters.put({ namespace: 'default', key: 'page' }, { value: 1, adminKeyDigest: digestOf(ADMIN_KEY) });
    const headers = { authorization: `Bearer ${ADMIN_KEY}` };
    const res = await app.inject({ method: 'DELETE', url: '/counters/site/page', headers });
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    assert.equal(counters.peek(ns), undefined);
    assert.equal((await app.inject({ method: 'DELETE', url: '/counters/page', headers })).statusCode, 204);
    assert.equal((await app.inject('/get/site/page')).statusCode, 404);
  });

  it('refuses (403) without the admin key or with a wrong one', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 1, adminKeyDigest: digestOf(ADMIN_KEY) });
    const none = await app.inject({ method: 'DELETE', url: '/counters/site/page' });
    assert.equal(none.statusCode, 403);
    assert.deepEqual(none.json(), { error: 'deleting a counter needs its admin key: Authorization: Bearer <admin_key>' });
    const wrong = await app.inject({ method: 'DELETE', url: '/counters/site/page', headers: { authorization: `Bearer ${OTHER_KEY}` } });
    assert.equal(wrong.statusCode, 403);
    assert.deepEqual(wrong.json(), { error: WRONG_KEY });
    assert.ok(counters.peek(ns));
  });

  it('refuses a counter without owner (made by /hit) to everyone', async (t) => {
    const { app, counters } = await apiApp(t);
    await app.inject('/hit/site/page');
    const res = await app.inject({ method: 'DELETE', url: '/counters/site/page', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(res.statusCode, 403);
    assert.ok(counters.peek(ns));
  });

  it('answers 404 for a missing counter and 400 for bad names', async (t) => {
    const { app } = await apiApp(t);
    const missing = await app.inject({ method: 'DELETE', url: '/counters/site/page', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { error: 'counter not found' });
    const bad = await app.inject({ method: 'DELETE', url: '/counters/s/page' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json(), { error: NAMESPACE_RULE });
    assert.deepEqual((await app.inject({ method: 'DELETE', url: '/counters/pa' })).json(), { error: KEY_RULE });
  });
});

describe('GET /stats', () => {
  it("answers the store's totals and this release's version", async (t) => {
    const { app } = await apiApp(t);
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    assert.deepEqual((await app.inject('/stats')).json(), { requests: 0, keys_created: 0, keys_updated: 0, version });
    await app.inject('/hit/site/page');
    await app.inject('/hit/site/page');
    await app.inject('/create?key=made');
    await app.inject('/get/site/page');
    const res = await app.inject('/stats');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { requests: 4, keys_created: 2, keys_updated: 2, version });
  });
});
