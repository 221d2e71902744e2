import { createClient } from 'redis';
import type { RedisConnection, SingleRedisConnection } from '../config.ts';
import { createClusterStoreClient } from './cluster-client.ts';
import { createSentinelStoreClient } from './sentinel-client.ts';

/**
 * What the store needs of its connection to Redis, the same for one Redis and for a Redis Cluster
 * (cluster-client.ts): commands routed by their first key, the readiness check on every master,
 * and one pub/sub channel.
 */
export interface StoreClient {
  readonly isReady: boolean;
  /**
   * The client may send a command a second time by itself (Sentinel: after a disconnect or a
   * READONLY reply, on the new master), so a write that must count once needs a marker.
   */
  readonly resendsCommands: boolean;
  /** Starts connecting and keeps retrying by itself; never rejects (see StoreClientEvents). */
  connect(): void;
  /** One command to the Redis that holds `firstKey`: in a Cluster, the master of its slot (any node without a key). */
  send<T>(firstKey: string | undefined, command: string[]): Promise<T>;
  /** One read-only command to every master at once (the one Redis when not a Cluster). */
  sendToEveryMaster<T>(command: string[]): Promise<T[]>;
  /** Subscribes on a connection of its own, again after reconnections; resolves to what ends it. */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface StoreClientSettings {
  /** The store's deadline for one command; connecting may take as long, and at least a second. */
  timeoutMs: number;
  reconnectDelay: (retries: number) => number;
  /** A connection problem (each attempt); pub/sub connections report none (the main one does). */
  onError: (error: Error) => void;
  /** Connected and usable (again). */
  onReady: () => void;
  onSubscribeError: (error: unknown) => void;
}

/** Options every connection to a Redis node gets, alone or in a Cluster. */
export type NodeOptions = ReturnType<typeof nodeOptions>;
const nodeOptions = (connection: RedisConnection, settings: StoreClientSettings) => ({
  username: connection.username,
  password: connection.password,
  // The app's Redis user may run only PING and the functions; CLIENT SETINFO is not among it.
  disableClientInfo: true,
  // Without this, commands issued while Redis is away would queue without bound and all
  // run at reconnect: late, and after their clients were already told 503.
  disableOfflineQueue: true,
  // A stalled Redis (SIGSTOP, overload) keeps the socket open, so replies stop but nothing
  // errors: bound what can wait; the store gives up on each command at its own deadline.
  commandsQueueMaxLength: 10_000,
  // No per-command timeout from node-redis (0 turns off its 5 s default): it only covers a
  // command not yet written, and commands are written at once (the queue bound above fits in
  // the socket buffer), while the store's deadline covers the whole wait. It costs an
  // AbortSignal.timeout per command that lives on, with its timer, until it fires: thousands
  // alive under load, ~80 MB more peak RSS per replica and ~25 % of the CPU time per request.
  commandOptions: { timeout: 0 },
  socket: { connectTimeout: Math.max(settings.timeoutMs, 1000), reconnectStrategy: settings.reconnectDelay },
});

const createSingleStoreClient = (connection: SingleRedisConnection, settings: StoreClientSettings): StoreClient => {
  const client = createClient({ ...nodeOptions(connection, settings), url: connection.url, database: connection.database });
  client.on('error', settings.onError);
  client.on('ready', settings.onReady);
  return {
    get isReady() {
      return client.isReady;
    },
    resendsCommands: false,
    connect() {
      // connect() keeps retrying by itself (reconnectStrategy); it rejects only when closed.
      client.connect().catch(settings.onError);
    },
    send: <T>(_firstKey: string | undefined, command: string[]) => client.sendCommand<T>(command),
    sendToEveryMaster: async <T>(command: string[]) => [await client.sendCommand<T>(command)],
    async subscribe(channel, listener) {
      // Pub/sub needs a connection of its own; node-redis subscribes again after a reconnection.
      const subscriber = client.duplicate();
      subscriber.on('error', () => {
        // The main client logs connection problems; this one follows the same Redis.
      });
      // Once ended, a connect still pending rejects: that is the end, not a problem to report.
      let ended = false;
      const failed = (error: unknown) => { if (!ended) settings.onSubscribeError(error); };
      subscriber.on('ready', () => {
        if (!subscriber.isPubSubActive) subscriber.subscribe(channel, listener).catch(failed);
      });
      subscriber.connect().catch(failed);
      return async () => {
        ended = true;
        if (subscriber.isReady) await subscriber.close().catch(() => { subscriber.destroy(); });
        else if (subscriber.isOpen) subscriber.destroy();
      };
    },
    async close() {
      if (client.isReady) await client.close().catch(() => { client.destroy(); });
      else if (client.isOpen) client.destroy();
    },
  };
};

/** A master behind Sentinel, a Redis Cluster (REDIS_CLUSTER_NODES), or one Redis. */
export const createStoreClient = (connection: RedisConnection, settings: StoreClientSettings): StoreClient => {
  if (connection.kind === 'sentinel') return createSentinelStoreClient(connection, nodeOptions(connection, settings), settings);
  if (connection.clusterNodes) return createClusterStoreClient(connection.clusterNodes, nodeOptions(connection, settings), settings);
  return createSingleStoreClient(connection, settings);
};
