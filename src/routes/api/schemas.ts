/**
 * Route schemas shared by the API's routes. They validate each request and make the OpenAPI
 * document; a parameter's `description` is also what a 400 says it must be (see failures.ts), so
 * each one reads as the rest of "<name> must be ...".
 */
import { ID_TOKEN } from '../../request-ids.ts';
import { CALLBACK } from './answers.ts';

const MAX = Number.MAX_SAFE_INTEGER;

export const integer = (minimum: number, maximum: number, extra: Record<string, unknown> = {}) => ({
  type: 'integer',
  minimum,
  maximum,
  description: `an integer from ${minimum} to ${maximum}`,
  ...extra,
});

/** A counter value or a change of one: CountAPI's values are integers, here those JSON numbers hold exactly. */
export const safeInteger = (extra: Record<string, unknown> = {}) => integer(-MAX, MAX, extra);

export const NAME_RULE = '3-64 characters of A-Z a-z 0-9 _ - . (:HOST: and :PATHNAME: stand for the host and path of the requesting page)';

const name = { type: 'string', description: NAME_RULE };

/** The two URLs of a route on one counter: with the namespace, and without it (namespace `default`). */
export const counterUrls = (prefix: string) =>
  [
    { url: `${prefix}/:key`, params: { type: 'object', required: ['key'], properties: { key: name } } },
    { url: `${prefix}/:namespace/:key`, params: { type: 'object', required: ['namespace', 'key'], properties: { namespace: name, key: name } } },
  ] as const;

export interface CounterParams {
  namespace?: string;
  key: string;
}

/** callback and img: every JSON route of the API takes them. */
const answerForms = {
  callback: {
    type: 'string',
    pattern: CALLBACK.source,
    description: 'a JavaScript identifier of at most 64 characters (A-Z a-z 0-9 _ $, not starting with a digit)',
  },
  img: { type: 'string', description: 'any value, even empty: the answer is then a 1x1 transparent GIF' },
} as const;

export interface AnswerForms {
  callback?: string;
  img?: string;
}

export const jsonQuery = (properties: Record<string, unknown> = {}, required: string[] = []) => ({
  type: 'object',
  properties: { ...properties, ...answerForms },
  required,
});

/** The Idempotency-Key header of the mutating routes: a repeat gets the first answer and changes nothing. */
export const idempotencyHeaders = {
  type: 'object',
  properties: {
    'idempotency-key': { type: 'string', pattern: ID_TOKEN.source, description: '1-128 characters of A-Z a-z 0-9 . _ : -' },
  },
} as const;

export interface IdempotencyHeaders {
  'idempotency-key'?: string;
}

const errorBody = {
  description: 'refused or failed, with a short message',
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' } },
} as const;

/** Every route can answer these; routes list their own other answers beside them. */
export const errorResponses = { '4xx': errorBody, 503: errorBody } as const;

export const valueBody = {
  description: "the counter's value",
  type: 'object',
  required: ['value'],
  properties: { value: { type: 'integer' } },
} as const;

export const nullValueBody = {
  description: 'no such counter',
  type: 'object',
  required: ['value'],
  properties: { value: { type: 'null' } },
} as const;

/** `Authorization: Bearer <admin_key>` (OpenAPI security requirement, see openapi.ts). */
export const ownerSecurity: Record<string, string[]>[] = [{}, { adminKey: [] }];
