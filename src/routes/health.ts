import type { FastifyPluginAsync } from 'fastify';

const health: FastifyPluginAsync = async (app) => {
  // Liveness: the process answers HTTP. Deliberately independent of Redis.
  app.get('/healthz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  // Readiness: this replica can count right now.
  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    if (await app.counters.isReady()) return { status: 'ready', redis: 'up' };
    return reply.code(503).send({ status: 'not ready', redis: 'down' });
  });
};

export default health;
