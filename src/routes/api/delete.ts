import type { FastifyPluginAsync } from 'fastify';
import { ApiError, NOT_FOUND } from './failures.ts';
import { counterOf, NOT_AN_ADMIN_KEY, ownerDigestOf, WRONG_ADMIN_KEY } from './requests.ts';
import { type CounterParams, counterUrls, errorResponses } from './schemas.ts';

/** DELETE /counters/...: the owner removes a counter with everything kept about it. */
const deleteCounter: FastifyPluginAsync = async (app) => {
  for (const { url, params } of counterUrls('/counters')) {
    app.delete<{ Params: CounterParams }>(
      url,
      {
        schema: {
          summary: 'Delete a counter (only its owner, with the admin key)',
          tags: ['counters'],
          security: [{ adminKey: [] }],
          params,
          response: { 204: { description: 'deleted', type: 'null' }, ...errorResponses },
        },
      },
      async (request, reply) => {
        const id = counterOf(request, reply);
        const owner = ownerDigestOf(request);
        // Without a key the store still decides, so a missing counter is a 404 whoever asks.
        const result = await app.counters.delete(id, owner ?? NOT_AN_ADMIN_KEY);
        if (result.status === 'missing') throw new ApiError(404, NOT_FOUND);
        if (result.status === 'forbidden') {
          throw new ApiError(403, owner === undefined ? 'deleting a counter needs its admin key: Authorization: Bearer <admin_key>' : WRONG_ADMIN_KEY);
        }
        reply.header('cache-control', 'no-store');
        return reply.code(204).send();
      },
    );
  }
};

export default deleteCounter;
