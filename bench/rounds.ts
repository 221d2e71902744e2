import { TargetLoad } from './load.ts';
import { CpuMeter, machineBusySeconds } from './proc-stats.ts';

/** Something loaded in the bench, with the processes its CPU time is charged to. */
export interface Target {
  name: string;
  load: TargetLoad;
  cpuGroups: Record<string, () => number[]>;
  /** CPU seconds per component over all measured segments. */
  cpuSeconds: Record<string, number>;
  /** Runs right before and after each measured segment (e.g. reading the counter). */
  around?: { before: () => Promise<void>; after: () => Promise<void> };
}

export const LOAD_GENERATOR = 'load generator (autocannon)';
/** CPU time of everything else on the machine meanwhile: the bench's noise. */
export const OTHER = 'not the bench';

const harnessCpu = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

const startMeters = (groups: Record<string, () => number[]>) => {
  const meters = Object.entries(groups).map(([name, pids]) => [name, new CpuMeter(pids)] as const);
  // autocannon runs in this process, so the harness's own CPU time is the load generator's.
  const harnessStart = harnessCpu();
  const machineStart = machineBusySeconds();
  return (): Record<string, number> => {
    const used: Record<string, number> = Object.fromEntries(meters.map(([name, meter]) => [name, meter.elapsed()]));
    used[LOAD_GENERATOR] = harnessCpu() - harnessStart;
    const ours = Object.values(used).reduce((sum, seconds) => sum + seconds, 0);
    used[OTHER] = Math.max(0, machineBusySeconds() - machineStart - ours);
    return used;
  };
};

/**
 * Warms every target up, then measures them in `rounds` rounds of one short segment each,
 * target after target. The machine is shared: whatever else runs on it at some moment weighs
 * on all targets alike instead of on whichever happened to be measured then.
 */
export const measureInterleaved = async (targets: Target[], warmupS: number, durationS: number, rounds: number): Promise<void> => {
  for (const target of targets) await target.load.warmUp(warmupS);
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      await target.around?.before();
      const elapsed = startMeters(target.cpuGroups);
      await target.load.measure(durationS / rounds);
      for (const [name, seconds] of Object.entries(elapsed())) target.cpuSeconds[name] = (target.cpuSeconds[name] ?? 0) + seconds;
      await target.around?.after();
    }
  }
};

/** Sums a counter's rise over the measured segments only (warm-ups count visits too). */
export class CounterWatch {
  rise = 0;
  private before = 0;
  private readonly read: () => Promise<number>;
  private readonly ownVisits: number;

  /** `ownVisits`: visits each read itself adds (1 when read through /count). */
  constructor(read: () => Promise<number>, ownVisits = 0) {
    this.read = read;
    this.ownVisits = ownVisits;
  }

  readonly around = {
    before: async () => {
      this.before = await this.read();
    },
    after: async () => {
      this.rise += (await this.read()) - this.before - this.ownVisits;
    },
  };
}

/** Polls the private (anonymous) resident memory of processes and keeps each one's peak. */
export class AnonPeaks {
  readonly peaks: number[];
  private readonly timer: NodeJS.Timeout;

  constructor(pids: number[], sample: (pid: number) => number | undefined, everyMs = 200) {
    this.peaks = pids.map(() => 0);
    this.timer = setInterval(() => {
      pids.forEach((pid, i) => {
        this.peaks[i] = Math.max(this.peaks[i] ?? 0, sample(pid) ?? 0);
      });
    }, everyMs);
  }

  stop(): number[] {
    clearInterval(this.timer);
    return this.peaks;
  }
}
