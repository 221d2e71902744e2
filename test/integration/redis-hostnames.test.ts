// Sentinel by host name (deploy/swarm/ha.yaml: Swarm gives a task a new address at each start):
// redis/start-redis.sh's REDIS_REPLICA_ANNOUNCE_IP and redis/start-sentinel.sh's
// SENTINEL_RESOLVE_HOSTNAMES, on a real redis-server and a real Sentinel. e2e `swarm-ha` fails
// a master over by name on Swarm.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SentinelProcess } from '../helpers/redis-ha.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { run } from '../helpers/run.ts';

const REDIS_DIR = fileURLToPath(new URL('../../redis/', import.meta.url));
const ADMIN = { username: 'admin', password: 'hostnames-admin-pw' };
/** A CONFIG GET reply as [name, value], whether it came as a RESP2 array or a RESP3 map. */
const pair = (reply: unknown): unknown[] => (Array.isArray(reply) ? reply : Object.entries(reply as Record<string, unknown>).flat());

describe('Redis and Sentinel by host name (SENTINEL_RESOLVE_HOSTNAMES, REDIS_REPLICA_ANNOUNCE_IP)', () => {
  const folder = mkdtempSync(join(tmpdir(), 'vc-hostnames-'));
  const sentinelPassword = join(folder, 'sentinel_password');
  const counterPassword = join(folder, 'counter_password');
  // The sentinels' own user's password in test/helpers/redis-ha.ts (SentinelProcess logs in with it).
  writeFileSync(sentinelPassword, 'ha-sentinel-pw\n');
  writeFileSync(counterPassword, 'hostnames-counter-pw\n');
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    rmSync(folder, { recursive: true, force: true });
  });

  const script = (name: string, env: Record<string, string>) =>
    run('sh', [join(REDIS_DIR, name)], {
      env: { PATH: process.env.PATH ?? '', REDIS_CONF_DIR: REDIS_DIR, REDIS_DATA_DIR: folder, SENTINEL_DIR: folder, REDIS_PASSWORD_FILE: counterPassword, REDIS_SENTINEL_PASSWORD_FILE: sentinelPassword, ...env },
      timeoutMs: 10_000,
    });

  it('refuses a host name to watch unless told to resolve names, a bad SENTINEL_RESOLVE_HOSTNAMES and a bad REDIS_REPLICA_ANNOUNCE_IP, naming the setting (exit 78)', async () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['start-sentinel.sh', { SENTINEL_MONITOR: 'redis 6379' }, /^start-sentinel: SENTINEL_MONITOR must be "ip port" \(got "redis 6379"\)$/m],
      ['start-sentinel.sh', { SENTINEL_MONITOR: 'redis 6379', SENTINEL_RESOLVE_HOSTNAMES: 'maybe' }, /^start-sentinel: SENTINEL_RESOLVE_HOSTNAMES must be yes or no \(got "maybe"\)$/m],
      ['start-sentinel.sh', { SENTINEL_MONITOR: 're/dis 6379', SENTINEL_RESOLVE_HOSTNAMES: 'yes' }, /^start-sentinel: SENTINEL_MONITOR must be "ip port"/m],
      ['start-redis.sh', { REDIS_REPLICA_ANNOUNCE_IP: 'redis replica' }, /^start-redis: REDIS_REPLICA_ANNOUNCE_IP must be an address or a host name \(got "redis replica"\)$/m],
    ];
    for (const [name, env, message] of cases) {
      const started = await script(name, env);
      assert.equal(started.code, 78, `${name} ${JSON.stringify(env)}: ${started.stderr}`);
      assert.match(started.stderr, message);
    }
  });

  it('a node announces the name it is given; a sentinel watches a master by name and gives the app that name, not an address', async () => {
    const node = new RedisServer({ username: 'counter', password: 'hostnames-counter-pw', asInTheStack: { adminPassword: ADMIN.password, env: { REDIS_REPLICA_ANNOUNCE_IP: 'redis-replica-1', REDIS_SENTINEL_PASSWORD_FILE: sentinelPassword } } });
    cleanups.push(() => node.destroy());
    await node.start();
    assert.deepEqual(pair(await node.command(['CONFIG', 'GET', 'replica-announce-ip'], ADMIN)), ['replica-announce-ip', 'redis-replica-1']);

    const sentinel = new SentinelProcess({ SENTINEL_MONITOR: `localhost ${node.port}`, SENTINEL_RESOLVE_HOSTNAMES: 'yes', SENTINEL_MASTER_NAME: 'counter', REDIS_SENTINEL_PASSWORD_FILE: sentinelPassword, REDIS_PASSWORD_FILE: counterPassword });
    cleanups.push(() => { sentinel.killNow(); });
    await sentinel.start();
    assert.deepEqual(await sentinel.command(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'counter']), ['localhost', String(node.port)]);
    assert.deepEqual(pair(await sentinel.command(['SENTINEL', 'CONFIG', 'GET', 'resolve-hostnames'])), ['resolve-hostnames', 'yes']);
    assert.deepEqual(pair(await sentinel.command(['SENTINEL', 'CONFIG', 'GET', 'announce-hostnames'])), ['announce-hostnames', 'yes']);
  });
});
