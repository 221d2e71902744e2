import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CounterSnapshot, LiveActivity, noteActivity } from '../../src/live/activity.ts';
import type { CounterChanges, CounterStore } from '../../src/store/counter-store.ts';
import { capturedLog } from '../helpers/captured-log.ts';
import { FakeCounterStore } from '../helpers/fake-counter-store.ts';

const id = { namespace: 'site', key: 'live' };

/**
 * A store with only what LiveActivity reads: `get` answers from a queue of promises the test
 * settles, `history` has no day yet, and `publish` delivers a change as the pub/sub channel would.
 */
const liveStore = () => {
  const reads: { resolve: (value: number) => void; reject: (error: Error) => void }[] = [];
  let listener: ((changes: CounterChanges) => void) | undefined;
  const store = {
    get: () =>
      new Promise<number>((resolve, reject) => {
        reads.push({ resolve, reject });
      }),
    history: async () => [],
    subscribe: async (onChanges: (changes: CounterChanges) => void) => {
      listener = onChanges;
      return async () => undefined;
    },
    report: async () => undefined,
  };
  const publish = () => {
    listener?.({ changes: { 'site/live': 1 } } as unknown as CounterChanges);
  };
  return { store: store as unknown as CounterStore, reads, publish };
};

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('live activity', () => {
  it("gives a counter with no hits today an empty day and zeros for today's figures", async () => {
    const { store, reads } = liveStore();
    const activity = new LiveActivity({ replica: 'r', store, log: capturedLog().log });
    const snapshot = activity.snapshot(id);
    await settle();
    reads[0]?.resolve(5);
    assert.deepEqual(await snapshot, { value: 5, day: '', today: 0, uniques: 0 });
  });

  it('reads one snapshot at a time per counter: changes arriving meanwhile make one more read, whose value the viewers get last', async () => {
    const { store, reads, publish } = liveStore();
    const activity = new LiveActivity({ replica: 'r', store, log: capturedLog().log, reportEveryMs: 60_000 });
    await activity.start();
    const seen: (CounterSnapshot | null)[] = [];
    activity.watch(id, (snapshot) => seen.push(snapshot));
    publish();
    await settle();
    assert.equal(reads.length, 1);
    publish();
    publish();
    publish();
    await settle();
    assert.equal(reads.length, 1, 'no second read while the first is out');
    reads[0]?.resolve(1);
    await settle();
    assert.equal(reads.length, 2, 'one more read for the changes that came meanwhile');
    reads[1]?.resolve(4);
    await settle();
    assert.equal(reads.length, 2);
    assert.deepEqual(seen.map((snapshot) => snapshot?.value), [1, 4]);
    await activity.stop();
  });

  it('skips an update Redis does not answer, logging it, and reads again at the next change', async () => {
    const { store, reads, publish } = liveStore();
    const { log, lines } = capturedLog();
    const activity = new LiveActivity({ replica: 'r', store, log, reportEveryMs: 60_000 });
    await activity.start();
    const seen: (CounterSnapshot | null)[] = [];
    activity.watch(id, (snapshot) => seen.push(snapshot));
    publish();
    await settle();
    reads[0]?.reject(new Error('redis is not connected'));
    await settle();
    assert.equal(seen.length, 0, 'no viewer called');
    assert.deepEqual(
      lines.map(({ level, msg, err }) => ({ level, msg, err })),
      [{ level: 40, msg: 'live update skipped: redis did not answer', err: 'Error: redis is not connected' }],
    );
    publish();
    await settle();
    assert.equal(reads.length, 2, 'read again: the failed read is over');
    reads[1]?.resolve(9);
    await settle();
    assert.deepEqual(seen.map((snapshot) => snapshot?.value), [9]);
    await activity.stop();
  });

  it('keeps the requests and hits of a report Redis refused for the next report; changes are not kept', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const sent: { requests: number; hits: Record<string, number>; changes: Record<string, number | null> }[] = [];
    let failNext = true;
    const { store } = liveStore();
    (store as unknown as { report: unknown }).report = async (report: { requests: number; hits: Map<string, number>; changes: Map<string, number | null> }) => {
      sent.push({ requests: report.requests, hits: Object.fromEntries(report.hits), changes: Object.fromEntries(report.changes) });
      if (failNext) {
        failNext = false;
        throw new Error('redis is not connected');
      }
    };
    const activity = new LiveActivity({ replica: 'r', store, log: capturedLog().log });
    await activity.start();
    activity.served();
    activity.served();
    activity.counted(id, 7);
    t.mock.timers.tick(500);
    await settle();
    assert.equal(sent.length, 1);
    activity.served();
    activity.counted(id, 8);
    activity.counted({ namespace: 'site', key: 'other' }, 1);
    await activity.stop();
    assert.deepEqual(sent[0], { requests: 2, hits: { 'site/live': 1 }, changes: { 'site/live': 7 } });
    assert.deepEqual(sent.at(-1), { requests: 3, hits: { 'site/live': 2, 'site/other': 1 }, changes: { 'site/live': 8, 'site/other': 1 } });
    assert.equal(sent.length, 2);
  });
});

