import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ComposeStack } from '../helpers/compose.ts';
import { checkCounterHistory } from '../helpers/counter-history.ts';
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

    it(`docker kill of the master's container under load through nginx: a replica takes over, counting resumes, nothing counted twice, at most ${MAX_LAG_SECONDS} s of acknowledged hits lost`, { timeout: 3 * 60_000 }, async (t) => {
      const [master] = await stack.containerIds('redis');
      assert.ok(master);
      const before = await visits(stack);
      const load = new Load(stack.base, { loops: 10, maxMs: 120_000, maxRequests: 300_000 });
      let outcomes;
      let killedAt = 0;
      try {
        await sleep(2000);
        killedAt = performance.now();
        await runOk('docker', ['kill', master]);
        const promotedMs = await waitFor('a replica promoted', async () => (await masterAddress(stack)) !== `${SUBNET}.10`, 60_000, 250);
        t.diagnostic(`the sentinels named a new master ${promotedMs} ms after the kill`);
        await waitFor('counting resumed', () => Promise.resolve(load.outcomes.some((o) => isOk(o) && o.start > killedAt + promotedMs)), 60_000, 100);
        await sleep(2000);
      } finally {
        outcomes = await load.stop();
      }
      const after = await visits(stack);
      const acknowledged = outcomes.filter(isOk);
      const beforeKill = acknowledged.filter((o) => o.end < killedAt).length;
      const perSecond = beforeKill / 2;
      const ends = acknowledged.map((o) => o.end).sort((a, b) => a - b);
      let stood = 0;
      for (let i = 1; i < ends.length; i += 1) stood = Math.max(stood, (ends[i] ?? 0) - (ends[i - 1] ?? 0));
      const lostAtLeast = Math.max(0, acknowledged.length - (after - before));
      const figures = { requests: outcomes.length, acknowledged: acknowledged.length, rise: after - before, lostAtLeast, perSecondBefore: perSecond, writesStoodStillMs: Math.round(stood) };
      t.diagnostic(JSON.stringify(figures));
      process.stderr.write(`# compose HA docker kill: ${JSON.stringify(figures)}\n`);

      const problems = checkCounterHistory(outcomes.map(asOperation), before, after);
      assert.deepEqual(problems.filter((p) => p.startsWith('counted twice')), [], 'nothing counted twice');
      assert.ok(lostAtLeast <= perSecond * MAX_LAG_SECONDS, `lost at least ${lostAtLeast} acknowledged hits, more than ${MAX_LAG_SECONDS} s of traffic (${perSecond}/s)`);
      assert.ok(stood < 60_000, 'counting resumed within a minute');
      assert.deepEqual(outcomes.filter((o) => !isOk(o) && o.status !== 503).map((o) => o.error ?? o.status).slice(0, 5), [], 'only 503s while the master was away');

      // The killed node comes back at its address, and the sentinels make it a replica of the new master.
      await runOk('docker', ['start', master]);
      await waitFor('the old master back as a replica', async () => /role:slave/.test(await redisCli(stack, ['INFO', 'replication'])), 90_000, 500);
    });
  },
  { env: { REDIS_HA_SUBNET: SUBNET, SENTINEL_DOWN_AFTER_MS: '3000' }, options: { overrides: ['compose.ha.yaml'] } },
);
