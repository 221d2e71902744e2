import autocannon from 'autocannon';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { cpuSeconds, machineBusySeconds } from './proc.ts';

// nginx answers the 1000th request on a client connection (keepalive_requests, default 1000) with
// `Connection: close`; autocannon ignores that header and writes its next request onto the closing
// socket, which then fails. So one autocannon run gives a connection at most this many requests,
// and the next run opens new connections: as often as nginx makes any client reconnect.
const REQUESTS_PER_CONNECTION = 1000;

export const LOAD_GENERATOR = 'load generator (autocannon)';

/** One row of the results: a URL under load, the processes charged for it, what it measured. */
export interface Target {
  name: string;
  url: string;
  /** Process ids by tier, whose CPU time is charged to this target's requests. */
  tiers: Record<string, number[]>;
  /** Reads the counter this target raises: its rise over the measured runs must equal the 2xx. */
  counter?: () => Promise<number>;
  /** Replicas whose peak memory the row shows. */
  replicaPids?: number[];
  /** Responses per second of the last run, which sizes the next one. */
  rate: number;
  // The rest adds up over the measured runs. cpu: seconds by tier, the load generator's, and
  // the whole machine's (`machine`); problems: error codes and non-2xx statuses, how often each.
  latencyUs: RecordableHistogram;
  stats: { responses: number; ok2xx: number; non2xx: number; errors: number; seconds: number; rise: number };
  cpu: Record<string, number>;
  problems: Record<string, number>;
}

export const newTarget = (name: string, url: string, tiers: Record<string, number[]>, more: Partial<Target> = {}): Target => ({
  name, url, tiers, rate: 0, latencyUs: createHistogram(), stats: { responses: 0, ok2xx: 0, non2xx: 0, errors: 0, seconds: 0, rise: 0 }, cpu: {}, problems: {}, ...more,
});

export const percentileMs = (target: Target, percentile: number): number =>
  target.latencyUs.count ? target.latencyUs.percentile(percentile) / 1000 : Number.NaN;

/**
 * Exactly `amount` requests (at least one per connection). A number rather than a deadline: at a
 * deadline autocannon drops the requests in flight, which the app may have counted and logged, and
 * then the counter and log checks could not be exact.
 */
const load = async (target: Target, connections: number, amount: number, measured: boolean): Promise<void> => {
  const runs = Math.max(1, Math.ceil(amount / (connections * REQUESTS_PER_CONNECTION)));
  const startedAt = performance.now();
  let lastResponse = startedAt;
  let responses = 0;
  const { stats, problems } = target;
  const problem = (what: string, count = 1) => (problems[what] = (problems[what] ?? 0) + count);
  for (let i = 0; i < runs; i++) {
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      // sampleInt: autocannon notices that the last response came only at its next sample.
      const options = { url: target.url, connections, amount: Math.max(connections, Math.ceil(amount / runs)), headers: { accept: '*/*' }, sampleInt: 100 };
      const instance = autocannon(options, (error: unknown, done: autocannon.Result) => {
        if (error) reject(error instanceof Error ? error : new Error('autocannon failed', { cause: error }));
        else resolve(done);
      });
      instance.on('response', (_client, _status, _bytes, ms) => {
        // autocannon's own percentiles are whole milliseconds.
        if (measured) target.latencyUs.record(Math.max(1, Math.round(ms * 1000)));
        lastResponse = performance.now();
      });
      instance.on('reqError', (error: NodeJS.ErrnoException) => measured && problem(error.code ?? error.message));
    });
    responses += result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
    if (!measured) continue;
    stats.ok2xx += result['2xx'];
    stats.non2xx += result.non2xx;
    stats.errors += result.errors;
    for (const [code, { count = 0 }] of Object.entries(result.statusCodeStats ?? {})) if (!code.startsWith('2')) problem(`HTTP ${code}`, count);
  }
  // Timed up to the last response, not to when autocannon noticed it.
  const seconds = (lastResponse - startedAt) / 1000;
  target.rate = responses / seconds;
  if (measured) {
    stats.responses += responses;
    stats.seconds += seconds;
  }
};

const cpuNow = (tiers: Record<string, number[]>): Record<string, number> => {
  const { user, system } = process.cpuUsage(); // autocannon runs in this process
  return { ...Object.fromEntries(Object.entries(tiers).map(([tier, pids]) => [tier, cpuSeconds(pids)])), [LOAD_GENERATOR]: (user + system) / 1e6, machine: machineBusySeconds() };
};

/**
 * A short calibration and `warmup` seconds of unmeasured load on every target, then `rounds` rounds
 * in which each target gets its share of `duration` seconds, target after target: on a shared
 * machine, whatever else runs meanwhile weighs on all of them alike.
 */
export const measureInterleaved = async (targets: Target[], options: Record<'connections' | 'warmup' | 'duration' | 'rounds', number>): Promise<void> => {
  const { connections, warmup, duration, rounds } = options;
  for (const target of targets) {
    await load(target, connections, connections * 20, false);
    await load(target, connections, target.rate * warmup, false);
  }
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const counted = await target.counter?.();
      const before = cpuNow(target.tiers);
      await load(target, connections, Math.round((target.rate * duration) / rounds), true);
      for (const [name, seconds] of Object.entries(cpuNow(target.tiers))) target.cpu[name] = (target.cpu[name] ?? 0) + seconds - (before[name] ?? 0);
      if (counted !== undefined && target.counter) target.stats.rise += (await target.counter()) - counted;
    }
  }
};
