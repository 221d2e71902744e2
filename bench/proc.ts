import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every process the bench started and that still runs, so that an interrupted run stops them. */
export const started = new Set<ChildProcess>();

export const start = (command: string, args: string[], stdio: StdioOptions, env: NodeJS.ProcessEnv = process.env): ChildProcess => {
  const child = spawn(command, args, { stdio, env });
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
};

export const running = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

/** Sends `signal`, and SIGKILL 10 s later; resolves to the exit code (null when a signal ended it). */
export const stop = async (child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
  if (running(child)) {
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  return child.exitCode;
};

/** Status of a GET, or undefined when nothing answered. */
export const getStatus = async (url: string): Promise<number | undefined> => {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
};

/** Polls `ready` for up to 20 s; fails at once, with the end of `log`, when `child` exits. */
export const waitFor = async (what: string, child: ChildProcess, log: string, ready: () => Promise<boolean>): Promise<void> => {
  const deadline = Date.now() + 20_000;
  const tail = () => (existsSync(log) ? readFileSync(log, 'utf8').slice(-2_000) : '');
  while (!(await ready())) {
    if (!running(child)) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode ?? '?'}):\n${tail()}`);
    if (Date.now() > deadline) throw new Error(`${what} was not ready within 20 s:\n${tail()}`);
    await sleep(100);
  }
};

/** `count` loopback ports that were free a moment ago, all held at once so none comes twice. */
export const freePorts = async (count: number): Promise<number[]> => {
  const servers = Array.from({ length: count }, () => createServer());
  await Promise.all(servers.map((server) => once(server.listen(0, '127.0.0.1'), 'listening')));
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
};

// USER_HZ, the unit of CPU time in /proc: 100 on every architecture Node supports.
const HZ = 100;

const proc = (pid: number, file: string): string => {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return ''; // gone
  }
};

// After the command name (in parentheses, may hold spaces): state 0, ppid 1, utime 11, stime 12.
const stat = (pid: number): string[] => {
  const text = proc(pid, 'stat');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
};

/** User plus system CPU seconds the processes have used so far. */
export const cpuSeconds = (pids: number[]): number =>
  pids.reduce((sum, pid) => sum + stat(pid).slice(11, 13).reduce((ticks, field) => ticks + Number(field), 0) / HZ, 0);

/** CPU seconds the whole machine has been busy: all cores, neither idle nor waiting for I/O. */
export const machineBusySeconds = (): number => {
  const [, ...fields] = (readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '').trim().split(/\s+/).map(Number);
  return (fields.reduce((sum, value) => sum + value, 0) - (fields[3] ?? 0) - (fields[4] ?? 0)) / HZ;
};

/** From /proc/PID/status, in MiB: VmHWM is the peak RSS so far, RssAnon the private part of RSS now. */
export const statusMiB = (pid: number, field: 'VmHWM' | 'RssAnon'): number =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(proc(pid, 'status'))?.[1] ?? Number.NaN) / 1024;

/** A process and all its descendants (an nginx master and its workers). */
export const processTree = (root: number): number[] => {
  const parents = new Map(readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map((entry) => [Number(entry), Number(stat(Number(entry))[1])]));
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...[...parents].filter(([, parent]) => parent === tree[i]).map(([pid]) => pid));
  return tree;
};
