import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countProxiedRequests } from './access-log.ts';
import { correctnessChecks, loadChecks } from './checks.ts';
import { Child } from './child.ts';
import { freePorts } from './free-port.ts';
import { TargetLoad } from './load.ts';
import { NginxInstance, locateNginx, type NginxSource } from './nginx.ts';
import { BENCH_NGINX_ENV, entrypointEnv, trivialUpstream } from './nginx-config.ts';
import { USAGE, UsageError, parseOptions, type BenchOptions } from './options.ts';
import { MissingPrerequisite, requireCommand } from './prerequisites.ts';
import { anonRssMiB, peakRssMiB } from './proc-stats.ts';
import { BenchRedis } from './redis.ts';
import { APP_SERVER, FLOOR_SERVER, Replica } from './replicas.ts';
import { renderReport, resultsTable, type BenchReport, type HttpRow } from './report.ts';
import { AnonPeaks, CounterWatch, measureInterleaved, type Target } from './rounds.ts';
import { countVisitsThroughApp } from './target.ts';

const NGINX_DIR = fileURLToPath(new URL('../nginx', import.meta.url));

/** The committed site template and the values the image's entrypoint would render it with. */
interface Site {
  template: string;
  env: Record<string, string>;
}

const loadSite = (): Site => ({
  template: readFileSync(join(NGINX_DIR, 'templates/default.conf.template'), 'utf8'),
  env: entrypointEnv(NGINX_DIR, BENCH_NGINX_ENV),
});

const describe = (source: NginxSource) =>
  source.kind === 'binary' ? `${source.path} (${source.version})` : `${source.image} (${source.version}, docker run --network host)`;

interface Front {
  nginx: NginxInstance;
  url: string;
}

/** The project's site in an nginx of its own, in front of `upstreamPorts`. */
const startFront = async (source: NginxSource, root: string, site: Site, name: string, upstreamPorts: number[], extra?: string): Promise<Front> => {
  const [listenPort = 0] = await freePorts(1);
  const nginx = await NginxInstance.start(source, { name, dir: join(root, name), mountRoot: root, ...site, listenPort, upstreamPorts, extra });
  return { nginx, url: `http://127.0.0.1:${listenPort}` };
};

/** The ceiling: the same site proxying to a server block that answers a fixed body at once. */
const startCeiling = async (source: NginxSource, root: string, site: Site): Promise<Front> => {
  const [upstreamPort = 0] = await freePorts(1);
  return startFront(source, root, site, 'nginx-ceiling', [upstreamPort], trivialUpstream(upstreamPort));
};

const nodeFlagsOf = (options: BenchOptions) => [
  ...options.nodeFlags,
  ...(options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(options.profileDir)] : []),
];

const httpRow = (target: Target, extra: Partial<HttpRow> = {}): HttpRow => ({
  kind: 'http',
  name: target.name,
  load: target.load.result(),
  cpuSeconds: target.cpuSeconds,
  ...extra,
});

