import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf } from '../../src/counters/owner-keys.ts';
import { apiApp } from '../helpers/api-app.ts';

const ADMIN_KEY = 'k'.repeat(43);
const TOKEN = 'operator-token-0123456789';

describe('what caches may keep', () => {
  it('nothing that counts, changes or shows live figures; documents and charts only after asking again', async (t) => {
    const { app, counters } = await apiApp(t, { live: { adminToken: TOKEN } });
    counters.put({ namespace: 'site', key: 'page' }, { value: 1, adminKeyDigest: digestOf(ADMIN_KEY) });
    const headers = async (url: string, method: 'GET' | 'DELETE' = 'GET', authorization?: string) => {
      const res = await app.inject({ method, url, headers: authorization ? { authorization } : {} });
      assert.ok(res.statusCode < 300, `${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      return { cache: res.headers['cache-control'], vary: res.headers.vary, policy: res.headers['content-security-policy'] };
    };
    const count = await headers('/count');
    assert.deepEqual([count.cache, count.vary], ['no-store', 'Accept']);
    assert.equal((await headers('/')).vary, 'Accept');
    assert.equal((await headers('/dashboard/site/page')).cache, 'no-store');
    assert.equal((await headers('/instance', 'GET', `Bearer ${TOKEN}`)).cache, 'no-store');
    assert.equal((await headers('/openapi.json')).cache, 'no-cache');
    const chart = await headers('/chart/site/page?days=30');
    assert.equal(chart.cache, 'no-cache');
    // Opened on its own, the SVG may use its inline styles and nothing else.
    assert.equal(chart.policy, "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    assert.equal((await headers('/counters/site/page', 'DELETE', `Bearer ${ADMIN_KEY}`)).cache, 'no-store');
  });
});
