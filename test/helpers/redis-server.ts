import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { freePort } from './free-port.ts';
import { describeRun, run } from './run.ts';

const BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const REDIS_DIR = fileURLToPath(new URL('../../redis/', import.meta.url));
/** The project's Redis image (redis/Dockerfile), built for the tests when there is no redis-server. */
const TEST_IMAGE = 'visit-counter-test-redis';

/**
 * Where the tests' Redis servers come from: the redis-server binary when one runs here (PATH, or
 * REDIS_SERVER_BIN), otherwise the project's own Redis image (redis/Dockerfile on REDIS_IMAGE),
 * built once and run with Docker. Rejects, so the tests fail and never skip, when neither works.
 */
let runner: Promise<'binary' | 'docker'> | undefined;
const chooseRunner = (): Promise<'binary' | 'docker'> =>
  (runner ??= (async () => {
    const probe = spawnSync(BIN, ['--version'], { encoding: 'utf8' });
    if (!probe.error && probe.status === 0) return 'binary';
    const args = ['build', '--quiet', '--tag', TEST_IMAGE];
    if (process.env.REDIS_IMAGE) args.push('--build-arg', `REDIS_IMAGE=${process.env.REDIS_IMAGE}`);
    const built = await run('docker', [...args, REDIS_DIR], { timeoutMs: 10 * 60_000 });
    if (built.code !== 0) {
      throw new Error(
        `The integration tests need a real Redis: "${BIN}" did not run, and building the project's Redis image ` +
          `to run it with Docker failed. Install redis-server (or set REDIS_SERVER_BIN), or start Docker ` +
          `(REDIS_IMAGE names the base image where the official one cannot be pulled).\n${describeRun('docker', [...args, REDIS_DIR], built)}`,
      );
    }
    process.stderr.write(`# no "${BIN}" here: the integration tests run Redis from the project's image (${TEST_IMAGE}) with Docker\n`);
    return 'docker';
  })());

interface RedisOptions {
  /** Credentials the helper itself uses; with no username, --requirepass sets them on the default user. */
  username?: string;
  password?: string;
  /** redis.conf-style extra arguments, e.g. ['--appendonly', 'yes']. */
  args?: string[];
  /**
   * Start it the way the Compose stack does: redis/start-redis.sh with redis/redis.conf and the
   * counter user's ACL, the password from a secret file. `username`/`password` must be counter's.
   */
  asInTheStack?: {
    appendfsync?: string;
    adminPassword?: string;
    /** REDIS_MAXMEMORY, e.g. '4mb'; redis.conf's default (400mb) when unset. */
    maxmemory?: string;
    /** The password file's text exactly (line ends and all); `password` and a newline when unset. */
    passwordFileText?: string;
    /** A Redis Cluster node (REDIS_CLUSTER=yes), not yet part of a cluster: see redis-cluster.ts. */
    cluster?: { nodeTimeoutMs: number; replicationPassword: string };
    /** More of start-redis.sh's settings (e.g. REDIS_REPLICA_OF); read at each start. */
    env?: Record<string, string>;
  };
}

// Servers not yet destroyed. A test process that exits without its after() hooks (process.exit
// from a signal handler, as a runner that stops a file at its first failure does) stops them on
// the way out, so no redis-server outlives the tests that started it.
const undestroyed = new Set<RedisServer>();
process.once('exit', () => {
  for (const server of undestroyed) server.killNow();
});

/**
 * A real Redis on a free loopback port with its data in a temporary folder; restartable on the
 * same port with the same data. A redis-server process, or a container of the project's image.
 */
export class RedisServer {
  port = 0;
  /** The cluster bus port of a Cluster node (asInTheStack.cluster). */
  busPort = 0;
  private folder: string | undefined;
  private process: ChildProcess | undefined;
  /** The running container's name, when Redis runs in Docker. */
  private container: string | undefined;
  private log = '';
  private readonly options: RedisOptions;

  constructor(options: RedisOptions = {}) {
    this.options = options;
  }

