/**
 * A checker for the history of a counter under faults, in the manner of Jepsen's counter checker:
 * every request the clients sent, with when it began and ended (one monotonic clock) and what
 * came of it. `ok` requests were acknowledged with the counter's new value; `failed` ones got an
 * error answer and `unknown` ones none at all (a timeout, a reset connection). Both of the latter
 * may or may not have counted, and may take effect after their client gave up, so only their
 * start constrains anything.
 */
export type Operation = { start: number; end: number } & ({ outcome: 'ok'; value: number } | { outcome: 'failed' | 'unknown' });

const describeOp = (op: Operation): string => `[${op.start.toFixed(1)}–${op.end.toFixed(1)}] ${op.outcome}${op.outcome === 'ok' ? ` ${op.value}` : ''}`;

/**
 * Checks a history of increments against the counter's value before and after it (read while
 * nothing ran). Returns what is wrong, one line per violation kind (empty when linearizable):
 *  - acknowledged ≤ rise ≤ attempted: nothing acknowledged was lost, and the requests that may have
 *    counted (failed, unknown) explain every count beyond the acknowledged ones;
 *  - acknowledged values are distinct and within (before, after];
 *  - real-time order: a request acknowledged before another began got the smaller value;
 *  - a value v means v − before increments happened by the time it was acknowledged: at most the
 *    number of requests that had begun by then (a double count shows up here even when the
 *    totals balance).
 */
export const checkCounterHistory = (history: readonly Operation[], before: number, after: number): string[] => {
  const problems: string[] = [];
  const acknowledged = history.filter((op): op is Operation & { outcome: 'ok'; value: number } => op.outcome === 'ok');
  const uncertain = history.length - acknowledged.length;
  const rise = after - before;
  if (rise < acknowledged.length) problems.push(`lost: the counter rose ${rise} for ${acknowledged.length} acknowledged requests`);
  if (rise - acknowledged.length > uncertain) {
    problems.push(`counted twice: the counter rose ${rise}, ${rise - acknowledged.length} more than the ${acknowledged.length} acknowledged, but only ${uncertain} requests failed or got no answer`);
  }

  const seen = new Map<number, Operation>();
  const duplicates: string[] = [];
  const outside: string[] = [];
  for (const op of acknowledged) {
    const first = seen.get(op.value);
    if (first) duplicates.push(`${describeOp(first)} and ${describeOp(op)}`);
    seen.set(op.value, op);
    if (op.value <= before || op.value > after) outside.push(describeOp(op));
  }
  if (duplicates.length > 0) problems.push(`value acknowledged twice: ${duplicates.slice(0, 5).join('; ')}`);
  if (outside.length > 0) problems.push(`value outside (${before}, ${after}]: ${outside.slice(0, 5).join('; ')}`);

  // Real-time order: walking the acknowledged requests by start, the largest value among those
  // that ended before the current one began must be smaller than its value.
  const byStart = [...acknowledged].sort((a, b) => a.start - b.start);
  const byEnd = [...acknowledged].sort((a, b) => a.end - b.end);
  const reordered: string[] = [];
  let ended = 0;
  let latest: Operation & { outcome: 'ok'; value: number } | undefined;
  for (const op of byStart) {
    while (ended < byEnd.length && (byEnd[ended]?.end ?? Infinity) < op.start) {
      const done = byEnd[ended];
      if (done && (!latest || done.value > latest.value)) latest = done;
      ended += 1;
    }
    if (latest && latest.value >= op.value) reordered.push(`${describeOp(latest)} ended before ${describeOp(op)} began`);
  }
  if (reordered.length > 0) problems.push(`real-time order broken: ${reordered.slice(0, 5).join('; ')}`);

  // No value beyond the requests that had begun by the time it was acknowledged.
  const starts = history.map((op) => op.start).sort((a, b) => a - b);
  const begunBy = (time: number): number => {
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((starts[middle] ?? Infinity) <= time) low = middle + 1;
      else high = middle;
    }
    return low;
  };
  const early = acknowledged.filter((op) => op.value - before > begunBy(op.end)).map((op) => `${describeOp(op)}: only ${begunBy(op.end)} requests had begun`);
  if (early.length > 0) problems.push(`value ahead of the requests sent: ${early.slice(0, 5).join('; ')}`);
  return problems;
};

/** What a failover cost, from the history of the requests sent across it. */
export interface FailoverFigures {
  requests: number;
  acknowledged: number;
  /** How much the counter rose (read before and after, while nothing ran). */
  rise: number;
  /** Acknowledged increments missing from the counter: at least this many were lost (a failed or unanswered one that counted would hide one more). */
  lostAtLeast: number;
  /** Failed or unanswered requests: may or may not have counted. */
  uncertain: number;
  /** Acknowledged per second in the `baselineMs` before the fault: the yardstick of "one second of traffic". */
  perSecondBefore: number;
  /** The longest time without an acknowledged increment: how long writes took to recover. */
  writesStoodStillMs: number;
}

export const failoverFigures = (history: readonly Operation[], before: number, after: number, faultAt: number, baselineMs = 2000): FailoverFigures => {
  const ends = history.filter((op) => op.outcome === 'ok').map((op) => op.end).sort((a, b) => a - b);
  let stood = 0;
  for (let i = 1; i < ends.length; i += 1) stood = Math.max(stood, (ends[i] ?? 0) - (ends[i - 1] ?? 0));
  const baseline = ends.filter((end) => end < faultAt && end >= faultAt - baselineMs).length;
  return {
    requests: history.length,
    acknowledged: ends.length,
    rise: after - before,
    lostAtLeast: Math.max(0, ends.length - (after - before)),
    uncertain: history.length - ends.length,
    perSecondBefore: Math.round(baseline / (baselineMs / 1000)),
    writesStoodStillMs: Math.round(stood),
  };
};

/**
 * The checker's findings that only a double count explains, whatever was lost: a rise beyond the
 * requests that may have counted, or a value ahead of the requests sent. (A lost acknowledged
 * increment makes its value be handed out again: duplicates and broken order then follow from the
 * loss, which is measured on its own.)
 */
export const doubleCounts = (problems: readonly string[]): string[] => problems.filter((p) => p.startsWith('counted twice') || p.startsWith('value ahead'));
