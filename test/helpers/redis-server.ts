import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { freePort } from './free-port.ts';

const BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const REDIS_DIR = fileURLToPath(new URL('../../redis/', import.meta.url));

/** Fails loudly (never skips) when the real server is not installed. */
export const assertRedisInstalled = (): void => {
  const probe = spawnSync(BIN, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`integration tests need a real redis-server on PATH (or REDIS_SERVER_BIN); "${BIN}" did not run`);
  }
};

interface RedisOptions {
  /** Credentials the helper itself uses; with no username, --requirepass sets them on the default user. */
  username?: string;
  password?: string;
  /** A redis.conf to start from; without one, a throwaway server with persistence off. */
  config?: string;
  /** redis.conf-style extra arguments, e.g. ['--appendonly', 'yes']. */
  args?: string[];
  /**
   * Start it the way the Compose stack does: redis/start-redis.sh with redis/redis.conf and the
   * counter user's ACL, the password from a secret file. `username`/`password` must be counter's.
   */
  asInTheStack?: { appendfsync?: string; adminPassword?: string };
}

/** A real redis-server on a free loopback port in a temporary folder; restartable on the same port. */
export class RedisServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'visit-counter-redis-'));
  port = 0;
  private process: ChildProcess | undefined;
  private log = '';
  private readonly options: RedisOptions;

  constructor(options: RedisOptions = {}) {
    this.options = options;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const args = this.options.config
      ? [this.options.config, '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir]
      : ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no'];
    if (this.options.password && !this.options.username) args.push('--requirepass', this.options.password);
    args.push(...(this.options.args ?? []));
    const child = this.options.asInTheStack ? this.spawnStartScript(this.options.asInTheStack) : spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    this.process = child;
    await this.waitUntilReady();
  }

  private spawnStartScript({ appendfsync = 'everysec', adminPassword }: { appendfsync?: string; adminPassword?: string }): ChildProcess {
    const secret = join(this.dir, 'redis_password');
    writeFileSync(secret, `${this.options.password ?? ''}\n`);
    const adminSecret = join(this.dir, 'redis_admin_password');
    if (adminPassword) writeFileSync(adminSecret, `${adminPassword}\n`);
    return spawn('sh', [join(REDIS_DIR, 'start-redis.sh')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: `${join(BIN, '..')}:${process.env.PATH ?? ''}`,
        REDIS_CONF_DIR: REDIS_DIR,
        REDIS_DATA_DIR: this.dir,
        REDIS_PORT: String(this.port),
        REDIS_BIND: '127.0.0.1',
        REDIS_PASSWORD_FILE: secret,
        REDIS_APPENDFSYNC: appendfsync,
        ...(adminPassword ? { REDIS_ADMIN_PASSWORD_FILE: adminSecret } : {}),
      },
    });
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + 10_000;
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
    const reply = (await this.command(['FCALL', 'counter_hit', '2', 'c:{default/visits}', 'u:{default/visits}:20260101', String(Date.now()), '20260101', '', '0', '0', '60', '30'])) as number[];
    return Number(reply[0]);
  }

  /** Loads redis/functions/counter.lua (at every start; start-redis.sh does it for a server started asInTheStack). */
  async loadFunctions(): Promise<void> {
    await this.command(['FUNCTION', 'LOAD', 'REPLACE', readFileSync(join(REDIS_DIR, 'functions', 'counter.lua'), 'utf8')]);
  }

  /** Stops the process with a signal and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    this.resume();
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
