/**
 * The counter of a running stack, read through its own /count (which adds one visit):
 * the Compose stack does not publish Redis, so this is the only way in from outside.
 */
export const countVisitsThroughApp = async (base: string): Promise<number> => {
  const response = await fetch(`${base}/count`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET ${base}/count answered ${response.status}`);
  const body = (await response.json()) as { count?: unknown };
  if (typeof body.count !== 'number') throw new Error(`GET ${base}/count did not return a count`);
  return body.count;
};
