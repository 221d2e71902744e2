import fp from 'fastify-plugin';

/**
 * Every route here is GET or HEAD, where a body has no meaning; Fastify would silently ignore
 * one. Refusing it (413, the limit response) means no request that smuggles a body is counted.
 */
export default fp(
  async (app) => {
    app.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      const length = request.headers['content-length'];
      const chunked = request.headers['transfer-encoding'] !== undefined;
      if (chunked || (length !== undefined && length !== '0')) {
        return reply
          .code(413)
          .header('content-type', 'text/plain; charset=utf-8')
          .header('connection', 'close')
          .send('Content Too Large: GET and HEAD requests take no body\n');
      }
    });
  },
  { name: 'no-get-bodies' },
);
