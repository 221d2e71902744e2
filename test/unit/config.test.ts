import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';

// Folders for the secret files these tests write, removed when they are done.
const folders: string[] = [];
const tempFolder = (): string => {
  const folder = mkdtempSync(join(tmpdir(), 'vc-config-'));
  folders.push(folder);
  return folder;
};
after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ REPLICA_NAME: 'r1' });
    assert.equal(config.port, 3000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.replicaName, 'r1');
    assert.deepEqual(config.redis, { url: 'redis://redis:6379', username: undefined, password: undefined, database: 0 });
  });

  it('defaults the replica name to the hostname', () => {
    assert.ok(loadConfig({}).replicaName.length > 0);
  });

  it('builds the Redis address from its parts', () => {
    const config = loadConfig({
      REDIS_HOST: 'cache.internal',
      REDIS_PORT: '6380',
      REDIS_USERNAME: 'counter',
      REDIS_PASSWORD: 's3cret',
      REDIS_DB: '2',
    });
    assert.deepEqual(config.redis, { url: 'redis://cache.internal:6380', username: 'counter', password: 's3cret', database: 2 });
  });

  it('lets REDIS_URL override the parts', () => {
    const config = loadConfig({ REDIS_HOST: 'ignored', REDIS_URL: 'rediss://user:p%40ss@db.example:6390/3' });
    assert.deepEqual(config.redis, { url: 'rediss://user:p%40ss@db.example:6390/3', username: 'user', password: 'p@ss', database: 3 });
  });

  it('reads the password from REDIS_PASSWORD_FILE, without its trailing newline', () => {
    const file = join(tempFolder(), 'password');
    writeFileSync(file, 'from-a-secret\n');
    assert.equal(loadConfig({ REDIS_PASSWORD_FILE: file }).redis.password, 'from-a-secret');
    assert.equal(loadConfig({ REDIS_PASSWORD_FILE: file, REDIS_URL: 'redis://h:1' }).redis.password, 'from-a-secret');
  });

  it('rejects an unreadable REDIS_PASSWORD_FILE, and both password settings at once', () => {
    assert.throws(() => loadConfig({ REDIS_PASSWORD_FILE: '/nonexistent/pw' }), /^ConfigError: REDIS_PASSWORD_FILE cannot be read \(ENOENT/);
    assert.throws(() => loadConfig({ REDIS_PASSWORD_FILE: '/x', REDIS_PASSWORD: 'y' }), /both set/);
  });

  it('treats empty values as unset', () => {
    assert.equal(loadConfig({ REDIS_PASSWORD: '', PORT: '' }).port, 3000);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['REDIS_PORT not a number', { REDIS_PORT: 'abc' }, /^REDIS_PORT must be integer \(got "abc"\)$/],
    ['PORT out of range', { PORT: '70000' }, /^PORT must be <= 65535/],
    ['REDIS_DB out of range', { REDIS_DB: '16' }, /^REDIS_DB must be <= 15/],
    ['LOG_LEVEL unknown', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of fatal, error/],
    ['REDIS_URL wrong scheme', { REDIS_URL: 'http://x' }, /^REDIS_URL must start with redis:\/\/ or rediss:\/\//],
    ['REDIS_URL bad database', { REDIS_URL: 'redis://h/x' }, /^REDIS_URL database must be a number from 0 to 15/],
    ['REDIS_TIMEOUT_MS too small', { REDIS_TIMEOUT_MS: '1' }, /^REDIS_TIMEOUT_MS must be >= 50/],
    ['REPLICA_NAME with spaces', { REPLICA_NAME: 'a b' }, /^REPLICA_NAME must be printable ASCII/],
    ['REPLICA_NAME too long', { REPLICA_NAME: 'r'.repeat(129) }, /^REPLICA_NAME must NOT have more than 128 characters/],
  ];
  for (const [what, env, message] of bad) {
    it(`rejects ${what} with one line naming the variable`, () => {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && message.test(error.message) && !error.message.includes('\n'),
      );
    });
  }

  it('takes every log level pino knows', () => {
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) assert.equal(loadConfig({ LOG_LEVEL: level }).logLevel, level);
  });

  it('puts an IPv6 REDIS_HOST in brackets', () => {
    assert.equal(loadConfig({ REDIS_HOST: '::1', REDIS_PORT: '6380' }).redis.url, 'redis://[::1]:6380');
  });

  it('takes the database from REDIS_URL: 0 to 15, nothing else', () => {
    assert.equal(loadConfig({ REDIS_URL: 'redis://h/15' }).redis.database, 15);
    assert.equal(loadConfig({ REDIS_URL: 'redis://h/0' }).redis.database, 0);
    assert.equal(loadConfig({ REDIS_URL: 'redis://h' }).redis.database, 0);
    assert.equal(loadConfig({ REDIS_URL: 'redis://h/' }).redis.database, 0);
    for (const path of ['16', '1x', 'x1', '01', '0/1']) {
      assert.throws(() => loadConfig({ REDIS_URL: `redis://h/${path}` }), { name: 'ConfigError', message: `REDIS_URL database must be a number from 0 to 15 (got ${JSON.stringify(path)})` });
    }
  });

  it('names what is wrong with a REDIS_URL that is no usable address', () => {
    const refused = (url: string, message: string) => {
      assert.throws(() => loadConfig({ REDIS_URL: url }), { name: 'ConfigError', message });
    };
    refused('redis://a b', 'REDIS_URL is not a valid URL');
    refused('redis://h:99999', 'REDIS_URL is not a valid URL');
    refused('redis:///0', 'REDIS_URL has no host');
    refused('redis://h:0', 'REDIS_URL has an invalid port (got "0")');
  });

  it('reads the environment it is given, not the process environment', (t) => {
    const saved = process.env.PORT;
    t.after(() => {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    });
    process.env.PORT = '4321';
    assert.equal(loadConfig({}).port, 3000);
  });

  it('never echoes a password or URL in its message', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'ftp://user:hunter2@host' }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes('hunter2'),
    );
  });
});

