import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * The token an Authorization header presents: `Bearer <token>` (scripts), or Basic with the token
 * as the password and any user name (browsers ask for it themselves).
 */
export const presentedToken = (authorization: string | undefined): string | undefined => {
  if (!authorization) return undefined;
  const [scheme = '', credentials = ''] = authorization.trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return credentials;
  if (!/^basic$/i.test(scheme)) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
};

/** Whether the header presents the admin token; compared in constant time (of their digests). */
export const presentsAdminToken = (authorization: string | undefined, adminToken: string): boolean => {
  const presented = presentedToken(authorization);
  return presented !== undefined && timingSafeEqual(digest(presented), digest(adminToken));
};
