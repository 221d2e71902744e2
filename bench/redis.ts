import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { VISITS_KEY } from '../src/redis-store.ts';
import { Child } from './child.ts';

// The committed redis.conf (append-only file, fsync every second): the durability users get.
const REDIS_CONF = fileURLToPath(new URL('../redis/redis.conf', import.meta.url));

export interface RedisIncrResult {
  requests: number;
  rps: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

/** A redis-server on loopback with the project's redis.conf, its data in the run's folder. */
export class BenchRedis {
  readonly port: number;
  readonly password: string;
  private readonly child: Child;

  private constructor(port: number, password: string, child: Child) {
    this.port = port;
    this.password = password;
    this.child = child;
  }

  static async start(port: number, dir: string, password: string): Promise<BenchRedis> {
    // Where it listens and writes is this run's; everything else is as committed.
    const local = /^\s*(bind|port|dir|logfile)\s/;
    const committed = readFileSync(REDIS_CONF, 'utf8').split('\n').filter((line) => !local.test(line));
    const conf = join(dir, 'redis.conf');
    writeFileSync(conf, [...committed, 'bind 127.0.0.1', `port ${port}`, `dir ${dir}`, `logfile ${join(dir, 'redis.log')}`, `requirepass "${password}"`, ''].join('\n'));
    const child = new Child('redis-server', 'redis-server', [conf]);
    const redis = new BenchRedis(port, password, child);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await redis.getCounter();
        return redis;
      } catch (error) {
        const death = child.death();
        if (death !== undefined) throw new Error(`redis-server exited at start: ${death}`, { cause: error });
        if (Date.now() > deadline) {
          await child.stop();
          throw new Error('redis-server did not answer within 10 s', { cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  get pid(): number {
    return this.child.pid;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The value of the key /count increments (0 when it does not exist yet). */
  async getCounter(): Promise<number> {
    const client = createClient({ url: this.url, password: this.password, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return Number((await client.get(VISITS_KEY)) ?? 0);
    } finally {
      client.destroy();
    }
  }

  /** INCR alone: redis-benchmark with `clients` connections, one command in flight on each. */
  async benchmarkIncr(clients: number, requests: number): Promise<RedisIncrResult> {
    const args = ['-h', '127.0.0.1', '-p', String(this.port), '-t', 'incr', '-c', String(clients), '-n', String(requests), '--csv'];
    const output = await new Promise<string>((resolve, reject) => {
      // On argv, but it is a random password of this run's throwaway server.
      const child = spawn('redis-benchmark', [...args, '-a', this.password], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.once('error', reject);
      child.once('exit', (code) => {
        if (code === 0) resolve(text);
        else reject(new Error(`redis-benchmark failed (exit ${code}): ${text.trim()}`));
      });
    });
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    const row = output.split('\n').find((line) => line.startsWith('"INCR"'));
    const cells = row?.split(',').map((cell) => Number(cell.replaceAll('"', '')));
    if (!cells || cells.length < 8) throw new Error(`unexpected redis-benchmark output: ${output.trim()}`);
    const [, rps = 0, , , p50Ms = 0, p95Ms = 0, p99Ms = 0] = cells;
    return { requests, rps, p50Ms, p95Ms, p99Ms };
  }

  async stop(): Promise<void> {
    await this.child.stop('SIGTERM');
  }
}