describe('loadConfig: the counting service settings', () => {
  const invalid = (env: NodeJS.ProcessEnv, message: string) => {
    assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && error.message === message);
  };
  const secretFile = (content: string): string => {
    const dir = tempFolder();
    const file = join(dir, 'secret');
    writeFileSync(file, content);
    return file;
  };

  it('has the documented defaults: UTC, no expiry, 400 days of history, no create token, no trusted proxy', () => {
    const config = loadConfig({});
    assert.deepEqual(config.counting, { timeZone: 'UTC', ttlDays: 0, historyDays: 400, createToken: undefined });
    assert.equal(config.trustedProxies, undefined);
  });

  it('takes each setting', () => {
    const config = loadConfig({ COUNTER_TIMEZONE: 'Europe/Berlin', COUNTER_TTL_DAYS: '180', HISTORY_DAYS: '0', CREATE_TOKEN: 'a-long-enough-token', TRUSTED_PROXIES: '10.0.0.0/8, loopback' });
    assert.deepEqual(config.counting, { timeZone: 'Europe/Berlin', ttlDays: 180, historyDays: 0, createToken: 'a-long-enough-token' });
    assert.equal(config.trustedProxies, '10.0.0.0/8, loopback');
  });

  it('names the setting that is wrong', () => {
    invalid({ COUNTER_TIMEZONE: 'Mars/Olympus' }, 'COUNTER_TIMEZONE must be an IANA time zone name such as UTC or Europe/Berlin (got "Mars/Olympus")');
    invalid({ HISTORY_DAYS: '-1' }, 'HISTORY_DAYS must be >= 0 (got "-1")');
    invalid({ COUNTER_TTL_DAYS: 'forever' }, 'COUNTER_TTL_DAYS must be integer (got "forever")');
    invalid({ TRUSTED_PROXIES: 'nginx' }, 'TRUSTED_PROXIES must be a comma-separated list of addresses, CIDR ranges or loopback, linklocal, uniquelocal (got "nginx")');
    invalid({ CREATE_TOKEN: 'short' }, 'CREATE_TOKEN must be at least 16 characters');
    invalid({ CREATE_TOKEN: 'a-long-enough-token', CREATE_TOKEN_FILE: '/nowhere' }, 'CREATE_TOKEN and CREATE_TOKEN_FILE are both set; set only one');
  });

  it('keeps line ends inside a secret file, and refuses a file with nothing but line ends', () => {
    assert.equal(loadConfig({ CREATE_TOKEN_FILE: secretFile('first-line-of-it\nsecond\n') }).counting.createToken, 'first-line-of-it\nsecond');
    const empty = secretFile('\r\n\n');
    invalid({ CREATE_TOKEN_FILE: empty }, `CREATE_TOKEN_FILE is empty (${empty})`);
  });

  it('reads secret files with CRLF line ends or trailing blank lines as the same secret', () => {
    for (const content of ['the-create-token-1\n', 'the-create-token-1\r\n', 'the-create-token-1\n\n\n', 'the-create-token-1']) {
      assert.equal(loadConfig({ CREATE_TOKEN_FILE: secretFile(content) }).counting.createToken, 'the-create-token-1', JSON.stringify(content));
      assert.equal(loadConfig({ REDIS_PASSWORD_FILE: secretFile(content) }).redis.password, 'the-create-token-1', JSON.stringify(content));
    }
  });
});
