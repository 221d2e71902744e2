import type { FastifyPluginAsync } from 'fastify';
import { CONTENT_TYPES, NOT_ACCEPTABLE, negotiate } from '../negotiate.ts';
import { WELCOME_TEXT, welcomePage } from '../pages.ts';
import { replyText } from '../plain-text.ts';

const welcome: FastifyPluginAsync = async (app) => {
  app.get('/', async (request, reply) => {
    const form = negotiate(request);
    reply.header('vary', 'Accept');
    if (!form) return replyText(reply, 406, NOT_ACCEPTABLE);
    reply.type(CONTENT_TYPES[form]);
    if (form === 'html') return welcomePage(app.replicaName);
    if (form === 'json') return { message: WELCOME_TEXT.trim(), links: { count: '/count', dashboard: '/dashboard/default/visits', docs: '/docs', api: '/openapi.json' }, servedBy: app.replicaName };
    return WELCOME_TEXT;
  });
};

export default welcome;
