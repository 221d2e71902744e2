import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { createRedisStore } from '../../src/store/redis-store.ts';
import type { RedisServer } from './redis-server.ts';
import { waitFor } from './wait.ts';

export const COUNTING = { timeZone: 'UTC', ttlDays: 0, historyDays: 30 };

/** The app with the real Redis store, listening on a free loopback port (once connected, unless told not to wait). */
export const startApp = async (redis: RedisServer, password?: string, { waitForRedis = true } = {}): Promise<{ app: FastifyInstance; base: string }> => {
  const log = createLogger('silent', 'it');
  const store = createRedisStore({ connection: { url: redis.url, password, database: 0 }, timeoutMs: 500, log, ...COUNTING });
  const app = await buildApp({ replicaName: 'it', store, counting: COUNTING }, log);
  if (waitForRedis) await waitFor('the store ready', () => store.isReady(), 5000);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base };
};
