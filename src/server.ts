import closeWithGrace from 'close-with-grace';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger } from './logger.ts';
import { startMetricsServer, type MetricsServer } from './metrics/metrics-server.ts';
import { createMetrics } from './metrics/registry.ts';
import { createRedisStore } from './store/redis-store.ts';

const readConfig = (): Config => {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`Invalid configuration: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
};

const config = readConfig();
const log = createLogger(config.logLevel, config.replicaName);
const store = createRedisStore({ connection: config.redis, timeoutMs: config.redisTimeoutMs, log, ...config.counting });
const metrics = createMetrics({ processMetrics: true });
const app = await buildApp({ replicaName: config.replicaName, store, counting: config.counting, live: config.live, trustedProxies: config.trustedProxies, metrics }, log);
let metricsServer: MetricsServer | undefined;

// On SIGTERM or SIGINT (or an uncaught error): stop taking connections, finish the requests in
// flight, close Redis, exit 0 (1 after an error). Compose waits 10 s before SIGKILL, so give up
// at 9 s. A second signal exits at once.
// Stryker disable next-line ObjectLiteral: without the field, `started` is undefined, as falsy as false
const shutdown = { started: false };
closeWithGrace(
  {
    delay: 9_000,
    logger: log,
    onTimeout: () => {
      log.error('shutdown deadline passed, exiting with requests unfinished');
    },
  },
  async ({ signal, err }) => {
    shutdown.started = true;
    if (err) log.fatal({ err }, 'uncaught error, shutting down');
    else log.info({ signal }, 'shutting down: finishing requests in flight');
    await app.close();
    await metricsServer?.close();
    log.info('stopped');
  },
);

// nginx sends a replica requests as soon as Docker's DNS lists it, that is as soon as its container
// starts. Listening before Redis is connected would answer those first requests 503, which nginx
// passes on; a refused connection instead makes nginx try another replica. So wait for Redis
// first, for a bounded time: a replica started while Redis is down still comes up (/readyz says so).
const waitUntil = Date.now() + 5_000;
while (!shutdown.started && Date.now() < waitUntil && !(await store.isReady())) {
  await sleep(50);
}

if (!shutdown.started) {
  try {
    await app.listen({ host: config.host, port: config.port });
    // Prometheus scrapes this port (METRICS_PORT); nginx never forwards to it.
    if (config.metricsPort !== 0) metricsServer = await startMetricsServer(metrics.registry, { host: config.host, port: config.metricsPort }, log);
  } catch (error) {
    log.fatal({ err: error }, 'cannot listen');
    process.exit(1);
  }
}
