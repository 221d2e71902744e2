import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildApp } from '../../src/app.ts';
import { FakeCounterStore } from '../helpers/fake-counter-store.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const paths = fc.oneof(
  fc.constantFrom('/', '/count', '/healthz', '/readyz', '/count/', '//count', '/COUNT', '/%63ount', '/count%00', '/../count', '/count?x=1', '/count#a'),
  fc.constantFrom('/%2fcount', '/%5ccount', '/%2Fcount', '/count%00'),
  fc.webPath().map((path) => (path.startsWith('/') ? path : `/${path}`)),
  fc.string({ maxLength: 64 }).map((tail) => `/${encodeURIComponent(tail)}`),
  fc.stringMatching(/^\/(%[0-9A-Fa-f]{2}|[a-z./])*$/).filter((p) => p.length < 200),
);

const accepts = fc.option(
  fc.oneof(
    fc.constantFrom('*/*', 'text/html', 'application/json', 'image/png', 'text/*;q=0', 'application/json;q=abc', ',,,', '*/*;q=0.5, text/plain;q=0'),
    fc.string({ maxLength: 40 }).filter((value) => /^[\x20-\x7e]*$/.test(value)),
  ),
  { nil: undefined },
);

const idempotencyKeys = fc.option(
  fc.oneof(fc.stringMatching(/^[\w.:-]{1,20}$/), fc.string({ maxLength: 200 }).filter((value) => /^[\x21-\x7e]*$/.test(value))),
  { nil: undefined },
);

const requests = fc.record({
  method: fc.constantFrom(...METHODS),
  url: paths,
  accept: accepts,
  key: idempotencyKeys,
  body: fc.option(fc.string({ minLength: 1, maxLength: 50 }), { nil: undefined }),
  storeUp: fc.boolean(),
});

describe('request handling, for any request', () => {
  it('never answers 5xx (but the documented 503), always names the replica, and counts at most once on success', async () => {
    const store = new FakeCounterStore();
    const app = await buildApp({ replicaName: 'prop', store, counting: { historyDays: 30, timeZone: 'UTC' } });
    try {
      await fc.assert(
      fc.asyncProperty(requests, async ({ method, url, accept, key, body, storeUp }) => {
        store.available = storeUp;
        const before = store.visits;
        const headers: Record<string, string> = {};
        if (accept !== undefined) headers.accept = accept;
        if (key !== undefined) headers['idempotency-key'] = key;
        const res = await app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body }) });
        const counted = store.visits - before;

        assert.equal(res.headers['x-served-by'], 'prop');
        assert.doesNotMatch(res.body, /\n\s+at |node_modules|\.ts:\d+/, 'no stack traces');
        assert.ok(res.statusCode < 500 || (res.statusCode === 503 && !storeUp), `unexpected ${res.statusCode}`);
        assert.ok(counted === 0 || counted === 1);
        if (counted === 1) {
          assert.equal(res.statusCode, 200);
          assert.equal(method, 'GET');
          assert.equal(body, undefined, 'a request with a body is never counted');
        }
        if (res.statusCode !== 200) assert.equal(counted, 0, `status ${res.statusCode} must not count`);
        // inject resolves dot segments itself; those are proven over real sockets in test/integration.
        if (/%2f|%5c|%00/i.test(url.split('?')[0] ?? '')) assert.equal(counted, 0, 'encoded separators never count');
      }),
      { numRuns: 2000 },
      );
    } finally {
      await app.close();
    }
  });
});
