import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import ajvErrors from 'ajv-errors';
import { envSchema } from 'env-schema';

export interface RedisConnection {
  url: string;
  username?: string;
  password?: string;
  database: number;
}

export interface Config {
  host: string;
  port: number;
  logLevel: string;
  replicaName: string;
  redis: RedisConnection;
  redisTimeoutMs: number;
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
    REDIS_TIMEOUT_MS: { type: 'integer', minimum: 50, maximum: 10000, default: 500 },
  },
} as const;

interface RawEnv {
  PORT: number;
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
  REDIS_TIMEOUT_MS: number;
}

interface AjvIssue {
  instancePath: string;
  message?: string;
}

// One line: the variable, what is wrong with it, and the value, except for secrets (passwords,
// URLs that may hold one): the message ends up in logs.
const explain = (issue: AjvIssue, env: NodeJS.ProcessEnv): string => {
  const name = issue.instancePath.replace(/^\//, '');
  const secret = /PASSWORD|URL/.test(name);
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

// Compose and Kubernetes secrets arrive as files; one trailing newline is the file's, not the password's.
const readPasswordFile = (path: string): string => {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`REDIS_PASSWORD_FILE cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}: ${path})`);
  }
  const password = content.replace(/\r?\n$/, '');
  if (!password) throw new ConfigError(`REDIS_PASSWORD_FILE is empty (${path})`);
  return password;
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
  if (raw.REDIS_PASSWORD !== undefined && raw.REDIS_PASSWORD_FILE !== undefined) {
    throw new ConfigError('REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set; set only one');
  }
  const password = raw.REDIS_PASSWORD_FILE === undefined ? raw.REDIS_PASSWORD : readPasswordFile(raw.REDIS_PASSWORD_FILE);
  const redis = raw.REDIS_URL
    ? redisFromUrl(raw.REDIS_URL, raw.REDIS_USERNAME, password)
    : {
        url: `redis://${raw.REDIS_HOST.includes(':') ? `[${raw.REDIS_HOST}]` : raw.REDIS_HOST}:${raw.REDIS_PORT}`,
        username: raw.REDIS_USERNAME,
        password,
        database: raw.REDIS_DB,
      };
  return {
    host: raw.HOST,
    port: raw.PORT,
    logLevel: raw.LOG_LEVEL,
    replicaName: raw.REPLICA_NAME ?? hostname(),
    redis,
    redisTimeoutMs: raw.REDIS_TIMEOUT_MS,
  };
};
