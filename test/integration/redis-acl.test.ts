import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { RedisServer } from '../helpers/redis-server.ts';

const ADMIN = { username: 'admin', password: 'admin-pw' };

// What the app's Redis user (redis/counter-user.acl) may run, by the kind of key: the whole
// allowlist. Each kind of key gets only the commands the functions run on it.
const ALLOWED = {
  '(no key)': ['asking', 'auth', 'cluster|shards', 'cluster|slots', 'fcall', 'fcall_ro', 'hello', 'info', 'ping', 'quit', 'reset', 'unsubscribe'],
  'c:{a/b}': ['del', 'exists', 'expire', 'hdel', 'hexists', 'hget', 'hincrby', 'hkeys', 'ttl'],
  'a:{a/b}': ['del', 'exists', 'expire', 'get', 'set'],
  'u:{a/b}:20260101': ['del', 'expire', 'pfadd', 'pfcount', 'ttl'],
  'r:{a/b}:x': ['get', 'set'],
  'h:{a/b}:1': ['expire', 'hmget', 'hset'],
  'salt:20260101': ['get', 'set'],
  stats: ['hincrby'],
  '{instance}:replicas': ['expire', 'hgetall', 'hincrby', 'zadd', 'zincrby', 'zrange', 'zremrangebyrank', 'zremrangebyscore'],
  visits: [],
  other: [],
};

type CommandEntry = [string, number, string[], number, number, number, ...unknown[]];

describe("the app's Redis user (counter-user.acl), as an allowlist", () => {
  const redis = new RedisServer({ username: 'counter', password: 'counter-pw', asInTheStack: { adminPassword: ADMIN.password } });
  const asCounter = (...args: string[]) => redis.command(args);

  before(async () => {
    await redis.start();
  });
  after(async () => {
    await redis.destroy();
  });

  it('allows exactly the documented commands on each kind of key (ACL DRYRUN over the whole command table)', async () => {
    const admin = createClient({ url: redis.url, ...ADMIN });
    await admin.connect();
    try {
      const table = await admin.sendCommand<CommandEntry[]>(['COMMAND']);
      // Containers (CONFIG, FUNCTION ...) are checked through their subcommands.
      const entries = table.flatMap((entry) => [entry, ...((entry[9] as CommandEntry[] | undefined) ?? [])]);
      assert.ok(entries.length > 300, `${entries.length} commands`);
      const allowed: Record<string, string[]> = Object.fromEntries(Object.keys(ALLOWED).map((kind) => [kind, []]));
      for (const [name, arity, , firstKey, lastKey, step] of entries) {
        const words = name.split('|');
        for (const key of firstKey > 0 ? Object.keys(ALLOWED).filter((kind) => kind !== '(no key)') : ['(no key)']) {
          // The fewest arguments the command takes, with the key kind at every key position;
          // DRYRUN checks the arity first, so add arguments until it is satisfied.
          let verdict = '';
          for (let extra = 0; extra < 4 && !/^OK$|permissions/.test(verdict); extra += 1) {
            const args = [...words];
            while (args.length < Math.max(Math.abs(arity), words.length, firstKey + 1) + extra) args.push('1');
            if (firstKey > 0) {
              const end = lastKey < 0 ? args.length + lastKey : lastKey;
              for (let i = firstKey; i <= end; i += Math.max(step, 1)) args[i] = key;
            }
            verdict = await admin.sendCommand<string>(['ACL', 'DRYRUN', 'counter', ...args]).catch((error: unknown) => (error as Error).message);
          }
          if (verdict === 'OK') allowed[key]?.push(name);
          else if (!verdict.includes('permissions')) assert.match(verdict, /not found/, `${name}: ${verdict}`);
        }
      }
      for (const kind of Object.keys(allowed)) allowed[kind]?.sort();
      assert.deepEqual(allowed, ALLOWED);
    } finally {
      await admin.close();
    }
  });

  it('may publish and subscribe on the live-updates channel only', async () => {
    const admin = createClient({ url: redis.url, ...ADMIN });
    await admin.connect();
    try {
      const dryRun = (...args: string[]) => admin.sendCommand<string>(['ACL', 'DRYRUN', 'counter', ...args]).catch((error: unknown) => (error as Error).message);
      assert.equal(await dryRun('SUBSCRIBE', 'counter-updates'), 'OK');
      assert.equal(await dryRun('PUBLISH', 'counter-updates', 'x'), 'OK');
      assert.match(await dryRun('SUBSCRIBE', 'other'), /no permissions to access the 'other' channel/);
      assert.match(await dryRun('PUBLISH', 'other', 'x'), /no permissions to access the 'other' channel/);
      assert.match(await dryRun('PSUBSCRIBE', '*'), /no permissions to run the 'psubscribe' command/);
    } finally {
      await admin.close();
    }
  });

  it('refuses what would brick or freeze the counter: a non-number value, scripts, function loading', async () => {
    await asCounter('FCALL', 'counter_hit', '5', 'c:{default/visits}', 'u:{default/visits}:20260101', 'h:{default/visits}:1', 'h:{default/visits}:0', 'h:{default/visits}:2', '1', '20260101', '0', '0', '60', '30', '', 'key-1');
    const refused = [
      ['SET', 'c:{default/visits}', 'abc'],
      ['SET', 'visits', 'abc'],
      ['HSET', 'c:{default/visits}', 'v', 'abc'],
      ['HSETNX', 'c:{default/visits}', '20260102', 'abc'],
      ['EVAL', 'while true do end', '0'],
      ['SCRIPT', 'LOAD', 'return 1'],
      ['FUNCTION', 'LOAD', 'REPLACE', "#!lua name=counter\nredis.register_function('counter_version', function() while true do end end)"],
      ['FUNCTION', 'DELETE', 'counter'],
      ['SELECT', '1'],
      ['FLUSHALL'],
      ['KEYS', '*'],
      ['CONFIG', 'GET', 'dir'],
      ['FCALL', 'counter_migrate_legacy', '2', 'visits', 'c:{default/visits}', '1'],
    ];
    for (const command of refused) await assert.rejects(asCounter(...command), /NOPERM/, command.join(' '));
    assert.equal(await asCounter('FCALL_RO', 'counter_get', '1', 'c:{default/visits}'), '1');
  });

  it('cannot be used without credentials: the default user is off', async () => {
    const anonymous = new RedisServer();
    anonymous.port = redis.port;
    await assert.rejects(anonymous.command(['PING']), /NOAUTH|WRONGPASS|NOPERM/);
  });
});
