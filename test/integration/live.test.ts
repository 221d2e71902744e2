import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { createRedisStore } from '../../src/store/redis-store.ts';
import { EventStreamClient } from '../helpers/event-stream.ts';
import { COUNTING } from '../helpers/in-process-app.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

const PASSWORD = 'live-test-password';
const ADMIN_TOKEN = 'operator-token-0123456789';
const valueOf = (event: { data: string }): unknown => (JSON.parse(event.data) as { value?: unknown }).value;
const basic = (token: string) => `Basic ${Buffer.from(`anyone:${token}`).toString('base64')}`;

interface Replica {
  app: FastifyInstance;
  base: string;
}

// Two replicas of the app on one Redis started as the stack starts it (ACL, functions, config):
// what one counts must reach viewers of the other.
describe('live updates and the operator view, across replicas, on a real Redis', () => {
  const redis = new RedisServer({ username: 'counter', password: PASSWORD, asInTheStack: { appendfsync: 'always' } });
  const replicas: Replica[] = [];

  const startReplica = async (name: string, streamsPerClient = 3, streamsPerReplica = 100): Promise<Replica> => {
    const log = createLogger('silent', name);
    const store = createRedisStore({ connection: { url: redis.url, username: 'counter', password: PASSWORD, database: 0 }, timeoutMs: 1000, log, ...COUNTING });
    const app = await buildApp({ replicaName: name, store, counting: COUNTING, live: { adminToken: ADMIN_TOKEN, streamsPerClient, streamsPerReplica } }, log);
    await waitFor(`${name} ready`, () => store.isReady(), 5000);
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const replica = { app, base };
    replicas.push(replica);
    return replica;
  };

  before(async () => {
    await redis.start();
  });
  after(async () => {
    await Promise.all(replicas.map(({ app }) => app.close()));
    await redis.destroy();
  });

  it("a hit on one replica reaches a viewer of another, with today's hits and uniques", async () => {
    const [a, b] = [await startReplica('web-a'), await startReplica('web-b')];
    assert.equal((await fetch(`${a.base}/hit/live/page`)).status, 200);
    const stream = await EventStreamClient.open(`${b.base}/stream/live/page`);
    try {
      assert.equal(stream.status, 200);
      const first = await stream.waitForEvent('the first snapshot', () => true, 2000);
      assert.deepEqual({ ...JSON.parse(first.data), day: 'today' }, { value: 1, day: 'today', today: 1, uniques: 1 });
      for (let i = 0; i < 3; i++) assert.equal((await fetch(`${a.base}/hit/live/page`, { headers: { 'user-agent': `ua-${i}` } })).status, 200);
      const last = await stream.waitForEvent('the value 4 from the other replica', (event) => valueOf(event) === 4, 3000);
      const snapshot = JSON.parse(last.data) as { today: number; uniques: number };
      assert.equal(snapshot.today, 4);
      assert.equal(snapshot.uniques, 4);
      // set (by the owner or with enable_reset) and delete reach viewers too.
      const made = (await (await fetch(`${a.base}/create?namespace=live&key=owned&value=5`)).json()) as { admin_key: string };
      const owned = await EventStreamClient.open(`${b.base}/stream/live/owned`);
      await owned.waitForEvent('5', (event) => valueOf(event) === 5, 2000);
      await fetch(`${a.base}/set/live/owned?value=42`, { headers: { authorization: `Bearer ${made.admin_key}` } });
      await owned.waitForEvent('42 after /set', (event) => valueOf(event) === 42, 3000);
      await fetch(`${a.base}/counters/live/owned`, { method: 'DELETE', headers: { authorization: `Bearer ${made.admin_key}` } });
      const deleted = await owned.waitForEvent('deleted', (event) => event.event === 'deleted', 3000);
      assert.deepEqual(JSON.parse(deleted.data), { path: 'live/owned' });
      owned.close();
    } finally {
      stream.close();
    }
  });

  it('answers 404 for a missing counter, 400 for a bad name, and bounds streams per client (429, then free again)', async () => {
    const [a] = replicas as [Replica];
    const missing = await EventStreamClient.open(`${a.base}/stream/live/never-made`);
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), { error: 'counter not found' });
    assert.equal((await EventStreamClient.open(`${a.base}/stream/live/x`)).status, 400);
    await fetch(`${a.base}/hit/live/limits`);
    const open = await Promise.all([1, 2, 3].map(() => EventStreamClient.open(`${a.base}/stream/live/limits`)));
    assert.deepEqual(open.map((s) => s.status), [200, 200, 200]);
    const fourth = await EventStreamClient.open(`${a.base}/stream/live/limits`);
    assert.equal(fourth.status, 429);
    assert.deepEqual(JSON.parse(fourth.body), { error: 'at most 3 live streams per client' });
    const viewersBefore = a.app.live.viewers;
    open[0]?.close();
    // A closed stream gives back its slot and stops being a viewer (what the streams-open metric reads).
    await waitFor('the closed stream no longer watched', async () => a.app.live.viewers === viewersBefore - 1, 3000);
    const replacement = await EventStreamClient.open(`${a.base}/stream/live/limits`);
    assert.equal(replacement.status, 200);
    // Three open again: the client's count came down by one, not to zero.
    const overLimit = await EventStreamClient.open(`${a.base}/stream/live/limits`);
    assert.equal(overLimit.status, 429);
    for (const stream of [...open, replacement]) stream.close();
    await waitFor('every stream of the client closed', async () => a.app.live.viewers === viewersBefore - 3, 3000);
    // All of them closed: the client has its three slots back (opened one after another).
    const reopened: EventStreamClient[] = [];
    for (let i = 0; i < 3; i++) reopened.push(await EventStreamClient.open(`${a.base}/stream/live/limits`));
    assert.deepEqual(reopened.map((s) => s.status), [200, 200, 200]);
    for (const stream of reopened) stream.close();
    await waitFor('the reopened streams closed', async () => a.app.live.viewers === viewersBefore - 3, 3000);
  });

  it('bounds the streams of one replica, whoever asks (429 past STREAMS_PER_REPLICA)', async () => {
    const small = await startReplica('web-small', 10, 2);
    await fetch(`${small.base}/hit/live/crowded`);
    const open = await Promise.all([1, 2].map(() => EventStreamClient.open(`${small.base}/stream/live/crowded`)));
    assert.deepEqual(open.map((s) => s.status), [200, 200]);
    const third = await EventStreamClient.open(`${small.base}/stream/live/crowded`);
    assert.equal(third.status, 429);
    assert.deepEqual(JSON.parse(third.body), { error: 'too many live streams on this server; try again later' });
    open[0]?.close();
    await waitFor('a slot of the replica free again', async () => small.app.live.viewers === 1, 3000);
    const again = await EventStreamClient.open(`${small.base}/stream/live/crowded`);
    assert.equal(again.status, 200);
    again.close();
    for (const stream of open) stream.close();
    await small.app.close();
    replicas.splice(replicas.indexOf(small), 1);
  });

  it('the operator view lists both replicas with their requests, the busiest counters and the fsync policy in effect', async () => {
    const [a] = replicas as [Replica];
    for (let i = 0; i < 5; i++) await fetch(`${a.base}/hit/live/busiest`);
    const asOperator = { authorization: basic(ADMIN_TOKEN) };
    await waitFor('both replicas and the busiest counter reported', async () => {
      const summary = (await (await fetch(`${a.base}/instance`, { headers: asOperator })).json()) as {
        replicas: { name: string; lastFiveMinutes: number }[];
        busiest: { path: string; hits: number }[];
      };
      return summary.replicas.map((r) => r.name).join() === 'web-a,web-b' &&
        summary.busiest[0]?.path === 'live/busiest' && summary.busiest[0].hits === 5 &&
        (summary.replicas[0]?.lastFiveMinutes ?? 0) > 0;
    }, 15_000);
    const summary = (await (await fetch(`${a.base}/instance`, { headers: asOperator })).json()) as { redis: Record<string, unknown> };
    assert.equal(summary.redis.appendFsync, 'always');
    assert.equal(summary.redis.appendOnly, true);
    assert.match(String(summary.redis.maxMemory), /MB|M$/);
    const page = await fetch(`${a.base}/dashboard`, { headers: asOperator });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<code>web-a<\/code>/);
    assert.match(html, /<code>web-b<\/code>/);
    assert.match(html, /fsync always/);
  });

  it('a stopping replica ends its streams at once, so its shutdown is not held up', async () => {
    const c = await startReplica('web-c');
    await fetch(`${c.base}/hit/live/closing`);
    const stream = await EventStreamClient.open(`${c.base}/stream/live/closing`);
    await stream.waitForEvent('first', () => true, 2000);
    const started = Date.now();
    await c.app.close();
    await stream.waitForEnd(2000);
    assert.ok(Date.now() - started < 3000, `closed in ${Date.now() - started} ms`);
    replicas.splice(replicas.indexOf(c), 1);
  });
});
