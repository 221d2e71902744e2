import { cpuSeconds } from './proc.ts';

const HITS = 60_000;
const SIZES = [1, 5, 20, 50];
/** Calls sent before waiting for the oldest: Redis reads several per wakeup, as from many replicas. */
const PIPELINE = 8;

/** What is needed of an administrator's Redis connection. */
interface Admin {
  sendCommand(args: string[]): Promise<unknown>;
}

/**
 * Redis's own CPU per hit through counter_hit, by hits per call (what group commit gathers), each
 * hit with a fresh Idempotency-Key and a visitor as nginx and /count send them, on the bench's
 * Redis (append-only file on). Shows the function's cost per hit apart from each call's fixed
 * cost, so how many hits a call must carry for a given CPU per hit. Returns a Markdown section.
 */
export const measureRedisCallCost = async (client: Admin, redisPid: number): Promise<string> => {
  const rows: string[] = [];
  let id = 0;
  for (const size of SIZES) {
    const calls = Math.ceil(HITS / size);
    const before = cpuSeconds([redisPid]);
    const inFlight: Promise<unknown>[] = [];
    for (let call = 0; call < calls; call += 1) {
      const now = Date.now();
      const window = Math.floor(now / 30_000);
      const markers = [window, window - 1, window + 1].map((w) => `h:{bench/cost}:${w}`);
      const hits = Array.from({ length: size }, () => ['visitor', `cost-${(id += 1)}`]).flat();
      inFlight.push(client.sendCommand(['FCALL', 'counter_hit', '5', 'c:{bench/cost}', 'u:{bench/cost}:20261101', ...markers, String(now), '20261101', '0', '0', '172800', '30', ...hits]));
      if (inFlight.length >= PIPELINE) await inFlight.shift();
    }
    await Promise.all(inFlight);
    const seconds = cpuSeconds([redisPid]) - before;
    rows.push(`| ${size} | ${((1e6 * seconds) / (calls * size)).toFixed(1)} | ${((1e6 * seconds) / calls).toFixed(0)} |`);
  }
  return `
Redis CPU of counter_hit by hits per call (${HITS.toLocaleString('en-US')} hits each, ${PIPELINE} calls in flight, a fresh Idempotency-Key per hit):
| hits per call | Redis µs per hit | Redis µs per call |
|---:|---:|---:|
${rows.join('\n')}
`;
};
