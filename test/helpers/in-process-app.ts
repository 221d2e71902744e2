import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { createRedisStore } from '../../src/redis-store.ts';
import type { RedisServer } from './redis-server.ts';

/** The app with the real Redis store, listening on a free loopback port. */
export const startApp = async (redis: RedisServer, password?: string): Promise<{ app: FastifyInstance; base: string }> => {
  const log = createLogger('silent', 'it');
  const store = createRedisStore({
    connection: { url: redis.url, password, database: 0 },
    timeoutMs: 500,
    log,
  });
  const app = await buildApp({ replicaName: 'it', store }, log);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base };
};
