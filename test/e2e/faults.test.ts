import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ComposeStack } from '../helpers/compose.ts';
import { count, countOf, get, isOk, Load, pool, type Outcome } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { readVisits } from '../helpers/stack-redis.ts';
import { runOk } from '../helpers/run.ts';
import { describeStack } from '../helpers/stack-suite.ts';

const errorsIn = (outcomes: Outcome[]): string[] =>
  outcomes.filter((o) => !isOk(o)).map((o) => `${new Date(o.at).toISOString()} ${o.error ?? `${o.status} from ${o.servedBy || '?'}`}`);

/**
 * Exactly once, seen from the clients: when every request got a 2xx, the totals they were shown
 * must be exactly the numbers from before+1 to the new total. A visit counted twice leaves a number
 * nobody was shown (a gap); a visit lost leaves the counter short.
 */
const assertEachCountedOnce = (outcomes: Outcome[], visitsBefore: number, visitsAfter: number): void => {
  const shown = outcomes.filter(isOk).map((o) => o.count ?? NaN).sort((a, b) => a - b);
  assert.equal(visitsAfter - visitsBefore, shown.length, `counter rose ${visitsAfter - visitsBefore} for ${shown.length} 2xx answers`);
  const missing: number[] = [];
  for (let n = visitsBefore + 1, i = 0; n <= visitsAfter; n += 1) {
    if (shown[i] === n) i += 1;
    else missing.push(n);
  }
  assert.deepEqual(missing.slice(0, 20), [], 'totals counted but never shown to a client (a double count)');
  assert.equal(new Set(shown).size, shown.length, 'no total shown twice');
};

const webContainers = async (stack: ComposeStack) => (await stack.containers('web')).filter((c) => c.running);

