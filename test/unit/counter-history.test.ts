import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCounterHistory, type Operation } from '../helpers/counter-history.ts';

const ok = (start: number, end: number, value: number): Operation => ({ start, end, outcome: 'ok', value });
const failed = (start: number, end: number): Operation => ({ start, end, outcome: 'failed' });
const unknown = (start: number, end: number): Operation => ({ start, end, outcome: 'unknown' });

// The counter was at 10; four requests, two of them concurrent, one 503 that did count (11 is
// nobody's), one timeout that did not.
const valid: Operation[] = [failed(0, 5), ok(6, 9, 12), ok(7, 12, 13), ok(10, 14, 14), unknown(15, 20)];

describe('the counter history checker', () => {
  it('accepts a linearizable history, with failed and unknown requests that may have counted', () => {
    assert.deepEqual(checkCounterHistory(valid, 10, 14), []);
    assert.deepEqual(checkCounterHistory(valid, 10, 15), [], 'the unknown request counted too');
    assert.deepEqual(checkCounterHistory([], 3, 3), []);
  });

  it('finds an acknowledged count lost', () => {
    assert.match(checkCounterHistory(valid, 10, 12).join('\n'), /^lost: the counter rose 2 for 3/m);
  });

  it('finds a rise that the failed and unknown requests cannot explain (a 503 hiding a double count)', () => {
    assert.match(checkCounterHistory(valid, 10, 16).join('\n'), /^counted twice: the counter rose 6, 3 more than the 3 acknowledged, but only 2/m);
  });

  it('finds a value acknowledged twice', () => {
    const problems = checkCounterHistory([ok(0, 5, 11), ok(1, 6, 11), unknown(2, 7)], 10, 12);
    assert.match(problems.join('\n'), /^value acknowledged twice: /m);
  });

  it('finds a value outside the rise', () => {
    assert.match(checkCounterHistory([ok(0, 5, 11), ok(6, 9, 13)], 10, 12).join('\n'), /^value outside \(10, 12\]: .* ok 13/m);
  });

  it('finds a request that ended before another began but got the larger value', () => {
    const problems = checkCounterHistory([ok(0, 5, 12), failed(1, 3), ok(6, 9, 11)], 10, 12);
    assert.deepEqual(problems, ['real-time order broken: [0.0–5.0] ok 12 ended before [6.0–9.0] ok 11 began']);
  });

  it('finds a value ahead of the requests that had begun (a double count the totals hide)', () => {
    // The first request was counted twice (11 and 12 both its doing), the third not at all:
    // totals and distinctness balance, but 12 came back before a second request was sent.
    const problems = checkCounterHistory([ok(0, 5, 12), ok(6, 9, 13), failed(10, 12)], 10, 13);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0] ?? '', /^value ahead of the requests sent: \[0\.0–5\.0\] ok 12: only 1 requests had begun/);
  });
});
