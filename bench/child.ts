import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const OUTPUT_KEPT = 4_000;

/**
 * A process the harness started: remembers how it ended and the tail of what it printed
 * (when its output is piped), so a failure can be explained. Every instance is registered,
 * so an interrupted run still stops everything it started.
 */
export class Child {
  static readonly running = new Set<Child>();

  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  exit: ExitStatus | undefined;
  private tail = '';

  constructor(name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {}) {
    this.name = name;
    this.process = spawn(command, args, { env: options.env ?? process.env, stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString()).slice(-OUTPUT_KEPT);
    };
    this.process.stdout?.on('data', keep);
    this.process.stderr?.on('data', keep);
    Child.running.add(this);
    this.exited = new Promise((resolve) => {
      this.process.once('error', (error) => {
        this.tail += `${error.message}\n`;
        this.exit = { code: null, signal: null };
        Child.running.delete(this);
        resolve(this.exit);
      });
      this.process.once('exit', (code, signal) => {
        this.exit = { code, signal };
        Child.running.delete(this);
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    if (this.process.pid === undefined) throw new Error(`${this.name} did not start`);
    return this.process.pid;
  }

  get output(): string {
    return this.tail.trim();
  }

  /** Undefined while running; otherwise how it ended and its last words. */
  readonly death = (): string | undefined =>
    this.exit && `${this.exit.signal ? `signal ${this.exit.signal}` : `exit code ${this.exit.code}`}${this.tail ? `\n${this.output}` : ''}`;

  /** Sends `signal`, and SIGKILL if the process has not exited after graceMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<ExitStatus> {
    if (this.exit) return this.exit;
    this.process.kill(signal);
    const ended = await Promise.race([this.exited, sleep(graceMs).then(() => undefined)]);
    if (ended) return ended;
    this.process.kill('SIGKILL');
    return this.exited;
  }
}
