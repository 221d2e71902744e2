import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkCounterHistory, doubleCounts, failoverFigures, type FailoverFigures } from '../helpers/counter-history.ts';
import { announceSkip, assertDockerReady, SKIP_REQUESTED } from '../helpers/docker-preflight.ts';
import { asOperation, get, isOk, Load, type Outcome } from '../helpers/http.ts';
import { runOk } from '../helpers/run.ts';
import { fieldsOfLines, redisCli, sentinelCli, sentinelMaster } from '../helpers/stack-redis.ts';
import { removeOnSignals, SwarmStack } from '../helpers/swarm.ts';
import { waitFor } from '../helpers/wait.ts';

// deploy/swarm/stack.yaml with deploy/swarm/ha.yaml layered on it (Redis master, two replicas,
// three sentinels, each a Swarm service found by its name) on a single-node swarm, deployed as
// docs/swarm.md tells an operator; then, under load through nginx, a planned failover and a
// `docker kill` of the master's container, each request's outcome checked by the history checker.

const stack = new SwarmStack({ ha: true });
const skip = SKIP_REQUESTED ? 'SKIPPED BY REQUEST (SKIP_E2E=1)' : false;
if (SKIP_REQUESTED) announceSkip(basename(import.meta.filename));

/** The Redis nodes: each a service of one task whose name is the address the sentinels give. */
const NODES = ['redis', 'redis-replica-1', 'redis-replica-2'];
const SENTINELS = ['sentinel-1', 'sentinel-2', 'sentinel-3'];
/** The nodes' min-replicas-max-lag (ha.yaml): a crash may lose at most this much acknowledged traffic. */
const MAX_LAG_SECONDS = 1;
/** Concurrent request loops on /count through nginx. */
const LOOPS = 8;

/** The count as the app reads it, from the master (a replica's may lag); retried while a failover settles. */
const visits = async (): Promise<number> => {
  let value = NaN;
  await waitFor('GET /get/default/visits answered', async () => {
    const reply = await get(`${stack.base}/get/default/visits`, 'application/json');
    if (reply.status !== 200) return false;
    value = (JSON.parse(reply.body) as { value: number }).value;
    return true;
  }, 30_000, 250);
  return value;
};

/** The node every sentinel names as master (by service name); throws while they disagree. */
const master = async (): Promise<string> => {
  const names = await Promise.all(SENTINELS.map((sentinel) => sentinelMaster(stack, sentinel)));
  if (names.some((name) => name !== names[0]) || !NODES.includes(names[0] ?? '')) throw new Error(`the sentinels name ${names.join(', ')}`);
  return names[0] ?? '';
};

const replication = async (node: string): Promise<string> => (await redisCli(stack, ['INFO', 'replication'], { service: node })).replaceAll('\r', '');

/**
 * The group whole: the sentinels agree on a master that has both replicas online with a lag of at
 * most 1 s, and every sentinel knows the two replicas and the two other sentinels, in no failover.
 */
const waitWhole = (timeoutMs: number): Promise<number> =>
  waitFor('the HA group whole (a master, two replicas online, three sentinels agreeing)', async () => {
    const info = await replication(await master());
    const online = info.split('\n').filter((line) => /^slave\d+:.*state=online.*lag=[01]\b/.test(line)).length;
    if (!info.includes('role:master') || online !== 2) return false;
    for (const sentinel of SENTINELS) {
      const fields = fieldsOfLines(await sentinelCli(stack, ['SENTINEL', 'MASTER', 'counter'], sentinel));
      if (fields['num-slaves'] !== '2' || fields['num-other-sentinels'] !== '2' || fields.flags !== 'master') return false;
    }
    return true;
  }, timeoutMs, 500);

interface Failover {
  figures: FailoverFigures;
  problems: string[];
  outcomes: Outcome[];
  from: string;
  to: string;
  /** From the fault to the sentinels naming the new master. */
  promotedMs: number;
}

/**
 * Runs `fault` under LOOPS loops of GET /count through nginx, from 2 s before it until counting
 * resumed on the master the sentinels promoted, plus 2 s; reads the count before and after while
 * nothing runs, and checks the whole history.
 */
const failoverUnderLoad = async (t: TestContext, what: string, fault: (from: string) => Promise<void>): Promise<Failover> => {
  const from = await master();
  const before = await visits();
  const load = new Load(stack.base, { loops: LOOPS, maxMs: 120_000, maxRequests: 300_000 });
  let outcomes: Outcome[];
  // Set as the failover goes (a record: the times are read after the load's finally).
  const marks = { faultAt: 0, promotedMs: 0, to: '' };
  try {
    await sleep(2000);
    marks.faultAt = performance.now();
    await fault(from);
    await waitFor('the sentinels name a new master', async () => {
      marks.to = await master();
      return marks.to !== from;
    }, 60_000, 250);
    marks.promotedMs = Math.round(performance.now() - marks.faultAt);
    const promotedAt = performance.now();
    await waitFor('counting resumed', () => Promise.resolve(load.outcomes.some((o) => isOk(o) && o.start > promotedAt)), 60_000, 100);
    await sleep(2000);
  } finally {
    outcomes = await load.stop();
  }
  const after = await visits();
  const history = outcomes.map(asOperation);
  const figures = failoverFigures(history, before, after, marks.faultAt);
  const problems = checkCounterHistory(history, before, after);
  const { to, promotedMs } = marks;
  const line = `${what}: ${from} → ${to}, named ${promotedMs} ms after the fault; ${JSON.stringify(figures)}`;
  t.diagnostic(line);
  process.stderr.write(`# swarm HA ${line}\n`);
  return { figures, problems, outcomes, from, to, promotedMs };
};

