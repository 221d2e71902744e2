import fp from 'fastify-plugin';

// Dot segments (plain or percent-encoded), encoded slashes and backslashes, and NUL: a client has
// no honest reason to send them, and the router would quietly resolve `/a/../count` or
// `/%2e%2e/count` to /count and count it.
const NON_CANONICAL = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)|%2f|%5c|%00|\\/i;

/** Refuses request paths that are not in canonical form (400), before any route runs. */
export default fp(
  async (app) => {
    app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?', 1)[0] ?? '';
      if (NON_CANONICAL.test(path)) {
        return reply.code(400).header('content-type', 'text/plain; charset=utf-8').send('Bad Request: path is not canonical\n');
      }
    });
  },
  { name: 'canonical-paths' },
);
