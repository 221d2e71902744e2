import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { apiApp } from '../helpers/api-app.ts';
import { FakeCounterStore } from '../helpers/fake-counter-store.ts';

interface History {
  namespace: string;
  key: string;
  timezone: string;
  days: { day: string; hits: number; uniques: number }[];
}

/** A counter site/page hit on two days in Paris: 2 visitors on 3 June, 1 (twice) on 5 June. */
const withHistory = async (t: TestContext, historyDays = 30) => {
  let now = new Date('2024-06-03T10:00:00Z');
  const counters = new FakeCounterStore({ timeZone: 'Europe/Paris', now: () => now });
  const { app } = await apiApp(t, { counters, historyDays, timeZone: 'Europe/Paris' });
  const visit = (address: string) => app.inject({ url: '/hit/site/page', remoteAddress: address, headers: { 'user-agent': 'UA' } });
  await visit('192.0.2.1');
  await visit('192.0.2.2');
  // 23:30 UTC on 4 June is already 5 June in Paris.
  now = new Date('2024-06-04T23:30:00Z');
  await visit('192.0.2.1');
  await visit('192.0.2.1');
  return { app, counters };
};

describe('GET /history', () => {
  it('answers hits and unique visitors per day in the server time zone, oldest first', async (t) => {
    const { app } = await withHistory(t);
    const res = await app.inject('/history/site/page?days=3');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-path'], 'site/page');
    assert.deepEqual(res.json(), {
      namespace: 'site',
      key: 'page',
      timezone: 'Europe/Paris',
      days: [
        { day: '2024-06-03', hits: 2, uniques: 2 },
        { day: '2024-06-04', hits: 0, uniques: 0 },
        { day: '2024-06-05', hits: 2, uniques: 1 },
      ],
    });
  });

  it('answers 30 days by default (or all kept when fewer), in the default namespace without one', async (t) => {
    const { app, counters } = await withHistory(t);
    const body = (await app.inject('/history/site/page')).json<History>();
    assert.equal(body.days.length, 30);
    assert.equal(body.days.at(-1)?.day, '2024-06-05');
    assert.deepEqual(counters.calls.at(-1), { method: 'history', args: [{ namespace: 'site', key: 'page' }, 30] });
    counters.put({ namespace: 'default', key: 'page' }, { value: 1 });
    assert.equal((await app.inject('/history/page?days=1')).json<History>().namespace, 'default');
  });

  it('answers CSV with format=csv', async (t) => {
    const { app } = await withHistory(t);
    const res = await app.inject('/history/site/page?days=3&format=csv');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/csv; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.body, 'day,hits,uniques\n2024-06-03,2,2\n2024-06-04,0,0\n2024-06-05,2,1\n');
    assert.deepEqual((await app.inject('/history/site/page?days=1&format=json')).json<History>().days, [{ day: '2024-06-05', hits: 2, uniques: 1 }]);
  });

  it('answers the 1x1 GIF for ?img, also with format=csv', async (t) => {
    const { app } = await withHistory(t);
    for (const query of ['img', 'format=csv&img', 'format=csv&img=1']) {
      const res = await app.inject(`/history/site/page?${query}`);
      assert.equal(res.statusCode, 200, query);
      assert.equal(res.headers['content-type'], 'image/gif', query);
      assert.equal(res.rawPayload.subarray(0, 6).toString('latin1'), 'GIF89a', query);
    }
  });

  it('answers 404 for a missing counter', async (t) => {
    const { app } = await withHistory(t);
    const res = await app.inject('/history/site/other');
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: 'counter not found' });
  });

  it('refuses bad input on each parameter', async (t) => {
    const { app } = await withHistory(t, 7);
    const cases: [string, string][] = [
      ['days=0', 'days must be an integer from 1 to 7'],
      ['days=8', 'days must be an integer from 1 to 7'],
      ['days=-1', 'days must be an integer from 1 to 7'],
      ['days=1.5', 'days must be an integer from 1 to 7'],
      ['days=', 'days must be an integer from 1 to 7'],
      ['days=two', 'days must be an integer from 1 to 7'],
      ['days=1&days=2', 'days must be given once'],
      ['format=xml', 'format must be json or csv'],
      ['format=', 'format must be json or csv'],
      ['callback=a-b', 'callback must be a JavaScript identifier of at most 64 characters (A-Z a-z 0-9 _ $, not starting with a digit)'],
    ];
    for (const [query, error] of cases) {
      const res = await app.inject(`/history/site/page?${query}`);
      assert.equal(res.statusCode, 400, query);
      assert.deepEqual(res.json(), { error }, query);
    }
    // A valid callback wraps the error as well.
    const both = await app.inject('/history/site/page?format=csv&callback=cb');
    assert.equal(both.statusCode, 400);
    assert.equal(both.body, 'cb({"error":"callback applies to JSON answers only, not to format=csv"});');
    assert.deepEqual((await app.inject('/history/s/page')).json(), { error: 'namespace must match ^[A-Za-z0-9_\\-.]{3,64}$' });
    assert.deepEqual((await app.inject('/history/pa')).json(), { error: 'key must match ^[A-Za-z0-9_\\-.]{3,64}$' });
    // With 7 days kept, the default is all 7.
    assert.equal((await app.inject('/history/site/page')).json<History>().days.length, 7);
    assert.equal((await app.inject('/history/site/page?days=7')).statusCode, 200);
  });

  it('is a 404 saying so when history is off, whatever is asked', async (t) => {
    const { app, counters } = await apiApp(t, { historyDays: 0 });
    counters.put({ namespace: 'site', key: 'page' }, { value: 1 });
    for (const url of ['/history/site/page', '/history/page?days=1', '/history/site/page?days=nope&format=csv', '/history/x']) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 404, url);
      assert.deepEqual(res.json(), { error: 'history is off on this server' }, url);
    }
    assert.equal(counters.count('history'), 0);
  });

  it('takes JSONP', async (t) => {
    const { app } = await withHistory(t);
    const res = await app.inject('/history/site/page?days=1&callback=draw');
    assert.equal(res.body, 'draw({"namespace":"site","key":"page","timezone":"Europe/Paris","days":[{"day":"2024-06-05","hits":2,"uniques":1}]});');
  });
});
