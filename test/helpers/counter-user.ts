import { readFileSync } from 'node:fs';

/** The app user's ACL permissions exactly as the Compose stack's Redis grants them. */
export const counterUserPermissions = (): string[] => {
  const text = readFileSync(new URL('../../redis/counter-user.acl', import.meta.url), 'utf8');
  const rules = text.split('\n').filter((line) => line.trim() && !line.startsWith('#')).at(-1);
  if (!rules) throw new Error('redis/counter-user.acl holds no rules');
  return rules.trim().split(/\s+/);
};
