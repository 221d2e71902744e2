import { createClient, createSentinel } from 'redis';
import type { RedisConnection, SentinelRedisConnection, SingleRedisConnection } from '../config.ts';

/**
 * What the counter store needs of a connection to Redis, whichever way Redis runs: one server,
 * or a master found through Sentinel. One factory per mode below; `createRedisClient` picks one.
 */
export interface RedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  /** Subscribed; the client itself subscribes again after a reconnection or a failover. */
  readonly isPubSubActive: boolean;
  /**
   * The client may send a command a second time by itself (Sentinel mode: after a disconnect or a
   * READONLY reply, on the new master), so a write that must count once needs an idempotency marker.
   */
  readonly resendsCommands: boolean;
  sendCommand<T>(args: string[]): Promise<T>;
  connect(): Promise<unknown>;
  /** Waits for the commands in flight. */
  close(): Promise<unknown>;
  /** At once, dropping the commands in flight. */
  destroy(): void;
  /** Another connection to the same Redis (pub/sub needs one of its own). */
  duplicate(): RedisClient;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): void;
  on(event: 'ready', listener: () => void): void;
}

export interface RedisClientSettings {
  /** Upper bound on connecting to one node (ms). */
  connectTimeoutMs: number;
  /** How long to wait before the nth reconnection attempt (ms). */
  reconnectDelay: (retries: number) => number;
}

// The settings every connection to a Redis node gets, in either mode.
const nodeOptions = (connection: RedisConnection, settings: RedisClientSettings) => ({
  username: connection.username,
  password: connection.password,
  database: connection.database,
  // The app's Redis user may run only PING and the functions; CLIENT SETINFO is not among it.
  disableClientInfo: true,
  // Without this, commands issued while Redis is away would queue without bound and all
  // run at reconnect: late, and after their clients were already told 503.
  disableOfflineQueue: true,
  // A stalled Redis (SIGSTOP, overload) keeps the socket open, so replies stop but nothing
  // errors: bound what can wait (the store gives up on each command at its own deadline).
  commandsQueueMaxLength: 10_000,
  socket: { connectTimeout: settings.connectTimeoutMs, reconnectStrategy: settings.reconnectDelay },
});

// No per-command timeout from node-redis (0 turns off its 5 s default): it only covers a command
// not yet written, and commands are written at once (the queue bound above fits in the socket
// buffer), while the store's deadline covers the whole wait. It costs an AbortSignal.timeout per
// command that lives on, with its timer, until it fires: thousands alive under load, ~80 MB more
// peak RSS per replica and ~25 % of the CPU time per request.
const commandOptions = { timeout: 0 };

const singleClient = (connection: SingleRedisConnection, settings: RedisClientSettings): RedisClient => {
  const client = createClient({ url: connection.url, ...nodeOptions(connection, settings), commandOptions });
  const adapt = (redis: typeof client): RedisClient => ({
    get isOpen() {
      return redis.isOpen;
    },
    get isReady() {
      return redis.isReady;
    },
    get isPubSubActive() {
      return redis.isPubSubActive;
    },
    resendsCommands: false,
    sendCommand: <T>(args: string[]) => redis.sendCommand<T>(args),
    connect: () => redis.connect(),
    close: () => redis.close(),
    destroy: () => {
      redis.destroy();
    },
    duplicate: () => adapt(redis.duplicate()),
    subscribe: (channel, listener) => redis.subscribe(channel, listener),
    on: (event: 'error' | 'ready', listener: (error: Error) => void) => {
      redis.on(event, listener);
    },
  });
  return adapt(client);
};

const sentinelClient = (connection: SentinelRedisConnection, settings: RedisClientSettings): RedisClient => {
  const sentinel = createSentinel({
    name: connection.masterName,
    sentinelRootNodes: connection.sentinels,
    // Every command goes to the master, reads too: a replica's count may lag behind.
    nodeClientOptions: nodeOptions(connection, settings),
    // The sentinels know the same user (redis/start-sentinel.sh), allowed only to ask them.
    sentinelClientOptions: {
      username: connection.username,
      password: connection.password,
      disableClientInfo: true,
      socket: { connectTimeout: settings.connectTimeoutMs },
    },
    commandOptions,
    // Connection problems of the master's clients reach the store's log too.
    passthroughClientErrorEvents: true,
    // A safety net besides the sentinels' switch-master events: ask them again every 5 s, so a
    // client that missed an event (its sentinel died mid-failover) still finds the new master.
    scanInterval: 5000,
  });
  const adapt = (redis: typeof sentinel): RedisClient => {
    let subscribed = false;
    return {
      get isOpen() {
        return redis.isOpen;
      },
      get isReady() {
        return redis.isReady;
      },
      // The Sentinel client's pub/sub connection moves to each new master and subscribes again.
      get isPubSubActive() {
        return subscribed;
      },
      resendsCommands: true,
      sendCommand: <T>(args: string[]) => redis.sendCommand<T>(false, args),
      connect: () => redis.connect(),
      close: () => redis.close(),
      destroy: () => {
        redis.destroy().catch(() => undefined);
      },
      duplicate: () => adapt(redis.duplicate()),
      subscribe: async (channel, listener) => {
        await redis.subscribe(channel, listener);
        subscribed = true;
      },
      on: (event: 'error' | 'ready', listener: (error: Error) => void) => {
        // Some of the Sentinel client's errors are strings.
        redis.on(event, (error: unknown) => {
          listener(error instanceof Error ? error : new Error(String(error)));
        });
      },
    };
  };
  return adapt(sentinel);
};

/** A client for Redis as the configuration describes it: one server, or a master behind Sentinel. */
export const createRedisClient = (connection: RedisConnection, settings: RedisClientSettings): RedisClient => {
  switch (connection.kind) {
    case 'sentinel':
      return sentinelClient(connection, settings);
    case undefined:
    case 'single':
      return singleClient(connection, settings);
  }
};
