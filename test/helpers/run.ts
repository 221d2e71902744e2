import { execFile, spawnSync, type ChildProcess } from 'node:child_process';

interface RunResult {
  /** Exit code; null when the command could not start or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why it did not run or finish, when it did not (ENOENT, timeout, signal). */
  failure?: string;
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

// Commands in flight, so a signal handler can stop them before it tears the stack down.
const running = new Set<ChildProcess>();

/** Runs a command (no shell) and resolves with its exit code and output; never rejects. */
export const run = (command: string, args: string[], options: RunOptions = {}): Promise<RunResult> =>
  new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      {
        env: options.env ?? process.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 120_000,
        killSignal: 'SIGTERM',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        running.delete(child);
        if (!error) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        const { code, killed, signal } = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string };
        if (typeof code === 'number') {
          resolve({ code, stdout, stderr });
          return;
        }
        let failure = error.message;
        if (code === 'ENOENT') failure = `${command} is not installed or not on PATH`;
        else if (killed || signal) failure = `killed by ${signal ?? 'SIGTERM'} (timeout ${options.timeoutMs ?? 120_000} ms)`;
        resolve({ code: null, stdout, stderr, failure });
      },
    );
    running.add(child);
  });

const tail = (text: string, lines: number): string => text.trimEnd().split('\n').slice(-lines).join('\n');

export const describeRun = (command: string, args: string[], result: RunResult): string => {
  const how = result.failure ?? `exited with ${result.code}`;
  const output = tail(`${result.stdout}\n${result.stderr}`.trim(), 40);
  return `\`${[command, ...args].join(' ')}\` ${how}${output ? `:\n${output}` : ''}`;
};

/** Like run, but rejects with the command and the end of its output when it does not exit 0. */
export const runOk = async (command: string, args: string[], options: RunOptions = {}): Promise<string> => {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new Error(describeRun(command, args, result));
  return result.stdout;
};

/** Stops the commands this process started that are still running (used on SIGINT/SIGTERM). */
export const stopRunningCommands = (): void => {
  for (const child of running) child.kill('SIGTERM');
  running.clear();
};

/** Synchronous, for signal handlers: the process must not exit before this finishes. */
export const runSync = (command: string, args: string[], options: RunOptions = {}): RunResult => {
  const result = spawnSync(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    timeout: options.timeoutMs ?? 120_000,
    encoding: 'utf8',
  });
  return {
    code: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    ...(result.error ? { failure: result.error.message } : {}),
  };
};
