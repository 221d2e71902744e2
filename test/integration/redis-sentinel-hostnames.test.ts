// Sentinels that know the nodes by host name, as deploy/kubernetes/components/sentinel runs them
// (Kubernetes' stable pod names): start-sentinel.sh's SENTINEL_HOSTNAMES=yes and start-redis.sh's
// REDIS_ANNOUNCE_HOSTNAME, with real redis-server processes on the host and `localhost` as the name.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { HA_ADMIN, HA_COUNTER, MASTER_NAME, SENTINEL_USER, SentinelProcess } from '../helpers/redis-ha.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { run } from '../helpers/run.ts';
import { waitFor } from '../helpers/wait.ts';

const secrets = mkdtempSync(join(tmpdir(), 'visit-counter-hostnames-'));
const files = {
  REDIS_REPLICATION_PASSWORD_FILE: join(secrets, 'replication_password'),
  REDIS_SENTINEL_PASSWORD_FILE: join(secrets, 'sentinel_password'),
};
const node = (env: Record<string, string>) =>
  new RedisServer({ ...HA_COUNTER, asInTheStack: { adminPassword: HA_ADMIN.password, env: { ...files, REDIS_ANNOUNCE_HOSTNAME: 'localhost', ...env } } });

describe('Sentinel with host names (SENTINEL_HOSTNAMES=yes, REDIS_ANNOUNCE_HOSTNAME)', () => {
  const master = node({});
  let replica: RedisServer;
  let sentinel: SentinelProcess;

  before(async () => {
    writeFileSync(files.REDIS_REPLICATION_PASSWORD_FILE, 'hostnames-replication-pw\n');
    writeFileSync(files.REDIS_SENTINEL_PASSWORD_FILE, `${SENTINEL_USER.password}\n`);
    writeFileSync(join(secrets, 'counter_password'), `${HA_COUNTER.password}\n`);
    await master.start();
    replica = node({ REDIS_REPLICA_OF: `localhost ${master.port}` });
    await replica.start();
    sentinel = new SentinelProcess({
      SENTINEL_HOSTNAMES: 'yes',
      SENTINEL_MONITOR: `localhost ${master.port}`,
      SENTINEL_MASTER_NAME: MASTER_NAME,
      SENTINEL_QUORUM: '1',
      REDIS_SENTINEL_PASSWORD_FILE: files.REDIS_SENTINEL_PASSWORD_FILE,
      REDIS_PASSWORD_FILE: join(secrets, 'counter_password'),
    });
    await sentinel.start();
  });
  after(async () => {
    sentinel.killNow();
    await Promise.all([master.destroy(), replica.destroy()]);
    rmSync(secrets, { recursive: true, force: true });
  });

  it('the sentinel gives the master by name, and learns the replica by the name it announces', async () => {
    assert.deepEqual(await sentinel.command(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME], HA_COUNTER), ['localhost', String(master.port)]);
    assert.deepEqual(await replica.command(['CONFIG', 'GET', 'replica-announce-ip'], HA_ADMIN), { 'replica-announce-ip': 'localhost' });
    await waitFor('the sentinel to know the replica by name', async () => {
      // Each replica a map (RESP3) or a flat list of names and values.
      const replicas = (await sentinel.command(['SENTINEL', 'REPLICAS', MASTER_NAME])) as (string[] | Record<string, string>)[];
      const fields = replicas.map((each) => (Array.isArray(each)
        ? Object.fromEntries(each.flatMap((value, index) => (index % 2 === 0 ? [[value, each[index + 1]]] : [])))
        : each));
      return fields.some((each) => each.ip === 'localhost' && each.port === String(replica.port) && each.flags === 'slave');
    }, 20_000, 100);
  });

  it('a failover promotes the replica and gives it by name', async () => {
    assert.equal(await sentinel.command(['SENTINEL', 'FAILOVER', MASTER_NAME]), 'OK');
    await waitFor('the replica to be the master', async () => {
      const address = (await sentinel.command(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME], HA_COUNTER)) as string[];
      return address[0] === 'localhost' && address[1] === String(replica.port);
    }, 20_000, 100);
    await waitFor('the promoted node to say it is the master', async () => ((await replica.command(['ROLE'], HA_ADMIN)) as string[])[0] === 'master', 20_000, 100);
  });

  it('without SENTINEL_HOSTNAMES a host name is refused at start, naming the setting; a bad REDIS_ANNOUNCE_HOSTNAME too', async () => {
    const redisDir = fileURLToPath(new URL('../../redis/', import.meta.url));
    const refused = await run('sh', [join(redisDir, 'start-sentinel.sh')], {
      env: { PATH: process.env.PATH ?? '', SENTINEL_DIR: secrets, SENTINEL_MONITOR: `localhost ${master.port}`, REDIS_SENTINEL_PASSWORD_FILE: files.REDIS_SENTINEL_PASSWORD_FILE, REDIS_PASSWORD_FILE: join(secrets, 'counter_password') },
    });
    assert.equal(refused.code, 78);
    assert.match(refused.stderr, /SENTINEL_MONITOR must be "ip port" \(got "localhost \d+"\)/);
    const badName = await run('sh', [join(redisDir, 'start-redis.sh')], {
      env: { PATH: process.env.PATH ?? '', REDIS_CONF_DIR: redisDir, REDIS_PASSWORD_FILE: join(secrets, 'counter_password'), REDIS_ANNOUNCE_HOSTNAME: 'a name' },
    });
    assert.equal(badName.code, 78);
    assert.match(badName.stderr, /REDIS_ANNOUNCE_HOSTNAME must be a host name \(got "a name"\)/);
  });
});
