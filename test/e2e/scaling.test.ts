import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ComposeStack } from '../helpers/compose.ts';
import { count, isOk, Load, tally, type Outcome } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { readVisits } from '../helpers/stack-redis.ts';
import { describeStack } from '../helpers/stack-suite.ts';

// The hostname of a container, which the app reports as X-Served-By, is its short id.
const runningReplicas = async (stack: ComposeStack): Promise<string[]> =>
  (await stack.containers('web'))
    .filter((c) => c.running)
    .map((c) => c.id.slice(0, 12))
    .sort();

const summary = (outcomes: Outcome[]): string[] =>
  outcomes.map((o) => `${new Date(o.at).toISOString()} ${o.error ?? `${o.status} from ${o.servedBy || '?'}`}`);

const nginxTrouble = async (stack: ComposeStack): Promise<string> => {
  const log = await stack.compose(['logs', '--no-color', '--no-log-prefix', 'nginx']).catch((error: unknown) => String(error));
  return log
    .split('\n')
    .filter((line) => /\[(error|warn|crit|alert)\]/.test(line) || /"status":(?!2\d\d)\d{3}/.test(line))
    .slice(-40)
    .join('\n');
};

describeStack('scaling the web service under load', import.meta.filename, (stack) => {
  let load: Load | undefined;
  let visitsBefore = 0;
  let loadStarted = 0;
  let scaleUpStarted = 0;
  let scaleDownDone = 0;
  /** 2xx /count answers outside the load (the probes below), which Redis counted too. */
  let probesCounted = 0;

  before(async () => {
    visitsBefore = await readVisits(stack);
    loadStarted = Date.now();
    // Bounded: 4 sequential loops to 127.0.0.1, for at most 3 minutes or 200,000 requests.
    load = new Load(stack.base, { loops: 4, maxMs: 180_000, maxRequests: 200_000 });
    await sleep(1000);
  });
  after(async () => {
    await load?.stop();
  });

  it('scales up to 5 replicas under load: 5 distinct replicas answer within 15 s', async (t) => {
    assert.ok(load);
    assert.equal((await runningReplicas(stack)).length, 3, 'starts from 3 replicas');
    scaleUpStarted = Date.now();
    await stack.compose(['up', '--detach', '--no-recreate', '--no-build', '--wait', '--scale', 'web=5'], 120_000);
    const replicas = await runningReplicas(stack);
    assert.equal(replicas.length, 5, 'Compose runs 5 web containers');
    const current = load;
    const left = 15_000 - (Date.now() - scaleUpStarted);
    await waitFor(
      '5 replicas answering',
      async () => {
        const recent = current.since(Math.max(scaleUpStarted, Date.now() - 2000));
        return [...tally(recent).keys()].filter((name) => replicas.includes(name)).length === 5;
      },
      Math.max(left, 0),
    );
    t.diagnostic(`all 5 replicas answered within ${Date.now() - scaleUpStarted} ms of the scale-up's start`);
    const recent = tally(current.since(Date.now() - 2000));
    assert.deepEqual([...recent.keys()].filter((name) => name).sort(), replicas, 'answers come from exactly the 5 running replicas');
  });

  it('scales down to 2 replicas under load: only the 2 remaining replicas answer', async () => {
    assert.ok(load);
    await stack.compose(['up', '--detach', '--no-recreate', '--no-build', '--wait', '--scale', 'web=2'], 120_000);
    scaleDownDone = Date.now();
    const replicas = await runningReplicas(stack);
    assert.equal(replicas.length, 2, 'Compose runs 2 web containers');
    assert.equal((await stack.containers('web')).length, 2, 'the 3 others are removed');
    const seen = new Map<string, number>();
    for (let i = 0; i < 40; i += 1) {
      const reply = await count(stack.base);
      assert.equal(reply.status, 200, reply.body);
      probesCounted += 1;
      seen.set(reply.servedBy, (seen.get(reply.servedBy) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), replicas, `X-Served-By over 40 requests: ${JSON.stringify([...seen])}`);
    // nginx may still hold a removed replica's address for up to 2 s (resolver valid=2s):
    // keep the load running past that before judging it.
    await sleep(Math.max(0, 3000 - (Date.now() - scaleDownDone)));
  });

  it('the load across both changes got only 2xx answers and no network error', async (t) => {
    assert.ok(load);
    const outcomes = await load.stop();
    const failed = outcomes.filter((o) => !isOk(o));
    const ok = outcomes.length - failed.length;
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    t.diagnostic(`${outcomes.length} requests in ${Date.now() - loadStarted} ms: ${ok} 2xx, ${failed.length} failed, slowest ${Math.round(slowest)} ms`);
    t.diagnostic(`answers per replica: ${JSON.stringify([...tally(outcomes)])}`);
    assert.ok(outcomes.some((o) => o.at < scaleUpStarted), 'the load ran before the scale-up');
    assert.ok(outcomes.some((o) => o.at > scaleDownDone), 'the load ran after the scale-down');
    // When something failed, nginx's error log and non-2xx access-log lines tell why.
    const nginxLog = failed.length === 0 ? '' : await nginxTrouble(stack);
    assert.deepEqual(summary(failed).slice(0, 20), [], `${failed.length} of ${outcomes.length} requests failed; nginx says:\n${nginxLog}`);
  });

  it('Redis counted exactly the 2xx answers of the load, each once', async () => {
    assert.ok(load);
    const outcomes = await load.stop();
    const counts = outcomes.filter(isOk).map((o) => o.count);
    assert.equal(new Set(counts).size, counts.length, 'no count was answered twice');
    assert.equal(await readVisits(stack), visitsBefore + counts.length + probesCounted);
  });
});
