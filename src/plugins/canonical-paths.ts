import fp from 'fastify-plugin';
import { replyText } from '../plain-text.ts';

/** The path of a request URL, without its query string. */
export const pathOf = (url: string): string => url.split('?', 1)[0] ?? url;

// Dot segments (plain or percent-encoded), encoded slashes and backslashes, and NUL: a client has
// no honest reason to send them, and the router would quietly resolve `/a/../count` or
// `/%2e%2e/count` to /count and count it.
const NON_CANONICAL = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)|%2f|%5c|%00|\\/i;

/** Refuses request paths that are not in canonical form (400), before any route runs. */
export default fp(
  async (app) => {
    // Callback style: an async hook costs a promise and a microtask on every request.
    app.addHook('onRequest', (request, reply, done) => {
      if (NON_CANONICAL.test(pathOf(request.url))) {
        // Answered here; not calling done() ends the request's hooks.
        replyText(reply, 400, 'Bad Request: path is not canonical\n');
        return;
      }
      done();
    });
  },
  { name: 'canonical-paths' },
);
