import type { FastifyPluginAsync } from 'fastify';
import { CONTENT_TYPES, NOT_ACCEPTABLE, negotiate } from '../negotiate.ts';
import { countPage, countText } from '../pages.ts';

const count: FastifyPluginAsync<{ replicaName: string }> = async (app, { replicaName }) => {
  // HEAD is not served here: a HEAD request (link checkers, curl -I) must not count a visit.
  app.get('/count', { exposeHeadRoute: false }, async (request, reply) => {
    reply.header('cache-control', 'no-store').header('vary', 'Accept');
    // Negotiate before counting, so a request we cannot answer is never counted.
    const form = negotiate(request);
    if (!form) return reply.code(406).type(CONTENT_TYPES.text).send(NOT_ACCEPTABLE);
    const total = await app.visits.increment();
    reply.type(CONTENT_TYPES[form]);
    if (form === 'html') return countPage(total, replicaName);
    if (form === 'json') return { count: total, servedBy: replicaName };
    return countText(total);
  });
};

export default count;
