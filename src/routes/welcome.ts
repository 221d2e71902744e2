import type { FastifyPluginAsync } from 'fastify';
import { CONTENT_TYPES, NOT_ACCEPTABLE, negotiate } from '../negotiate.ts';
import { WELCOME_TEXT, welcomePage } from '../pages.ts';

const welcome: FastifyPluginAsync<{ replicaName: string }> = async (app, { replicaName }) => {
  app.get('/', async (request, reply) => {
    const form = negotiate(request);
    reply.header('vary', 'Accept');
    if (!form) return reply.code(406).type(CONTENT_TYPES.text).send(NOT_ACCEPTABLE);
    reply.type(CONTENT_TYPES[form]);
    if (form === 'html') return welcomePage(replicaName);
    if (form === 'json') return { message: WELCOME_TEXT.trim(), count: '/count', servedBy: replicaName };
    return WELCOME_TEXT;
  });
};

export default welcome;
