import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child, type ExitStatus } from './child.ts';
import { waitUntilOk } from './wait.ts';

export const APP_SERVER = fileURLToPath(new URL('../src/server.ts', import.meta.url));
export const FLOOR_SERVER = fileURLToPath(new URL('floor-server.ts', import.meta.url));

export interface ReplicaOptions {
  name: string;
  /** The script node runs. */
  entry: string;
  port: number;
  dir: string;
  env: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags: string[];
}

/** One node process serving HTTP on loopback, its output going to a log file. */
export class Replica {
  /** Requests the harness itself sent (readiness polls), which the app logs like any other. */
  probes = 0;
  readonly logPath: string;
  private readonly child: Child;

  private constructor(logPath: string, child: Child) {
    this.logPath = logPath;
    this.child = child;
  }

  static async start(options: ReplicaOptions): Promise<Replica> {
    const logPath = join(options.dir, `${options.name}.log`);
    // Logs go straight to a file, as they would to Docker's log pipe: the harness must not be
    // the one reading them, or its own CPU use would slow the app down.
    const log = openSync(logPath, 'w');
    const child = new Child(options.name, process.execPath, [...options.nodeFlags, options.entry], {
      stdio: ['ignore', log, log],
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(options.port), ...options.env },
    });
    closeSync(log);
    const replica = new Replica(logPath, child);
    const death = () => {
      const why = child.death();
      return why === undefined ? undefined : `${why}\n${readFileSync(logPath, 'utf8').slice(-2_000)}`;
    };
    replica.probes = await waitUntilOk(`http://127.0.0.1:${options.port}/readyz`, options.name, death);
    return replica;
  }

  get pid(): number {
    return this.child.pid;
  }

  /** SIGTERM, as `docker compose stop` sends; resolves to how the process ended. */
  async stop(): Promise<ExitStatus> {
    return this.child.stop('SIGTERM', 10_000);
  }

  /** Complete JSON lines the app logged for finished requests (msg "request"), and lines that are not JSON. */
  requestLogLines(): { requests: number; broken: number } {
    let requests = 0;
    let broken = 0;
    for (const line of readFileSync(this.logPath, 'utf8').split('\n')) {
      if (line === '') continue;
      try {
        if ((JSON.parse(line) as { msg?: unknown }).msg === 'request') requests++;
      } catch {
        broken++;
      }
    }
    return { requests, broken };
  }
}
