import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { createClient } from 'redis';
import type { CounterId } from '../src/counters/names.ts';
import { VISITS } from '../src/routes/count.ts';
import { measureRedisCallCost } from './redis-call-cost.ts';
import { measureRedisMemory } from './redis-memory.ts';
import { measureInterleaved, newTarget, type Target } from './load.ts';
import { freePorts, getStatus, processTree, start, started, statusMiB, stop, waitFor } from './proc.ts';
import { frameworkNote, loadChecks, report, type Check } from './report.ts';

/**
 * The app's routes under load, a row each. `counts` names the counter a route raises: its rise
 * over the measured runs must equal the route's 2xx answers.
 */
const APP_ROUTES: { path: string; counts?: CounterId }[] = [
  { path: '/' },
  { path: '/count', counts: VISITS },
  { path: '/hit/bench/page', counts: { namespace: 'bench', key: 'page' } },
];

// The options are documented once, in bench/README.md; --help prints that section.
const OPTIONS = readFileSync(new URL('README.md', import.meta.url), 'utf8').split(/^## Options$/m)[1] ?? '';
const USAGE = `Usage: npm run bench -- [options]\n${OPTIONS.replaceAll('```', '').trim()}\n`;

const REPO = fileURLToPath(new URL('..', import.meta.url));
const execFileAsync = promisify(execFile);

/** Something the bench needs is not there: exit 69, saying what. */
class Missing extends Error {}

const need = (command: string, args: string[], why: string): string => {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`.trim();
  if (result.status !== 0) throw new Missing(`${why} needs \`${[command, ...args].join(' ')}\`, which failed: ${result.error?.message ?? output}`);
  return output;
};

const parseOptions = () => {
  const text = (value: string) => ({ type: 'string', default: value }) as const;
  const flag = { type: 'boolean', default: false } as const;
  const { values } = parseArgs({
    options: {
      connections: text('64'), warmup: text('3'), duration: text('10'), rounds: text('5'), replicas: text('3'),
      'nginx-image': text(process.env.NGINX_IMAGE || 'nginx:1.30'), target: { type: 'string' }, keep: flag, help: { ...flag, short: 'h' },
    },
  });
  const int = (name: 'connections' | 'warmup' | 'duration' | 'rounds' | 'replicas') => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`--${name} must be a positive integer`);
    return value;
  };
  // Load only ever goes to this machine: a typo must not aim it at another host.
  if (values.target !== undefined && !/^http:\/\/(127(\.\d+){3}|localhost|\[::1\])(:\d+)?\/?$/.test(values.target)) {
    throw new TypeError('--target must be http:// on a loopback address, e.g. http://127.0.0.1:80');
  }
  const { target, keep, help } = values;
  return { connections: int('connections'), warmup: int('warmup'), duration: int('duration'), rounds: int('rounds'), replicas: int('replicas'), image: values['nginx-image'], target, keep, help };
};

/** Containers started, removed at the end whatever happens. */
const containers: string[] = [];

/**
 * The project's nginx, from the image, whose own entrypoint renders nginx/templates/*.template
 * with the nginx/*.envsh beside it, as in Compose. On the host's network: it stays on loopback.
 */
const startNginx = async (image: string, dir: string, upstreamPorts: number[], extra: string[] = []) => {
  const [port = 0] = await freePorts(1);
  mkdirSync(dir);
  const container = `visit-counter-bench-${process.pid}-${containers.length}`;
  containers.push(container);
  const mounts = [
    'nginx/templates/default.conf.template:/etc/nginx/templates/default.conf.template',
    ...readdirSync(join(REPO, 'nginx')).filter((file) => file.endsWith('.envsh')).map((file) => `nginx/${file}:/docker-entrypoint.d/${file}`),
  ];
  const env = {
    NGINX_LISTEN: `127.0.0.1:${port}`,
    // stub_status off the host's network: the nginx side by side here would all take port 8081.
    NGINX_STATUS_LISTEN: 'unix:/run/nginx-status.sock',
    // Pasted into the template's `server ${WEB_UPSTREAM} resolve fail_timeout=5s;`: a server line per port.
    WEB_UPSTREAM: upstreamPorts.map((upstream) => `127.0.0.1:${upstream}`).join('; server '),
    NGINX_RESOLVER: '127.0.0.1', // never asked: the addresses are literal
    RATE_LIMIT_PER_SECOND: '0', // else /count, all from one address, would measure the limiter
    CONNECTIONS_PER_CLIENT: '0', // else more connections than 50 from one address would get 429
  };
  const log = openSync(join(dir, 'entrypoint.log'), 'w');
  const child = start('docker', [
    'run', '--rm', '--pull', 'never', '--name', container, '--network', 'host',
    // Where the entrypoint renders the templates (a tmpfs in Compose too); the logs become files.
    '--tmpfs', '/etc/nginx/conf.d', '-v', `${dir}:/var/log/nginx`,
    ...mounts.flatMap((mount) => ['-v', `${join(REPO, mount)}:ro`]),
    ...Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]),
    ...extra, image,
  ], ['ignore', log, log]);
  closeSync(log);
  await waitFor(dir, child, join(dir, 'entrypoint.log'), async () => (await getStatus(`http://127.0.0.1:${port}/nginx-health`)) === 200);
  const pid = Number(need('docker', ['inspect', '--format', '{{.State.Pid}}', container], 'CPU accounting'));
  return {
    url: `http://127.0.0.1:${port}`,
    pids: processTree(pid),
    accessLog: join(dir, 'access.log'),
    /** Graceful (SIGQUIT, the image's STOPSIGNAL). */
    stop: async () => {
      await execFileAsync('docker', ['stop', container]);
      await stop(child);
    },
  };
};

