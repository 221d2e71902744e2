import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger } from './logger.ts';
import { createRedisStore } from './redis-store.ts';

// Compose waits 10 s before SIGKILL; finish (or give up) before that.
const SHUTDOWN_DEADLINE_MS = 9_000;

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
const store = createRedisStore({ connection: config.redis, timeoutMs: config.redisTimeoutMs, log });
const app = await buildApp({ replicaName: config.replicaName, store }, log);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down: finishing requests in flight');
  setTimeout(() => {
    log.error('shutdown deadline passed, exiting with requests unfinished');
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS).unref();
  await app.close();
  log.info('stopped');
  process.exit(0);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));

// nginx sends a replica requests as soon as Docker's DNS lists it, that is as soon as its container
// starts. Listening before Redis is connected would answer those first requests 503, which nginx
// passes on; a refused connection instead makes nginx try another replica. So wait for Redis
// first, for a bounded time: a replica started while Redis is down still comes up (/readyz says so).
const REDIS_WAIT_AT_START_MS = 5_000;
const waitUntil = Date.now() + REDIS_WAIT_AT_START_MS;
const isStopping = (): boolean => stopping; // set by a signal handler while this waits
while (!isStopping() && Date.now() < waitUntil && !(await store.isReady())) {
  await new Promise((resolve) => setTimeout(resolve, 50));
}

try {
  await app.listen({ host: config.host, port: config.port });
} catch (error) {
  log.fatal({ err: error }, 'cannot listen');
  process.exit(1);
}
