import fp from 'fastify-plugin';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import httpMetrics from './metrics/http-metrics.ts';
import { instrumentStore } from './metrics/instrumented-store.ts';
import { createMetrics, type Metrics } from './metrics/registry.ts';
import canonicalPaths from './plugins/canonical-paths.ts';
import counterStore from './plugins/counter-store.ts';
import drain from './plugins/drain.ts';
import errors from './plugins/errors.ts';
import noGetBodies from './plugins/no-get-bodies.ts';
import servedBy from './plugins/served-by.ts';
import { replyText } from './plain-text.ts';
import { requestId } from './request-ids.ts';
import { OneLinePerRequest } from './request-log.ts';
import countingApi, { type CountingApiOptions } from './routes/api/index.ts';
import count from './routes/count.ts';
import health from './routes/health.ts';
import welcome from './routes/welcome.ts';
import type { CounterStore } from './store/counter-store.ts';

interface AppOptions {
  replicaName: string;
  store: CounterStore;
  /** Settings of the counting API (routes/api). */
  counting: CountingApiOptions;
  /** Addresses whose X-Forwarded-For is believed, so request.ip is the client's (Fastify's trustProxy). */
  trustedProxies?: string;
  /** Where the app records its metrics (the server process serves them); a fresh registry when not given. */
  metrics?: Metrics;
}

/**
 * The whole service as one plugin. Not encapsulated, so its error and not-found handlers cover
 * every route of the instance (a test's own routes too).
 */
const visitCounter = fp(async (app: FastifyInstance, { replicaName, store, counting, metrics = createMetrics() }: AppOptions) => {
  await app.register(httpMetrics, { metrics });
  await app.register(counterStore, { store: instrumentStore(store, metrics) });
  await app.register(servedBy, { replicaName });
  await app.register(drain);
  await app.register(noGetBodies);
  await app.register(canonicalPaths);
  await app.register(errors);
  await app.register(welcome);
  await app.register(count);
  await app.register(health);
  await app.register(countingApi, counting);
}, { name: 'visit-counter' });

const serverOptions = (trustedProxies: string | undefined, loggerInstance?: FastifyBaseLogger): FastifyServerOptions => ({
  ...(loggerInstance ? { loggerInstance } : { logger: false }),
  ...(trustedProxies ? { trustProxy: trustedProxies } : {}),
  logController: new OneLinePerRequest(),
  requestIdHeader: false,
  genReqId: requestId,
  // Longer than nginx's upstream keepalive_timeout (60 s), so nginx always closes an idle
  // connection before the app does and never sends a request on a socket the app is closing.
  keepAliveTimeout: 75_000,
  requestTimeout: 30_000,
  // While draining, a request that still arrives on an open keep-alive connection is served (with
  // `Connection: close`, see plugins/drain.ts) instead of Fastify's default 503, which nginx would
  // pass to the client: it retries only errors and timeouts, not 503s.
  return503OnClosing: false,
  bodyLimit: 16 * 1024,
  // Fastify answers these (malformed percent-encoding, bad content types) before routing, in JSON
  // with its internal error codes; answer them like every other 4xx here.
  // No hook has run yet for these, so the replica header is set here.
  frameworkErrors: (error, request, reply) => {
    void replyText(
      (reply as FastifyReply).header('x-served-by', request.server.replicaName).header('x-request-id', request.id),
      error.statusCode ?? 400,
      error.code === 'FST_ERR_BAD_URL' ? 'Bad Request: malformed URL\n' : `${error.message}\n`,
    );
  },
});

export const buildApp = async (options: AppOptions, logger?: FastifyBaseLogger) => {
  const app = Fastify(serverOptions(options.trustedProxies, logger));
  await app.register(visitCounter, options);
  return app;
};
