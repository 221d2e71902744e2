import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CounterId } from '../../src/counters/names.ts';
import { apiApp } from '../helpers/api-app.ts';
import { EventStreamClient } from '../helpers/event-stream.ts';
import type { FakeCounterStore } from '../helpers/fake-counter-store.ts';
import { waitFor } from '../helpers/wait.ts';

const PAGE = { namespace: 'site', key: 'page' };

/** Holds the store's reads (the first snapshot of a stream) until released, or fails them. */
const holdReads = (counters: FakeCounterStore) => {
  const read = counters.get.bind(counters);
  let release: (failure?: Error) => void = () => undefined;
  const gate = new Promise<Error | undefined>((resolve) => { release = resolve; });
  let waiting = 0;
  counters.get = async (id: CounterId) => {
    waiting += 1;
    const failure = await gate;
    if (failure) throw failure;
    return read(id);
  };
  return { release, waiting: () => waiting, restore: () => { counters.get = read; } };
};

/** Opens three streams at once and lets their reads go once each was either refused or is reading. */
const openThreeTogether = async (base: string, reads: ReturnType<typeof holdReads>): Promise<number[]> => {
  let answered = 0;
  const opening = [1, 2, 3].map(async () => {
    const stream = await EventStreamClient.open(`${base}/stream/site/page`);
    answered += 1;
    return stream;
  });
  await waitFor('each stream refused or reading', async () => answered + reads.waiting() === 3, 2000, 5);
  reads.release();
  const streams = await Promise.all(opening);
  for (const stream of streams) stream.close();
  return streams.map((stream) => stream.status).sort();
};

// The bounds on live streams (STREAMS_PER_CLIENT, STREAMS_PER_REPLICA) while the first snapshot
// of a stream is still being read from the store: the moment a Redis round trip leaves open.
describe('live streams, while their first snapshot is read', { timeout: 10_000 }, () => {
  it('counts streams asked for together against the bound: one of three gets through at one per client', async (t) => {
    const { app, counters } = await apiApp(t, { live: { streamsPerClient: 1, streamsPerReplica: 10 } });
    counters.put(PAGE, { value: 1 });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const reads = holdReads(counters);
    assert.deepEqual(await openThreeTogether(base, reads), [200, 429, 429]);
  });

  it('counts them against the replica\'s bound too', async (t) => {
    const { app, counters } = await apiApp(t, { live: { streamsPerClient: 10, streamsPerReplica: 2 } });
    counters.put(PAGE, { value: 1 });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const reads = holdReads(counters);
    assert.deepEqual(await openThreeTogether(base, reads), [200, 200, 429]);
  });

  it('gives the slot back when the client leaves before the first snapshot, and watches nothing for it', async (t) => {
    const { app, counters } = await apiApp(t, { live: { streamsPerClient: 1, streamsPerReplica: 10 } });
    counters.put(PAGE, { value: 1 });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const reads = holdReads(counters);
    const leaving = new AbortController();
    const pending = fetch(`${base}/stream/site/page`, { headers: { accept: 'text/event-stream' }, signal: leaving.signal }).catch(() => undefined);
    await waitFor('the first read under way', async () => reads.waiting() === 1, 2000, 5);
    leaving.abort();
    await pending;
    // The server sees the connection close, then the read answers.
    const connections = () => new Promise<number>((resolve, reject) => {
      app.server.getConnections((error, count) => { if (error) reject(error); else resolve(count); });
    });
    await waitFor('the server to see the client leave', async () => (await connections()) === 0, 2000, 5);
    reads.release();
    reads.restore();
    const again = await EventStreamClient.open(`${base}/stream/site/page`);
    try {
      assert.equal(again.status, 200, again.body);
      await again.waitForEvent('the first snapshot', () => true, 2000);
      assert.equal(app.live.viewers, 1, 'only the stream still open is watched');
    } finally {
      again.close();
    }
  });

  it('gives the slot back when the first read fails or finds no counter', async (t) => {
    const { app, counters } = await apiApp(t, { live: { streamsPerClient: 1, streamsPerReplica: 10 } });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const reads = holdReads(counters);
    const failing = EventStreamClient.open(`${base}/stream/site/page`);
    await waitFor('the first read under way', async () => reads.waiting() === 1, 2000, 5);
    reads.release(new Error('the store broke'));
    assert.equal((await failing).status, 500);
    reads.restore();
    assert.equal((await EventStreamClient.open(`${base}/stream/site/page`)).status, 404);
    counters.put(PAGE, { value: 1 });
    const open = await EventStreamClient.open(`${base}/stream/site/page`);
    open.close();
    assert.equal(open.status, 200, open.body);
  });
});
