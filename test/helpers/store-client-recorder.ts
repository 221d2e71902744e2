import type { StoreClientSettings } from '../../src/store/store-client.ts';

/** Settings for a store client that record what it reported: errors, readiness, reconnects. */
export const recorder = (timeoutMs = 500) => {
  const seen = { errors: [] as Error[], subscribeErrors: [] as unknown[], readies: 0, delays: [] as number[] };
  const settings: StoreClientSettings = {
    timeoutMs,
    reconnectDelay: (retries) => {
      seen.delays.push(retries);
      return 50;
    },
    onError: (error) => seen.errors.push(error),
    onReady: () => (seen.readies += 1),
    onSubscribeError: (error) => seen.subscribeErrors.push(error),
  };
  return { seen, settings };
};

/** How a promise ended within ms, or 'pending'. */
export const settle = <T>(promise: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown } | 'pending'> =>
  Promise.race([
    promise.then((value) => ({ value }), (error: unknown) => ({ error })),
    new Promise<'pending'>((resolve) => setTimeout(() => { resolve('pending'); }, ms)),
  ]);
