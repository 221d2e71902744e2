import { readFileSync } from 'node:fs';

/**
 * Requests a replica answered, from nginx's access log (the template's `visits` format).
 * A retried request lists every attempt in upstream_status ("502, 200"), and one whose client
 * went away shows "-" (nginx 499); either may or may not have reached an app, so they are
 * counted apart and make the log-line check inconclusive.
 */
export const countProxiedRequests = (path: string): { answered: number; unclear: number } => {
  let answered = 0;
  let unclear = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    const status = (JSON.parse(line) as { upstream_status?: string }).upstream_status ?? '';
    if (/^\d{3}$/.test(status)) answered++;
    else if (status !== '') unclear++;
  }
  return { answered, unclear };
};
