import autocannon from 'autocannon';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export interface LoadResult {
  url: string;
  connections: number;
  /** Responses received, whatever their status. */
  responses: number;
  ok2xx: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Measured seconds, all segments together. */
  durationS: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  statusCodes: Record<string, number>;
  /** Distinct error messages with how often each occurred. */
  errorKinds: Record<string, number>;
}

// What curl sends: the app negotiates, and answers plain text.
const HEADERS = { accept: '*/*' };

const addTo = (into: Record<string, number>, key: string, count: number) => {
  into[key] = (into[key] ?? 0) + count;
};

/**
 * autocannon writes the next request even after a response said `Connection: close` (nginx
 * does so after keepalive_requests, 1000 by default), and the request then dies with the
 * socket: an error no real client would see. Here a client waits for the close and sends on
 * the new connection autocannon opens then. Relies on autocannon's internal _doRequest.
 */
const honourConnectionClose = (client: autocannon.Client): void => {
  const internals = client as unknown as { _doRequest: () => void; reqsMade: number; responseMax?: number };
  const send = internals._doRequest.bind(client);
  let closing = false;
  client.on('headers', (headers) => {
    closing = (headers as { shouldKeepAlive?: boolean }).shouldKeepAlive === false;
  });
  internals._doRequest = () => {
    // At its last request the client must go on, so that autocannon ends it.
    const finished = internals.responseMax !== undefined && internals.reqsMade >= internals.responseMax;
    if (closing && !finished) {
      closing = false;
      return;
    }
    send();
  };
};

interface Run {
  result: autocannon.Result;
  latencyUs: RecordableHistogram;
  errorKinds: Record<string, number>;
  durationS: number;
}

/**
 * One autocannon run of exactly `amount` requests. A fixed number rather than a deadline: at
 * a deadline autocannon drops the requests in flight, which the app may already have counted
 * and logged, and then neither the counter's rise nor the app's log lines could be compared
 * exactly with the responses. With a fixed number every request runs to completion.
 */
const cannon = async (url: string, connections: number, amount: number): Promise<Run> => {
  // autocannon's own percentiles are whole milliseconds; every response's time is kept here in µs.
  const latencyUs = createHistogram();
  const errorKinds: Record<string, number> = {};
  const started = performance.now();
  // autocannon notices that the last request is done only at its next one-second tick, so the
  // run's time is taken up to the last response instead.
  let lastResponse = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const options = { url, connections, amount: Math.max(connections, amount), headers: HEADERS, setupClient: honourConnectionClose };
    const instance = autocannon(options, (error: unknown, done: autocannon.Result) => {
      if (error) reject(error instanceof Error ? error : new Error('autocannon failed', { cause: error }));
      else resolve(done);
    });
    instance.on('response', (_client, _status, _bytes, responseTimeMs) => {
      latencyUs.record(Math.max(1, Math.round(responseTimeMs * 1000)));
      lastResponse = performance.now();
    });
    instance.on('reqError', (error: Error) => {
      addTo(errorKinds, (error as NodeJS.ErrnoException).code ?? error.message, 1);
    });
  });
  return { result, latencyUs, errorKinds, durationS: (lastResponse - started) / 1000 };
};

const responsesOf = (result: autocannon.Result) => result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];

/**
 * Load on one URL, measured in segments that the caller interleaves with other targets' so
 * that a noisy neighbour on the machine weighs on every target alike. Segments add up.
 */
export class TargetLoad {
  readonly url: string;
  readonly connections: number;
  /** Requests per second of the last run, which sizes the next one. */
  private rate = 0;
  private readonly latencyUs = createHistogram();
  private readonly statusCodes: Record<string, number> = {};
  private readonly errorKinds: Record<string, number> = {};
  private responses = 0;
  private ok2xx = 0;
  private non2xx = 0;
  private errors = 0;
  private durationS = 0;

  constructor(url: string, connections: number) {
    this.url = url;
    this.connections = connections;
  }

  /** A short calibration, then about `seconds` of load that is not measured. */
  async warmUp(seconds: number): Promise<void> {
    const calibration = await cannon(this.url, this.connections, this.connections * 20);
    this.rate = responsesOf(calibration.result) / calibration.durationS;
    const warmup = await cannon(this.url, this.connections, Math.round(this.rate * seconds));
    this.rate = responsesOf(warmup.result) / warmup.durationS;
  }

  /** One measured segment of about `seconds`; returns the 2xx responses it got. */
  async measure(seconds: number): Promise<number> {
    const run = await cannon(this.url, this.connections, Math.round(this.rate * seconds));
    const { result } = run;
    this.rate = responsesOf(result) / run.durationS;
    this.latencyUs.add(run.latencyUs);
    for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) addTo(this.statusCodes, code, stats.count ?? 0);
    for (const [kind, count] of Object.entries(run.errorKinds)) addTo(this.errorKinds, kind, count);
    this.responses += responsesOf(result);
    this.ok2xx += result['2xx'];
    this.non2xx += result.non2xx;
    this.errors += result.errors;
    this.durationS += run.durationS;
    return result['2xx'];
  }

  result(): LoadResult {
    const percentileMs = (percentile: number) => (this.latencyUs.count ? this.latencyUs.percentile(percentile) / 1000 : Number.NaN);
    return {
      url: this.url,
      connections: this.connections,
      responses: this.responses,
      ok2xx: this.ok2xx,
      non2xx: this.non2xx,
      errors: this.errors,
      durationS: this.durationS,
      rps: this.responses / this.durationS,
      p50Ms: percentileMs(50),
      p90Ms: percentileMs(90),
      p99Ms: percentileMs(99),
      maxMs: this.latencyUs.count ? this.latencyUs.max / 1000 : Number.NaN,
      statusCodes: { ...this.statusCodes },
      errorKinds: { ...this.errorKinds },
    };
  }
}
