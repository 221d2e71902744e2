import type { FastifyPluginAsync } from 'fastify';
import { answer } from './answers.ts';
import { counterOf, idempotencyKeyOf, visitorOf } from './requests.ts';
import {
  type AnswerForms,
  type CounterParams,
  counterUrls,
  errorResponses,
  idempotencyHeaders,
  type IdempotencyHeaders,
  jsonQuery,
  nullValueBody,
  valueBody,
} from './schemas.ts';

/** GET /hit and /get: CountAPI's two everyday calls. */
const hitGet: FastifyPluginAsync = async (app) => {
  for (const { url, params } of counterUrls('/hit')) {
    app.get<{ Params: CounterParams; Querystring: AnswerForms; Headers: IdempotencyHeaders }>(
      url,
      {
        // HEAD would count a visit (link checkers, curl -I): not served.
        exposeHeadRoute: false,
        schema: {
          summary: 'Add 1 to a counter, creating it when missing',
          tags: ['counters'],
          params,
          querystring: jsonQuery(),
          headers: idempotencyHeaders,
          response: { 200: valueBody, ...errorResponses },
        },
      },
      async (request, reply) => {
        const id = counterOf(request, reply);
        const { value } = await app.counters.hit(id, { idempotencyKey: idempotencyKeyOf(request), visitor: visitorOf(request) });
        return answer(request, reply, { value });
      },
    );
  }

  for (const { url, params } of counterUrls('/get')) {
    app.get<{ Params: CounterParams; Querystring: AnswerForms }>(
      url,
      {
        schema: {
          summary: 'Read a counter',
          tags: ['counters'],
          params,
          querystring: jsonQuery(),
          response: { 200: valueBody, ...errorResponses, 404: nullValueBody },
        },
      },
      async (request, reply) => {
        const value = await app.counters.get(counterOf(request, reply));
        if (value === null) return answer(request, reply.code(404), { value: null });
        return answer(request, reply, { value });
      },
    );
  }
};

export default hitGet;
