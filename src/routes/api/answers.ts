/**
 * The forms an API answer takes besides JSON, and who may read it: JSONP (?callback=NAME),
 * a tracking pixel (?img) and open CORS.
 */
import type { FastifyCorsOptions } from '@fastify/cors';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * A JSONP callback runs as script in the caller's page: only a plain identifier is accepted, so
 * nothing else can be injected (no dots, brackets, parentheses, comments or markup).
 */
export const CALLBACK = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;

/** A transparent 1x1 GIF (42 bytes). */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

// JSON is script too, but these characters could still end a surrounding <script> element or
// confuse an old parser; escaped, they mean the same to JSON.parse and to JavaScript.
const UNSAFE_IN_SCRIPT = /[<>&\u2028\u2029]/g;
const escapeForScript = (json: string): string =>
  json.replace(UNSAFE_IN_SCRIPT, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);

const stringParameter = (request: FastifyRequest, name: 'callback' | 'img'): string | undefined => {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
};

/**
 * Sends a JSON answer in the form the request asks for, with the status already set on the reply:
 * `?img` (any value) a transparent GIF when the action succeeded, `?callback=NAME` JSONP,
 * else JSON. Errors stay JSON (or JSONP) with their status, also for `?img`.
 */
export const answer = (request: FastifyRequest, reply: FastifyReply, body: object): FastifyReply => {
  reply.header('cache-control', 'no-store');
  if (reply.statusCode < 300 && stringParameter(request, 'img') !== undefined) {
    return reply.type('image/gif').send(PIXEL);
  }
  const callback = stringParameter(request, 'callback');
  if (callback !== undefined && CALLBACK.test(callback)) {
    return reply
      .type('application/javascript; charset=utf-8')
      .header('x-content-type-options', 'nosniff')
      .send(`${callback}(${escapeForScript(JSON.stringify(body))});`);
  }
  return reply.send(body);
};

/**
 * Any page may call the API (a counter is public; writes need enable_reset or the admin key,
 * never a cookie). Preflights let a page send Authorization and Idempotency-Key, and DELETE.
 */
export const CORS: FastifyCorsOptions = {
  origin: '*',
  methods: ['GET', 'HEAD', 'DELETE'],
  allowedHeaders: ['Authorization', 'Idempotency-Key'],
  exposedHeaders: ['X-Path'],
  maxAge: 86_400,
  // Answer a bare OPTIONS too (curl -X OPTIONS), not only a browser's preflight.
  strictPreflight: false,
};
