import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';

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
    const file = join(mkdtempSync(join(tmpdir(), 'vc-config-')), 'password');
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

  it('never echoes a password or URL in its message', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'ftp://user:hunter2@host' }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes('hunter2'),
    );
  });
});
