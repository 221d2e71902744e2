import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkCounterHistory, type Operation } from '../helpers/counter-history.ts';
import { get, pool } from '../helpers/http.ts';
import { readCounter, redisCli } from '../helpers/stack-redis.ts';
import { runOk } from '../helpers/run.ts';
import { describeStack } from '../helpers/stack-suite.ts';

const require = createRequire(import.meta.url);

interface CountApiClient {
  create(options: Record<string, unknown>): Promise<{ status: number; namespace: string; key: string; value: number; admin_key?: string }>;
  get(namespace: string, key?: string): Promise<{ status: number; path: string; value: number | null }>;
  hit(namespace: string, key?: string): Promise<{ status: number; path: string; value: number }>;
  set(namespace: string, key: string, value: number): Promise<{ status: number; old_value: number; value: number }>;
  update(namespace: string, key: string, amount: number): Promise<{ status: number; value: number }>;
  info(namespace: string, key?: string): Promise<Record<string, unknown>>;
  stats(): Promise<Record<string, unknown>>;
}

/**
 * The official CountAPI client, unchanged, with only its base URL pointed at the stack: it calls
 * `https://api.countapi.xyz/...` through cross-fetch, so cross-fetch is swapped (in require's
 * cache, before the client loads) for fetch with that prefix replaced.
 */
const countApiClient = (base: string): CountApiClient => {
  const crossFetchPath = require.resolve('cross-fetch', { paths: [require.resolve('countapi-js')] });
  const redirected = (url: string, init?: RequestInit) => fetch(url.replace('https://api.countapi.xyz', base), init);
  require.cache[crossFetchPath] = { id: crossFetchPath, filename: crossFetchPath, loaded: true, exports: redirected } as unknown as NodeJS.Module;
  return require('countapi-js') as CountApiClient;
};

