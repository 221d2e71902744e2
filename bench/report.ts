import type { LoadResult } from './load.ts';
import type { RedisIncrResult } from './redis.ts';
import { OTHER } from './rounds.ts';

export interface HttpRow {
  kind: 'http';
  name: string;
  load: LoadResult;
  /** Rise of the Redis key `visits` during the measured run (only for /count). */
  counterRise?: number;
  /** Peak RSS of each replica (VmHWM) over the whole run. */
  peakRssMiB?: number[];
  /** Peak private (anonymous) RSS of each replica, polled: VmHWM without the shared node binary. */
  privatePeakMiB?: number[];
  /** CPU seconds used during the measured run, by component. */
  cpuSeconds: Record<string, number>;
}

export interface RedisRow {
  kind: 'redis';
  name: string;
  incr: RedisIncrResult;
}

export type Row = HttpRow | RedisRow;

export interface Check {
  /** A missed target is reported; a failed correctness check also fails the run. */
  kind: 'target' | 'correctness';
  what: string;
  ok: boolean;
  detail: string;
}

export interface BenchReport {
  startedAt: string;
  command: string;
  setup: Record<string, string | number>;
  rows: Row[];
  /** Requests/s of the ceiling row, which the app rows are compared with. */
  ceilingRps: number | undefined;
  checks: Check[];
  notes: string[];
}

const ms = (value: number) => value.toFixed(2);
const int = (value: number) => Math.round(value).toLocaleString('en-US');

const percentOf = (rps: number, ceiling: number | undefined) => (ceiling ? `${((100 * rps) / ceiling).toFixed(1)} %` : 'n/a');

const cells = (row: Row, ceilingRps: number | undefined): string[] => {
  if (row.kind === 'redis') {
    const { incr } = row;
    return [row.name, int(incr.rps), ms(incr.p50Ms), `(p95 ${ms(incr.p95Ms)})`, ms(incr.p99Ms), '–', '–', '–', '–', '–'];
  }
  const { load } = row;
  const rise = row.counterRise === undefined ? '–' : `${int(row.counterRise)} / ${int(load.ok2xx)}${row.counterRise === load.ok2xx ? ' ✓' : ' ✗'}`;
  const rss = row.peakRssMiB?.length ? row.peakRssMiB.map((value) => value.toFixed(0)).join(', ') : '–';
  const share = row.name.includes('ceiling') ? '100 %' : percentOf(load.rps, ceilingRps);
  return [row.name, int(load.rps), ms(load.p50Ms), ms(load.p90Ms), ms(load.p99Ms), String(load.errors), String(load.non2xx), share, rise, rss];
};

const HEADER = ['target', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', 'non-2xx', 'of ceiling', 'counter rise / 2xx', 'peak RSS MiB per replica'];

/** A Markdown table padded into columns, so it reads as well in a terminal as in the README. */
export const markdownTable = (header: string[], rows: string[][]): string => {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((width, i) => (i === 0 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
};

export const resultsTable = (report: BenchReport): string =>
  markdownTable(
    HEADER,
    report.rows.map((row) => cells(row, report.ceilingRps)),
  );

/** Where the CPU went during the measured runs: the machine's cores are shared by all tiers. */
export const cpuTable = (report: BenchReport): string => {
  const httpRows = report.rows.filter((row): row is HttpRow => row.kind === 'http' && Object.keys(row.cpuSeconds).length > 0);
  const components = [...new Set(httpRows.flatMap((row) => Object.keys(row.cpuSeconds)))].filter((name) => name !== OTHER);
  const perRequest = (row: HttpRow, seconds: number) => ((1e6 * seconds) / Math.max(row.load.responses, 1)).toFixed(0);
  return markdownTable(
    ['CPU µs per request', ...components, 'bench total', `other load on the machine (${OTHER})`],
    httpRows.map((row) => [
      row.name,
      ...components.map((name) => perRequest(row, row.cpuSeconds[name] ?? 0)),
      perRequest(row, components.reduce((sum, name) => sum + (row.cpuSeconds[name] ?? 0), 0)),
      `${(row.cpuSeconds[OTHER] ?? 0).toFixed(1)} s in ${row.load.durationS.toFixed(1)} s`,
    ]),
  );
};

export const checksList = (checks: Check[]): string =>
  checks
    .map((check) => `- ${check.kind === 'target' ? (check.ok ? 'target met' : 'target MISSED') : check.ok ? 'ok' : 'FAILED'}: ${check.what}: ${check.detail}`)
    .join('\n');

const privateMemoryNote = (report: BenchReport): string[] =>
  report.rows
    .filter((row): row is HttpRow => row.kind === 'http' && row.privatePeakMiB !== undefined)
    .map(
      (row) =>
        `- peak private memory per replica (RssAnon, polled): ${(row.privatePeakMiB ?? []).map((value) => value.toFixed(0)).join(', ')} MiB; the rest of RSS is file pages (the node binary), shared by all replicas`,
    );

export const renderReport = (report: BenchReport): string =>
  [
    `Visit counter bench, ${report.startedAt}`,
    Object.entries(report.setup)
      .map(([key, value]) => `${key}: ${value}`)
      .join('; '),
    '',
    resultsTable(report),
    '',
    cpuTable(report),
    '',
    checksList(report.checks),
    ...privateMemoryNote(report),
    ...(report.notes.length ? ['', ...report.notes.map((note) => `Note: ${note}`)] : []),
    '',
    `Reproduce: ${report.command}`,
  ].join('\n');