const runLocal = async (options: BenchOptions, report: BenchReport, root: string): Promise<void> => {
  report.setup.redis = requireCommand('redis-server', ['--version'], 'the counter store').replace(/^Redis server v=(\S+).*$/s, '$1');
  requireCommand('redis-benchmark', ['--version'], 'the Redis INCR ceiling');
  const source = locateNginx(options.nginxBin, options.nginxImage);
  report.setup.nginx = describe(source);
  const site = loadSite();
  const { connections } = options;

  const [redisPort = 0, ...replicaPorts] = await freePorts(1 + options.replicas);
  const redis = await BenchRedis.start(redisPort, root, randomBytes(18).toString('base64url'));
  const replicas = await Promise.all(
    replicaPorts.map((port, index) =>
      Replica.start({
        name: `bench-replica-${index + 1}`,
        entry: options.app === undefined ? APP_SERVER : resolve(options.app),
        port,
        dir: root,
        env: { REPLICA_NAME: `bench-replica-${index + 1}`, REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redisPort), REDIS_PASSWORD: redis.password, LOG_LEVEL: 'info' },
        nodeFlags: nodeFlagsOf(options),
      }),
    ),
  );
  const app = await startFront(source, root, site, 'nginx-app', replicaPorts);
  const ceiling = await startCeiling(source, root, site);
  let floor: (Front & { replicas: Replica[] }) | undefined;
  if (options.floor) {
    const floorPorts = await freePorts(options.replicas);
    const floorReplicas = await Promise.all(
      floorPorts.map((port, index) => Replica.start({ name: `bench-floor-${index + 1}`, entry: FLOOR_SERVER, port, dir: root, env: {}, nodeFlags: options.nodeFlags })),
    );
    floor = { ...(await startFront(source, root, site, 'nginx-floor', floorPorts)), replicas: floorReplicas };
  }

  const nginxPids = () => [...app.nginx.pids(), ...ceiling.nginx.pids(), ...(floor?.nginx.pids() ?? [])];
  const appGroups = { nginx: nginxPids, replicas: () => replicas.map((replica) => replica.pid), redis: () => [redis.pid] };
  const counter = new CounterWatch(() => redis.getCounter());
  const ceilingTarget: Target = { name: 'ceiling: nginx → fixed body', load: new TargetLoad(`${ceiling.url}/count`, connections), cpuGroups: { nginx: nginxPids }, cpuSeconds: {} };
  const floorReplicas = floor?.replicas ?? [];
  const floorTarget: Target | undefined = floor && {
    name: `floor: nginx → ${options.replicas} × bare node:http`,
    load: new TargetLoad(`${floor.url}/count`, connections),
    cpuGroups: { nginx: nginxPids, replicas: () => floorReplicas.map((replica) => replica.pid) },
    cpuSeconds: {},
  };
  const welcomeTarget: Target = { name: 'GET / (app)', load: new TargetLoad(`${app.url}/`, connections), cpuGroups: appGroups, cpuSeconds: {} };
  const countTarget: Target = { name: 'GET /count (app)', load: new TargetLoad(`${app.url}/count`, connections), cpuGroups: appGroups, cpuSeconds: {}, around: counter.around };

  const anon = new AnonPeaks(
    replicas.map((replica) => replica.pid),
    anonRssMiB,
  );
  await measureInterleaved([ceilingTarget, ...(floorTarget ? [floorTarget] : []), welcomeTarget, countTarget], options.warmupS, options.durationS, options.rounds);
  const privatePeakMiB = anon.stop();
  const peaks = (group: Replica[]) => group.map((replica) => peakRssMiB(replica.pid) ?? Number.NaN);

  const countRow = httpRow(countTarget, { counterRise: counter.rise, peakRssMiB: peaks(replicas), privatePeakMiB });
  report.rows.push(
    httpRow(ceilingTarget),
    ...(floorTarget ? [httpRow(floorTarget, { peakRssMiB: peaks(floorReplicas) })] : []),
    httpRow(welcomeTarget),
    countRow,
  );
  report.ceilingRps = report.rows[0]?.kind === 'http' ? report.rows[0].load.rps : undefined;

  const incr = await redis.benchmarkIncr(connections, options.redisRequests);
  report.rows.push({ kind: 'redis', name: `Redis INCR alone (redis-benchmark, ${connections} clients)`, incr });

  // nginx first, so that every request it took has been answered before the replicas stop.
  await Promise.all([app.nginx.stop(), ceiling.nginx.stop(), floor?.nginx.stop()]);
  const exits = await Promise.all(replicas.map((replica) => replica.stop()));
  await Promise.all([...floorReplicas.map((replica) => replica.stop()), redis.stop()]);

  report.checks.push(
    ...loadChecks(report, countRow),
    ...correctnessChecks({
      peakRssMiB: countRow.peakRssMiB ?? [],
      proxied: countProxiedRequests(join(app.nginx.dir, 'access.log')),
      probes: replicas.reduce((sum, replica) => sum + replica.probes, 0),
      logged: replicas.map((replica) => replica.requestLogLines()),
      exits,
    }),
  );
};

