import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { FakeCounterStore } from '../helpers/fake-counter-store.ts';

const COUNTING = { historyDays: 30, timeZone: 'UTC' };
const PAGE = { namespace: 'site', key: 'page' };

const visitorsSeen = async (t: TestContext, trustedProxies: string | undefined, requests: { remoteAddress: string; forwardedFor?: string }[]) => {
  const store = new FakeCounterStore();
  const app = await buildApp({ replicaName: 'visitors', store, counting: COUNTING, trustedProxies });
  t.after(() => app.close());
  for (const { remoteAddress, forwardedFor } of requests) {
    const headers: Record<string, string> = { 'user-agent': 'the same browser' };
    if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
    assert.equal((await app.inject({ url: '/hit/site/page', remoteAddress, headers })).statusCode, 200);
  }
  return [...(store.peek(PAGE)?.visitorsByDay.values() ?? [])].flatMap((set) => [...set].map((visitor) => visitor.split('\n')[0]));
};

describe('the client address of a unique visitor', () => {
  it('is the one nginx forwards (X-Forwarded-For) when the request comes from a trusted proxy', async (t) => {
    const seen = await visitorsSeen(t, 'loopback', [
      { remoteAddress: '127.0.0.1', forwardedFor: '198.51.100.7' },
      { remoteAddress: '127.0.0.1', forwardedFor: '198.51.100.8' },
    ]);
    assert.deepEqual(seen.sort(), ['198.51.100.7', '198.51.100.8']);
  });

  it('ignores X-Forwarded-For from anyone else: a client cannot make up addresses to inflate uniques', async (t) => {
    const untrusted = await visitorsSeen(t, 'loopback', [
      { remoteAddress: '203.0.113.5', forwardedFor: '198.51.100.7' },
      { remoteAddress: '203.0.113.5', forwardedFor: '198.51.100.8' },
    ]);
    assert.deepEqual(untrusted, ['203.0.113.5']);
    const noProxies = await visitorsSeen(t, undefined, [{ remoteAddress: '127.0.0.1', forwardedFor: '198.51.100.7' }]);
    assert.deepEqual(noProxies, ['127.0.0.1']);
  });
});

describe('the browser of a unique visitor', () => {
  it('is the same (an empty User-Agent) whether the header is missing or empty', async (t) => {
    const store = new FakeCounterStore();
    const app = await buildApp({ replicaName: 'visitors', store, counting: COUNTING });
    t.after(() => app.close());
    for (const userAgent of [undefined, '', undefined]) {
      const res = await app.inject({ url: '/hit/site/page', remoteAddress: '198.51.100.9', headers: { 'user-agent': userAgent } });
      assert.equal(res.statusCode, 200);
    }
    assert.deepEqual([...(store.peek(PAGE)?.visitorsByDay.values() ?? [])].flatMap((set) => [...set]), ['198.51.100.9\n']);
  });
});
