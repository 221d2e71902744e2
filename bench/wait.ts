import { setTimeout as sleep } from 'node:timers/promises';

/** Status of a GET, or undefined when nothing answered. */
export const getStatus = async (url: string): Promise<number | undefined> => {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
};

/**
 * Polls url until it answers 200. `exited` returns a description once the process that should
 * answer has died, so a crash is reported at once instead of after the whole timeout.
 * Resolves to the number of requests that got an answer (each is one log line on an app).
 */
export const waitUntilOk = async (url: string, what: string, exited: () => string | undefined, timeoutMs = 20_000): Promise<number> => {
  const deadline = Date.now() + timeoutMs;
  let answered = 0;
  for (;;) {
    const status = await getStatus(url);
    if (status !== undefined) answered++;
    if (status === 200) return answered;
    const death = exited();
    if (death !== undefined) throw new Error(`${what} exited before it was ready: ${death}`);
    if (Date.now() > deadline) throw new Error(`${what} did not answer 200 on ${url} within ${timeoutMs / 1000} s (last status: ${status ?? 'none'})`);
    await sleep(100);
  }
};
