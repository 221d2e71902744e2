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
    assert.equal(config.metricsPort, 9464);
  });

  it('takes METRICS_PORT, 0 for no metrics server', () => {
    assert.equal(loadConfig({ METRICS_PORT: '9100' }).metricsPort, 9100);
    assert.equal(loadConfig({ METRICS_PORT: '0' }).metricsPort, 0);
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

  it('takes the admin token (ADMIN_TOKEN or ADMIN_TOKEN_FILE) of at least 16 characters, none by default', () => {
    assert.equal(loadConfig({}).live.adminToken, undefined);
    assert.equal(loadConfig({ ADMIN_TOKEN: 'a'.repeat(16) }).live.adminToken, 'a'.repeat(16));
    assert.throws(() => loadConfig({ ADMIN_TOKEN: 'a'.repeat(15) }), /^ConfigError: ADMIN_TOKEN must be at least 16 characters$/);
    const folder = tempFolder();
    const file = (name: string, text: string) => {
      writeFileSync(join(folder, name), text);
      return join(folder, name);
    };
    assert.equal(loadConfig({ ADMIN_TOKEN_FILE: file('sixteen', `${'b'.repeat(16)}\r\n`) }).live.adminToken, 'b'.repeat(16));
    assert.throws(() => loadConfig({ ADMIN_TOKEN_FILE: file('fifteen', `${'b'.repeat(15)}\n`) }), /^ConfigError: ADMIN_TOKEN_FILE must hold at least 16 characters$/);
    assert.throws(() => loadConfig({ ADMIN_TOKEN: 'a'.repeat(16), ADMIN_TOKEN_FILE: file('both', 'b'.repeat(16)) }), /^ConfigError: ADMIN_TOKEN and ADMIN_TOKEN_FILE are both set; set only one$/);
  });

  it('gives a Cluster whose first seed is an IPv6 address a URL with the address in brackets', () => {
    const urlOf = (nodes: string) => {
      const { redis } = loadConfig({ REDIS_CLUSTER_NODES: nodes });
      assert.ok(redis.kind !== 'sentinel');
      return redis.url;
    };
    assert.equal(urlOf('[fd00::3]:7001,redis-1:6379'), 'redis://[fd00::3]:7001');
    assert.equal(urlOf('redis-1:6379,[fd00::3]:7001'), 'redis://redis-1:6379');
  });

  it('takes REDIS_CLUSTER_NODES as the seeds of a Redis Cluster, with the usual credentials', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:6379, 10.0.0.2:7000,[fd00::3]:7001', REDIS_HOST: 'ignored', REDIS_USERNAME: 'counter', REDIS_PASSWORD: 'pw' });
    assert.ok(config.redis.kind !== 'sentinel');
    assert.deepEqual(config.redis.clusterNodes, [
      { host: 'redis-1', port: 6379 },
      { host: '10.0.0.2', port: 7000 },
      { host: 'fd00::3', port: 7001 },
    ]);
    assert.equal(config.redis.username, 'counter');
    assert.equal(config.redis.password, 'pw');
    assert.equal(config.redis.database, 0);
    assert.equal((loadConfig({}).redis as { clusterNodes?: unknown }).clusterNodes, undefined);
    assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:6379', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm' }), /REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set; set only one/);
  });

  it('rejects REDIS_CLUSTER_NODES that are no host:port list, or that come with REDIS_URL or another database', () => {
    for (const value of ['redis-1', 'redis-1:', 'redis-1:0', 'redis-1:70000', 'a b:1', ':6379', ',', 'fd00::3:7000']) {
      assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: value }), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /^REDIS_CLUSTER_NODES (must be a comma-separated list of host:port|names no node)/, value);
        return true;
      });
    }
    assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:1', REDIS_URL: 'redis://h:1' }), /^ConfigError: REDIS_CLUSTER_NODES and REDIS_URL are both set/);
    assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:1', REDIS_DB: '2' }), /^ConfigError: REDIS_DB must be 0 with REDIS_CLUSTER_NODES/);
  });

  it('takes node ports 1 and 65535, refuses anything after the port, and shows an example in its message', () => {
    assert.deepEqual((loadConfig({ REDIS_CLUSTER_NODES: 'a:1,b:65535' }).redis as { clusterNodes?: unknown }).clusterNodes, [{ host: 'a', port: 1 }, { host: 'b', port: 65535 }]);
    for (const value of ['redis-1:6379x', 'redis-1:6379/0', '[fd00::3]:7000]']) {
      assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: value }), (error: Error) => {
        assert.equal(error.message, `REDIS_CLUSTER_NODES must be a comma-separated list of host:port, such as redis-1:6379,redis-2:6379 (got ${JSON.stringify(value)})`);
        return true;
      });
    }
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

  it('follows a master through Sentinel with REDIS_SENTINELS and REDIS_SENTINEL_MASTER, with the same user, password and database', () => {
    const config = loadConfig({
      REDIS_SENTINELS: 'sentinel-1:26379, 10.0.0.7:26380,[fd00::1]:26381',
      REDIS_SENTINEL_MASTER: 'counter',
      REDIS_USERNAME: 'counter',
      REDIS_PASSWORD: 's3cret',
      REDIS_DB: '1',
      REDIS_HOST: 'ignored',
    });
    assert.deepEqual(config.redis, {
      kind: 'sentinel',
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: '10.0.0.7', port: 26380 },
        { host: 'fd00::1', port: 26381 },
      ],
      masterName: 'counter',
      username: 'counter',
      password: 's3cret',
      database: 1,
    });
  });

  it('keeps the single-Redis settings when the Sentinel ones are unset or empty', () => {
    assert.deepEqual(loadConfig({ REDIS_SENTINELS: '', REDIS_SENTINEL_MASTER: '' }).redis, { url: 'redis://redis:6379', username: undefined, password: undefined, database: 0 });
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
    ['REDIS_SENTINELS without a port', { REDIS_SENTINELS: 'sentinel-1', REDIS_SENTINEL_MASTER: 'm' }, /^REDIS_SENTINELS must be a comma-separated list of host:port, such as sentinel-1:26379,sentinel-2:26379 \(got "sentinel-1"\)$/],
    ['REDIS_SENTINELS naming no node', { REDIS_SENTINELS: ' , ', REDIS_SENTINEL_MASTER: 'm' }, /^REDIS_SENTINELS names no node$/],
    ['REDIS_SENTINELS port out of range', { REDIS_SENTINELS: 'a:70000', REDIS_SENTINEL_MASTER: 'm' }, /^REDIS_SENTINELS must be a comma-separated list of host:port, such as sentinel-1:26379,sentinel-2:26379 \(got "a:70000"\)$/],
    ['REDIS_SENTINELS without REDIS_SENTINEL_MASTER', { REDIS_SENTINELS: 'a:26379' }, /^REDIS_SENTINELS is set but REDIS_SENTINEL_MASTER is not/],
    ['REDIS_SENTINEL_MASTER without REDIS_SENTINELS', { REDIS_SENTINEL_MASTER: 'm' }, /^REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS is not/],
    ['REDIS_SENTINEL_MASTER with a space', { REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_MASTER: 'my master' }, /^REDIS_SENTINEL_MASTER must be letters, digits, dots, dashes or underscores \(got "my master"\)$/],
    ['REDIS_SENTINELS with REDIS_URL', { REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_MASTER: 'm', REDIS_URL: 'redis://h:1' }, /^REDIS_URL and REDIS_SENTINELS are both set; set only one$/],
    ['REDIS_TIMEOUT_MS too small', { REDIS_TIMEOUT_MS: '1' }, /^REDIS_TIMEOUT_MS must be >= 50/],
    ['REPLICA_NAME with spaces', { REPLICA_NAME: 'a b' }, /^REPLICA_NAME must be printable ASCII/],
    ['REPLICA_NAME too long', { REPLICA_NAME: 'r'.repeat(129) }, /^REPLICA_NAME must NOT have more than 128 characters/],
    ['METRICS_PORT not a number', { METRICS_PORT: 'prom' }, /^METRICS_PORT must be integer \(got "prom"\)$/],
    ['METRICS_PORT out of range', { METRICS_PORT: '-1' }, /^METRICS_PORT must be >= 0 \(got "-1"\)$/],
    ['METRICS_PORT the same as PORT', { PORT: '3000', METRICS_PORT: '3000' }, /^METRICS_PORT must differ from PORT \(both 3000\)/],
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
    assert.deepEqual(loadConfig({ REDIS_HOST: '::1', REDIS_PORT: '6380' }).redis, { url: 'redis://[::1]:6380', username: undefined, password: undefined, database: 0 });
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

  it('reads no .env file: a .env in the working directory changes nothing', (t) => {
    const folder = tempFolder();
    writeFileSync(join(folder, '.env'), 'PORT=4321\nLOG_LEVEL=debug\n');
    const cwd = process.cwd();
    t.after(() => {
      process.chdir(cwd);
    });
    process.chdir(folder);
    const config = loadConfig({});
    assert.equal(config.port, 3000);
    assert.equal(config.logLevel, 'info');
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
