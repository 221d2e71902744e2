import type { ExitStatus } from './child.ts';
import type { BenchReport, Check, HttpRow } from './report.ts';

/** The targets for 3 replicas and 64 connections on a 2-core machine. */
export const TARGETS = { ceilingShare: 0.6, p99Ms: 10, peakRssMiB: 100 };

/** Throughput and latency targets, and what must hold under load whatever the numbers. */
export const loadChecks = (report: BenchReport, countRow: HttpRow): Check[] => {
  const { load } = countRow;
  const share = report.ceilingRps ? load.rps / report.ceilingRps : undefined;
  const httpRows = report.rows.filter((row): row is HttpRow => row.kind === 'http');
  const failures = httpRows.reduce((sum, row) => sum + row.load.errors + row.load.non2xx, 0);
  const what = httpRows.filter((row) => row.load.errors + row.load.non2xx > 0).map((row) => `${row.name}: ${JSON.stringify({ ...row.load.errorKinds, ...row.load.statusCodes })}`);
  return [
    {
      kind: 'target',
      what: `/count ≥ ${TARGETS.ceilingShare * 100} % of the ceiling's requests/s`,
      ok: share !== undefined && share >= TARGETS.ceilingShare,
      detail: share === undefined ? 'no ceiling measured' : `${(share * 100).toFixed(1)} %`,
    },
    { kind: 'target', what: `/count p99 ≤ ${TARGETS.p99Ms} ms`, ok: load.p99Ms <= TARGETS.p99Ms, detail: `${load.p99Ms.toFixed(2)} ms` },
    { kind: 'correctness', what: 'no errors, no non-2xx', ok: failures === 0, detail: failures === 0 ? 'none' : `${failures}: ${what.join('; ')}` },
    {
      kind: 'correctness',
      what: "counter's rise == 2xx responses of /count",
      ok: countRow.counterRise === load.ok2xx,
      detail: `${countRow.counterRise ?? 'unknown'} vs ${load.ok2xx}`,
    },
  ];
};

export interface ShutdownEvidence {
  peakRssMiB: number[];
  /** From nginx's access log: requests a replica answered, and retried or aborted ones. */
  proxied: { answered: number; unclear: number };
  /** Readiness polls the harness sent the replicas directly. */
  probes: number;
  logged: { requests: number; broken: number }[];
  exits: ExitStatus[];
}

/** Memory target, one log line per request (none lost at shutdown), graceful stop. */
export const correctnessChecks = (evidence: ShutdownEvidence): Check[] => {
  const { peakRssMiB, proxied, probes, logged, exits } = evidence;
  const lines = logged.reduce((sum, log) => sum + log.requests, 0);
  const broken = logged.reduce((sum, log) => sum + log.broken, 0);
  return [
    {
      kind: 'target',
      what: `peak RSS ≤ ${TARGETS.peakRssMiB} MiB per replica`,
      ok: peakRssMiB.every((value) => value <= TARGETS.peakRssMiB),
      detail: `${peakRssMiB.map((value) => value.toFixed(1)).join(', ')} MiB`,
    },
    {
      kind: 'correctness',
      what: 'one JSON log line per request, none lost at shutdown',
      ok: lines === proxied.answered + probes && broken === 0 && proxied.unclear === 0,
      detail: `${lines} request lines for ${proxied.answered} requests answered through nginx + ${probes} readiness probes; ${proxied.unclear} retried or aborted; ${broken} lines not JSON`,
    },
    {
      kind: 'correctness',
      what: 'replicas stop gracefully on SIGTERM',
      ok: exits.every((exit) => exit.code === 0),
      detail: exits.map((exit) => (exit.signal ? `signal ${exit.signal}` : `exit ${exit.code}`)).join(', '),
    },
  ];
};
