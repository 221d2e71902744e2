import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import type { SentinelRedisConnection } from '../../src/config.ts';
import { freePort } from './free-port.ts';
import { describeRun, run } from './run.ts';
import { RedisServer } from './redis-server.ts';
import { waitFor } from './wait.ts';

const REDIS_DIR = fileURLToPath(new URL('../../redis/', import.meta.url));
const BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';

export const HA_COUNTER = { username: 'counter', password: 'ha-counter-pw' };
export const HA_ADMIN = { username: 'admin', password: 'ha-admin-pw' };
export const SENTINEL_USER = { username: 'sentinel', password: 'ha-sentinel-pw' };
export const MASTER_NAME = 'counter';

const sentinels = new Set<SentinelProcess>();
process.once('exit', () => {
  for (const sentinel of sentinels) sentinel.killNow();
});

/** A real Redis Sentinel on a free loopback port, started by redis/start-sentinel.sh as the Compose stack starts it. */
export class SentinelProcess {
  port = 0;
  private process: ChildProcess | undefined;
  private log = '';
  readonly dir = mkdtempSync(join(tmpdir(), 'visit-counter-sentinel-'));

  private readonly env: Record<string, string>;

  constructor(env: Record<string, string>) {
    this.env = env;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const child = spawn('sh', [join(REDIS_DIR, 'start-sentinel.sh')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: `${join(BIN, '..')}:${process.env.PATH ?? ''}`, SENTINEL_DIR: this.dir, SENTINEL_PORT: String(this.port), SENTINEL_BIND: '127.0.0.1', ...this.env },
    });
    sentinels.add(this);
    child.stdout.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    this.process = child;
    await waitFor(`sentinel on ${this.port}`, async () => {
      if (child.exitCode !== null) throw new Error(`sentinel exited:\n${this.log}`);
      return (await this.command(['PING'])) === 'PONG';
    }, 10_000, 50);
  }

  /** A command as the sentinels' own user (or `as`), on a short-lived connection. */
  async command(args: string[], as: { username: string; password: string } = SENTINEL_USER): Promise<unknown> {
    const client = createClient({ socket: { host: '127.0.0.1', port: this.port, reconnectStrategy: false, connectTimeout: 1000 }, ...as, disableClientInfo: true });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await client.sendCommand(args);
    } finally {
      client.destroy();
    }
  }

  get output(): string {
    return this.log;
  }

  killNow(): void {
    this.process?.kill('SIGKILL');
    sentinels.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One master, two replicas and three sentinels, all real processes on loopback, started by the
 * repository's start-redis.sh and start-sentinel.sh with the Compose stack's HA settings
 * (min-replicas-to-write 1, min-replicas-max-lag 1, the replication and sentinel users).
 */
export class RedisHa {
  readonly nodes: RedisServer[] = [];
  readonly sentinels: SentinelProcess[] = [];
  private readonly secrets = mkdtempSync(join(tmpdir(), 'visit-counter-ha-secrets-'));
  /** Each node's start-redis.sh settings, read at each start. */
  private readonly envs = new Map<RedisServer, Record<string, string>>();

  private readonly sentinelSettings: { downAfterMs: number; failoverTimeoutMs: number };

  constructor(sentinelSettings: { downAfterMs: number; failoverTimeoutMs: number }) {
    this.sentinelSettings = sentinelSettings;
  }

  private nodeEnv(): Record<string, string> {
    return {
      REDIS_REPLICATION_PASSWORD_FILE: join(this.secrets, 'replication_password'),
      REDIS_SENTINEL_PASSWORD_FILE: join(this.secrets, 'sentinel_password'),
      REDIS_MIN_REPLICAS_TO_WRITE: '1',
      REDIS_MIN_REPLICAS_MAX_LAG: '1',
    };
  }

  async start(): Promise<void> {
    writeFileSync(join(this.secrets, 'replication_password'), 'ha-replication-pw\n');
    writeFileSync(join(this.secrets, 'sentinel_password'), `${SENTINEL_USER.password}\n`);
    writeFileSync(join(this.secrets, 'counter_password'), `${HA_COUNTER.password}\n`);
    const node = (env: Record<string, string>) => {
      const server = new RedisServer({ ...HA_COUNTER, asInTheStack: { adminPassword: HA_ADMIN.password, env } });
      this.envs.set(server, env);
      return server;
    };
    const master = node(this.nodeEnv());
    await master.start();
    this.nodes.push(master);
    const replicas = [0, 1].map(() => node({ ...this.nodeEnv(), REDIS_REPLICA_OF: `127.0.0.1 ${master.port}` }));
    await Promise.all(replicas.map((replica) => replica.start()));
    this.nodes.push(...replicas);
    for (let i = 0; i < 3; i += 1) {
      this.sentinels.push(
        new SentinelProcess({
          SENTINEL_MONITOR: `127.0.0.1 ${master.port}`,
          SENTINEL_MASTER_NAME: MASTER_NAME,
          SENTINEL_DOWN_AFTER_MS: String(this.sentinelSettings.downAfterMs),
          SENTINEL_FAILOVER_TIMEOUT_MS: String(this.sentinelSettings.failoverTimeoutMs),
          REDIS_SENTINEL_PASSWORD_FILE: join(this.secrets, 'sentinel_password'),
          REDIS_PASSWORD_FILE: join(this.secrets, 'counter_password'),
        }),
      );
    }
    await Promise.all(this.sentinels.map((sentinel) => sentinel.start()));
    await this.waitHealthy(30_000);
  }

  /** Starts a stopped node again, as a replica of `master` (as an operator restarts a crashed one). */
  async restartAsReplicaOf(node: RedisServer, master: RedisServer): Promise<void> {
    const env = this.envs.get(node);
    if (!env) throw new Error('not a node of this group');
    env.REDIS_REPLICA_OF = `127.0.0.1 ${master.port}`;
    await node.start();
  }

  /** redis/planned-failover.sh, as an operator runs it next to a sentinel. */
  async plannedFailover(): Promise<void> {
    const args = [join(REDIS_DIR, 'planned-failover.sh')];
    const env = { PATH: `${join(BIN, '..')}:${process.env.PATH ?? ''}`, SENTINEL_PORT: String(this.sentinels[0]?.port), SENTINEL_MASTER_NAME: MASTER_NAME, REDIS_SENTINEL_PASSWORD_FILE: join(this.secrets, 'sentinel_password') };
    const result = await run('sh', args, { env, timeoutMs: 20_000 });
    if (result.code !== 0) throw new Error(describeRun('sh', args, result));
  }

  /** What the app is configured with (REDIS_SENTINELS, REDIS_SENTINEL_MASTER, the counter user). */
  get connection(): SentinelRedisConnection {
    return { kind: 'sentinel', sentinels: this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })), masterName: MASTER_NAME, ...HA_COUNTER, database: 0 };
  }

  /** The node every sentinel names as master. */
  async master(): Promise<RedisServer> {
    const answers = await Promise.all(this.sentinels.map(async (s) => ((await s.command(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME])) as string[])[1]));
    const node = this.nodes.find((n) => String(n.port) === answers[0]);
    if (!node || answers.some((port) => port !== answers[0])) throw new Error(`the sentinels disagree on the master: ${answers.join(', ')}`);
    return node;
  }

  admin(node: RedisServer, ...args: string[]): Promise<unknown> {
    return node.command(args, HA_ADMIN);
  }

  /**
   * Healthy: the sentinels agree on a master that has both replicas online and in sync, that
   * every sentinel knows both replicas and the two other sentinels, and none is in a failover.
   */
  async waitHealthy(timeoutMs: number): Promise<number> {
    return waitFor('the HA group healthy', async () => {
      const master = await this.master();
      const info = String(await this.admin(master, 'INFO', 'replication'));
      const online = info.split('\n').filter((line) => /^slave\d+:.*state=online.*lag=[01]\b/.test(line)).length;
      if (!info.includes('role:master') || online !== 2) return false;
      for (const sentinel of this.sentinels) {
        const fields = fieldsOf(await sentinel.command(['SENTINEL', 'MASTER', MASTER_NAME]));
        const field = (name: string) => fields[name];
        if (field('num-slaves') !== '2' || field('num-other-sentinels') !== '2' || field('flags') !== 'master') return false;
      }
      return true;
    }, timeoutMs, 250);
  }

  async destroy(): Promise<void> {
    for (const sentinel of this.sentinels) sentinel.killNow();
    await Promise.all(this.nodes.map((node) => node.destroy()));
    rmSync(this.secrets, { recursive: true, force: true });
  }
}

/** A reply of field names and values: a flat array (RESP2) or a map (RESP3). */
const fieldsOf = (reply: unknown): Record<string, string> => {
  if (!Array.isArray(reply)) return Object.fromEntries(Object.entries(reply as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) fields[String(reply[i])] = String(reply[i + 1]);
  return fields;
};

/** Redis's and Sentinel's binary must be here: Sentinel runs as `redis-server --sentinel`. */
export const assertSentinelBinary = (): void => {
  const probe = spawnSync(BIN, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(`the Sentinel tests need "${BIN}" (Debian's redis-server; .ci/setup-redis.sh installs it)`);
};
