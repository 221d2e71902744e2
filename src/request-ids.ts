import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Request ids and idempotency keys: short tokens safe to log, echo and use in a Redis key. */
export const ID_TOKEN = /^[\w.:-]{1,128}$/;

/** The request's id: nginx's X-Request-ID when it looks like one, so log lines match across tiers. */
export const requestId = (request: IncomingMessage): string => {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && ID_TOKEN.test(header) ? header : randomUUID();
};
