import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// Servers still running when the test process exits without its after() hooks (process.exit from
// a signal handler) are killed on the way out rather than left listening.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

// Under mutation testing (npm run mutate, stryker.server.config.json) the server runs the mutant
// that Stryker activated for this test process; otherwise this adds nothing.
const MUTANT = '__STRYKER_ACTIVE_MUTANT__';
const mutantOf = (env: NodeJS.ProcessEnv): Record<string, string> => (env[MUTANT] === undefined ? {} : { [MUTANT]: env[MUTANT] });

/** The real server entry point (`node src/server.ts`) as a child process. */
export class AppProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;

  /** `nodeArgs` go before the script, e.g. ['--import', file] to preload a test's hook. */
  constructor(env: Record<string, string>, nodeArgs: string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, SERVER], {
      // No metrics server unless a test asks for one: several processes (and test runs) must not
      // all take the default METRICS_PORT.
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', METRICS_PORT: '0', ...mutantOf(process.env), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this.child);
    this.child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this.child);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** Resolves once the server logs that it listens; rejects if it exits first. */
  async listening(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stdout.includes('Server listening')) {
      if (this.child.exitCode !== null) throw new Error(`server exited early:\n${this.stdout}${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`server did not listen in time:\n${this.stdout}${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}
