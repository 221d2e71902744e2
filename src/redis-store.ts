import { createClient, defineScript, type CommandParser } from 'redis';
import type { FastifyBaseLogger } from 'fastify';
import type { RedisConnection } from './config.ts';
import { StoreUnavailableError, type VisitStore } from './visit-store.ts';

export const VISITS_KEY = 'visits';
/** Markers of requests already counted live under this prefix (the app's ACL allows only these keys). */
export const MARKER_PREFIX = 'visits:req:';
/** Long enough to outlive nginx's retries of one request (proxy_next_upstream_timeout is 5 s). */
export const MARKER_TTL_SECONDS = 30;

// One round trip, atomic: either this key was counted already and its total is returned, or the
// counter is incremented and the key remembers the new total.
const COUNT_ONCE = defineScript({
  NUMBER_OF_KEYS: 2,
  SCRIPT: `
local seen = redis.call('GET', KEYS[2])
if seen then return tonumber(seen) end
local total = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], total, 'EX', ARGV[1])
return total`,
  parseCommand(parser: CommandParser, counterKey: string, markerKey: string, ttlSeconds: number) {
    parser.pushKey(counterKey);
    parser.pushKey(markerKey);
    parser.push(String(ttlSeconds));
  },
  transformReply: (reply: unknown): number => Number(reply),
});

export interface RedisStoreOptions {
  connection: RedisConnection;
  /** Upper bound on one command, so a stalled Redis turns into a quick 503 instead of a hung request. */
  timeoutMs: number;
  log: FastifyBaseLogger;
}

// Reconnect fast at first, then settle at one attempt per second so a returning Redis is
// noticed within about a second without hammering a host that is gone.
const reconnectDelay = (retries: number): number => Math.min(50 * 2 ** retries, 1000);

// node-redis's own command timeout stops counting once the command is written to the socket,
// so a Redis that accepted the command but does not answer would hold the request forever.
// One timer and one promise per command: this runs on every /count.
const withDeadline = <T>(pending: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new StoreUnavailableError(`redis did not answer within ${ms} ms`));
    }, ms);
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new StoreUnavailableError(String(error)));
      },
    );
  });

export const createRedisStore = ({ connection, timeoutMs, log }: RedisStoreOptions): VisitStore => {
  const client = createClient({
    url: connection.url,
    username: connection.username,
    password: connection.password,
    database: connection.database,
    scripts: { countOnce: COUNT_ONCE },
    // The app's Redis user may run only what counting needs; CLIENT SETINFO is not among it.
    disableClientInfo: true,
    // Without this, commands issued while Redis is away would queue without bound and all
    // run at reconnect: late, and after their clients were already told 503.
    disableOfflineQueue: true,
    // A stalled Redis (SIGSTOP, overload) keeps the socket open, so replies stop but nothing
    // errors: bound what can wait, and give up on each command at the deadline below.
    commandsQueueMaxLength: 10_000,
    // No per-command timeout from node-redis (0 turns off its 5 s default): it only covers a
    // command not yet written, and commands are written at once (the queue bound above fits in
    // the socket buffer), while withDeadline covers the whole wait. It costs an
    // AbortSignal.timeout per command that lives on, with its timer, until it fires: thousands
    // alive under load, ~80 MB more peak RSS per replica and ~25 % of the CPU time per request.
    commandOptions: { timeout: 0 },
    socket: { connectTimeout: Math.max(timeoutMs, 1000), reconnectStrategy: reconnectDelay },
  });

  let lastError = '';
  client.on('error', (error: Error) => {
    // The client emits the same error on every reconnect attempt; log each distinct one once.
    const message = error.message || error.name;
    if (message !== lastError) log.warn({ err: message }, 'redis connection problem');
    lastError = message;
  });
  client.on('ready', () => {
    lastError = '';
    log.info('redis ready');
  });
  // connect() keeps retrying by itself; startup must not wait for Redis, /readyz reports it.
  client.connect().catch((error: unknown) => {
    log.error({ err: String(error) }, 'redis connect gave up');
  });

  return {
    async increment(idempotencyKey) {
      if (!client.isReady) throw new StoreUnavailableError('redis is not connected');
      try {
        const pending = idempotencyKey
          ? client.countOnce(VISITS_KEY, MARKER_PREFIX + idempotencyKey, MARKER_TTL_SECONDS)
          : client.incr(VISITS_KEY);
        return await withDeadline(pending, timeoutMs);
      } catch (error) {
        throw new StoreUnavailableError(error instanceof Error ? error.message : String(error));
      }
    },
    async isReady() {
      if (!client.isReady) return false;
      try {
        return (await withDeadline(client.ping(), timeoutMs)) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      if (client.isReady) {
        await client.close().catch(() => {
          client.destroy();
        });
      } else if (client.isOpen) {
        client.destroy();
      }
    },
  };
};