const healthOf = async (id: string): Promise<string> =>
  (await runOk('docker', ['inspect', '--format', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', id])).trim();

const waitHealthy = (id: string, timeoutMs = 60_000): Promise<number> =>
  waitFor(`container ${id.slice(0, 12)} healthy`, async () => (await healthOf(id)) === 'healthy', timeoutMs, 250);

/** Runs `during` under a bounded background load; resolves with every outcome. */
const underLoad = async (stack: ComposeStack, loops: number, during: () => Promise<void>): Promise<Outcome[]> => {
  const load = new Load(stack.base, { loops, maxMs: 150_000, maxRequests: 150_000 });
  try {
    await sleep(1000);
    await during();
    await sleep(1000);
  } finally {
    await load.stop();
  }
  return load.outcomes;
};

describeStack('counting under faults', import.meta.filename, (stack) => {
  it('a graceful stop (SIGTERM) of one replica under load: no non-2xx, counter rise = 2xx answers', async () => {
    const before = await readVisits(stack);
    const [victim] = await webContainers(stack);
    assert.ok(victim);
    const outcomes = await underLoad(stack, 8, async () => {
      await runOk('docker', ['stop', '--time', '10', victim.id], { timeoutMs: 30_000 });
      await sleep(2000);
      await runOk('docker', ['start', victim.id]);
      await waitHealthy(victim.id);
    });
    assert.deepEqual(errorsIn(outcomes), []);
    assertEachCountedOnce(outcomes, before, await readVisits(stack));
  });

  it('a rolling restart of every web replica under load: no non-2xx, counter rise = 2xx answers', async () => {
    const before = await readVisits(stack);
    const replicas = await webContainers(stack);
    assert.equal(replicas.length, 3);
    const outcomes = await underLoad(stack, 8, async () => {
      for (const replica of replicas) {
        await runOk('docker', ['restart', '--time', '10', replica.id], { timeoutMs: 30_000 });
        await waitHealthy(replica.id);
      }
    });
    assert.deepEqual(errorsIn(outcomes), []);
    assertEachCountedOnce(outcomes, before, await readVisits(stack));
  });

  it('crashes (SIGKILL) of replicas under load: no client error, and no visit counted twice', async () => {
    const before = await readVisits(stack);
    const outcomes = await underLoad(stack, 24, async () => {
      for (let round = 0; round < 3; round += 1) {
        const replicas = await webContainers(stack);
        const victim = replicas[round % replicas.length];
        assert.ok(victim);
        // The node process itself, as a crash would: the restart policy brings it back.
        process.kill(victim.pid, 'SIGKILL');
        await sleep(500);
        await waitHealthy(victim.id);
      }
    });
    assert.deepEqual(errorsIn(outcomes), [], 'a request that reached nginx after a crash got an error');
    assertEachCountedOnce(outcomes, before, await readVisits(stack));
    assert.ok(outcomes.length > 300, `enough load to hit requests in flight (${outcomes.length})`);
  });

  it('Redis stalled (SIGSTOP): /count is 503 within 1 s, / stays up, counting resumes within 10 s, no double count', async () => {
    const before = await readVisits(stack);
    const redis = (await stack.containers('redis'))[0];
    assert.ok(redis);
    const load = new Load(stack.base, { loops: 4, maxMs: 60_000, maxRequests: 100_000 });
    try {
      await sleep(500);
      await runOk('docker', ['kill', '--signal', 'SIGSTOP', redis.id]);
      try {
        await sleep(300);
        const stalled = await count(stack.base);
        assert.equal(stalled.status, 503);
        assert.ok(stalled.ms < 1000, `503 after ${Math.round(stalled.ms)} ms`);
        assert.equal((await get(`${stack.base}/`)).status, 200);
        await sleep(2000);
      } finally {
        await runOk('docker', ['kill', '--signal', 'SIGCONT', redis.id]);
      }
      const resumedIn = await waitFor('counting again', async () => isOk(await count(stack.base)), 10_000);
      assert.ok(resumedIn < 10_000);
    } finally {
      await load.stop();
    }
    const rise = (await readVisits(stack)) - before;
    const acknowledged = load.outcomes.filter(isOk).length;
    const sent = load.outcomes.length + 2; // and the two probes above
    assert.ok(acknowledged <= rise, `acknowledged ${acknowledged} > rise ${rise}`);
    assert.ok(rise <= sent, `rise ${rise} > requests sent ${sent}: something was counted twice`);
    assert.ok(load.outcomes.every((o) => o.status === 200 || o.status === 503), 'only 200 or 503');
  });

  it('Redis restarted under load: 503s only while it is away, counting resumes by itself, no double count', async () => {
    const before = await readVisits(stack);
    const outcomes = await underLoad(stack, 4, async () => {
      await stack.compose(['restart', 'redis'], 60_000);
      await waitFor('counting again', async () => isOk(await count(stack.base)), 10_000);
    });
    const rise = (await readVisits(stack)) - before;
    const acknowledged = outcomes.filter(isOk).length;
    assert.ok(acknowledged <= rise && rise <= outcomes.length + 1, `acknowledged ${acknowledged}, rise ${rise}, sent ${outcomes.length + 1}`);
    assert.ok(outcomes.every((o) => o.status === 200 || o.status === 503), errorsIn(outcomes).slice(0, 5).join('\n'));
  });

  it('Redis crash (SIGKILL) with REDIS_APPENDFSYNC=always: nothing acknowledged is lost', async () => {
    stack.extraEnv.REDIS_APPENDFSYNC = 'always';
    await stack.compose(['up', '--detach', '--no-build', '--wait', 'redis'], 120_000);
    const redis = (await stack.containers('redis'))[0];
    assert.ok(redis);
    assert.match(await runOk('docker', ['inspect', '--format', '{{json .Config.Env}}', redis.id]), /"REDIS_APPENDFSYNC=always"/);
    const load = new Load(stack.base, { loops: 8, maxMs: 30_000, maxRequests: 100_000 });
    await sleep(2000);
    await runOk('docker', ['kill', '--signal', 'SIGKILL', redis.id]);
    await load.stop();
    const acknowledged = Math.max(...load.outcomes.filter(isOk).map((o) => o.count ?? 0));
    await stack.compose(['up', '--detach', '--no-build', '--wait', 'redis'], 120_000);
    const recovered = await readVisits(stack);
    assert.ok(recovered >= acknowledged, `lost acknowledged visits: ${recovered} < ${acknowledged}`);
    await waitFor('counting again', async () => isOk(await count(stack.base)), 10_000);
    delete stack.extraEnv.REDIS_APPENDFSYNC;
    await stack.compose(['up', '--detach', '--no-build', '--wait', 'redis'], 120_000);
  });

  it('20,000 requests at concurrency 200: all 2xx, counter rise = 2xx answers', { timeout: 5 * 60_000 }, async () => {
    const before = await readVisits(stack);
    const replies = await pool(20_000, 200, async () => {
      const reply = await count(stack.base);
      return { status: reply.status, count: isOk(reply) ? countOf(reply) : undefined, at: Date.now(), ms: reply.ms, servedBy: reply.servedBy };
    });
    assert.deepEqual(errorsIn(replies).slice(0, 5), []);
    assertEachCountedOnce(replies, before, await readVisits(stack));
  });
});
