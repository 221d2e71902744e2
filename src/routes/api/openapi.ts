import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { VERSION } from './package-version.ts';

/**
 * The OpenAPI 3.1 document, made from the schemas of the routes registered after this (in the
 * same plugin), served as GET /openapi.json.
 */
export const registerOpenApi = async (app: FastifyInstance): Promise<void> => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Counting API',
        version: VERSION,
        description: 'A CountAPI-compatible counting API: counters, badges and daily history. Errors are {"error": "message"}.',
      },
      tags: [
        { name: 'counters', description: 'CountAPI calls; JSON, or JSONP with ?callback=NAME, or a 1x1 GIF with ?img' },
        { name: 'badges', description: 'SVG badges' },
        { name: 'history', description: 'Hits and unique visitors per day' },
        { name: 'service', description: 'About the service' },
      ],
      components: {
        securitySchemes: {
          adminKey: { type: 'http', scheme: 'bearer', description: 'the admin_key that /create answered with' },
          createToken: { type: 'http', scheme: 'bearer', description: "the server's create token, when it has one" },
        },
      },
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('cache-control', 'no-cache');
    return app.swagger();
  });
};
