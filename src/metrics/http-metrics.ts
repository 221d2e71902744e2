import fp from 'fastify-plugin';
import type { Counter, Histogram } from 'prom-client';
import type { Metrics } from './registry.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** This replica's metrics (src/metrics/registry.ts), for a route that records its own. */
    metrics: Metrics;
  }
}

/** The route label of a request no route matched (404s, and the 405s the not-found handler gives). */
export const UNMATCHED = 'unmatched';

interface Series {
  count: Counter.Internal;
  duration: Histogram.Internal<'method' | 'route' | 'status'>;
}

/**
 * Registers the replica's metrics as `app.metrics` and counts and times every answer by method,
 * route pattern and status. The route is the pattern (`/hit/:namespace/:key`), never the URL the
 * client sent, so the number of series stays bounded whatever clients ask for.
 */
export default fp<{ metrics: Metrics }>(
  async (app, { metrics }) => {
    app.decorate('metrics', metrics);
    // One set of series per method, route and status, looked up once: prom-client would otherwise
    // hash the labels on each observation.
    const series = new Map<string, Series>();
    const seriesOf = (method: string, route: string, status: string): Series => {
      const key = `${method} ${route} ${status}`;
      let found = series.get(key);
      if (!found) {
        found = { count: metrics.httpRequests.labels(method, route, status), duration: metrics.httpDuration.labels(method, route, status) };
        series.set(key, found);
      }
      return found;
    };
    // Callback style: an async hook costs a promise and a microtask on every request.
    app.addHook('onResponse', (request, reply, done) => {
      // Methods are bounded too: Node's HTTP parser accepts only the methods it knows.
      const { count, duration } = seriesOf(request.method, request.routeOptions.url ?? UNMATCHED, String(reply.statusCode));
      count.inc();
      duration.observe(reply.elapsedTime / 1000);
      done();
    });
  },
  { name: 'http-metrics' },
);