describe('live viewers', () => {
  it('each viewer of a counter gets its changes until it leaves; a counter nobody watches is not read; leaving twice counts once', async () => {
    const { store, reads, publish } = liveStore();
    const activity = new LiveActivity({ replica: 'r', store, log: capturedLog().log, reportEveryMs: 60_000 });
    await activity.start();
    const first: (number | undefined)[] = [];
    const second: (number | undefined)[] = [];
    const leaveFirst = activity.watch(id, (snapshot) => first.push(snapshot?.value));
    const leaveSecond = activity.watch(id, (snapshot) => second.push(snapshot?.value));
    assert.equal(activity.viewers, 2);
    publish();
    await settle();
    reads[0]?.resolve(1);
    await settle();
    assert.deepEqual([first, second], [[1], [1]]);
    leaveFirst();
    leaveFirst();
    assert.equal(activity.viewers, 1);
    publish();
    await settle();
    reads[1]?.resolve(2);
    await settle();
    assert.deepEqual([first, second], [[1], [1, 2]]);
    leaveSecond();
    assert.equal(activity.viewers, 0);
    publish();
    await settle();
    assert.equal(reads.length, 2, 'no read for a counter nobody watches any more');
    await activity.stop();
  });
});

describe('the store as the routes use it (noteActivity)', () => {
  it('notes each hit, and each create, set, update and delete that changed the counter; a refused one is not announced', async () => {
    const noted: string[] = [];
    const activity = {
      counted: (counter: { key: string }, value: number) => noted.push(`counted ${counter.key} ${value}`),
      changed: (counter: { key: string }, value: number | null) => noted.push(`changed ${counter.key} ${value}`),
    } as unknown as LiveActivity;
    const store = noteActivity(new FakeCounterStore(), activity);
    const settings = { value: 5, enableReset: false, lowerBound: -1000, upperBound: 1000, adminKeyDigest: 'owner' };
    await store.hit(id);
    await store.create({ namespace: 'site', key: 'made' }, settings);
    await store.create({ namespace: 'site', key: 'made' }, settings);
    await store.set({ namespace: 'site', key: 'made' }, 9, 'wrong');
    await store.set({ namespace: 'site', key: 'made' }, 9, 'owner');
    await store.update({ namespace: 'site', key: 'made' }, 2, 'wrong');
    await store.update({ namespace: 'site', key: 'made' }, 2, 'owner');
    await store.delete({ namespace: 'site', key: 'made' }, 'wrong');
    await store.delete({ namespace: 'site', key: 'made' }, 'owner');
    await store.delete({ namespace: 'site', key: 'made' }, 'owner');
    assert.deepEqual(noted, ['counted live 1', 'changed made 5', 'changed made 9', 'changed made 11', 'changed made null']);
    // Reads pass through, bound once: the same function every time.
    const first: unknown = Reflect.get(store, 'get');
    assert.equal(Reflect.get(store, 'get'), first);
    assert.equal(await store.get({ namespace: 'site', key: 'live' }), 1);
  });
});