/** The app image's command line (web/Dockerfile's CMD), so the replicas run with the image's Node flags. */
const imageCommand = (): string[] => {
  const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(REPO, 'web/Dockerfile'), 'utf8'))?.[1];
  if (!cmd) throw new Error('web/Dockerfile has no CMD ["node", ...] line');
  // WORKDIR is the checkout here: the script's path is taken from the repository's root.
  return (JSON.parse(cmd) as string[]).slice(1).map((arg) => (arg.startsWith('-') ? arg : join(REPO, arg)));
};

/** A node server on loopback, its output going straight to a file as to Docker's log pipe. */
const startNode = async (logPath: string, args: string[], port: number, env: Record<string, string> = {}) => {
  const log = openSync(logPath, 'w');
  const child = start(process.execPath, args, ['ignore', log, log], { PATH: process.env.PATH, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), ...env });
  closeSync(log);
  // Readiness requests that got an answer, which the app logs like any other.
  const server = { child, pid: child.pid ?? 0, log: logPath, probes: 0 };
  await waitFor(logPath, child, logPath, async () => {
    const status = await getStatus(`http://127.0.0.1:${port}/readyz`);
    if (status !== undefined) server.probes++;
    return status === 200;
  });
  return server;
};

/** Parsed JSON lines of a log file; undefined for a line that is not JSON. */
const jsonLines = (path: string) =>
  readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown> | undefined;
    } catch {
      return undefined;
    }
  });