/** Every answer that was not a 2xx, other than a 503 (what a write refused or timed out gets). */
const notOkNor503 = (outcomes: Outcome[]): string[] => outcomes.filter((o) => !isOk(o) && o.status !== 503).map((o) => o.error ?? `${o.status} from ${o.servedBy || '?'}`);

describe('Redis with Sentinel on Swarm (deploy/swarm/stack.yaml + deploy/swarm/ha.yaml) on a single-node swarm', { skip }, () => {
  before(
    async () => {
      await assertDockerReady();
      removeOnSignals(stack);
      await stack.deploy();
      await waitWhole(120_000);
    },
    { timeout: 12 * 60_000 },
  );
  after(() => {
    stack.remove();
  }, { timeout: 5 * 60_000 });

  it('runs as the docs deploy it: redis the first master with both replicas, the sentinels giving names, the app counting on it', async () => {
    assert.deepEqual((await Promise.all(stack.services.map(async (s) => (await stack.containerIds(s, { healthy: true })).length))), stack.services.map(() => 1).with(0, 3), 'web 3 healthy tasks, every other service 1');
    assert.equal(await master(), 'redis', 'the sentinels name the stack\'s redis, by its service name');
    const info = await replication('redis');
    assert.match(info, /role:master/);
    assert.match(info, /connected_slaves:2/);
    for (const replica of ['redis-replica-1', 'redis-replica-2']) assert.match(await replication(replica), /role:slave[\s\S]*master_host:redis\n[\s\S]*master_link_status:up/, replica);
    const reply = await get(`${stack.base}/count`, 'application/json');
    assert.equal(reply.status, 200, reply.body);
  });

  it('a planned failover (planned-failover.sh in a sentinel) under load: no acknowledged hit lost, nothing counted twice, only 503s meanwhile; the old master becomes a replica', { timeout: 4 * 60_000 }, async (t) => {
    const failover = await failoverUnderLoad(t, 'planned-failover.sh', async () => {
      await stack.exec('sentinel-1', ['planned-failover.sh']);
    });
    assert.deepEqual(failover.problems, [], 'the history checks: nothing lost, nothing counted twice, values in order');
    assert.equal(failover.figures.lostAtLeast, 0);
    assert.ok(failover.figures.acknowledged > 100, `a real load: ${failover.figures.acknowledged} acknowledged`);
    assert.deepEqual(notOkNor503(failover.outcomes).slice(0, 5), [], 'only 503s while writes were paused');
    const rejoinedMs = await waitWhole(90_000);
    t.diagnostic(`the group was whole again ${rejoinedMs} ms after counting resumed`);
    assert.match(await replication(failover.from), /role:slave/, `the old master ${failover.from} is a replica`);
  });

  it(`docker kill of the master's container under load: a replica takes over, nothing counted twice, at most ${MAX_LAG_SECONDS} s of acknowledged hits lost; Swarm restarts the task and it comes back as a replica`, { timeout: 4 * 60_000 }, async (t) => {
    let killed = '';
    const failover = await failoverUnderLoad(t, 'docker kill', async (from) => {
      const ids = await stack.containerIds(from);
      assert.equal(ids.length, 1, `one container of ${from}`);
      killed = ids[0] ?? '';
      await runOk('docker', ['kill', killed]);
    });
    const { figures } = failover;
    assert.deepEqual(doubleCounts(failover.problems), [], 'nothing counted twice');
    if (figures.lostAtLeast === 0) assert.deepEqual(failover.problems, [], 'nothing lost: the whole history checks');
    assert.ok(figures.lostAtLeast <= figures.perSecondBefore * MAX_LAG_SECONDS, `lost at least ${figures.lostAtLeast} acknowledged hits, more than ${MAX_LAG_SECONDS} s of traffic (${figures.perSecondBefore}/s)`);
    assert.ok(figures.acknowledged > 100, `a real load: ${figures.acknowledged} acknowledged`);
    assert.ok(figures.writesStoodStillMs < 60_000, 'counting resumed within a minute');
    assert.deepEqual(notOkNor503(failover.outcomes).slice(0, 5), [], 'only 503s while there was no master');

    // Swarm starts a new task of the killed node's service (a new container, a new address, the
    // same name), and the sentinels make it a replica of the new master.
    const backMs = await waitFor(`${failover.from} back as a replica of ${failover.to}`, async () => {
      const [id] = await stack.containerIds(failover.from);
      if (!id || id === killed) return false;
      const info = await replication(failover.from);
      return info.includes('role:slave') && info.includes(`master_host:${failover.to}\n`) && info.includes('master_link_status:up');
    }, 120_000, 500);
    t.diagnostic(`${failover.from} was a replica of ${failover.to} again ${backMs} ms after counting resumed`);
    await waitWhole(60_000);
  });
});

it('tears down: no service, container, network, volume, secret or image of the stack remains; the engine is as it was', { skip, timeout: 5 * 60_000 }, async () => {
  await assertDockerReady();
  stack.remove(); // a no-op when the hook above already did it
  assert.deepEqual(await stack.leftovers(), { services: [], containers: [], networks: [], volumes: [], secrets: [], images: [] }, `left behind by ${stack.name}`);
  assert.deepEqual(await stack.engineRestored(), stack.engineBefore, 'the swarm state and the Redis node label are as before the test');
});
