import accepts from 'accepts';
import type { FastifyRequest } from 'fastify';

type Representation = 'text' | 'html' | 'json';

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

// Clients send few distinct Accept headers (about one per browser), so each is negotiated
// once; the bounds keep odd or hostile headers from growing the cache.
const chosenFor = new Map<string, Representation | undefined>();
const CACHE_ENTRIES = 256;
const CACHED_HEADER_LENGTH = 512;

/** The representation the client prefers, or undefined when it accepts none of ours (406). */
export const negotiate = (request: FastifyRequest): Representation | undefined => {
  const accept = request.headers.accept;
  if (!accept) return 'text';
  // Stryker disable next-line ConditionalExpression: a cache; negotiating again gives the same answer
  if (chosenFor.has(accept)) return chosenFor.get(accept);
  const chosen = accepts(request.raw).type([...TYPES]);
  const form = chosen ? BY_TYPE[chosen as (typeof TYPES)[number]] : undefined;
  // Stryker disable all: what is cached, and the bounds that keep the cache small, change no answer
  if (accept.length <= CACHED_HEADER_LENGTH) {
    if (chosenFor.size >= CACHE_ENTRIES) chosenFor.clear();
    chosenFor.set(accept, form);
  }
  // Stryker restore all
  return form;
};

export const NOT_ACCEPTABLE = `Not Acceptable: this resource is available as ${TYPES.join(', ')}\n`;
