import fp from 'fastify-plugin';

/** Tags every response, errors included, with the replica that produced it and the request id. */
export default fp<{ replicaName: string }>(
  async (app, { replicaName }) => {
    // Callback style: an async hook costs a promise and a microtask on every request.
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-served-by', replicaName);
      reply.header('x-request-id', request.id);
      done();
    });
  },
  { name: 'served-by' },
);
