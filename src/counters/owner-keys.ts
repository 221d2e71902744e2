import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Owner keys: /create hands out a random admin key (256 bits, base64url) once; only its SHA-256
 * is stored. A key of that strength needs no slow hash: nobody can guess a preimage.
 */
export const newAdminKey = (): string => randomBytes(32).toString('base64url');

export const digestOf = (adminKey: string): string => createHash('sha256').update(adminKey).digest('hex');

const BEARER = /^Bearer ([A-Za-z0-9_-]{16,128})$/;

/** The presented admin key's digest from `Authorization: Bearer <key>`, or undefined without one. */
export const presentedDigest = (authorization: string | undefined): string | undefined => {
  const match = authorization === undefined ? null : BEARER.exec(authorization);
  return match?.[1] === undefined ? undefined : digestOf(match[1]);
};

/** Constant-time comparison of two digests (hex strings of the same length). */
export const sameDigest = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
