import { setTimeout as sleep } from 'node:timers/promises';
import type { StoreClientSettings } from './store-client.ts';

/**
 * Tries `connect` until it works or `isClosed()` says the store closed, reporting each failure
 * and pausing as the store's reconnectDelay says: for the clients whose connect() gives up
 * (node-redis's Cluster client after one try, its Sentinel client after 16 rounds).
 */
export const keepConnecting = async (connect: () => Promise<unknown>, settings: StoreClientSettings, isClosed: () => boolean): Promise<void> => {
  for (let retries = 0; !isClosed(); retries += 1) {
    try {
      await connect();
      return;
    } catch (error) {
      settings.onError(error instanceof Error ? error : new Error(String(error)));
      await sleep(settings.reconnectDelay(retries));
    }
  }
};
