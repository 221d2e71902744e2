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

export const waitFor = async (check: () => Promise<boolean>, timeoutMs: number): Promise<number> => {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check().catch(() => false)) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
};
