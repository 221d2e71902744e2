import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import ajvErrors from 'ajv-errors';
import { envSchema } from 'env-schema';
import proxyAddr from 'proxy-addr';
import { isTimeZone } from './counters/days.ts';

/** One Redis at a URL (the default). */
export interface SingleRedisConnection {
  kind?: 'single';
  url: string;
  username?: string;
  password?: string;
  database: number;
  /** Seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); when set, `url` is unused. */
  clusterNodes?: ClusterNode[];
}

/** A seed node of a Redis Cluster. */
export type ClusterNode = RedisNodeAddress;

export interface RedisNodeAddress {
  host: string;
  port: number;
}

/**
 * Redis with Sentinel: the app asks the sentinels which node is the master and follows it through
 * failovers. The same user and password log into the sentinels and the Redis nodes.
 */
export interface SentinelRedisConnection {
  kind: 'sentinel';
  sentinels: RedisNodeAddress[];
  /** The name the sentinels monitor the master under (`sentinel monitor NAME ...`). */
  masterName: string;
  username?: string;
  password?: string;
  database: number;
}

export type RedisConnection = SingleRedisConnection | SentinelRedisConnection;

export interface Config {
  host: string;
  port: number;
  logLevel: string;
  replicaName: string;
  redis: RedisConnection;
  redisTimeoutMs: number;
  counting: CountingSettings;
  live: LiveSettings;
  /** Addresses whose X-Forwarded-For is believed (Fastify's trustProxy); none when unset. */
  trustedProxies?: string;
  /** Port of the Prometheus metrics server (on `host`); 0 = none. */
  metricsPort: number;
}

interface CountingSettings {
  timeZone: string;
  /** Counters expire this many days after their last change; 0 = never. */
  ttlDays: number;
  /** Days of history kept per counter; 0 = none. */
  historyDays: number;
  /** When set, /create requires `Authorization: Bearer <token>`. */
  createToken?: string;
}

export interface LiveSettings {
  /** The operator's dashboard needs it (Basic or Bearer); without it, /dashboard is off. */
  adminToken?: string;
  /** Live streams (/stream) one client address may hold open on one replica. */
  streamsPerClient: number;
  /** Live streams one replica holds open at most. */
  streamsPerReplica: number;
}

