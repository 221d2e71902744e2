import { LOAD_GENERATOR, percentileMs, type Target } from './load.ts';

/** A missed goal is reported; a failed correctness check also fails the run (exit 1). */
export interface Check {
  goal?: boolean;
  ok: boolean;
  what: string;
  detail: string;
}

/** The issue's goals for 3 replicas and 64 connections on 2 cores. */
const GOALS = { ceilingShare: 0.6, p99Ms: 10, peakRssMiB: 100 };

const rps = (row: Target) => row.stats.responses / row.stats.seconds;
const int = (value: number) => Math.round(value).toLocaleString('en-US');
const share = (row: Target, ceiling: Target | undefined) => `${((100 * rps(row)) / (ceiling ? rps(ceiling) : Number.NaN)).toFixed(1)} %`;

/** The goals, and what must hold under load whatever the numbers. The ceiling is the first target. */
export const loadChecks = (targets: Target[], peakRss: Map<number, number>): Check[] => {
  const count = targets.find((row) => row.name.startsWith('GET /count'));
  const rss = count?.replicaPids?.map((pid) => peakRss.get(pid) ?? Number.NaN) ?? [];
  const failed = targets.filter((row) => row.stats.errors + row.stats.non2xx > 0);
  const hit = targets.find((row) => row.name.startsWith('GET /hit'));
  return [
    ...(count
      ? [
          { goal: true, ok: rps(count) >= GOALS.ceilingShare * rps(targets[0] ?? count), what: `/count ≥ ${GOALS.ceilingShare * 100} % of the ceiling`, detail: share(count, targets[0]) },
          { goal: true, ok: percentileMs(count, 99) <= GOALS.p99Ms, what: `/count p99 ≤ ${GOALS.p99Ms} ms`, detail: `${percentileMs(count, 99).toFixed(2)} ms` },
        ]
      : []),
    ...(count && hit
      ? [
          { goal: true, ok: rps(hit) >= 0.85 * rps(count), what: '/hit ≥ 85 % of /count', detail: `${((100 * rps(hit)) / rps(count)).toFixed(1)} %` },
          { goal: true, ok: percentileMs(hit, 99) <= 1.5 * percentileMs(count, 99), what: "/hit p99 ≤ 1.5 × /count's", detail: `${percentileMs(hit, 99).toFixed(2)} ms vs ${percentileMs(count, 99).toFixed(2)} ms` },
        ]
      : []),
    ...(rss.length ? [{ goal: true, ok: rss.every((mib) => mib <= GOALS.peakRssMiB), what: `peak RSS ≤ ${GOALS.peakRssMiB} MiB per replica`, detail: `${rss.map((mib) => mib.toFixed(1)).join(', ')} MiB` }] : []),
    { ok: failed.length === 0, what: 'no errors, no non-2xx', detail: failed.map((row) => `${row.name}: ${JSON.stringify(row.problems)}`).join('; ') || 'none' },
    ...targets.filter((row) => row.counter).map((row) => ({ ok: row.stats.rise === row.stats.ok2xx, what: `counter rise == 2xx (${row.name})`, detail: `${row.stats.rise} vs ${row.stats.ok2xx}` })),
  ];
};

/** A Markdown table padded into columns, so that it reads as well in a terminal as in the README. */
const table = (header: string[], rows: string[][]): string => {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((width, i) => (i ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`, ...rows.map(line)].join('\n');
};

const TIERS = ['nginx', LOAD_GENERATOR, 'replicas', 'redis'];

/**
 * The two tables (with `extraRows`, already rendered, under the first), the checks and the notes.
 * `memory`: peak RSS (VmHWM) and peak private memory (RssAnon, polled) by process id, in MiB.
 */
export const report = (setup: Record<string, string | number>, targets: Target[], extraRows: string[][], memory: Record<'peakRss' | 'privatePeak', Map<number, number>>, checks: Check[], notes: string[]): string => {
  const mib = (pids: number[] | undefined, of: Map<number, number>) => pids?.map((pid) => (of.get(pid) ?? Number.NaN).toFixed(0)).join(', ') ?? '–';
  const rows = targets.map((row, i) => [
    row.name, int(rps(row)), ...[50, 90, 99].map((p) => percentileMs(row, p).toFixed(2)), String(row.stats.errors), String(row.stats.non2xx),
    i === 0 ? '100 %' : share(row, targets[0]),
    row.counter ? `${int(row.stats.rise)} / ${int(row.stats.ok2xx)} ${row.stats.rise === row.stats.ok2xx ? '✓' : '✗'}` : '–',
    mib(row.replicaPids, memory.peakRss), mib(row.replicaPids, memory.privatePeak),
  ]);
  // CPU time by tier per request; whatever else the machine did meanwhile shows how disturbed the run was.
  const cpuRows = targets.map((row) => {
    const us = (seconds: number) => ((1e6 * seconds) / row.stats.responses).toFixed(0);
    const bench = TIERS.reduce((sum, tier) => sum + (row.cpu[tier] ?? 0), 0);
    return [row.name, ...TIERS.map((tier) => us(row.cpu[tier] ?? 0)), us(bench), `${Math.max(0, (row.cpu.machine ?? 0) - bench).toFixed(1)} s in ${row.stats.seconds.toFixed(1)} s`];
  });
  const header = ['target', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', 'non-2xx', 'of ceiling', 'counter rise / 2xx', 'peak RSS MiB per replica', 'peak private MiB (RssAnon) per replica'];
  const verdict = (check: Check) => (check.goal ? (check.ok ? 'target met' : 'target MISSED') : check.ok ? 'ok' : 'FAILED');
  return [
    `Visit counter bench, ${new Date().toISOString()}`,
    Object.entries(setup).map(([key, value]) => `${key}: ${value}`).join('; '),
    '',
    table(header, [...rows, ...extraRows]),
    '',
    table(['CPU µs per request', ...TIERS, 'bench total', 'other load on the machine (not the bench)'], cpuRows),
    '',
    ...checks.map((check) => `- ${verdict(check)}: ${check.what}: ${check.detail}`),
    ...notes.map((note) => `Note: ${note}`),
    '',
    `Reproduce: npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    '',
  ].join('\n');
};
