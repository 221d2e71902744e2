import { parseArgs } from 'node:util';

export interface BenchOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  /** Measured time is split into this many interleaved segments per target. */
  rounds: number;
  replicas: number;
  /** Also measure bare node:http replicas behind the same nginx: the floor any Node.js app has. */
  floor: boolean;
  /** An nginx >= 1.27.3 to run; found on PATH when neither this nor nginxImage is given. */
  nginxBin: string | undefined;
  /** A Docker image whose nginx runs the configuration instead, with host networking. */
  nginxImage: string | undefined;
  /** An already running stack (e.g. Compose) to load instead of starting one. */
  target: URL | undefined;
  redisRequests: number;
  /** Replicas write V8 CPU profiles here (node --cpu-prof) when set. */
  profileDir: string | undefined;
  /** The server the replicas run, when not this checkout's src/server.ts (to compare revisions). */
  app: string | undefined;
  /** Extra flags for the replicas' node, to try settings out before committing them. */
  nodeFlags: string[];
  out: string;
  /** Keep the run's folder (configs, app and nginx logs) instead of deleting it. */
  keep: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]

Starts redis-server, the app replicas and nginx (with the project's nginx configuration) on
127.0.0.1, loads / and /count, measures the ceiling of the same nginx in front of a trivial
upstream and Redis INCR alone, and prints one table (text and Markdown) plus JSON.

  --connections N     concurrent connections of the load generator (default 64)
  --duration S        seconds of measured load per target (default 10)
  --warmup S          seconds of unmeasured load per target first (default 3)
  --rounds N          split each target's measured time into N segments, run round-robin
                      across the targets, so that other load on the machine weighs on all of
                      them alike (default 5)
  --replicas N        app replicas (default 3)
  --floor             also measure N bare node:http replicas behind the same nginx: what any
                      Node.js app could at best reach here
  --nginx PATH        nginx binary >= 1.27.3 (default: $NGINX_BIN, else nginx on PATH)
  --nginx-image IMG   run nginx from this Docker image instead (docker run --network host),
                      e.g. nginx:1.30
  --target URL        load an already running stack at this loopback URL instead of starting
                      one, e.g. http://127.0.0.1:80 (the ceiling is still measured when an
                      nginx is available)
  --redis-requests N  INCR commands for redis-benchmark (default 500000)
  --app FILE          run the replicas from this server entry instead of src/server.ts, e.g.
                      another revision's checkout (git worktree) to compare with
  --profile DIR       run the replicas under node --cpu-prof, writing .cpuprofile files to DIR
  --node-flags FLAGS  extra node flags for the replicas, space-separated, e.g.
                      --node-flags=--perf-basic-prof (to try a flag before committing it)
  --out FILE          JSON results (default bench/results/latest.json)
  --keep              keep the run's temporary folder (rendered configs, app, nginx and
                      Redis logs) and print where it is
  -h, --help          this text
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

const positiveInt = (name: string, raw: string | undefined, fallback: number): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be a positive integer (got ${JSON.stringify(raw)})`);
  return value;
};

// Load is only ever sent to this machine: a typo must not turn the harness on another host.
const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/;

const loopbackUrl = (raw: string): URL => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--target is not a URL (got ${JSON.stringify(raw)})`);
  }
  if (url.protocol !== 'http:') throw new UsageError('--target must be an http:// URL');
  if (!LOOPBACK.test(url.hostname)) throw new UsageError(`--target must be a loopback address such as 127.0.0.1 (got ${url.hostname})`);
  return url;
};

/** Parses argv; returns undefined when help was asked for. */
export const parseOptions = (argv: string[], env: NodeJS.ProcessEnv): BenchOptions | undefined => {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      connections: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      replicas: { type: 'string' },
      floor: { type: 'boolean' },
      nginx: { type: 'string' },
      'nginx-image': { type: 'string' },
      target: { type: 'string' },
      'redis-requests': { type: 'string' },
      app: { type: 'string' },
      profile: { type: 'string' },
      'node-flags': { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return undefined;
  if (values.nginx && values['nginx-image']) throw new UsageError('give either --nginx or --nginx-image, not both');
  return {
    connections: positiveInt('connections', values.connections, 64),
    durationS: positiveInt('duration', values.duration, 10),
    warmupS: positiveInt('warmup', values.warmup, 3),
    rounds: positiveInt('rounds', values.rounds, 5),
    replicas: positiveInt('replicas', values.replicas, 3),
    floor: values.floor ?? false,
    nginxBin: values.nginx ?? (values['nginx-image'] ? undefined : env.NGINX_BIN || undefined),
    nginxImage: values['nginx-image'],
    target: values.target === undefined ? undefined : loopbackUrl(values.target),
    redisRequests: positiveInt('redis-requests', values['redis-requests'], 500_000),
    app: values.app,
    profileDir: values.profile,
    nodeFlags: values['node-flags']?.split(/\s+/).filter(Boolean) ?? [],
    out: values.out ?? 'bench/results/latest.json',
    keep: values.keep ?? false,
  };
};