describeStack('the counting API through nginx', import.meta.filename, (stack) => {
  it('works with the official countapi-js client, unchanged', async () => {
    const client = countApiClient(stack.base);
    const made = await client.create({ namespace: 'e2e-client', key: 'downloads', value: 10, enable_reset: 1 });
    assert.equal(made.status, 200);
    assert.equal(made.value, 10);
    assert.match(made.admin_key ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(await client.hit('e2e-client', 'downloads'), { status: 200, path: 'e2e-client/downloads', value: 11 });
    assert.equal((await client.get('e2e-client', 'downloads')).value, 11);
    assert.equal((await client.update('e2e-client', 'downloads', 1)).value, 12);
    assert.deepEqual(await client.set('e2e-client', 'downloads', 0), { status: 200, path: 'e2e-client/downloads', old_value: 12, value: 0 });
    const info = await client.info('e2e-client', 'downloads');
    assert.equal(info.value, 0);
    assert.equal(info.enable_reset, true);
    assert.equal((await client.get('e2e-client', 'nothing-here')).status, 404);
    await assert.rejects(client.hit('e2e-client', 'no'), /Key must match/); // refused by the client itself
    const stats = await client.stats();
    assert.equal(typeof stats.requests, 'number');
  });

  it('/count is the counter default/visits, also readable through /get/visits', async () => {
    const counted = await get(`${stack.base}/count`, 'application/json');
    const { count } = JSON.parse(counted.body) as { count: number };
    const read = JSON.parse((await get(`${stack.base}/get/visits`)).body) as { value: number };
    assert.equal(read.value, count);
    assert.equal(await readCounter(stack, 'default', 'visits'), count);
  });

  it('serves badges through nginx with no-cache headers and CORS on the API', async () => {
    const badge = await get(`${stack.base}/badge/e2e-badge/readme?label=${encodeURIComponent('<script>x</script>')}`);
    assert.equal(badge.status, 200);
    assert.match(badge.contentType, /^image\/svg\+xml/);
    assert.match(badge.headers.get('cache-control') ?? '', /no-cache.*no-store|no-store.*no-cache/);
    assert.ok(!badge.body.includes('<script'), 'label escaped');
    assert.equal(await readCounter(stack, 'e2e-badge', 'readme'), 1);
    const api = await get(`${stack.base}/get/e2e-badge/readme`);
    assert.equal(api.headers.get('access-control-allow-origin'), '*');
    assert.equal(api.headers.get('x-path'), 'e2e-badge/readme');
  });

  it('serves every other route through nginx: history (JSON, CSV), delete by the owner, JSONP, ?img, preflight, OpenAPI', async () => {
    const made = JSON.parse((await get(`${stack.base}/create?namespace=e2e-routes&key=page`)).body) as { admin_key: string };
    for (let i = 0; i < 3; i += 1) await get(`${stack.base}/hit/e2e-routes/page`);
    const history = JSON.parse((await get(`${stack.base}/history/e2e-routes/page?days=2`)).body) as { days: { day: string; hits: number; uniques: number }[] };
    assert.equal(history.days.length, 2);
    assert.deepEqual({ hits: history.days[1]?.hits, uniques: history.days[1]?.uniques }, { hits: 3, uniques: 1 });
    const csv = await get(`${stack.base}/history/e2e-routes/page?days=1&format=csv`);
    assert.match(csv.contentType, /^text\/csv/);
    assert.match(csv.body, /^day,hits,uniques\n\d{4}-\d\d-\d\d,3,1\n?$/);
    const jsonp = await get(`${stack.base}/get/e2e-routes/page?callback=show`);
    assert.match(jsonp.contentType, /^application\/javascript/);
    assert.equal(jsonp.body.trim(), 'show({"value":3});');
    assert.equal((await get(`${stack.base}/get/e2e-routes/page?callback=alert(1)`)).status, 400);
    const pixel = await get(`${stack.base}/hit/e2e-routes/page?img`);
    assert.match(pixel.contentType, /^image\/gif/);
    const preflight = await fetch(`${stack.base}/counters/e2e-routes/page`, {
      method: 'OPTIONS',
      headers: { origin: 'https://example.org', 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' },
    });
    assert.ok(preflight.status === 204 || preflight.status === 200, `preflight ${preflight.status}`);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /DELETE/);
    const wrongKey = await fetch(`${stack.base}/counters/e2e-routes/page`, { method: 'DELETE', headers: { authorization: `Bearer ${'x'.repeat(43)}` } });
    assert.equal(wrongKey.status, 403);
    const deleted = await fetch(`${stack.base}/counters/e2e-routes/page`, { method: 'DELETE', headers: { authorization: `Bearer ${made.admin_key}` } });
    assert.equal(deleted.status, 204);
    assert.equal((await get(`${stack.base}/get/e2e-routes/page`)).status, 404);
    assert.equal(await readCounter(stack, 'e2e-routes', 'page'), null);
    const openapi = JSON.parse((await get(`${stack.base}/openapi.json`)).body) as { openapi: string; paths: Record<string, unknown> };
    assert.match(openapi.openapi, /^3\.1/);
    assert.ok(Object.keys(openapi.paths).some((path) => path.startsWith('/history/')));
  });

  it('counts each /hit exactly once while a replica is killed (SIGKILL) mid-load: a linearizable history', async () => {
    const url = `${stack.base}/hit/e2e-faults/killed`;
    const before = (await readCounter(stack, 'e2e-faults', 'killed')) ?? 0;
    const history: Operation[] = [];
    const [victim] = (await stack.containers('web')).filter((c) => c.running);
    assert.ok(victim);
    const killer = (async () => {
      await sleep(1500);
      await runOk('docker', ['kill', '--signal', 'KILL', victim.id]);
    })();
    await pool(3000, 12, async () => {
      const start = performance.now();
      try {
        const reply = await get(url);
        const end = performance.now();
        if (reply.status === 200) history.push({ start, end, outcome: 'ok', value: (JSON.parse(reply.body) as { value: number }).value });
        else history.push({ start, end, outcome: 'failed' });
      } catch {
        history.push({ start, end: performance.now(), outcome: 'unknown' });
      }
    });
    await killer;
    // Acknowledged ≤ rise ≤ attempted, acknowledged values distinct and in real-time order, none
    // ahead of the requests sent: failed and unknown requests may or may not have counted.
    assert.deepEqual(checkCounterHistory(history, before, (await readCounter(stack, 'e2e-faults', 'killed')) ?? 0), []);
    await runOk('docker', ['start', victim.id]);
  });

  it("refuses the app's Redis user a non-number value and scripts (checked in the stack's Redis)", async () => {
    assert.match(await redisCli(stack, ['SET', 'c:{default/visits}', 'abc']), /NOPERM/);
    assert.match(await redisCli(stack, ['EVAL', 'while true do end', '0']), /NOPERM/);
    assert.match(await redisCli(stack, ['FUNCTION', 'LOAD', 'REPLACE', '#!lua name=x\n']), /NOPERM/);
  });
});

describeStack(
  'rate limits that tell a client from an image proxy',
  import.meta.filename,
  (stack) => {
    const burst = (path: string, userAgent: string, total: number) =>
      pool(total, 8, async () => (await fetch(`${stack.base}${path}`, { headers: { 'user-agent': userAgent } })).status);

    it('throttles one client hammering /hit (429, not counted) but not GitHub Camo fetching a badge', async () => {
      const client = await burst('/hit/e2e-limits/page', 'curl/8', 60);
      const limited = client.filter((s) => s === 429).length;
      assert.ok(limited >= 20, `${limited} of 60 limited`);
      assert.equal(client.filter((s) => s === 200).length + limited, 60);
      assert.equal(await readCounter(stack, 'e2e-limits', 'page'), 60 - limited, 'the 429s were not counted');
      const camo = await burst('/badge/e2e-limits/readme', 'github-camo (876de43e)', 60);
      assert.deepEqual([...new Set(camo)], [200]);
    });

    it('limits /create far more tightly than counting', async () => {
      const statuses = await pool(12, 4, async (i) => (await fetch(`${stack.base}/create?namespace=e2e-limits&key=made-${i}`)).status);
      assert.ok(statuses.filter((s) => s === 429).length >= 4, statuses.join(','));
    });
  },
  { env: { RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '10', CREATE_RATE_LIMIT_PER_MINUTE: '2', CREATE_RATE_LIMIT_BURST: '3' } },
);

const FIRST_RELEASE_COUNT = 1234;

describeStack(
  'an upgrade from the first release keeps its count',
  import.meta.filename,
  (stack) => {
    it('moves the plain `visits` key into default/visits: /count goes on from it, /get/visits reads it', async () => {
      assert.deepEqual(JSON.parse((await get(`${stack.base}/get/visits`)).body), { value: FIRST_RELEASE_COUNT });
      const counted = JSON.parse((await get(`${stack.base}/count`, 'application/json')).body) as { count: number };
      assert.equal(counted.count, FIRST_RELEASE_COUNT + 1);
      assert.equal(await readCounter(stack, 'default', 'visits'), FIRST_RELEASE_COUNT + 1);
      assert.match(await redisCli(stack, ['GET', 'visits']), /NOPERM/); // gone from the app's reach, and moved
      assert.match(await stack.compose(['logs', 'redis']), new RegExp(`moved the first release's count \\(${FIRST_RELEASE_COUNT}\\)`));
    });
  },
  {
    // The volume as the first release left it: its Redis, with the same redis.conf, wrote the count
    // under the plain key `visits` into the append-only file on the named volume.
    beforeUp: async (stack) => {
      const script = `redis-server /usr/local/etc/redis/redis.conf --dir /data & until redis-cli ping >/dev/null 2>&1; do sleep 0.1; done; redis-cli set visits ${FIRST_RELEASE_COUNT} >/dev/null && redis-cli shutdown`;
      await stack.compose(['run', '--rm', '--no-deps', '--build', '--entrypoint', 'sh', 'redis', '-c', script], 600_000);
    },
  },
);
