import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** This replica's name (REPLICA_NAME, by default the hostname), for pages and X-Served-By. */
    replicaName: string;
  }
}

/**
 * Where the replica's name is registered, once, as `app.replicaName`. Tags every response, errors
 * included, with it and the request id (the few that Fastify answers before any hook runs get
 * them in app.ts's frameworkErrors).
 */
export default fp<{ replicaName: string }>(
  async (app, { replicaName }) => {
    app.decorate('replicaName', replicaName);
    // Callback style: an async hook costs a promise and a microtask on every request.
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-served-by', replicaName);
      reply.header('x-request-id', request.id);
      done();
    });
  },
  { name: 'served-by' },
);