const main = async (): Promise<number> => {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { connections, replicas, image } = options;
  const root = mkdtempSync(join(tmpdir(), 'visit-counter-bench-'));
  const cleanUp = async () => {
    if (containers.length) spawnSync('docker', ['rm', '--force', ...containers], { stdio: 'ignore' });
    await Promise.all([...started].map((child) => stop(child)));
    if (options.keep) process.stderr.write(`bench: run folder kept at ${root}\n`);
    else rmSync(root, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));

  const setup: Record<string, string | number> = { cpus: cpus().length, node: process.version };
  const targets: Target[] = [];
  const checks: Check[] = [];
  const extraRows: string[][] = [];
  const memory = { peakRss: new Map<number, number>(), privatePeak: new Map<number, number>() };
  let redisSections = '';
  try {
    const version = need('docker', ['run', '--rm', '--pull', 'never', '--entrypoint', 'nginx', image, '-v'], `nginx from the image ${image}`);
    setup.nginx = `${image} (${version.replace('nginx version: ', '')}), docker run --network host`;
    const [fixedPort = 0, redisPort = 0, ...ports] = await freePorts(2 + 3 * replicas);
    // The ceiling: the same site in front of a server block of the same nginx answering a fixed body.
    const fixedBody = ['-v', `${join(REPO, 'bench/fixed-body.conf.template')}:/etc/nginx/templates/fixed-body.conf.template:ro`, '-e', `FIXED_BODY_PORT=${fixedPort}`];
    const ceiling = await startNginx(image, join(root, 'nginx-ceiling'), [fixedPort], fixedBody);
    const ceilingTarget = newTarget('ceiling: nginx → fixed body', `${ceiling.url}/count`, { nginx: ceiling.pids });
    targets.push(ceilingTarget);

    if (options.target !== undefined) {
      const base = new URL(options.target).origin;
      setup.target = base;
      // Compose does not publish Redis: the counter is read through /get, which counts nothing.
      const throughApp = (id: CounterId) => async () => ((await (await fetch(`${base}/get/${id.namespace}/${id.key}`)).json()) as { value: number | null }).value ?? 0;
      for (const route of APP_ROUTES) targets.push(newTarget(`GET ${route.path} (target)`, `${base}${route.path}`, {}, route.counts ? { counter: throughApp(route.counts) } : {}));
      await measureInterleaved(targets, options);
      await ceiling.stop();
    } else {
      setup.redis = need('redis-server', ['--version'], 'the counter store').replace(/^.*v=(\S+).*$/s, '$1');
      need('redis-benchmark', ['--version'], 'the Redis INCR row');
      // What the image runs: the JavaScript `npm run build` makes (web/Dockerfile's build stage).
      need('npm', ['run', '--silent', 'build'], 'the replicas');
      setup.replicas = `${replicas} × web/Dockerfile's CMD: node ${imageCommand().map((arg) => arg.replace(`${REPO}/`, '')).join(' ')}`;
      // The committed redis.conf (append-only file, fsync every second); where it listens and writes is the bench's.
      const password = randomBytes(16).toString('hex');
      const redisArgs = ['--bind', '127.0.0.1', '--port', String(redisPort), '--dir', root, '--logfile', join(root, 'redis.log'), '--requirepass', password];
      const redis = start('redis-server', [join(REPO, 'redis/redis.conf'), ...redisArgs], 'ignore');
      const admin = createClient({ socket: { host: '127.0.0.1', port: redisPort, reconnectStrategy: false }, password });
      admin.on('error', () => undefined);
      const readCounter = async ({ namespace, key }: CounterId) => Number((await admin.hGet(`c:{${namespace}/${key}}`, 'v')) ?? 0);
      await waitFor('redis-server', redis, join(root, 'redis.log'), () => admin.connect().then(() => true, () => false));
      // As start-redis.sh does in the container.
      await admin.sendCommand(['FUNCTION', 'LOAD', 'REPLACE', readFileSync(join(REPO, 'redis/functions/counter.lua'), 'utf8')]);

      const [appPorts, floorPorts, fastifyPorts] = [ports.slice(0, replicas), ports.slice(replicas, 2 * replicas), ports.slice(2 * replicas)];
      // METRICS_PORT=0: the replicas measure every request as in Compose, but serve no metrics
      // (they would all take the same default port here).
      const redisEnv = { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redisPort), REDIS_PASSWORD: password, LOG_LEVEL: 'info', METRICS_PORT: '0' };
      const app = await Promise.all(appPorts.map((port, i) => startNode(join(root, `replica-${i + 1}.log`), imageCommand(), port, { ...redisEnv, REPLICA_NAME: `replica-${i + 1}` })));
      const floor = await Promise.all(floorPorts.map((port, i) => startNode(join(root, `floor-${i + 1}.log`), [join(REPO, 'bench/floor-server.js')], port)));
      const fastify = await Promise.all(fastifyPorts.map((port, i) => startNode(join(root, `fastify-${i + 1}.log`), [join(REPO, 'bench/fastify-floor-server.js')], port)));
      const floorFront = await startNginx(image, join(root, 'nginx-floor'), floorPorts);
      const fastifyFront = await startNginx(image, join(root, 'nginx-fastify'), fastifyPorts);
      const appFront = await startNginx(image, join(root, 'nginx-app'), appPorts);
      const fronts = [ceiling, floorFront, fastifyFront, appFront];
      const nginx = fronts.flatMap((front) => front.pids); // the idle ones cost next to nothing
      const pidsOf = (servers: { pid: number }[]) => servers.map((server) => server.pid);
      const [appPids, floorPids, fastifyPids] = [pidsOf(app), pidsOf(floor), pidsOf(fastify)];
      ceilingTarget.tiers.nginx = nginx;
      targets.push(newTarget(`floor: nginx → ${replicas} × bare node:http`, `${floorFront.url}/count`, { nginx, replicas: floorPids }, { replicaPids: floorPids }));
      targets.push(newTarget(`nginx → ${replicas} × bare Fastify`, `${fastifyFront.url}/count`, { nginx, replicas: fastifyPids }, { replicaPids: fastifyPids }));
      for (const [i, { path, counts }] of APP_ROUTES.entries()) {
        const more = { counter: counts === undefined ? undefined : () => readCounter(counts), replicaPids: i === APP_ROUTES.length - 1 ? appPids : undefined };
        targets.push(newTarget(`GET ${path} (app)`, `${appFront.url}${path}`, { nginx, replicas: appPids, redis: [redis.pid ?? 0] }, more));
      }

      const memoryPids = [...appPids, ...floorPids, ...fastifyPids];
      const poll = setInterval(() => {
        for (const pid of memoryPids) memory.privatePeak.set(pid, Math.max(memory.privatePeak.get(pid) ?? 0, statusMiB(pid, 'RssAnon')));
      }, 200);
      await measureInterleaved(targets, options);
      clearInterval(poll);
      for (const pid of memoryPids) memory.peakRss.set(pid, statusMiB(pid, 'VmHWM'));
      // Group commit at work: hits counted (warm-ups included) per function call (reports included).
      const calls = Number(/cmdstat_fcall:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? Number.NaN);
      const counted = (await Promise.all(APP_ROUTES.flatMap(({ counts }) => (counts ? [readCounter(counts)] : [])))).reduce((sum, value) => sum + value, 0);
      setup['hits per FCALL'] = `${(counted / calls).toFixed(1)} (${counted.toLocaleString('en-US')} hits, ${calls.toLocaleString('en-US')} calls)`;

      const benchmark = ['-h', '127.0.0.1', '-p', String(redisPort), '-a', password, '-t', 'incr', '-c', String(connections), '-n', '500000', '--csv'];
      const { stdout } = await execFileAsync('redis-benchmark', benchmark);
      // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
      const cells = stdout.split('\n').find((line) => line.startsWith('"INCR"'))?.split(',').map((cell) => Number(cell.replaceAll('"', '')));
      if (cells?.length !== 8) throw new Error(`unexpected redis-benchmark output: ${stdout}`);
      const [, rps = 0, , , p50 = 0, p95 = 0, p99 = 0] = cells;
      extraRows.push([`Redis INCR alone (redis-benchmark, ${connections} clients)`, Math.round(rps).toLocaleString('en-US'), p50.toFixed(2), `(p95 ${p95.toFixed(2)})`, p99.toFixed(2), ...Array<string>(6).fill('–')]);
      redisSections = (await measureRedisCallCost(admin, redis.pid ?? 0)) + (await measureRedisMemory(admin, redisPort, password));
      admin.destroy();

      // nginx first, so that every request it took has been answered before the replicas stop.
      await Promise.all(fronts.map((front) => front.stop()));
      const exits = await Promise.all(app.map((server) => stop(server.child)));
      await Promise.all([...started].map((child) => stop(child))); // the floors and Redis
      // A retried request lists every attempt ("502, 200"), one whose client left shows "-": either
      // may or may not have reached an app, so the log check cannot be exact then.
      const proxied = jsonLines(appFront.accessLog);
      const answered = proxied.filter((entry) => /^\d{3}$/.test(String(entry?.upstream_status))).length;
      const logged = app.flatMap((server) => jsonLines(server.log));
      const lines = logged.filter((entry) => entry?.msg === 'request').length;
      const broken = logged.filter((entry) => entry === undefined).length;
      const probes = app.reduce((sum, server) => sum + server.probes, 0);
      checks.push(
        {
          ok: lines === answered + probes && broken === 0 && answered === proxied.length,
          what: 'one JSON log line per request, none lost at shutdown',
          detail: `${lines} request lines for ${answered} requests answered through nginx + ${probes} readiness probes; ${proxied.length - answered} retried, aborted or unreadable; ${broken} lines not JSON`,
        },
        { ok: exits.every((code) => code === 0), what: 'replicas stop gracefully on SIGTERM', detail: `exit codes ${exits.join(', ')}` },
      );
    }
  } catch (error) {
    if (!(error instanceof Missing)) throw error;
    process.stderr.write(`bench: ${error.message}\n`);
    return 69; // EX_UNAVAILABLE
  } finally {
    await cleanUp();
  }
  setup['load generator'] = `autocannon in the harness, ${connections} connections, Accept: */*`;
  setup.timing = `${options.warmup} s warm-up, then ${options.duration} s measured per target in ${options.rounds} interleaved rounds`;
  const notes = options.target ? ["the stack's own processes are not charged by tier (their CPU time shows as other load); the counter read through /count is exact only while nothing else visits it"] : [];
  checks.unshift(...loadChecks(targets, memory.peakRss));
  notes.unshift(...frameworkNote(targets, memory.peakRss));
  process.stdout.write(report(setup, targets, extraRows, memory, checks, notes) + redisSections);
  return checks.every((check) => check.ok || check.goal) ? 0 : 1;
};

process.exitCode = await main();
