import type { FastifyPluginAsync } from 'fastify';
import { answer } from './answers.ts';
import { ApiError } from './failures.ts';
import { counterOf, idempotencyKeyOf, ownerDigestOf, WRONG_ADMIN_KEY } from './requests.ts';
import {
  type AnswerForms,
  type CounterParams,
  counterUrls,
  errorResponses,
  idempotencyHeaders,
  type IdempotencyHeaders,
  jsonQuery,
  nullValueBody,
  ownerSecurity,
  safeInteger,
  valueBody,
} from './schemas.ts';

const changedBody = {
  description: 'the value before and after',
  type: 'object',
  required: ['old_value', 'value'],
  properties: { old_value: { type: 'integer' }, value: { type: 'integer' } },
} as const;

const missingChangedBody = {
  description: 'no such counter',
  type: 'object',
  required: ['old_value', 'value'],
  properties: { old_value: { type: 'null' }, value: { type: 'null' } },
} as const;

/** GET /set and /update: changes allowed by the counter's settings, or to its owner. */
const setUpdate: FastifyPluginAsync = async (app) => {
  for (const { url, params } of counterUrls('/set')) {
    app.get<{ Params: CounterParams; Querystring: AnswerForms & { value: number }; Headers: IdempotencyHeaders }>(
      url,
      {
        exposeHeadRoute: false,
        schema: {
          summary: 'Set a counter (needs enable_reset, or the admin key)',
          tags: ['counters'],
          security: ownerSecurity,
          params,
          querystring: jsonQuery({ value: safeInteger() }, ['value']),
          headers: idempotencyHeaders,
          response: { 200: changedBody, ...errorResponses, 404: missingChangedBody },
        },
      },
      async (request, reply) => {
        const id = counterOf(request, reply);
        const owner = ownerDigestOf(request);
        const result = await app.counters.set(id, request.query.value, owner, idempotencyKeyOf(request));
        if (result.status === 'missing') return answer(request, reply.code(404), { old_value: null, value: null });
        if (result.status === 'forbidden') {
          throw new ApiError(403, owner === undefined ? 'this counter cannot be set: it was created without enable_reset' : WRONG_ADMIN_KEY);
        }
        return answer(request, reply, { old_value: result.oldValue, value: result.value });
      },
    );
  }

  for (const { url, params } of counterUrls('/update')) {
    app.get<{ Params: CounterParams; Querystring: AnswerForms & { amount: number }; Headers: IdempotencyHeaders }>(
      url,
      {
        exposeHeadRoute: false,
        schema: {
          summary: "Add an amount to a counter (within the counter's update bounds, or any amount with the admin key)",
          tags: ['counters'],
          security: ownerSecurity,
          params,
          querystring: jsonQuery({ amount: safeInteger() }, ['amount']),
          headers: idempotencyHeaders,
          response: { 200: valueBody, ...errorResponses, 404: nullValueBody },
        },
      },
      async (request, reply) => {
        const id = counterOf(request, reply);
        const owner = ownerDigestOf(request);
        const result = await app.counters.update(id, request.query.amount, owner, idempotencyKeyOf(request));
        if (result.status === 'missing') return answer(request, reply.code(404), { value: null });
        if (result.status === 'forbidden') {
          throw new ApiError(403, owner === undefined ? "amount is outside this counter's update bounds" : WRONG_ADMIN_KEY);
        }
        return answer(request, reply, { value: result.value });
      },
    );
  }
};

export default setUpdate;
