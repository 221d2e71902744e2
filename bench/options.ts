import { parseArgs } from 'node:util';

export interface BenchOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  replicas: number;
  /** An nginx >= 1.27.3 to run; found on PATH when neither this nor nginxImage is given. */
  nginxBin: string | undefined;
  /** A Docker image whose nginx runs the configuration instead, with host networking. */
  nginxImage: string | undefined;
  /** An already running stack (e.g. Compose) to load instead of starting one. */
  target: URL | undefined;
  redisRequests: number;
  /** Replicas write V8 CPU profiles here (node --cpu-prof) when set. */
  profileDir: string | undefined;
  out: string;
}

export const USAGE = `Usage: npm run bench -- [options]

Starts redis-server, the app replicas and nginx (with the project's nginx configuration) on
127.0.0.1, loads / and /count, measures the ceiling of the same nginx in front of a trivial
upstream and Redis INCR alone, and prints one table (text and Markdown) plus JSON.

  --connections N     concurrent connections of the load generator (default 64)
  --duration S        seconds of measured load per target (default 10)
  --warmup S          seconds of load before each measurement (default 3)
  --replicas N        app replicas (default 3)
  --nginx PATH        nginx binary >= 1.27.3 (default: $NGINX_BIN, else nginx on PATH)
  --nginx-image IMG   run nginx from this Docker image instead (docker run --network host),
                      e.g. nginx:1.30
  --target URL        load an already running stack at this loopback URL instead of starting
                      one, e.g. http://127.0.0.1:80 (the ceiling is still measured when an
                      nginx is available)
  --redis-requests N  INCR commands for redis-benchmark (default 500000)
  --profile DIR       run the replicas under node --cpu-prof, writing .cpuprofile files to DIR
  --out FILE          JSON results (default bench/results/latest.json)
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
      replicas: { type: 'string' },
      nginx: { type: 'string' },
      'nginx-image': { type: 'string' },
      target: { type: 'string' },
      'redis-requests': { type: 'string' },
      profile: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return undefined;
  if (values.nginx && values['nginx-image']) throw new UsageError('give either --nginx or --nginx-image, not both');
  return {
    connections: positiveInt('connections', values.connections, 64),
    durationS: positiveInt('duration', values.duration, 10),
    warmupS: positiveInt('warmup', values.warmup, 3),
    replicas: positiveInt('replicas', values.replicas, 3),
    nginxBin: values.nginx ?? (values['nginx-image'] ? undefined : env.NGINX_BIN || undefined),
    nginxImage: values['nginx-image'],
    target: values.target === undefined ? undefined : loopbackUrl(values.target),
    redisRequests: positiveInt('redis-requests', values['redis-requests'], 500_000),
    profileDir: values.profile,
    out: values.out ?? 'bench/results/latest.json',
  };
};
