import { LOAD_GENERATOR, percentileMs, type Target } from './load.ts';

/** A missed goal is reported; a failed correctness check also fails the run (exit 1). */
export interface Check {
  goal?: boolean;
  ok: boolean;
  what: string;
  detail: string;
}

/**
 * The goals (issue "Speed"), against the floor of the same run: what three bare node:http servers
 * behind the same nginx serve. Redis's CPU per counted request is charged from /proc (its process).
 */
const GOALS = { floorShare: 0.85, p99OfFloor: 1.25, rssOfFloor: 1.15, redisUs: { '/count': 5, '/hit': 10 } };

const rps = (row: Target) => row.stats.responses / row.stats.seconds;
const int = (value: number) => Math.round(value).toLocaleString('en-US');
const share = (row: Target, ceiling: Target | undefined) => `${((100 * rps(row)) / (ceiling ? rps(ceiling) : Number.NaN)).toFixed(1)} %`;
const redisUs = (row: Target) => (1e6 * (row.cpu.redis ?? Number.NaN)) / row.stats.responses;
const floorOf = (targets: Target[]) => targets.find((row) => row.name.startsWith('floor'));
/** Peak RSS of each replica a row lists (none for rows that list none). */
const replicaPeaks = (row: Target | undefined, peakRss: Map<number, number>) => row?.replicaPids?.map((pid) => peakRss.get(pid) ?? Number.NaN) ?? [];

/** The goals, and what must hold under load whatever the numbers. The ceiling is the first target. */
export const loadChecks = (targets: Target[], peakRss: Map<number, number>): Check[] => {
  const floor = floorOf(targets);
  const counting = (['/count', '/hit'] as const).flatMap((route) => {
    const row = targets.find(({ name }) => name.startsWith(`GET ${route}`));
    return row ? [{ route, row }] : [];
  });
  const floorRss = Math.max(...replicaPeaks(floor, peakRss));
  // Peak RSS is over the whole run: the app's replicas are listed on one row (the last app route).
  const appRss = replicaPeaks(targets.find((row) => row.name.startsWith('GET ') && row.replicaPids), peakRss);
  const failed = targets.filter((row) => row.stats.errors + row.stats.non2xx > 0);
  return [
    ...(floor
      ? counting.flatMap(({ route, row }) => [
          { goal: true, ok: rps(row) >= GOALS.floorShare * rps(floor), what: `${route} ≥ ${GOALS.floorShare * 100} % of the floor's req/s`, detail: share(row, floor) },
          {
            goal: true, ok: percentileMs(row, 99) <= GOALS.p99OfFloor * percentileMs(floor, 99), what: `${route} p99 ≤ ${GOALS.p99OfFloor} × the floor's`,
            detail: `${percentileMs(row, 99).toFixed(2)} ms vs ${percentileMs(floor, 99).toFixed(2)} ms (${(percentileMs(row, 99) / percentileMs(floor, 99)).toFixed(2)} ×)`,
          },
          { goal: true, ok: redisUs(row) <= GOALS.redisUs[route], what: `Redis CPU per ${route} ≤ ${GOALS.redisUs[route]} µs`, detail: `${redisUs(row).toFixed(1)} µs` },
        ])
      : []),
    ...(floor && appRss.length
      ? [{ goal: true, ok: appRss.every((mib) => mib <= GOALS.rssOfFloor * floorRss), what: `peak RSS per replica ≤ ${GOALS.rssOfFloor} × the floor's`, detail: `${appRss.map((mib) => mib.toFixed(0)).join(', ')} MiB vs ${floorRss.toFixed(0)} MiB (${(Math.max(...appRss) / floorRss).toFixed(2)} ×)` }]
      : []),
    { ok: failed.length === 0, what: 'no errors, no non-2xx', detail: failed.map((row) => `${row.name}: ${JSON.stringify(row.problems)}`).join('; ') || 'none' },
    ...targets.filter((row) => row.counter).map((row) => ({ ok: row.stats.rise === row.stats.ok2xx, what: `counter rise == 2xx (${row.name})`, detail: `${row.stats.rise} vs ${row.stats.ok2xx}` })),
  ];
};

/**
 * What a bare Fastify route reaches beside the floor, in the goals' terms: how close any app built
 * on Fastify could come, before it does anything of its own.
 */
export const frameworkNote = (targets: Target[], peakRss: Map<number, number>): string[] => {
  const floor = floorOf(targets);
  const bare = targets.find((row) => row.name.includes('bare Fastify'));
  if (!floor || !bare) return [];
  const peak = (row: Target) => Math.max(...replicaPeaks(row, peakRss));
  return [
    `bare Fastify (one route, no logger, hooks or Redis): ${share(bare, floor)} of the floor's req/s, p99 ${(percentileMs(bare, 99) / percentileMs(floor, 99)).toFixed(2)} ×, peak RSS ${(peak(bare) / peak(floor)).toFixed(2)} × the floor's`,
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
