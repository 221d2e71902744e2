import { readdirSync, readFileSync } from 'node:fs';

// USER_HZ: what /proc/PID/stat counts CPU time in. Linux has fixed it at 100 on every
// architecture Node supports, whatever the kernel's internal tick rate.
const TICKS_PER_SECOND = 100;

const readProc = (pid: number, file: string): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined; // The process has exited.
  }
};

// The command name in /proc/PID/stat is in parentheses and may itself contain spaces.
const statFields = (pid: number): string[] | undefined => {
  const stat = readProc(pid, 'stat');
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
};

/** User plus system CPU seconds the process has used so far (0 once it is gone). */
export const cpuSeconds = (pid: number): number => {
  const fields = statFields(pid);
  if (!fields) return 0;
  // After the command name: state is field 0, utime 11, stime 12.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
};

/** Peak resident set size (VmHWM) in MiB since the process started, or undefined if gone. */
export const peakRssMiB = (pid: number): number | undefined => {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readProc(pid, 'status') ?? '');
  return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
};

/** Private (anonymous) resident memory in MiB right now: RSS without shared file pages such as the node binary. */
export const anonRssMiB = (pid: number): number | undefined => {
  const match = /^RssAnon:\s+(\d+) kB$/m.exec(readProc(pid, 'status') ?? '');
  return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
};

/** The process and all its descendants (nginx's master and workers), by walking parent ids. */
export const processTree = (root: number): number[] => {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const ppid = Number(statFields(pid)?.[1]);
    const siblings = parents.get(ppid) ?? [];
    siblings.push(pid);
    parents.set(ppid, siblings);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i] ?? -1) ?? []));
  return tree;
};

/** CPU seconds the whole machine has been busy (all cores, everything but idle and I/O wait). */
export const machineBusySeconds = (): number => {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return (total - idle) / TICKS_PER_SECOND;
};

/** CPU seconds of a group of processes, sampled at the start and end of a phase. */
export class CpuMeter {
  private readonly pids: () => number[];
  private readonly start: number;

  constructor(pids: () => number[]) {
    this.pids = pids;
    this.start = this.total();
  }

  private total(): number {
    return this.pids().reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  }

  elapsed(): number {
    return this.total() - this.start;
  }
}