  /** Its data folder (made at the first start): the tests read and write its files directly. */
  get dir(): string {
    return (this.folder ??= mkdtempSync(join(tmpdir(), 'visit-counter-redis-')));
  }

  /** The counter user's password file, when started asInTheStack (the app may read it too). */
  get passwordFile(): string {
    return join(this.dir, 'redis_password');
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const how = await chooseRunner();
    if (this.port === 0) this.port = await freePort();
    const { asInTheStack, password } = this.options;
    if (asInTheStack?.cluster) {
      // Cluster nodes announce the address they see themselves at, which a published container port is not.
      if (how === 'docker') throw new Error(`The Redis Cluster tests need redis-server here ("${BIN}" did not run): install it or set REDIS_SERVER_BIN`);
      if (this.busPort === 0) this.busPort = await freePort();
      writeFileSync(join(this.dir, 'redis_replication_password'), `${asInTheStack.cluster.replicationPassword}\n`);
    }
    if (asInTheStack) writeFileSync(this.passwordFile, asInTheStack.passwordFileText ?? `${password ?? ''}\n`);
    if (asInTheStack?.adminPassword) writeFileSync(join(this.dir, 'redis_admin_password'), `${asInTheStack.adminPassword}\n`);
    const child = how === 'binary' ? this.spawnBinary() : this.spawnContainer();
    undestroyed.add(this);
    child.stdout?.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    this.process = child;
    await this.waitUntilReady();
  }

  /** redis-server's arguments for a throwaway server, listening on `bind` with its data in `dir`. */
  private serverArgs(bind: string, dir: string): string[] {
    const args = ['--port', String(this.port), '--bind', bind, '--dir', dir, '--save', '', '--appendonly', 'no'];
    if (this.options.password && !this.options.username) args.push('--requirepass', this.options.password);
    return [...args, ...(this.options.args ?? [])];
  }

  /** What start-redis.sh reads, as the Compose stack sets it. */
  private stackEnv(dataDir: string): Record<string, string> {
    return {
      REDIS_DATA_DIR: dataDir,
      REDIS_PORT: String(this.port),
      REDIS_PASSWORD_FILE: join(dataDir, 'redis_password'),
      REDIS_APPENDFSYNC: this.options.asInTheStack?.appendfsync ?? 'everysec',
      ...(this.options.asInTheStack?.maxmemory ? { REDIS_MAXMEMORY: this.options.asInTheStack.maxmemory } : {}),
      ...(this.options.asInTheStack?.adminPassword ? { REDIS_ADMIN_PASSWORD_FILE: join(dataDir, 'redis_admin_password') } : {}),
      ...(this.options.asInTheStack?.cluster
        ? {
            REDIS_CLUSTER: 'yes',
            REDIS_CLUSTER_BUS_PORT: String(this.busPort),
            REDIS_CLUSTER_NODE_TIMEOUT: String(this.options.asInTheStack.cluster.nodeTimeoutMs),
            REDIS_REPLICATION_PASSWORD_FILE: join(dataDir, 'redis_replication_password'),
          }
        : {}),
      ...this.options.asInTheStack?.env,
    };
  }

