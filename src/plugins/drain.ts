import fp from 'fastify-plugin';

/**
 * While the server shuts down, responses still being produced carry `Connection: close`.
 * Node would otherwise keep those keep-alive sockets open after the last response, holding
 * up the shutdown, and nginx could pick one for its next request just as it closes.
 */
export default fp(
  async (app) => {
    let draining = false;
    app.addHook('preClose', async () => {
      draining = true;
    });
    app.addHook('onSend', async (_request, reply) => {
      if (draining) reply.header('connection', 'close');
    });
  },
  { name: 'drain' },
);
