import { setTimeout as sleep } from 'node:timers/promises';
import { createCluster } from 'redis';
import type { ClusterNode } from '../config.ts';
import { keepConnecting } from './keep-connecting.ts';
import type { NodeOptions, StoreClient, StoreClientSettings } from './store-client.ts';

const TRYAGAIN_RETRIES = 5;
const TRYAGAIN_PAUSE_MS = 20;

/**
 * The store's connection to a Redis Cluster (REDIS_CLUSTER_NODES). Every call of the counter
 * functions names its keys, and all keys of one call share a hash tag (see keys.ts), so one call
 * is one slot: node-redis sends it to that slot's master, follows MOVED and ASK while slots move,
 * and learns the new layout after a failover.
 */
export const createClusterStoreClient = (seeds: ClusterNode[], options: NodeOptions, settings: StoreClientSettings): StoreClient => {
  const { commandOptions, ...node } = options;
  const cluster = createCluster({
    rootNodes: seeds.map((seed) => ({ socket: { host: seed.host, port: seed.port } })),
    // Every connection to a node (found through the seeds) gets these: credentials, deadlines.
    defaults: node,
    // The cluster passes its own command options to each node's client, overriding the node's:
    // without these, node-redis would give every command a 5 s AbortSignal.timeout of its own.
    commandOptions,
    // Reads go to masters too: a replica may lag behind a count just made, and reading from
    // replicas would need the READONLY permission.
    useReplicas: false,
    // A node that stops answering (a crashed master) makes the client ask the cluster for its
    // layout again after this long, and again as long as it stays away, so that after a failover
    // its slots are sent to the new master (node-redis waits 5 s by default).
    topologyRefreshOnReconnectionAttemptStrategy: 1000,
  });
  cluster.on('error', settings.onError);
  // Each node's connection reports its own problems; the store logs each distinct one once.
  cluster.on('node-error', settings.onError);

  let closed = false;
  let connected: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => { connected = resolve; });
  return {
    get isReady() {
      return cluster.isReady;
    },
    // MOVED and ASK re-send a command no node ran; after a disconnect nothing is re-sent.
    resendsCommands: false,
    connect() {
      // Finding the cluster (asking a seed for its layout) is tried once per call; unlike one
      // Redis's client it does not retry, so keep trying until it works or the store closes.
      void keepConnecting(async () => {
        await cluster.connect();
        connected();
        settings.onReady();
      }, settings, () => closed);
    },
    async send<T>(firstKey: string | undefined, command: string[]): Promise<T> {
      // While a slot moves, a call whose keys are split between the two nodes is refused with
      // TRYAGAIN (not run): try again a few times, briefly, before it becomes a 503.
      for (let retry = 0; ; retry += 1) {
        try {
          return await cluster.sendCommand<T>(firstKey, false, command);
        } catch (error) {
          if (retry >= TRYAGAIN_RETRIES || !(error instanceof Error) || !error.message.startsWith('TRYAGAIN')) throw error;
          await sleep(TRYAGAIN_PAUSE_MS);
        }
      }
    },
    // Functions are loaded per node (start-redis.sh), so each master is asked, not a random one.
    sendToEveryMaster: <T>(command: string[]) =>
      Promise.all(cluster.masters.map(async (master) => (await cluster.nodeClient(master)).sendCommand<T>(command))),
    subscribe(channel, listener) {
      // A PUBLISH reaches every node of a Cluster, so one connection to any node hears every
      // replica's announcements; node-redis moves it to another node when its node leaves.
      // Subscribes once the cluster is found, as one Redis's subscriber does once connected.
      const onMessage = (message: string | Buffer) => { listener(String(message)); };
      let subscribed = false;
      ready.then(() => cluster.subscribe(channel, onMessage)).then(() => { subscribed = true; }, settings.onSubscribeError);
      return Promise.resolve(async () => {
        if (subscribed && cluster.isOpen) await cluster.unsubscribe(channel, onMessage);
      });
    },
    async close() {
      closed = true;
      if (cluster.isOpen) await cluster.close().catch(() => { cluster.destroy(); });
    },
  };
};
