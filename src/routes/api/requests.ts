/** What the API routes read from a request: the counter, the presented admin key, the idempotency key, the visitor. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type CounterId, counterId, type Page, pageOf, pathOfCounter } from '../../counters/names.ts';
import { presentedDigest } from '../../counters/owner-keys.ts';
import type { Visitor } from '../../store/counter-store.ts';
import type { CounterParams, IdempotencyHeaders } from './schemas.ts';

const NO_PAGE: Page = {};

// Only a name with a placeholder needs the page; most requests skip parsing Origin and Referer.
const needsPage = (name: string | undefined): boolean => name?.includes(':') === true;

/**
 * The counter a request names (:HOST: and :PATHNAME: substituted), also sent back as X-Path.
 * Throws NameError (a 400) for a name that breaks the rules.
 */
export const resolveCounter = (namespace: string | undefined, key: string, request: FastifyRequest, reply: FastifyReply): CounterId => {
  const page = needsPage(namespace) || needsPage(key) ? pageOf(request.headers) : NO_PAGE;
  const id = counterId(namespace, key, page);
  reply.header('x-path', pathOfCounter(id));
  return id;
};

export const counterOf = (request: FastifyRequest<{ Params: CounterParams }>, reply: FastifyReply): CounterId =>
  resolveCounter(request.params.namespace, request.params.key, request, reply);

/**
 * Stands for an Authorization header that is present but not `Bearer <admin key>`: not 64 hex
 * digits, so it matches no owner, and the store refuses it like any wrong key.
 */
export const NOT_AN_ADMIN_KEY = 'not-an-admin-key';

/** The digest of the presented admin key; undefined without an Authorization header. */
export const ownerDigestOf = (request: FastifyRequest): string | undefined => {
  const authorization = request.headers.authorization;
  if (authorization === undefined) return undefined;
  return presentedDigest(authorization) ?? NOT_AN_ADMIN_KEY;
};

/** Validated by the route's header schema (idempotencyHeaders). */
export const idempotencyKeyOf = (request: FastifyRequest<{ Headers: IdempotencyHeaders }>): string | undefined => request.headers['idempotency-key'];

/** request.ip is the client's address behind nginx (trustProxy is set by the app). */
export const visitorOf = (request: FastifyRequest): Visitor => ({ address: request.ip, userAgent: request.headers['user-agent'] ?? '' });

export const WRONG_ADMIN_KEY = "wrong admin key: it is not this counter's";