  private spawnBinary(): ChildProcess {
    if (!this.options.asInTheStack) return spawn(BIN, this.serverArgs('127.0.0.1', this.dir), { stdio: ['ignore', 'pipe', 'pipe'] });
    return spawn('sh', [join(REDIS_DIR, 'start-redis.sh')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: `${join(BIN, '..')}:${process.env.PATH ?? ''}`,
        REDIS_CONF_DIR: REDIS_DIR,
        REDIS_BIND: '127.0.0.1',
        ...this.stackEnv(this.dir),
      },
    });
  }

  // The folder is mounted as /data and the container runs as this user, so the tests read and
  // write its files as with a local server. The port is published on loopback only; inside the
  // container Redis listens on every address, and without a password must not refuse the host.
  private spawnContainer(): ChildProcess {
    this.container = `visit-counter-test-redis-${randomBytes(6).toString('hex')}`;
    const args = ['run', '--rm', '--name', this.container, '--publish', `127.0.0.1:${this.port}:${this.port}`];
    args.push('--user', `${process.getuid?.() ?? 1000}:${process.getgid?.() ?? 1000}`, '--volume', `${this.dir}:/data`);
    if (this.options.asInTheStack) {
      // The image's own start-redis.sh, redis.conf and ACL.
      for (const [name, value] of Object.entries(this.stackEnv('/data'))) args.push('--env', `${name}=${value}`);
      args.push(TEST_IMAGE);
    } else {
      args.push(TEST_IMAGE, 'redis-server', ...this.serverArgs('0.0.0.0', '/data'), '--protected-mode', 'no');
    }
    return spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.process?.exitCode !== null) throw new Error(`redis-server exited:\n${this.log}`);
      try {
        // The app needs the counter functions: start-redis.sh loads them just after Redis answers;
        // a plain server gets them here.
        if (this.options.asInTheStack) await this.command(['FCALL_RO', 'counter_version', '0']);
        else await this.loadFunctions();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error(`redis-server did not become ready:\n${this.log}`);
  }

  /** Runs one command on a short-lived connection of its own (as `as`, else the helper's own user). */
  async command(args: string[], as?: { username: string; password: string }): Promise<unknown> {
    const client = createClient({
      url: this.url,
      username: as?.username ?? this.options.username,
      password: as?.password ?? this.options.password,
      socket: { reconnectStrategy: false, connectTimeout: 1000 },
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await client.sendCommand(args);
    } finally {
      client.destroy();
    }
  }

  /** The seed counter /count (default/visits), as the functions keep it; 0 before the first visit. */
  async visits(): Promise<number> {
    return Number((await this.command(['HGET', 'c:{default/visits}', 'v'])) ?? 0);
  }

  /** One hit on default/visits through the counter function, as the app sends it; resolves with the total. */
  async hit(): Promise<number> {
    const reply = (await this.command(['FCALL', 'counter_hit', '5', 'c:{default/visits}', 'u:{default/visits}:20260101', 'h:{default/visits}:1', 'h:{default/visits}:0', 'h:{default/visits}:2', String(Date.now()), '20260101', '0', '0', '60', '30', '', ''])) as number[];
    return Number(reply[0]);
  }

  /** Loads redis/functions/counter.lua (at every start; start-redis.sh does it for a server started asInTheStack). */
  async loadFunctions(): Promise<void> {
    await this.command(['FUNCTION', 'LOAD', 'REPLACE', readFileSync(join(REDIS_DIR, 'functions', 'counter.lua'), 'utf8')]);
  }

  /** Sends Redis a signal: to the process, or to the container's (Redis is its PID 1). */
  private async signal(signal: NodeJS.Signals): Promise<void> {
    if (this.container === undefined) {
      this.process?.kill(signal);
      return;
    }
    const sent = await run('docker', ['kill', '--signal', signal, this.container]);
    // A container that has just exited (and is removed) cannot be signalled; nothing to do then.
    if (sent.code !== 0 && this.process?.exitCode === null) throw new Error(describeRun('docker', ['kill', '--signal', signal, this.container], sent));
  }

  /** Stops Redis with a signal and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await this.signal(signal);
    await exited;
  }

  /** Freezes Redis (SIGSTOP): connections stay open, nothing is answered. */
  async pause(): Promise<void> {
    await this.signal('SIGSTOP');
  }

  async resume(): Promise<void> {
    await this.signal('SIGCONT');
  }

  async destroy(): Promise<void> {
    await this.resume();
    await this.stop('SIGKILL');
    if (this.folder !== undefined) rmSync(this.folder, { recursive: true, force: true });
    undestroyed.delete(this);
  }

  /** destroy() for a process on its way out: synchronous, nothing awaited. */
  killNow(): void {
    if (this.container !== undefined) spawnSync('docker', ['rm', '--force', this.container], { stdio: 'ignore' });
    else this.process?.kill('SIGKILL');
    if (this.folder !== undefined) rmSync(this.folder, { recursive: true, force: true });
  }
}
