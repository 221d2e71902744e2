import fp from 'fastify-plugin';

/** Tags every response, errors included, with the replica that produced it and the request id. */
export default fp<{ replicaName: string }>(
  async (app, { replicaName }) => {
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-served-by', replicaName);
      reply.header('x-request-id', request.id);
    });
  },
  { name: 'served-by' },
);
