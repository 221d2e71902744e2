import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { announceSkip, assertDockerReady, SKIP_REQUESTED } from '../helpers/docker-preflight.ts';
import { ACCEPT, get, isOk, Load, tally, type Outcome } from '../helpers/http.ts';
import { runOk } from '../helpers/run.ts';
import { readVisits } from '../helpers/stack-redis.ts';
import { DindSwarm, removeClusterOnSignals, type Task } from '../helpers/swarm-nodes.ts';
import { waitFor } from '../helpers/wait.ts';

// deploy/swarm/stack.yaml on a swarm of three Docker-in-Docker nodes (one manager, two workers):
// the overlay network across nodes, then a worker node stopped under load.

const cluster = new DindSwarm();
const skip = SKIP_REQUESTED ? 'SKIPPED BY REQUEST (SKIP_E2E=1)' : false;
if (SKIP_REQUESTED) announceSkip(basename(import.meta.filename));

let base = '';
let nginxNode = '';

const failures = (outcomes: Outcome[]): string[] =>
  outcomes.filter((o) => !isOk(o)).map((o) => `${new Date(o.at).toISOString()} ${o.error ?? `${o.status} from ${o.servedBy || '?'}`}`);
const ids = (tasks: Task[]): string[] => tasks.map((task) => task.id).sort();

describe('the Swarm stack on three Docker-in-Docker nodes', { skip }, () => {
  before(
    async () => {
      await assertDockerReady();
      removeClusterOnSignals(cluster);
      await cluster.start(process.env);
      await cluster.deploy();
      const [nginx] = await cluster.tasks('nginx');
      assert.ok(nginx, 'an nginx task runs');
      nginxNode = nginx.node;
      base = `http://${await cluster.address(nginxNode)}:8080`;
      await waitFor('GET / through nginx', async () => (await fetch(base, { signal: AbortSignal.timeout(2000) })).ok, 60_000, 500);
    },
    { timeout: 12 * 60_000 },
  );
  after(() => {
    cluster.remove();
  }, { timeout: 5 * 60_000 });

  it('is one swarm of three ready nodes, Redis on the labelled manager, web spread over all three', async () => {
    const states = await cluster.nodeStates();
    assert.deepEqual(Object.keys(states).sort(), [...cluster.nodes].sort());
    assert.deepEqual(Object.values(states), ['ready', 'ready', 'ready']);
    assert.deepEqual((await cluster.tasks('redis')).map((t) => t.node), [cluster.manager]);
    const web = await cluster.tasks('web', { healthy: true });
    assert.deepEqual([...new Set(web.map((t) => t.node))].sort(), [...cluster.nodes].sort(), 'one web task on each node');
  });

  it('the overlay networks span the nodes: nginx on one node reaches the web tasks on every node, and they reach Redis on the manager', async () => {
    const web = await cluster.tasks('web');
    const elsewhere = web.filter((t) => t.node !== nginxNode);
    assert.ok(elsewhere.length >= 2, 'web tasks on nodes other than nginx\'s');
    const seen = new Set<string>();
    await waitFor('every web task answering GET /count through nginx', async () => {
      const reply = await get(`${base}/count`, ACCEPT.json);
      assert.equal(reply.status, 200, `GET /count: ${reply.status} ${reply.body}`);
      seen.add(reply.servedBy);
      return web.every((t) => seen.has(t.id));
    }, 15_000, 20);
  });

  it('a worker node stopped under load: zero non-2xx, the counter rose by the 2xx answers, each total shown once; Swarm runs its web task elsewhere and that task takes traffic', async (t) => {
    // A worker that runs neither nginx (the load comes through it) nor Redis (pinned to the manager).
    const victim = cluster.nodes.find((node) => node !== cluster.manager && node !== nginxNode);
    assert.ok(victim);
    const webBefore = await cluster.tasks('web');
    assert.equal(webBefore.filter((task) => task.node === victim).length, 1, `one web task on ${victim}`);
    const before = await readVisits(cluster);
    const load = new Load(base, { loops: 4, maxMs: 150_000, maxRequests: 400_000 });
    let replacement: Task | undefined;
    const started = Date.now();
    try {
      await sleep(1000);
      await runOk('docker', ['stop', victim], { timeoutMs: 60_000 });
      t.diagnostic(`docker stop ${victim} took ${Date.now() - started - 1000} ms`);
      const down = await waitFor(`the manager sees ${victim} down`, async () => (await cluster.nodeStates())[victim] === 'down', 60_000, 500);
      t.diagnostic(`${victim} down after ${down} ms more`);
      await waitFor('three healthy web tasks again, none on the stopped node', async () => {
        const web = await cluster.tasks('web', { healthy: true });
        replacement = web.find((task) => !webBefore.some((old) => old.id === task.id));
        return web.length === 3 && replacement !== undefined && web.every((task) => task.node !== victim);
      }, 90_000, 500);
      assert.ok(replacement);
      assert.ok(!(await cluster.scheduledNodes('web')).includes(victim), 'Swarm schedules no web task on the stopped node');
      const web = ids(await cluster.tasks('web'));
      const answered = await waitFor('answers from exactly the three running tasks, the new one among them', async () =>
        JSON.stringify([...tally(load.since(Date.now() - 2000)).keys()].sort()) === JSON.stringify(web), 20_000, 250);
      t.diagnostic(`the replacement ${replacement.id} on ${replacement.node} ran and answered ${Date.now() - started - 1000} ms after the stop began (${answered} ms after it was healthy)`);
      // Counting goes on after the move.
      await sleep(2000);
    } finally {
      await load.stop();
    }
    const outcomes = load.outcomes;
    const afterLoad = await readVisits(cluster);
    const ok = outcomes.filter(isOk);
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    t.diagnostic(`${outcomes.length} requests in ${Date.now() - started} ms: ${ok.length} 2xx, slowest ${Math.round(slowest)} ms; answers per task ${JSON.stringify([...tally(outcomes)])}`);
    const failed = failures(outcomes);
    assert.deepEqual(failed.slice(0, 20), [], `${failed.length} of ${outcomes.length} requests were not 2xx`);
    assert.ok(ok.length > 100, `a real load: ${ok.length} 2xx answers`);
    assert.equal(afterLoad - before, ok.length, `the counter rose ${afterLoad - before} for ${ok.length} 2xx answers`);
    const totals = ok.map((o) => o.count ?? NaN);
    assert.equal(new Set(totals).size, totals.length, 'no total was shown twice');
    assert.deepEqual(totals.filter((n) => !(n > before && n <= afterLoad)).slice(0, 10), [], `every total shown is within ${before + 1}…${afterLoad}`);
    assert.ok(ok.some((o) => o.servedBy === replacement?.id && o.at > started), 'the replacement task counted');
  });
});

it('tears down: no node, network, volume or image of the cluster remains on the host engine', { skip, timeout: 5 * 60_000 }, async () => {
  await assertDockerReady();
  cluster.remove(); // a no-op when the hook above already did it
  assert.deepEqual(await cluster.leftovers(), { containers: [], networks: [], volumes: [], images: [] }, `left behind by ${cluster.name}`);
});