const runTarget = async (options: BenchOptions, target: URL, report: BenchReport, root: string): Promise<void> => {
  const base = target.origin;
  report.setup.target = base;
  let ceiling: Front | undefined;
  try {
    const source = locateNginx(options.nginxBin, options.nginxImage);
    report.setup.nginx = describe(source);
    ceiling = await startCeiling(source, root, loadSite());
  } catch (error) {
    if (!(error instanceof MissingPrerequisite)) throw error;
    report.notes.push(`no ceiling: ${error.message}`);
  }
  const ceilingPids = () => ceiling?.nginx.pids() ?? [];
  // Each read through /count is a visit of its own.
  const counter = new CounterWatch(() => countVisitsThroughApp(base), 1);
  const ceilingTarget: Target | undefined = ceiling && {
    name: 'ceiling: nginx → fixed body',
    load: new TargetLoad(`${ceiling.url}/count`, options.connections),
    cpuGroups: { nginx: ceilingPids },
    cpuSeconds: {},
  };
  const welcomeTarget: Target = { name: 'GET / (target)', load: new TargetLoad(`${base}/`, options.connections), cpuGroups: {}, cpuSeconds: {} };
  const countTarget: Target = { name: 'GET /count (target)', load: new TargetLoad(`${base}/count`, options.connections), cpuGroups: {}, cpuSeconds: {}, around: counter.around };
  try {
    await measureInterleaved([...(ceilingTarget ? [ceilingTarget] : []), welcomeTarget, countTarget], options.warmupS, options.durationS, options.rounds);
  } finally {
    await ceiling?.nginx.stop();
  }
  const countRow = httpRow(countTarget, { counterRise: counter.rise });
  report.rows.push(...(ceilingTarget ? [httpRow(ceilingTarget)] : []), httpRow(welcomeTarget), countRow);
  report.ceilingRps = ceilingTarget && ceilingTarget.load.result().rps;
  report.checks.push(...loadChecks(report, countRow));
  report.notes.push("the counter is read through /count itself (the target's Redis is not reachable from here): exact only while nothing else visits the target");
};

const main = async (): Promise<number> => {
  let options: BenchOptions | undefined;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    setup: {
      cpus: cpus().length,
      node: process.version,
      'load generator': `autocannon in the harness, ${options.connections} connections, Accept: */*`,
      timing: `${options.warmupS} s warm-up, then ${options.durationS} s measured per target in ${options.rounds} interleaved rounds`,
      replicas: options.target ? 'n/a' : `${options.replicas} × ${options.app ?? 'src/server.ts'}`,
      'replica node flags': options.nodeFlags.join(' ') || 'none',
      'nginx access log': options.target ? "the target's own" : 'a file in the run folder (Compose sends it to the log driver)',
    },
    rows: [],
    ceilingRps: undefined,
    checks: [],
    notes: [],
  };
  const root = mkdtempSync(join(tmpdir(), 'visit-counter-bench-'));
  const cleanUp = async () => {
    await Promise.all([...Child.running].map((child) => child.stop('SIGTERM', 5_000)));
    if (options.keep) process.stderr.write(`bench: run folder kept at ${root}\n`);
    else rmSync(root, { recursive: true, force: true });
  };
  // Ctrl-C must not leave replicas, Redis or an nginx container behind.
  process.once('SIGINT', () => {
    void cleanUp().finally(() => process.exit(130));
  });
  try {
    if (options.target) await runTarget(options, options.target, report, root);
    else await runLocal(options, report, root);
  } catch (error) {
    if (error instanceof MissingPrerequisite) {
      process.stderr.write(`bench: ${error.message}\n`);
      return 69; // EX_UNAVAILABLE
    }
    throw error;
  } finally {
    await cleanUp();
  }
  process.stdout.write(`${renderReport(report)}\n`);
  const out = resolve(options.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ ...report, markdown: resultsTable(report) }, null, 2)}\n`);
  process.stdout.write(`JSON: ${out}\n`);
  return report.checks.every((check) => check.ok || check.kind === 'target') ? 0 : 1;
};

process.exitCode = await main();
