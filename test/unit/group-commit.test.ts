import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { groupCommit } from '../../src/store/group-commit.ts';

/** A commit that records each call and answers each item with "context:item". */
const recording = () => {
  const calls: { context: string; items: string[] }[] = [];
  const commit = async (context: string, items: string[]) => {
    calls.push({ context, items: [...items] });
    return items.map((item) => `${context}:${item}`);
  };
  return { calls, commit };
};

/**
 * Calls that answer only when the test says so (answer[i]() for the i-th call), two items per
 * call, and a 60 s wait for calls in flight: a batch that goes early or late shows at once.
 */
const heldCalls = () => {
  const calls: string[][] = [];
  const answer: (() => void)[] = [];
  const add = groupCommit(async (_: string, items: string[]) => {
    calls.push([...items]);
    await new Promise<void>((resolve) => answer.push(resolve));
    return items;
  }, 2, 60_000);
  return { calls, answer, add };
};

// Every test here takes milliseconds: one that hangs (a batch never sent or answered) fails.
describe('groupCommit', { timeout: 5_000 }, () => {
  it('sends the items of one group added in the same turn as one call, in order, each caller getting its own answer', async () => {
    const { calls, commit } = recording();
    const add = groupCommit(commit, 100);
    const answers = Promise.all(['a', 'b', 'c'].map((item) => add('g', () => 'ctx', item)));
    assert.equal(calls.length, 0, 'nothing is sent before the turn ends');
    assert.deepEqual(await answers, ['ctx:a', 'ctx:b', 'ctx:c']);
    assert.deepEqual(calls, [{ context: 'ctx', items: ['a', 'b', 'c'] }]);
  });

  it('makes the context once per batch, sends another group in its own call, and a later turn in a new batch', async () => {
    const { calls, commit } = recording();
    const add = groupCommit(commit, 100);
    let contexts = 0;
    const context = (name: string) => () => `${name}${++contexts}`;
    const first = await Promise.all([add('x', context('x'), '1'), add('y', context('y'), '2'), add('x', context('x'), '3')]);
    assert.deepEqual(first, ['x1:1', 'y2:2', 'x1:3']);
    assert.deepEqual(await add('x', context('x'), '4'), 'x3:4');
    assert.deepEqual(calls, [{ context: 'x1', items: ['1', '3'] }, { context: 'y2', items: ['2'] }, { context: 'x3', items: ['4'] }]);
  });

  it('sends a batch as soon as it holds maxPerCall items; the next item starts a new one', async () => {
    const { calls, commit } = recording();
    const add = groupCommit(commit, 2);
    const answers = Promise.all(['a', 'b', 'c', 'd', 'e'].map((item) => add('g', () => 'c', item)));
    assert.deepEqual(calls.map(({ items }) => items), [['a', 'b'], ['c', 'd']], 'full batches go at once');
    assert.deepEqual(await answers, ['c:a', 'c:b', 'c:c', 'c:d', 'c:e']);
    assert.deepEqual(calls.map(({ items }) => items), [['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('fails every caller of a failed call with its error, and only those', async () => {
    const failure = new Error('redis did not answer');
    let calls = 0;
    const add = groupCommit(async (_: string, items: string[]) => {
      calls += 1;
      if (calls === 1) throw failure;
      return items;
    }, 100, 60_000);
    const failed = [add('g', () => '', 'a'), add('g', () => '', 'b')];
    for (const pending of failed) await assert.rejects(pending, (error) => error === failure);
    await nextTurn();
    // With a 60 s wait for calls in flight, this answers only if the failed call no longer counts as one.
    assert.equal(await add('g', () => '', 'c'), 'c', 'the next batch is sent anew');
    assert.equal(add.active(), 0);
  });

  it('fails a caller the store gave no answer for, rather than answering it undefined', async () => {
    const add = groupCommit(async (_: string, items: string[]) => items.slice(1), 100);
    const [first, second] = [add('g', () => '', 'a'), add('g', () => '', 'b')];
    assert.equal(await first, 'b');
    await assert.rejects(second, { message: 'the store answered 1 of 2 hits' });
  });

  it('while a call of the group is in flight, gathers what comes in later turns and sends it when the call answers', async () => {
    const calls: string[][] = [];
    let answerFirst: () => void = () => undefined;
    const add = groupCommit(async (_: string, items: string[]) => {
      calls.push([...items]);
      if (calls.length === 1) await new Promise<void>((resolve) => { answerFirst = resolve; });
      return items;
    }, 100, 60_000);
    const first = add('g', () => '', 'a');
    await nextTurn();
    assert.deepEqual(calls, [['a']]);
    const later = [add('g', () => '', 'b')];
    await nextTurn();
    later.push(add('g', () => '', 'c'));
    await nextTurn();
    assert.deepEqual(calls, [['a']], 'b and c wait for the call in flight');
    answerFirst();
    assert.equal(await first, 'a');
    assert.deepEqual(await Promise.all(later), ['b', 'c']);
    assert.deepEqual(calls, [['a'], ['b', 'c']]);
  });

  it('waits at most maxWaitMs for a call in flight (a stalled store delays the next batch no longer)', async () => {
    const calls: string[][] = [];
    const add = groupCommit(async (_: string, items: string[]) => {
      calls.push([...items]);
      if (calls.length === 1) await new Promise(() => undefined); // never answers
      return items;
    }, 100, 20);
    void add('g', () => '', 'stalled');
    await nextTurn();
    const started = performance.now();
    assert.equal(await add('g', () => '', 'next'), 'next');
    const waited = performance.now() - started;
    assert.ok(waited >= 15 && waited < 1000, `sent after ${waited} ms`);
    assert.deepEqual(calls, [['stalled'], ['next']]);
  });

  it('a batch gathered while two calls are in flight is sent when the last of them answers, not before', async () => {
    const { calls, answer, add } = heldCalls();
    const pending = [add('g', () => '', 'a'), add('g', () => '', 'b'), add('g', () => '', 'c')];
    await nextTurn();
    assert.deepEqual(calls, [['a', 'b']], 'the full batch went at once; c waits for it (its own turn has ended)');
    pending.push(add('g', () => '', 'd'));
    assert.deepEqual(calls, [['a', 'b'], ['c', 'd']], 'c and d made a full batch: two calls in flight');
    pending.push(add('g', () => '', 'e'));
    answer[0]?.();
    await nextTurn();
    assert.deepEqual(calls.length, 2, 'e waits while the second call is still in flight');
    answer[1]?.();
    await nextTurn();
    assert.deepEqual(calls, [['a', 'b'], ['c', 'd'], ['e']]);
    answer[2]?.();
    assert.deepEqual(await Promise.all(pending), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(add.active(), 0, 'no group is kept once every call has answered');
  });

  it('keeps a group while any of its calls is in flight: a later item waits for the last one', async () => {
    const { calls, answer, add } = heldCalls();
    const pending = [add('g', () => '', 'a'), add('g', () => '', 'b')];
    await nextTurn();
    pending.push(add('g', () => '', 'c'), add('g', () => '', 'd'));
    assert.deepEqual(calls, [['a', 'b'], ['c', 'd']], 'two full batches, two calls in flight, none open');
    answer[0]?.();
    await nextTurn();
    assert.equal(add.active(), 1, 'the group stays: its second call is in flight');
    pending.push(add('g', () => '', 'e'));
    await nextTurn();
    assert.equal(calls.length, 2, 'e waits for the call still in flight');
    answer[1]?.();
    await nextTurn();
    assert.deepEqual(calls, [['a', 'b'], ['c', 'd'], ['e']]);
    answer[2]?.();
    assert.deepEqual(await Promise.all(pending), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(add.active(), 0);
  });

  it('keeps no group once its calls have answered, whatever the number of counters and days', async () => {
    const { commit } = recording();
    const add = groupCommit(commit, 100);
    await Promise.all(Array.from({ length: 50 }, (_, i) => add(`counter-${i} day`, () => 'c', String(i))));
    assert.equal(add.active(), 0);
  });
});
