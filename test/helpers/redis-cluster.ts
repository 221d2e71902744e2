import clusterKeySlot from 'cluster-key-slot';
import { createClient } from 'redis';
import { RedisServer } from './redis-server.ts';
import { describeRun, run } from './run.ts';
import { waitFor } from './wait.ts';

export const CLUSTER_ADMIN = { username: 'admin', password: 'admin-pw' };
export const CLUSTER_COUNTER = { username: 'counter', password: 'counter-pw' };

/** One line of CLUSTER NODES. */
export interface NodeEntry {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** Its master's id (replicas). */
  masterId: string;
  failed: boolean;
  slots: [number, number][];
}

const parseNodes = (text: string): NodeEntry[] =>
  text.trim().split('\n').map((line) => {
    const [id = '', address = '', flags = '', masterId = '', , , , , ...slots] = line.split(' ');
    return {
      id,
      port: Number(/:(\d+)@/.exec(address)?.[1]),
      role: flags.includes('master') ? 'master' : 'replica',
      masterId,
      failed: /fail/.test(flags) || flags.includes('noaddr'),
      slots: slots.filter((slot) => !slot.startsWith('[')).map((slot) => {
        const [from = 0, to = from] = slot.split('-').map(Number);
        return [from, to] as [number, number];
      }),
    };
  });

/**
 * A Redis Cluster on this host: `masters` masters with one replica each, every node started as in
 * the stack (start-redis.sh with REDIS_CLUSTER=yes, the counter user, an admin user) and the
 * cluster formed with `redis-cli --cluster create`, as docs/redis-cluster.md tells operators.
 */
export class LocalRedisCluster {
  readonly nodes: RedisServer[];

  constructor(masters = 3, nodeTimeoutMs = 2000) {
    this.nodes = Array.from({ length: masters * 2 }, () => new RedisServer({
      ...CLUSTER_COUNTER,
      asInTheStack: { adminPassword: CLUSTER_ADMIN.password, cluster: { nodeTimeoutMs, replicationPassword: 'replication-pw' } },
    }));
  }

  get seeds(): { host: string; port: number }[] {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  async start(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.start()));
    const args = ['--user', CLUSTER_ADMIN.username, '--cluster', 'create', ...this.nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '1', '--cluster-yes'];
    const created = await run('redis-cli', args, { env: { ...process.env, REDISCLI_AUTH: CLUSTER_ADMIN.password }, timeoutMs: 60_000 });
    if (created.code !== 0 || !created.stdout.includes('All 16384 slots covered')) throw new Error(describeRun('redis-cli', args, created));
    await this.waitHealthy(30_000);
  }

  /** Every node sees the whole cluster as ok, with `masters` masters each followed by an in-sync replica. */
  async waitHealthy(timeoutMs: number): Promise<number> {
    return waitFor('the cluster healthy', async () => {
      for (const node of this.nodes) {
        const info = String(await this.admin(node, 'CLUSTER', 'INFO'));
        if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${this.nodes.length}`)) return false;
      }
      const entries = await this.entries();
      const masters = entries.filter((entry) => entry.role === 'master' && entry.slots.length > 0 && !entry.failed);
      if (masters.length !== this.nodes.length / 2) return false;
      for (const master of masters) {
        const replication = String(await this.admin(this.node(master.port), 'INFO', 'replication'));
        if (!/slave0:.*state=online/.test(replication)) return false;
      }
      return true;
    }, timeoutMs, 200);
  }

  /** Runs a command as the admin user on one node. */
  admin(node: RedisServer, ...args: string[]): Promise<unknown> {
    return node.command(args, CLUSTER_ADMIN);
  }

  /** Reads a key on a replica (READONLY first, else it answers MOVED), as the admin user. */
  async readOnReplica(node: RedisServer, ...args: string[]): Promise<unknown> {
    const client = createClient({ url: node.url, ...CLUSTER_ADMIN, socket: { reconnectStrategy: false, connectTimeout: 1000 } });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.sendCommand(['READONLY']);
      return await client.sendCommand(args);
    } finally {
      client.destroy();
    }
  }

  node(port: number): RedisServer {
    const node = this.nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no node on port ${port}`);
    return node;
  }

  /** The cluster's layout as one live node sees it. */
  async entries(from?: RedisServer): Promise<NodeEntry[]> {
    for (const node of from ? [from] : this.nodes) {
      try {
        return parseNodes(String(await this.admin(node, 'CLUSTER', 'NODES')));
      } catch {
        // A node that is down: ask the next.
      }
    }
    throw new Error('no node answers CLUSTER NODES');
  }

  /** The master that serves a key's slot, and its replica (none while it is down). */
  async shardOf(key: string): Promise<{ slot: number; master: NodeEntry; replica: NodeEntry | undefined }> {
    const slot = clusterKeySlot(key);
    const entries = await this.entries();
    const master = entries.find((entry) => entry.role === 'master' && !entry.failed && entry.slots.some(([from, to]) => slot >= from && slot <= to));
    const replica = entries.find((entry) => entry.role === 'replica' && !entry.failed && entry.masterId === master?.id);
    if (!master) throw new Error(`no master for slot ${slot}`);
    return { slot, master, replica };
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.destroy()));
  }
}
