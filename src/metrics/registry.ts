import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * What a replica measures, in its own registry (not prom-client's global one, so that every app
 * built in a test process has its own). docs/metrics.md describes each metric.
 */
export interface Metrics {
  registry: Registry;
  /** Requests answered, by method, route pattern and status. */
  httpRequests: Counter<'method' | 'route' | 'status'>;
  /** Time from the request's arrival to its answer, by method, route pattern and status. */
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** Time of each counter-store call; one call is one Redis round trip (one FCALL). */
  redisDuration: Histogram<'operation'>;
  /** Counter-store calls that failed, by kind: unavailable (outage, timeout), fault (Redis refused), other. */
  redisErrors: Counter<'operation' | 'kind'>;
  /** Hits the store counted (/hit, /badge, /count, pixels): its `hit` resolved. */
  hits: Counter;
  /** Server-sent-event streams open on this replica, read at each scrape from the source countSseStreams gave. */
  sseStreamsOpen: Gauge;
  /** Where sseStreamsOpen reads its value (app.ts: the live activity's viewers, one per stream); 0 without one. */
  countSseStreams(source: () => number): void;
}

// Fine at the low end, where this service's answers are (a /count takes a few milliseconds).
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// A store call is bounded by REDIS_TIMEOUT_MS (at most 10 s); most take well under a millisecond.
const REDIS_BUCKETS = [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// prom-client's default metrics name three gauges `*_total`, a suffix promtool's lint keeps for
// counters. Each is the sum of the `nodejs_active_*{type}` gauge beside it, so nothing is lost.
const TOTAL_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * A registry with the service's metrics, all named `visitcounter_*` (not `visit_counter_*`:
 * promtool's lint refuses a metric whose name contains `_counter_`); with `processMetrics`, also
 * prom-client's default process and Node.js metrics under their standard names (`process_*`,
 * `nodejs_*`), which existing dashboards expect. Only the server process asks for those: they
 * start an event-loop monitor and a GC observer that live as long as the process.
 */
export const createMetrics = ({ processMetrics = false }: { processMetrics?: boolean } = {}): Metrics => {
  const registry = new Registry();
  if (processMetrics) {
    collectDefaultMetrics({ register: registry });
    for (const name of TOTAL_GAUGES) registry.removeSingleMetric(name);
  }
  const registers = [registry];
  let sseStreams: (() => number) | undefined;
  return {
    registry,
    httpRequests: new Counter({
      name: 'visitcounter_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern (unmatched: no route) and status code.',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'visitcounter_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to answering it, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    }),
    redisDuration: new Histogram({
      name: 'visitcounter_redis_command_duration_seconds',
      help: 'Time of each counter-store operation, one Redis round trip (FCALL) each, failures included, by operation.',
      labelNames: ['operation'],
      buckets: REDIS_BUCKETS,
      registers,
    }),
    redisErrors: new Counter({
      name: 'visitcounter_redis_command_errors_total',
      help: 'Counter-store operations that failed, by operation and kind: unavailable (no connection, timeout), fault (Redis answered an error), other.',
      labelNames: ['operation', 'kind'],
      registers,
    }),
    hits: new Counter({
      name: 'visitcounter_hits_total',
      help: 'Hits counted by this replica (/hit, /badge, /count): each a counter-store hit that succeeded.',
      registers,
    }),
    sseStreamsOpen: new Gauge({
      name: 'visitcounter_sse_streams_open',
      help: 'Server-sent-event streams currently open on this replica.',
      registers,
      // Read when scraped, from what already counts the streams, rather than kept in step with it.
      collect() {
        this.set(sseStreams?.() ?? 0);
      },
    }),
    countSseStreams(source) {
      sseStreams = source;
    },
  };
};
