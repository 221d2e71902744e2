/**
 * How the API fails: always `{"error": "short message"}` (JSONP-wrapped when asked) with the
 * right status, never a stack trace. Details of unexpected errors go to the log only.
 */
import type { FastifyError, FastifyReply, FastifyRequest, preValidationHookHandler, RouteOptions } from 'fastify';
import { NameError } from '../../counters/names.ts';
import { StoreFaultError, StoreUnavailableError } from '../../store/counter-store.ts';
import { answer } from './answers.ts';

/** A refusal decided by a route: its status and the message the client gets. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly statusCode: number;

  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

export const NOT_FOUND = 'counter not found';

interface PropertySchema {
  description?: string;
  type?: string;
}

interface PartSchema {
  properties?: Record<string, PropertySchema>;
}

const DISPLAY_NAMES: Record<string, string> = { 'idempotency-key': 'Idempotency-Key' };

const schemaOf = (request: FastifyRequest, context: string): PartSchema | undefined =>
  (request.routeOptions.schema as Record<string, PartSchema | undefined> | undefined)?.[context];

// Only a query parameter can come as a list: path parameters are one segment each, and Node
// joins a repeated header into one string.
const givenAsList = (request: FastifyRequest, context: string, property: string): boolean =>
  context === 'querystring' && Array.isArray((request.query as Record<string, unknown>)[property]);

/** "<name> is required", "<name> must be given once" or "<name> must be <its schema's description>". */
const ruleBroken = (request: FastifyRequest, context: string, property: string, missing: boolean): string => {
  const shown = DISPLAY_NAMES[property] ?? property;
  if (missing) return `${shown} is required`;
  if (givenAsList(request, context, property)) return `${shown} must be given once`;
  const description = schemaOf(request, context)?.properties?.[property]?.description;
  return description === undefined ? `${shown} is not valid` : `${shown} must be ${description}`;
};

const validationMessage = (error: FastifyError, request: FastifyRequest): string => {
  const [first] = error.validation ?? [];
  const context = error.validationContext ?? 'querystring';
  if (first === undefined) return error.message;
  const missing = first.keyword === 'required' ? first.params.missingProperty : undefined;
  const property = typeof missing === 'string' ? missing : first.instancePath.split('/')[1];
  if (property === undefined || property === '') return error.message;
  return ruleBroken(request, context, property, typeof missing === 'string');
};

const INTEGER_TEXT = /^-?[0-9]+$/;

/**
 * Ajv's type coercion takes ' ' for 0 and '0x10' or '1e3' for numbers; an integer parameter
 * here must be written as one. Added (by onRoute, see index.ts) to routes with integer
 * parameters; runs before the schema check, on the raw strings.
 */
export const strictIntegers = (route: RouteOptions): preValidationHookHandler | undefined => {
  const properties = (route.schema?.querystring as PartSchema | undefined)?.properties ?? {};
  const names = Object.keys(properties).filter((property) => properties[property]?.type === 'integer');
  if (names.length === 0) return undefined;
  return (request, _reply, done) => {
    const query = request.query as Record<string, unknown>;
    for (const property of names) {
      const value = query[property];
      if (typeof value === 'string' && !INTEGER_TEXT.test(value)) {
        done(new ApiError(400, ruleBroken(request, 'querystring', property, false)));
        return;
      }
    }
    done();
  };
};

export const apiErrorHandler = (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
  if (error instanceof NameError) return answer(request, reply.code(400), { error: error.message });
  if (error.validation) return answer(request, reply.code(400), { error: validationMessage(error, request) });
  if (error instanceof StoreFaultError) {
    // The store logged the cause as an error; the client learns only that it failed.
    reply.header('retry-after', '1');
    return answer(request, reply.code(503), { error: 'the counter store failed, try again shortly' });
  }
  if (error instanceof StoreUnavailableError) {
    request.log.warn({ err: error.message }, 'counter store unavailable');
    reply.header('retry-after', '1');
    return answer(request, reply.code(503), { error: 'the counter store is not reachable, try again shortly' });
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return answer(request, reply.code(status), { error: error.message });
  request.log.error({ err: error }, 'request failed');
  return answer(request, reply.code(500), { error: 'internal server error' });
};
