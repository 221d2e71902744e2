import type { FastifyPluginAsync } from 'fastify';
import { answer } from './answers.ts';
import { ApiError, NOT_FOUND } from './failures.ts';
import { counterOf } from './requests.ts';
import { VERSION } from './package-version.ts';
import { type AnswerForms, type CounterParams, counterUrls, errorResponses, jsonQuery } from './schemas.ts';

const infoBody = {
  description: "the counter's value and settings",
  type: 'object',
  required: ['namespace', 'key', 'ttl', 'created', 'update_lowerbound', 'update_upperbound', 'enable_reset', 'value'],
  properties: {
    namespace: { type: 'string' },
    key: { type: 'string' },
    ttl: { type: 'integer', description: 'milliseconds until the counter expires, -1 when it never does' },
    created: { type: 'integer', description: 'when the counter was made, in milliseconds since 1970' },
    update_lowerbound: { type: 'integer' },
    update_upperbound: { type: 'integer' },
    enable_reset: { type: 'boolean' },
    value: { type: 'integer' },
  },
} as const;

const statsBody = {
  description: 'totals since the store was made',
  type: 'object',
  required: ['requests', 'keys_created', 'keys_updated', 'version'],
  properties: {
    requests: { type: 'integer' },
    keys_created: { type: 'integer' },
    keys_updated: { type: 'integer' },
    version: { type: 'string' },
  },
} as const;

/** GET /info (one counter's settings) and /stats (the whole service's). */
const infoStats: FastifyPluginAsync = async (app) => {
  for (const { url, params } of counterUrls('/info')) {
    app.get<{ Params: CounterParams; Querystring: AnswerForms }>(
      url,
      {
        schema: {
          summary: "A counter's value and settings",
          tags: ['counters'],
          params,
          querystring: jsonQuery(),
          response: { 200: infoBody, ...errorResponses },
        },
      },
      async (request, reply) => {
        const id = counterOf(request, reply);
        const info = await app.counters.info(id);
        if (info === null) throw new ApiError(404, NOT_FOUND);
        return answer(request, reply, {
          namespace: id.namespace,
          key: id.key,
          ttl: info.ttl === -1 ? -1 : info.ttl * 1000,
          created: info.created,
          update_lowerbound: info.lowerBound,
          update_upperbound: info.upperBound,
          enable_reset: info.enableReset,
          value: info.value,
        });
      },
    );
  }

  app.get<{ Querystring: AnswerForms }>(
    '/stats',
    {
      schema: {
        summary: 'Requests served and counters created and changed, over all replicas',
        tags: ['service'],
        querystring: jsonQuery(),
        response: { 200: statsBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const stats = await app.counters.stats();
      return answer(request, reply, {
        requests: stats.requests,
        keys_created: stats.keysCreated,
        keys_updated: stats.keysUpdated,
        version: VERSION,
      });
    },
  );
};

export default infoStats;
