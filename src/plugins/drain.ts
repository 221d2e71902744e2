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
    // Callback style: an async hook costs a promise and a microtask on every response.
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (draining) reply.header('connection', 'close');
      done(null, payload);
    });
  },
  { name: 'drain' },
);
