import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import { randomUUID } from 'node:crypto';
import { digestOf, newAdminKey, sameDigest } from '../../counters/owner-keys.ts';
import { answer } from './answers.ts';
import { ApiError } from './failures.ts';
import { resolveCounter } from './requests.ts';
import { type AnswerForms, errorResponses, integer, jsonQuery, NAME_RULE, safeInteger } from './schemas.ts';

const MAX = Number.MAX_SAFE_INTEGER;

interface CreateQuery extends AnswerForms {
  namespace?: string;
  key?: string;
  value: number;
  enable_reset: '0' | '1' | 'true' | 'false';
  update_lowerbound: number;
  update_upperbound: number;
}

const createdBody = {
  description: 'the counter made, with its admin key',
  type: 'object',
  required: ['namespace', 'key', 'value', 'admin_key'],
  properties: {
    namespace: { type: 'string' },
    key: { type: 'string' },
    value: { type: 'integer' },
    admin_key: { type: 'string', description: 'the owner key: shown once, send it as `Authorization: Bearer <admin_key>`' },
  },
} as const;

const BEARER = /^Bearer (\S+)$/;

/** With a create token configured, only a request presenting it may create counters. */
const requireCreateToken = (createToken: string): onRequestHookHandler => {
  const expected = digestOf(createToken);
  // Callback style: no promise per request.
  return (request, reply, done) => {
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (token === undefined) {
      reply.header('www-authenticate', 'Bearer');
      done(new ApiError(401, 'creating a counter needs Authorization: Bearer <create token>'));
      return;
    }
    if (!sameDigest(digestOf(token), expected)) {
      done(new ApiError(403, 'the create token is not valid'));
      return;
    }
    done();
  };
};

/** GET /create: a counter with its settings and an owner, whose admin key is shown only in this answer. */
const create: FastifyPluginAsync<{ createToken?: string }> = async (app, { createToken }) => {
  app.get<{ Querystring: CreateQuery }>(
    '/create',
    {
      exposeHeadRoute: false,
      ...(createToken === undefined ? {} : { onRequest: requireCreateToken(createToken) }),
      schema: {
        summary: 'Create a counter (never resets an existing one: that is a 409)',
        tags: ['counters'],
        ...(createToken === undefined ? {} : { security: [{ createToken: [] }] }),
        querystring: jsonQuery({
          namespace: { type: 'string', description: `${NAME_RULE}; default: default` },
          key: { type: 'string', description: `${NAME_RULE}; default: a random UUID` },
          value: safeInteger({ default: 0 }),
          enable_reset: { type: 'string', enum: ['0', '1', 'true', 'false'], default: '0', description: '0, 1, true or false' },
          update_lowerbound: integer(-MAX, 0, { default: -1 }),
          update_upperbound: integer(0, MAX, { default: 1 }),
        }),
        response: { 200: createdBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { namespace, key = randomUUID(), value, enable_reset, update_lowerbound, update_upperbound } = request.query;
      const id = resolveCounter(namespace, key, request, reply);
      const adminKey = newAdminKey();
      const settings = {
        value,
        enableReset: enable_reset === '1' || enable_reset === 'true',
        lowerBound: update_lowerbound,
        upperBound: update_upperbound,
        adminKeyDigest: digestOf(adminKey),
      };
      // No idempotency key here: a repeat would be answered with the first result, but the
      // admin key of that first answer exists nowhere any more (only its digest is stored), so the
      // repeat would hand out a key that is not the owner's. A repeat gets the honest 409 instead.
      const result = await app.counters.create(id, settings);
      if (!result.created) throw new ApiError(409, `counter ${id.namespace}/${id.key} already exists`);
      return answer(request, reply, { namespace: id.namespace, key: id.key, value: result.value, admin_key: adminKey });
    },
  );
};

export default create;
