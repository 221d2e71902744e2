import fp from 'fastify-plugin';
import { replyText } from '../plain-text.ts';

/**
 * A GET or HEAD (every route but DELETE /counters) has no use for a body; Fastify would silently
 * ignore one. Refusing it (413, the limit response) means no request that smuggles a body is counted.
 */
export default fp(
  async (app) => {
    // Callback style: an async hook costs a promise and a microtask on every request.
    app.addHook('onRequest', (request, reply, done) => {
      const length = request.headers['content-length'];
      const chunked = request.headers['transfer-encoding'] !== undefined;
      const hasBody = chunked || (length !== undefined && length !== '0');
      if (hasBody && (request.method === 'GET' || request.method === 'HEAD')) {
        // Answered here; not calling done() ends the request's hooks.
        replyText(reply.header('connection', 'close'), 413, 'Content Too Large: GET and HEAD requests take no body\n');
        return;
      }
      done();
    });
  },
  { name: 'no-get-bodies' },
);