/** A setting that cannot be used; the message names the variable and says what is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

// Ajv's own messages ("must be integer", "must be <= 65535") say what is wrong; where they would
// not (a pattern, an enum), the property's errorMessage (ajv-errors) says it instead.
const schema = {
  type: 'object',
  properties: {
    PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 3000 },
    METRICS_PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 9464 },
    HOST: { type: 'string', minLength: 1, default: '0.0.0.0' },
    LOG_LEVEL: {
      type: 'string',
      enum: LOG_LEVELS,
      default: 'info',
      errorMessage: { enum: `must be one of ${LOG_LEVELS.join(', ')}` },
    },
    REPLICA_NAME: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      pattern: '^[\\x21-\\x7e]+$',
      errorMessage: { pattern: 'must be printable ASCII without spaces' },
    },
    REDIS_HOST: { type: 'string', minLength: 1, default: 'redis' },
    REDIS_PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 6379 },
    REDIS_USERNAME: { type: 'string', minLength: 1 },
    REDIS_PASSWORD: { type: 'string', minLength: 1 },
    REDIS_PASSWORD_FILE: { type: 'string', minLength: 1 },
    REDIS_DB: { type: 'integer', minimum: 0, maximum: 15, default: 0 },
    REDIS_URL: { type: 'string', pattern: '^rediss?://', errorMessage: { pattern: 'must start with redis:// or rediss://' } },
    REDIS_SENTINELS: { type: 'string', minLength: 1 },
    REDIS_SENTINEL_MASTER: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      pattern: '^[A-Za-z0-9._-]+$',
      errorMessage: { pattern: 'must be letters, digits, dots, dashes or underscores' },
    },
    REDIS_CLUSTER_NODES: { type: 'string', minLength: 1 },
    REDIS_TIMEOUT_MS: { type: 'integer', minimum: 50, maximum: 10000, default: 500 },
    COUNTER_TIMEZONE: { type: 'string', minLength: 1, default: 'UTC' },
    COUNTER_TTL_DAYS: { type: 'integer', minimum: 0, maximum: 36500, default: 0 },
    HISTORY_DAYS: { type: 'integer', minimum: 0, maximum: 3650, default: 400 },
    TRUSTED_PROXIES: { type: 'string', minLength: 1 },
    CREATE_TOKEN: { type: 'string', minLength: 16, errorMessage: { minLength: 'must be at least 16 characters' } },
    CREATE_TOKEN_FILE: { type: 'string', minLength: 1 },
    ADMIN_TOKEN: { type: 'string', minLength: 16, errorMessage: { minLength: 'must be at least 16 characters' } },
    ADMIN_TOKEN_FILE: { type: 'string', minLength: 1 },
    STREAMS_PER_CLIENT: { type: 'integer', minimum: 1, maximum: 1000, default: 10 },
    STREAMS_PER_REPLICA: { type: 'integer', minimum: 1, maximum: 100000, default: 1000 },
  },
} as const;

interface RawEnv {
  PORT: number;
  METRICS_PORT: number;
  HOST: string;
  LOG_LEVEL: string;
  REPLICA_NAME?: string;
  REDIS_HOST: string;
  REDIS_PORT: number;
  REDIS_USERNAME?: string;
  REDIS_PASSWORD?: string;
  REDIS_PASSWORD_FILE?: string;
  REDIS_DB: number;
  REDIS_URL?: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_MASTER?: string;
  REDIS_CLUSTER_NODES?: string;
  REDIS_TIMEOUT_MS: number;
  COUNTER_TIMEZONE: string;
  COUNTER_TTL_DAYS: number;
  HISTORY_DAYS: number;
  TRUSTED_PROXIES?: string;
  CREATE_TOKEN?: string;
  CREATE_TOKEN_FILE?: string;
  ADMIN_TOKEN?: string;
  ADMIN_TOKEN_FILE?: string;
  STREAMS_PER_CLIENT: number;
  STREAMS_PER_REPLICA: number;
}

interface AjvIssue {
  instancePath: string;
  message?: string;
}

// One line: the variable, what is wrong with it, and the value, except for secrets (passwords,
// URLs that may hold one): the message ends up in logs.
const explain = (issue: AjvIssue, env: NodeJS.ProcessEnv): string => {
  const name = issue.instancePath.replace(/^\//, '');
  const secret = /PASSWORD|URL|TOKEN/.test(name);
  const got = name && !secret ? ` (got ${JSON.stringify(env[name])})` : '';
  return `${name || 'environment'} ${issue.message ?? 'is invalid'}${got}`;
};

// Credentials in the URL win; without them, REDIS_USERNAME and the password (or its file) apply,
// so a secret file can go with a URL that holds none.
const redisFromUrl = (raw: string, username?: string, password?: string): RedisConnection => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('REDIS_URL is not a valid URL');
  }
  if (!url.hostname) throw new ConfigError('REDIS_URL has no host');
  if (url.port && Number(url.port) < 1) throw new ConfigError(`REDIS_URL has an invalid port (got ${JSON.stringify(url.port)})`);
  const dbPath = url.pathname.replace(/^\//, '');
  if (dbPath !== '' && !/^(1[0-5]|[0-9])$/.test(dbPath)) {
    throw new ConfigError(`REDIS_URL database must be a number from 0 to 15 (got ${JSON.stringify(dbPath)})`);
  }
  return {
    url: raw,
    username: url.username ? decodeURIComponent(url.username) : username,
    password: url.password ? decodeURIComponent(url.password) : password,
    database: dbPath === '' ? 0 : Number(dbPath),
  };
};

const sentinelConnection = (raw: RawEnv, password: string | undefined): SentinelRedisConnection | undefined => {
  if (raw.REDIS_SENTINELS === undefined && raw.REDIS_SENTINEL_MASTER === undefined) return undefined;
  if (raw.REDIS_SENTINELS === undefined) throw new ConfigError('REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS is not; set both or neither');
  if (raw.REDIS_SENTINEL_MASTER === undefined) throw new ConfigError('REDIS_SENTINELS is set but REDIS_SENTINEL_MASTER is not; set both or neither');
  if (raw.REDIS_URL !== undefined) throw new ConfigError('REDIS_URL and REDIS_SENTINELS are both set; set only one');
  return {
    kind: 'sentinel',
    sentinels: parseNodes('REDIS_SENTINELS', raw.REDIS_SENTINELS, 'sentinel-1:26379,sentinel-2:26379'),
    masterName: raw.REDIS_SENTINEL_MASTER,
    username: raw.REDIS_USERNAME,
    password,
    database: raw.REDIS_DB,
  };
};

// Compose and Kubernetes secrets arrive as files; line ends at the end (CRLF, blank lines) are the
// file's, not the secret's. start-redis.sh reads the Redis password the same way.
const readSecretFile = (variable: string, path: string): string => {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${variable} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}: ${path})`);
  }
  const secret = content.replace(/[\r\n]+$/, '');
  if (!secret) throw new ConfigError(`${variable} is empty (${path})`);
  return secret;
};

// A secret given directly or as a file, not both.
const secretOf = (name: string, value: string | undefined, file: string | undefined): string | undefined => {
  if (value !== undefined && file !== undefined) throw new ConfigError(`${name} and ${name}_FILE are both set; set only one`);
  return file === undefined ? value : readSecretFile(`${name}_FILE`, file);
};

// A token from a file is checked here; ADMIN_TOKEN itself by the schema.
const checkAdminToken = (token: string | undefined): string | undefined => {
  if (token !== undefined && token.length < 16) throw new ConfigError('ADMIN_TOKEN_FILE must hold at least 16 characters');
  return token;
};

const checkTrustedProxies = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  try {
    proxyAddr.compile(value.split(',').map((part) => part.trim()));
  } catch {
    throw new ConfigError(`TRUSTED_PROXIES must be a comma-separated list of addresses, CIDR ranges or loopback, linklocal, uniquelocal (got ${JSON.stringify(value)})`);
  }
  return value;
};

// host:port, or [v6-address]:port, separated by commas (sentinels, a cluster's seed nodes). A port
// is required: sentinels listen on 26379 by convention, and a silent default would hide a missing one.
const NODE = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:,[\]]+)):([0-9]{1,5})$/;
const parseNodes = (variable: string, value: string, example: string): RedisNodeAddress[] => {
  const nodes = value.split(',').map((part) => part.trim()).filter((part) => part !== '').map((part) => {
    const match = NODE.exec(part);
    const port = Number(match?.[3]);
    if (!match || port < 1 || port > 65535) {
      throw new ConfigError(`${variable} must be a comma-separated list of host:port, such as ${example} (got ${JSON.stringify(value)})`);
    }
    return { host: match[1] ?? match[2] ?? '', port };
  });
  if (nodes.length === 0) throw new ConfigError(`${variable} names no node`);
  return nodes;
};

// A Cluster has one database (0) and is reached through its nodes, not one URL; REDIS_HOST and
// REDIS_PORT (which the Compose file always sets) are ignored.
const redisCluster = (raw: RawEnv, password: string | undefined): RedisConnection | undefined => {
  if (raw.REDIS_CLUSTER_NODES === undefined) return undefined;
  if (raw.REDIS_URL !== undefined) throw new ConfigError('REDIS_CLUSTER_NODES and REDIS_URL are both set; set only one');
  if (raw.REDIS_DB !== 0) throw new ConfigError(`REDIS_DB must be 0 with REDIS_CLUSTER_NODES: a Redis Cluster has only database 0 (got ${raw.REDIS_DB})`);
  const clusterNodes = parseNodes('REDIS_CLUSTER_NODES', raw.REDIS_CLUSTER_NODES, 'redis-1:6379,redis-2:6379');
  const first = clusterNodes[0] as ClusterNode;
  return {
    url: `redis://${first.host.includes(':') ? `[${first.host}]` : first.host}:${first.port}`,
    username: raw.REDIS_USERNAME,
    password,
    database: 0,
    clusterNodes,
  };
};

/** Reads and validates the environment; throws ConfigError with a one-line message on bad input. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  // Empty strings are how Compose passes an unset `${VAR:-}`; treat them as absent.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  let raw: RawEnv;
  try {
    raw = envSchema<RawEnv>({
      schema: structuredClone(schema),
      data: present,
      env: false,
      dotenv: false,
      ajv: {
        customOptions: (ajv) => {
          // Adds the errorMessage keyword to this instance. CommonJS: as ESM, its function is `default`.
          ajvErrors.default(ajv);
          return ajv;
        },
      },
    });
  } catch (error) {
    const issues = (error as { errors?: AjvIssue[] }).errors;
    const first = issues?.[0];
    if (!first) throw new ConfigError((error as Error).message);
    throw new ConfigError(explain(first, present));
  }
  const password = secretOf('REDIS_PASSWORD', raw.REDIS_PASSWORD, raw.REDIS_PASSWORD_FILE);
  if (!isTimeZone(raw.COUNTER_TIMEZONE)) {
    throw new ConfigError(`COUNTER_TIMEZONE must be an IANA time zone name such as UTC or Europe/Berlin (got ${JSON.stringify(raw.COUNTER_TIMEZONE)})`);
  }
  if (raw.REDIS_SENTINELS !== undefined && raw.REDIS_CLUSTER_NODES !== undefined) throw new ConfigError('REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set; set only one');
  const redis = sentinelConnection(raw, password) ?? redisCluster(raw, password) ?? (raw.REDIS_URL
    ? redisFromUrl(raw.REDIS_URL, raw.REDIS_USERNAME, password)
    : {
        url: `redis://${raw.REDIS_HOST.includes(':') ? `[${raw.REDIS_HOST}]` : raw.REDIS_HOST}:${raw.REDIS_PORT}`,
        username: raw.REDIS_USERNAME,
        password,
        database: raw.REDIS_DB,
      });
  if (raw.METRICS_PORT === raw.PORT) throw new ConfigError(`METRICS_PORT must differ from PORT (both ${raw.PORT}); 0 turns the metrics server off`);
  return {
    host: raw.HOST,
    port: raw.PORT,
    metricsPort: raw.METRICS_PORT,
    logLevel: raw.LOG_LEVEL,
    replicaName: raw.REPLICA_NAME ?? hostname(),
    redis,
    redisTimeoutMs: raw.REDIS_TIMEOUT_MS,
    counting: {
      timeZone: raw.COUNTER_TIMEZONE,
      ttlDays: raw.COUNTER_TTL_DAYS,
      historyDays: raw.HISTORY_DAYS,
      createToken: secretOf('CREATE_TOKEN', raw.CREATE_TOKEN, raw.CREATE_TOKEN_FILE),
    },
    live: {
      adminToken: checkAdminToken(secretOf('ADMIN_TOKEN', raw.ADMIN_TOKEN, raw.ADMIN_TOKEN_FILE)),
      streamsPerClient: raw.STREAMS_PER_CLIENT,
      streamsPerReplica: raw.STREAMS_PER_REPLICA,
    },
    trustedProxies: checkTrustedProxies(raw.TRUSTED_PROXIES),
  };
};
