import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ComposeStack } from '../helpers/compose.ts';
import { checkCounterHistory, failoverFigures } from '../helpers/counter-history.ts';
import { asOperation, get, isOk, Load } from '../helpers/http.ts';
import { runOk } from '../helpers/run.ts';
import { redisCli, sentinelMaster } from '../helpers/stack-redis.ts';
import { describeStack } from '../helpers/stack-suite.ts';
import { waitFor } from '../helpers/wait.ts';

/** The nodes' min-replicas-max-lag (compose.ha.yaml): a crash may lose at most this much acknowledged traffic. */
const MAX_LAG_SECONDS = 1;
// A /24 of its own per run, so that stacks running at once do not collide.
const SUBNET = `10.${randomInt(200, 250)}.${randomInt(0, 256)}`;

const masterAddress = (stack: ComposeStack): Promise<string> => sentinelMaster(stack);
/** compose.ha.yaml's fixed addresses (the last number) of the Redis nodes. */
const SERVICE_AT: Record<string, string | undefined> = { 10: 'redis', 11: 'redis-replica-1', 12: 'redis-replica-2' };

const visits = async (stack: ComposeStack): Promise<number> => {
  const reply = await get(`${stack.base}/get/default/visits`, 'application/json');
  assert.equal(reply.status, 200, reply.body);
  return (JSON.parse(reply.body) as { value: number }).value;
};

describeStack(
  'Redis with Sentinel (compose.ha.yaml): one master, two replicas, three sentinels',
  import.meta.filename,
  (stack) => {
    it('runs the HA services hardened like the others, and the app on the master the sentinels name', async () => {
      const services = new Set((await stack.containers()).filter((c) => c.running).map((c) => c.service));
      for (const service of ['redis', 'redis-replica-1', 'redis-replica-2', 'sentinel-1', 'sentinel-2', 'sentinel-3', 'web', 'nginx']) assert.ok(services.has(service), `${service} running`);
      const inspected = JSON.parse(await runOk('docker', ['inspect', ...(await stack.containerIds('sentinel-2'))])) as { HostConfig: { ReadonlyRootfs: boolean; CapDrop: string[] } }[];
      assert.equal(inspected.length, 1);
      assert.deepEqual(inspected.map((c) => [c.HostConfig.ReadonlyRootfs, c.HostConfig.CapDrop]), [[true, ['ALL']]]);
      assert.equal(await masterAddress(stack), `${SUBNET}.10`);
      const replication = await redisCli(stack, ['INFO', 'replication']);
      assert.match(replication, /role:master/);
      assert.match(replication, /connected_slaves:2/);
      const reply = await get(`${stack.base}/count`, 'application/json');
      assert.equal(reply.status, 200);
    });

    /**
     * Under load through nginx, `fault` strikes the master's container: the sentinels must promote
     * a replica, counting resume, nothing be counted twice, at most MAX_LAG_SECONDS of acknowledged
     * hits be lost and every failure be a 503. Then `heal` brings the old master back, and the
     * sentinels must make it a replica.
     */
    const failover = async (t: TestContext, what: string, fault: (container: string) => Promise<unknown>, heal: (container: string) => Promise<unknown>) => {
      const address = await masterAddress(stack);
      const service = SERVICE_AT[address.slice(SUBNET.length + 1)];
      assert.ok(service, `the master ${address} is one of the Redis nodes`);
      const [master] = await stack.containerIds(service);
      assert.ok(master);
      const before = await visits(stack);
      const load = new Load(stack.base, { loops: 10, maxMs: 120_000, maxRequests: 300_000 });
      let outcomes;
      let faultAt = 0;
      try {
        await sleep(2000);
        faultAt = performance.now();
        await fault(master);
        const promotedMs = await waitFor('a replica promoted', async () => (await masterAddress(stack)) !== address, 60_000, 250);
        t.diagnostic(`the sentinels named a new master ${promotedMs} ms after the ${what}`);
        await waitFor('counting resumed', () => Promise.resolve(load.outcomes.some((o) => isOk(o) && o.start > faultAt + promotedMs)), 60_000, 100);
        await sleep(2000);
      } finally {
        outcomes = await load.stop();
      }
      const after = await visits(stack);
      const history = outcomes.map(asOperation);
      const figures = failoverFigures(history, before, after, faultAt);
      t.diagnostic(JSON.stringify(figures));
      process.stderr.write(`# compose HA ${what}: ${JSON.stringify(figures)}\n`);
      const { lostAtLeast, perSecondBefore: perSecond, writesStoodStillMs: stood } = figures;

      const problems = checkCounterHistory(history, before, after);
      assert.deepEqual(problems.filter((p) => p.startsWith('counted twice')), [], 'nothing counted twice');
      assert.ok(lostAtLeast <= perSecond * MAX_LAG_SECONDS, `lost at least ${lostAtLeast} acknowledged hits, more than ${MAX_LAG_SECONDS} s of traffic (${perSecond}/s)`);
      assert.ok(stood < 60_000, 'counting resumed within a minute');
      assert.deepEqual(outcomes.filter((o) => !isOk(o) && o.status !== 503).map((o) => o.error ?? o.status).slice(0, 5), [], 'only 503s while the master was away');

      // The old master comes back at its address, and the sentinels make it a replica of the new one.
      await heal(master);
      await waitFor('the old master back as a replica', async () => /role:slave/.test(await redisCli(stack, ['INFO', 'replication'], { service })), 90_000, 500);
    };

    it(`docker kill of the master's container under load through nginx: a replica takes over, counting resumes, nothing counted twice, at most ${MAX_LAG_SECONDS} s of acknowledged hits lost`, { timeout: 3 * 60_000 }, async (t) => {
      await failover(t, 'docker kill', (master) => runOk('docker', ['kill', master]), (master) => runOk('docker', ['start', master]));
    });

    it(`docker pause of the (new) master's container under load (frozen, not gone: its address still answers to TCP): the same, and unpaused it becomes a replica`, { timeout: 3 * 60_000 }, async (t) => {
      await failover(t, 'docker pause', (master) => runOk('docker', ['pause', master]), (master) => runOk('docker', ['unpause', master]));
    });
  },
  { env: { REDIS_HA_SUBNET: SUBNET, SENTINEL_DOWN_AFTER_MS: '3000' }, options: { overrides: ['compose.ha.yaml'] } },
);
