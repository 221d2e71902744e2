import type { FastifyPluginAsync } from 'fastify';
import { CONTENT_TYPES, NOT_ACCEPTABLE, negotiate } from '../negotiate.ts';
import { countPage, countText } from '../pages.ts';
import { replyText } from '../plain-text.ts';
import { ID_TOKEN } from '../request-ids.ts';
import { visitorOf } from './api/requests.ts';

/** The seed's one counter: /count is this counter of the counting API (also /get/visits). */
export const VISITS = { namespace: 'default', key: 'visits' };

const count: FastifyPluginAsync = async (app) => {
  // HEAD is not served here: a HEAD request (link checkers, curl -I) must not count a visit.
  app.get('/count', { exposeHeadRoute: false }, async (request, reply) => {
    reply.header('cache-control', 'no-store').header('vary', 'Accept');
    // Negotiate before counting, so a request we cannot answer is never counted.
    const form = negotiate(request);
    if (!form) return replyText(reply, 406, NOT_ACCEPTABLE);
    // nginx sets Idempotency-Key to its request id, the same when it retries the request on
    // another replica; the store counts each key once, so a retry never counts a visit twice.
    const key = request.headers['idempotency-key'];
    if (key !== undefined && (typeof key !== 'string' || !ID_TOKEN.test(key))) {
      return replyText(reply, 400, 'Bad Request: Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 . _ : -\n');
    }
    const { value: total } = await app.counters.hit(VISITS, { idempotencyKey: key, visitor: visitorOf(request) });
    reply.type(CONTENT_TYPES[form]);
    if (form === 'html') return countPage(total, app.replicaName);
    if (form === 'json') return { count: total, servedBy: app.replicaName };
    return countText(total);
  });
};

export default count;
