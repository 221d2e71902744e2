import { createSentinel } from 'redis';
import type { SentinelRedisConnection } from '../config.ts';
import { keepConnecting } from './keep-connecting.ts';
import type { NodeOptions, StoreClient, StoreClientSettings } from './store-client.ts';

// Some of the Sentinel client's errors are strings.
const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/**
 * The store's connection to a master found through Sentinel (REDIS_SENTINELS,
 * REDIS_SENTINEL_MASTER): node-redis's Sentinel client asks the sentinels which node is the
 * master, follows their switch-master events and moves its connections (pub/sub too) to each new
 * master. It re-sends a command cut off by a failover (a disconnect, READONLY) on the new
 * master, so the store gives every write an idempotency marker in this mode (`resendsCommands`).
 */
export const createSentinelStoreClient = (connection: SentinelRedisConnection, options: NodeOptions, settings: StoreClientSettings): StoreClient => {
  const { commandOptions, ...node } = options;
  const make = () =>
    createSentinel({
      name: connection.masterName,
      sentinelRootNodes: connection.sentinels,
      // Every command goes to the master, reads too: a replica's count may lag behind.
      nodeClientOptions: { ...node, database: connection.database },
      // The sentinels know the same user (redis/start-sentinel.sh), allowed only to ask them.
      sentinelClientOptions: {
        username: connection.username,
        password: connection.password,
        disableClientInfo: true,
        socket: { connectTimeout: node.socket.connectTimeout },
      },
      commandOptions,
      // Connection problems of the master's clients reach the store's log too.
      passthroughClientErrorEvents: true,
      // A safety net besides the sentinels' switch-master events: ask them again every 5 s, so a
      // client that missed an event (its sentinel died mid-failover) still finds the new master.
      scanInterval: 5000,
    });
  const sentinel = make();
  sentinel.on('error', (error: unknown) => {
    settings.onError(asError(error));
  });
  sentinel.on('ready', settings.onReady);

  const close = async (client: ReturnType<typeof make>) => {
    if (client.isReady) await client.close().catch(() => client.destroy().catch(() => undefined));
    else if (client.isOpen) await client.destroy().catch(() => undefined);
  };

  let closed = false;

  return {
    get isReady() {
      return sentinel.isReady;
    },
    resendsCommands: true,
    connect() {
      // node-redis asks the sentinels 16 rounds, a second apart, then gives up and closes the
      // client: a replica started before its sentinels would never be ready. Keep asking.
      void keepConnecting(() => sentinel.connect(), settings, () => closed);
    },
    send: <T>(_firstKey: string | undefined, command: string[]) => sentinel.sendCommand<T>(false, command),
    sendToEveryMaster: async <T>(command: string[]) => [await sentinel.sendCommand<T>(false, command)],
    async subscribe(channel, listener) {
      // A client of its own for pub/sub; it follows each new master and subscribes there again.
      const subscriber = sentinel.duplicate();
      subscriber.on('error', () => {
        // The main client logs connection problems; this one follows the same master.
      });
      let subscribed = false;
      subscriber.on('ready', () => {
        if (subscribed) return;
        subscribed = true;
        subscriber.subscribe(channel, listener).catch((error: unknown) => {
          subscribed = false;
          settings.onSubscribeError(error);
        });
      });
      subscriber.connect().catch(settings.onSubscribeError);
      return () => close(subscriber);
    },
    close: () => {
      closed = true;
      return close(sentinel);
    },
  };
};
