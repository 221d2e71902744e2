import fp from 'fastify-plugin';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import httpMetrics from './metrics/http-metrics.ts';
import { instrumentStore } from './metrics/instrumented-store.ts';
import { createMetrics, type Metrics } from './metrics/registry.ts';
import assets from './plugins/assets.ts';
import canonicalPaths from './plugins/canonical-paths.ts';
import contentSecurityPolicy from './plugins/content-security-policy.ts';
import counterStore from './plugins/counter-store.ts';
import live from './plugins/live.ts';
import { LiveActivity, noteActivity } from './live/activity.ts';
import type { LiveSettings } from './config.ts';
import dashboard from './routes/dashboard.ts';
import drain from './plugins/drain.ts';
import errors from './plugins/errors.ts';
import noGetBodies from './plugins/no-get-bodies.ts';
import servedBy from './plugins/served-by.ts';
import { replyText } from './plain-text.ts';
import { requestId } from './request-ids.ts';
import { OneLinePerRequest } from './request-log.ts';
import countingApi, { type CountingApiOptions } from './routes/api/index.ts';
import count from './routes/count.ts';
import docs from './routes/docs.ts';
import health from './routes/health.ts';
import welcome from './routes/welcome.ts';
import type { CounterStore } from './store/counter-store.ts';

interface AppOptions {
  replicaName: string;
  store: CounterStore;
  /** Settings of the counting API (routes/api). */
  counting: Omit<CountingApiOptions, 'streams'>;
  /** The admin token and the bounds on live streams; defaults: no operator's dashboard, 10 per client, 1000 per replica. */
  live?: Partial<LiveSettings>;
  /** Addresses whose X-Forwarded-For is believed, so request.ip is the client's (Fastify's trustProxy). */
  trustedProxies?: string;
  /** Where the app records its metrics (the server process serves them); a fresh registry when not given. */
  metrics?: Metrics;
}

/**
 * The whole service as one plugin. Not encapsulated, so its error and not-found handlers cover
 * every route of the instance (a test's own routes too).
 */
const visitCounter = fp(async (app: FastifyInstance, { replicaName, store, counting, live: liveSettings = {}, metrics = createMetrics() }: AppOptions) => {
  await app.register(httpMetrics, { metrics });
  // Every store call is measured, the live features' own (reports, snapshots) too.
  const measured = instrumentStore(store, metrics);
  const activity = new LiveActivity({ replica: replicaName, store: measured, log: app.log });
  // One live viewer per SSE stream open (routes/api/stream.ts watches once per stream).
  metrics.countSseStreams(() => activity.viewers);
  await app.register(counterStore, { store: noteActivity(measured, activity) });
  await app.register(live, { activity });
  await app.register(servedBy, { replicaName });
  await app.register(contentSecurityPolicy);
  await app.register(drain);
  await app.register(noGetBodies);
  await app.register(canonicalPaths);
  await app.register(errors);
  await app.register(assets);
  await app.register(welcome);
  await app.register(count);
  await app.register(docs);
  await app.register(health);
  const streams = { perClient: liveSettings.streamsPerClient ?? 10, perReplica: liveSettings.streamsPerReplica ?? 1000 };
  await app.register(countingApi, { ...counting, streams });
  await app.register(dashboard, { adminToken: liveSettings.adminToken, historyDays: counting.historyDays, timeZone: counting.timeZone });
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
