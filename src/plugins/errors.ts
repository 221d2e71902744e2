import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { replyText } from '../plain-text.ts';
import { pathOf } from './canonical-paths.ts';
import { StoreFaultError, StoreUnavailableError } from '../store/counter-store.ts';

const sendText = (reply: FastifyReply, status: number, text: string) => replyText(reply.header('cache-control', 'no-store'), status, text);

/** Short plain-text answers for every failure; details go to the log, never to the client. */
export default fp(
  async (app) => {
    // Methods of every route registered after this plugin, by path, to tell 405 from 404. Looked up
    // by exact string: the request path is client input and must not be parsed as a route pattern.
    const methodsByPath = new Map<string, string[]>();
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      methodsByPath.set(route.url, [...(methodsByPath.get(route.url) ?? []), ...methods]);
    });

    app.setNotFoundHandler(async (request: FastifyRequest, reply: FastifyReply) => {
      const path = pathOf(request.url);
      const allowed = methodsByPath.get(path) ?? [];
      if (allowed.length > 0) {
        reply.header('allow', allowed.join(', '));
        return sendText(reply, 405, `Method Not Allowed: ${path} accepts ${allowed.join(', ')}\n`);
      }
      return sendText(reply, 404, 'Not Found\n');
    });

    app.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
      if (error instanceof StoreFaultError) {
        // The store logged the cause as an error; the client learns only that it failed.
        reply.header('retry-after', '1');
        return sendText(reply, 503, 'Service Unavailable: the counter store failed, try again shortly\n');
      }
      if (error instanceof StoreUnavailableError) {
        request.log.warn({ err: error.message }, 'visit store unavailable');
        reply.header('retry-after', '1');
        return sendText(reply, 503, 'Service Unavailable: the counter store is not reachable, try again shortly\n');
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        return sendText(reply, status, `${error.message}\n`);
      }
      request.log.error({ err: error }, 'request failed');
      return sendText(reply, 500, 'Internal Server Error\n');
    });
  },
  { name: 'errors' },
);
