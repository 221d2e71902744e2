import accepts from 'accepts';
import type { FastifyRequest } from 'fastify';

export type Representation = 'text' | 'html' | 'json';

// Plain text first: clients that send no preference (curl's */*) get the terminal-friendly form.
const TYPES = ['text/plain', 'text/html', 'application/json'] as const;
const BY_TYPE: Record<(typeof TYPES)[number], Representation> = {
  'text/plain': 'text',
  'text/html': 'html',
  'application/json': 'json',
};

export const CONTENT_TYPES: Record<Representation, string> = {
  text: 'text/plain; charset=utf-8',
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

/** The representation the client prefers, or undefined when it accepts none of ours (406). */
export const negotiate = (request: FastifyRequest): Representation | undefined => {
  if (!request.headers.accept) return 'text';
  const chosen = accepts(request.raw).type([...TYPES]);
  return chosen ? BY_TYPE[chosen as (typeof TYPES)[number]] : undefined;
};

export const NOT_ACCEPTABLE = `Not Acceptable: this resource is available as ${TYPES.join(', ')}\n`;
