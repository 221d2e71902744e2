import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { buildApp } from '../../src/app.ts';
import { presentedToken, presentsAdminToken } from '../../src/dashboard/admin-token.ts';
import { summarizeInstance } from '../../src/dashboard/instance-page.ts';
import { FakeCounterStore } from '../helpers/fake-counter-store.ts';

const TOKEN = 'operator-token-0123456789';
const basic = (token: string, user = 'admin') => `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;

const dashboardApp = async (t: TestContext, options: { adminToken?: string; historyDays?: number } = {}) => {
  const { adminToken, historyDays = 30 } = { adminToken: TOKEN, ...options };
  const counters = new FakeCounterStore();
  const app = await buildApp({ replicaName: 'web-unit', store: counters, counting: { historyDays, timeZone: 'UTC' }, live: { adminToken } });
  t.after(() => app.close());
  return { app, counters };
};

describe("a counter's dashboard", () => {
  it('shows the total, today and unique visitors with thousands separators, and never counts a visit', async (t) => {
    const { app, counters } = await dashboardApp(t);
    counters.put({ namespace: 'site', key: 'home' }, { value: 1234567 });
    await counters.hit({ namespace: 'site', key: 'home' }, { visitor: { address: '10.0.0.1', userAgent: 'a' } });
    const before = counters.peek({ namespace: 'site', key: 'home' })?.value;
    const res = await app.inject({ url: '/dashboard/site/home', headers: { accept: 'text/html' } });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /<dd id="total">1,234,568<\/dd>/);
    assert.match(res.body, /<dd id="today">1<\/dd>/);
    assert.match(res.body, /<dd id="uniques">1<\/dd>/);
    assert.equal(counters.peek({ namespace: 'site', key: 'home' })?.value, before, 'viewing counts nothing');
    assert.doesNotMatch(res.body, /<script>|\sstyle=|\son[a-z]+=/, 'no inline script or style');
    assert.match(res.body, /<script src="\/assets\/counter-dashboard.js" defer><\/script>/);
  });

  it('draws the chart from the server (an SVG image) and gives its data as a table, 30 days by default, 90 and 365 on request', async (t) => {
    const { app, counters } = await dashboardApp(t, { historyDays: 400 });
    await counters.hit({ namespace: 'site', key: 'chart' });
    const page = await app.inject('/dashboard/site/chart');
    assert.match(page.body, /<img id="chart" src="\/chart\/site\/chart\?days=30"[^>]* alt="Bar chart of hits and unique visitors per day over the last 30 days/);
    assert.equal(page.body.match(/<tr data-day=/g)?.length, 30);
    const year = await app.inject('/dashboard/site/chart?days=365');
    assert.equal(year.body.match(/<tr data-day=/g)?.length, 365);
    assert.match(year.body, /<a href="\/dashboard\/site\/chart\?days=365" aria-current="true">/);
    assert.equal((await app.inject('/dashboard/site/chart?days=7')).statusCode, 400);
    const chart = await app.inject('/chart/site/chart?days=30');
    assert.equal(chart.statusCode, 200);
    assert.match(String(chart.headers['content-type']), /^image\/svg\+xml/);
    const svg = new DOMParser().parseFromString(chart.body, 'image/svg+xml');
    assert.equal(svg.documentElement?.nodeName, 'svg');
    assert.match(chart.body, />Hits</);
    assert.match(chart.body, />Unique visitors</);
    assert.match(chart.body, /^<svg width="960" height="300"/);
    const narrow = await app.inject('/chart/site/chart?days=30&size=narrow');
    assert.match(narrow.body, /^<svg width="480" height="300"/);
    assert.match(page.body, /<source id="chart-narrow" media="\(max-width: 40rem\)" srcset="\/chart\/site\/chart\?days=30&#38;size=narrow"/);
    assert.equal((await app.inject('/chart/site/chart?size=huge')).statusCode, 400);
  });

  it('answers a page saying so (404) for a counter that does not exist, and 400 for a bad name', async (t) => {
    const { app } = await dashboardApp(t);
    const missing = await app.inject('/dashboard/site/nothing');
    assert.equal(missing.statusCode, 404);
    assert.match(missing.body, /No counter site\/nothing yet/);
    const bad = await app.inject('/dashboard/site/x');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /key must match/);
  });

  it('puts the badge with the chosen look in the snippets, with the address the browser used', async (t) => {
    const { app, counters } = await dashboardApp(t);
    counters.put({ namespace: 'site', key: 'readme' }, { value: 3 });
    const res = await app.inject({ url: '/dashboard/site/readme?label=views&color=green&style=flat-square', headers: { host: 'counter.example.com:8080' } });
    assert.match(res.body, /!\[views\]\(http:\/\/counter.example.com:8080\/badge\/site\/readme\?label=views&#38;color=green&#38;style=flat-square\)/);
    assert.match(res.body, /<img id="badge-preview" src="\/badge\/site\/readme\?action=get&#38;label=views&#38;color=green&#38;style=flat-square"/);
    assert.equal((await app.inject('/dashboard/site/readme?style=wavy')).statusCode, 400);
  });

  it('with HISTORY_DAYS=0 says history is off, reads no history and draws no chart', async (t) => {
    const { app, counters } = await dashboardApp(t, { historyDays: 0 });
    counters.put({ namespace: 'site', key: 'nohistory' }, { value: 5 });
    const res = await app.inject('/dashboard/site/nohistory');
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /<p class="muted">History is off on this server \(HISTORY_DAYS=0\)\.<\/p>/);
    assert.doesNotMatch(res.body, /<tr data-day=|id="chart"/);
    // Only today's figures (the live snapshot reads one day); no history for a chart or table.
    assert.deepEqual(counters.calls.filter(({ method }) => method === 'history').map(({ args }) => args[1]), [1]);
  });

  it('draws a chart once per 2 s for the same counter, days and size', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    const { app, counters } = await dashboardApp(t);
    const id = { namespace: 'site', key: 'cached' };
    counters.put(id, { value: 1 });
    const reads = () => counters.calls.filter(({ method }) => method === 'history').length;
    const first = await app.inject('/chart/site/cached?days=30');
    assert.equal(reads(), 1);
    await counters.hit(id);
    t.mock.timers.tick(2000);
    assert.equal((await app.inject('/chart/site/cached?days=30')).body, first.body, 'the same chart, not read again, up to 2 s');
    assert.equal(reads(), 1);
    await app.inject('/chart/site/cached?days=30&size=narrow');
    assert.equal(reads(), 2, 'another size is another chart');
    await app.inject('/chart/site/cached?days=30');
    assert.equal(reads(), 2, 'both sizes kept');
    t.mock.timers.tick(1);
    const later = await app.inject('/chart/site/cached?days=30');
    assert.equal(reads(), 3, 'read again after 2 s');
    assert.notEqual(later.body, first.body, "today's new hit is drawn");
  });

  it('keeps at most 500 charts: the 501st empties the cache', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    const { app, counters } = await dashboardApp(t);
    const reads = () => counters.calls.filter(({ method }) => method === 'history').length;
    // One-day charts of counters that do not exist: the cheapest to draw (a few ms each).
    const chart = async (key: string) => {
      assert.equal((await app.inject(`/chart/site/${key}?days=1`)).statusCode, 200, key);
    };
    await chart('first');
    for (let i = 1; i < 500; i++) await chart(`c${String(i).padStart(3, '0')}`);
    assert.equal(reads(), 500);
    await chart('first');
    assert.equal(reads(), 500, '500 charts kept, the first among them');
    await chart('c500');
    assert.equal(reads(), 501);
    await chart('first');
    assert.equal(reads(), 502, 'the 501st chart emptied the cache: the first is drawn again');
    await chart('c500');
    assert.equal(reads(), 502, 'the chart that emptied it is kept');
  });

  it('draws at most HISTORY_DAYS days, and at least one day when history is off', async (t) => {
    const daysRead = async (historyDays: number, url: string) => {
      const { app, counters } = await dashboardApp(t, { historyDays });
      counters.put({ namespace: 'site', key: 'range' }, { value: 1 });
      assert.equal((await app.inject(url)).statusCode, 200);
      return counters.calls.filter(({ method }) => method === 'history').map(({ args }) => args[1]);
    };
    assert.deepEqual(await daysRead(30, '/chart/site/range?days=365'), [30]);
    assert.deepEqual(await daysRead(400, '/chart/site/range?days=90'), [90]);
    assert.deepEqual(await daysRead(0, '/chart/site/range?days=30'), [1]);
  });

  it('escapes what comes from the request', async (t) => {
    const { app, counters } = await dashboardApp(t);
    counters.put({ namespace: 'site', key: 'escape' }, { value: 1 });
    const res = await app.inject('/dashboard/site/escape?label=%3Cscript%3Ealert(1)%3C%2Fscript%3E');
    assert.equal(res.statusCode, 200);
    assert.doesNotMatch(res.body, /<script>alert/);
  });
});

describe("the operator's dashboard", () => {
  it('asks for the admin token (401 with a Basic challenge), refuses a wrong one, accepts it as Basic password or Bearer', async (t) => {
    const { app } = await dashboardApp(t);
    const none = await app.inject('/dashboard');
    assert.equal(none.statusCode, 401);
    assert.match(String(none.headers['www-authenticate']), /^Basic realm="visit counter operator"/);
    assert.equal(none.body, 'Unauthorized: the admin token is needed (any user name, the token as password)\n');
    assert.equal((await app.inject({ url: '/dashboard', headers: { authorization: basic('wrong-token-0123456789') } })).statusCode, 401);
    assert.equal((await app.inject({ url: '/instance', headers: { authorization: `Bearer ${TOKEN}x` } })).statusCode, 401);
    const page = await app.inject({ url: '/dashboard', headers: { authorization: basic(TOKEN) } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /The service right now/);
    const json = await app.inject({ url: '/instance', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(json.statusCode, 200);
    assert.ok(Array.isArray(json.json<{ replicas: unknown }>().replicas));
  });

  it("shows Redis's append-only file: on or off, the fsync policy, and a rewrite in progress", async (t) => {
    const { app, counters } = await dashboardApp(t);
    const aof = async () => /<td id="redis-aof">([^<]*)<\/td>/.exec((await app.inject({ url: '/dashboard', headers: { authorization: basic(TOKEN) } })).body)?.[1];
    counters.redisInfo = { aof_enabled: '1', appendfsync: 'always', aof_rewrite_in_progress: '1' };
    assert.equal(await aof(), 'on, fsync always, rewriting now');
    counters.redisInfo = { aof_enabled: '0', appendfsync: 'everysec', aof_rewrite_in_progress: '0' };
    assert.equal(await aof(), 'off, fsync everysec');
  });

  it('is off (404, saying how to turn it on) without ADMIN_TOKEN', async (t) => {
    const { app } = await dashboardApp(t, { adminToken: undefined });
    const res = await app.inject({ url: '/dashboard', headers: { authorization: basic(TOKEN) } });
    assert.equal(res.statusCode, 404);
    assert.match(res.body, /set ADMIN_TOKEN_FILE/);
  });

  it('reads the token from Basic (any user, password with colons) and Bearer; nothing else', () => {
    assert.equal(presentedToken(basic('a:b:c', 'me')), 'a:b:c');
    assert.equal(presentedToken(`Bearer ${TOKEN}`), TOKEN);
    assert.equal(presentedToken(`bearer ${TOKEN}`), TOKEN);
    assert.equal(presentedToken('Digest abc'), undefined);
    assert.equal(presentedToken(`Basic ${Buffer.from('no-colon').toString('base64')}`), undefined);
    assert.equal(presentedToken(undefined), undefined);
    assert.equal(presentedToken('Bearer'), '', 'a scheme without credentials presents an empty token');
    assert.equal(presentedToken('Basic'), undefined);
    assert.equal(presentsAdminToken('Bearer', TOKEN), false);
    assert.equal(presentedToken(`  Bearer   ${TOKEN}`), TOKEN, 'spaces around and between');
    assert.equal(presentedToken(basic('a:b', '')), 'a:b', 'an empty user name');
    for (const scheme of ['xBearer', 'Bearerx', 'xBasic', 'Basicx', 'Digest']) {
      assert.equal(presentedToken(`${scheme} ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`), undefined, scheme);
    }
    assert.equal(presentsAdminToken(`Bearer ${TOKEN}`, TOKEN), true);
    assert.equal(presentsAdminToken(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN), false);
  });

  it("sums each replica's share of the last complete minute, leaving out the bucket still filling", () => {
    const now = 1_000_000_000;
    const bucket = (requests: Record<string, number>, i: number) => ({ start: now - (7 - i) * 10_000, requests });
    const load = ([{ a: 100 }, { a: 10, b: 30 }, { a: 10, b: 30 }, { a: 10, b: 30 }, { a: 10, b: 30 }, { a: 10, b: 30 }, { a: 10, b: 30 }, { a: 999, b: 999 }] as Record<string, number>[]).map(bucket);
    const summary = summarizeInstance({ replicas: [{ name: 'b', lastSeen: now - 1500 }, { name: 'a', lastSeen: now }], load, busiest: [], redis: { maxmemory: '0', aof_enabled: '1', appendfsync: 'everysec' } }, now);
    assert.deepEqual(summary.replicas.map(({ name, lastMinute, share, secondsSinceReport }) => ({ name, lastMinute, share, secondsSinceReport })), [
      { name: 'a', lastMinute: 60, share: 0.25, secondsSinceReport: 0 },
      { name: 'b', lastMinute: 180, share: 0.75, secondsSinceReport: 2 },
    ]);
    assert.equal(summary.requestsPerSecond, 4);
    assert.equal(summary.replicas[0]?.lastFiveMinutes, 100 + 60 + 999);
    assert.equal(summary.redis.maxMemory, 'no limit');
    assert.equal(summary.redis.appendFsync, 'everysec');
    assert.equal(summary.redis.lastAofRewrite, '? (took ? s)');
    const rewritten = summarizeInstance({ replicas: [], load: [], busiest: [], redis: { aof_last_rewrite_time_sec: '2', aof_last_bgrewrite_status: 'ok' } }, now);
    assert.equal(rewritten.redis.lastAofRewrite, 'ok (took 2 s)');
    const never = summarizeInstance({ replicas: [], load: [], busiest: [], redis: { aof_last_rewrite_time_sec: '-1', aof_last_bgrewrite_status: 'ok' } }, now);
    assert.equal(never.redis.lastAofRewrite, 'none since Redis started');
  });
});
