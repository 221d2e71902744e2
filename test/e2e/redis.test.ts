import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ComposeStack, Container } from '../helpers/compose.ts';
import { count, countOf, get, isOk, Load } from '../helpers/http.ts';
import { waitFor } from '../helpers/wait.ts';
import { readVisits } from '../helpers/stack-redis.ts';
import { runOk } from '../helpers/run.ts';
import { describeStack } from '../helpers/stack-suite.ts';

/** Waits until /count answers 200 again and returns that answer's count. */
const nextCount = async (stack: ComposeStack, timeoutMs: number): Promise<number> => {
  let value = 0;
  await waitFor(
    '/count answering 200',
    async () => {
      const reply = await count(stack.base);
      if (reply.status !== 200) return false;
      value = countOf(reply);
      return true;
    },
    timeoutMs,
    200,
  );
  return value;
};

/** GET visits, waiting (≤ 10 s) for a Redis that was just started to load its data and answer. */
const visitsOnceUp = async (stack: ComposeStack): Promise<number> => {
  let value = 0;
  await waitFor(
    'Redis answering GET visits',
    async () => {
      value = await readVisits(stack);
      return true;
    },
    10_000,
    200,
  );
  return value;
};

const redisContainer = async (stack: ComposeStack): Promise<Container> => {
  const [redis, ...others] = await stack.containers('redis');
  assert.ok(redis, 'a redis container exists');
  assert.equal(others.length, 0);
  return redis;
};

const webIdentity = async (stack: ComposeStack): Promise<string[]> =>
  (await stack.containers('web')).map((c) => `${c.id.slice(0, 12)} started ${c.startedAt} restarts ${c.restartCount}`).sort();

describeStack('Redis durability and outages', import.meta.filename, (stack) => {
  // Waits (≤ 10 s) for the first count, so one test's outage does not fail the next at once.
  const countSome = async (n: number): Promise<number> => {
    let last = await nextCount(stack, 10_000);
    for (let i = 1; i < n; i += 1) {
      const reply = await count(stack.base);
      assert.equal(reply.status, 200, reply.body);
      last = countOf(reply);
    }
    return last;
  };

  it('keeps the count across `docker compose restart redis`', async () => {
    const last = await countSome(25);
    assert.equal(await readVisits(stack), last);
    await stack.compose(['restart', 'redis'], 60_000);
    assert.equal(await visitsOnceUp(stack), last, 'Redis reloaded the count');
    assert.equal(await nextCount(stack, 10_000), last + 1, 'the next visit continues the count');
  });

  it('keeps the count across `docker compose down` (volumes kept) and `up`', async () => {
    const last = await countSome(25);
    await stack.compose(['down', '--timeout', '10'], 120_000);
    assert.deepEqual(await stack.containerIds(), [], 'down removed the containers');
    await stack.compose(['up', '--detach', '--no-build', '--wait', '--wait-timeout', '120'], 180_000);
    assert.equal(await readVisits(stack), last, 'the redis_data volume kept the count');
    assert.equal(await nextCount(stack, 10_000), last + 1, 'the next visit continues the count');
  });

  let webBefore: string[] = [];
  let servedByBefore = new Set<string>();

  it('stops Redis cleanly on SIGTERM: `docker compose stop redis` in under 5 s, exit code 0', async () => {
    webBefore = await webIdentity(stack);
    servedByBefore = new Set((await Promise.all(Array.from({ length: 9 }, () => get(`${stack.base}/`)))).map((r) => r.servedBy));
    const started = Date.now();
    await stack.compose(['stop', 'redis'], 60_000);
    const tookMs = Date.now() - started;
    const redis = await redisContainer(stack);
    assert.equal(redis.running, false);
    // 137 = SIGKILL after the 10 s grace period: Redis never saw the SIGTERM (not PID 1?).
    assert.equal(redis.exitCode, 0, `redis exited with ${redis.exitCode}`);
    assert.ok(tookMs < 5000, `stopping Redis took ${tookMs} ms`);
  });

  it('answers /count with 503 within 1 s while Redis is stopped, and / with 200', async () => {
    for (let i = 0; i < 6; i += 1) {
      const reply = await count(stack.base);
      assert.equal(reply.status, 503, reply.body);
      assert.ok(reply.ms < 1000, `503 took ${Math.round(reply.ms)} ms`);
      assert.match(reply.body, /not reachable/);
    }
    const home = await get(`${stack.base}/`);
    assert.equal(home.status, 200);
    assert.ok(home.ms < 1000, `/ took ${Math.round(home.ms)} ms`);
  });

  it('counts again within 10 s of Redis starting, without restarting any app replica', async (t) => {
    assert.equal((await redisContainer(stack)).running, false, 'Redis is stopped');
    await stack.compose(['start', 'redis'], 60_000);
    const started = Date.now();
    const value = await nextCount(stack, 10_000);
    t.diagnostic(`/count answered 200 again ${Date.now() - started} ms after \`start redis\` returned`);
    assert.equal(await readVisits(stack), value);
    assert.deepEqual(await webIdentity(stack), webBefore, 'the web containers were not restarted or replaced');
    const servedBy = new Set((await Promise.all(Array.from({ length: 9 }, () => get(`${stack.base}/`)))).map((r) => r.servedBy));
    assert.deepEqual([...servedBy].sort(), [...servedByBefore].sort());
  });

  it('keeps every count acknowledged more than 2 s before Redis is SIGKILLed (appendfsync everysec)', async (t) => {
    const load = new Load(stack.base, { loops: 2, maxMs: 30_000, maxRequests: 100_000 });
    try {
      await sleep(3500);
      const redis = await redisContainer(stack);
      const killAt = Date.now();
      await runOk('docker', ['kill', '--signal', 'KILL', redis.id]);
      await sleep(300);
      const outcomes = await load.stop();
      const acknowledged = outcomes.filter(isOk);
      const safe = acknowledged.filter((o) => o.at < killAt - 2000).map((o) => o.count ?? 0);
      assert.ok(safe.length > 0, 'some counts were acknowledged more than 2 s before the kill');
      const mustHave = Math.max(...safe);
      const lastAcknowledged = Math.max(...acknowledged.map((o) => o.count ?? 0));

      // A killed container counts as stopped by hand, so `unless-stopped` leaves it down; start it.
      await stack.compose(['up', '--detach', '--no-recreate', '--no-build', '--wait', 'redis'], 60_000);
      const kept = await visitsOnceUp(stack);
      t.diagnostic(`${acknowledged.length} counts acknowledged, the last ${lastAcknowledged}; ${mustHave} was acknowledged > 2 s before the kill; Redis kept ${kept}`);
      assert.ok(kept >= mustHave, `Redis came back with ${kept}, but ${mustHave} had been acknowledged more than 2 s before the kill`);
      assert.ok(kept <= lastAcknowledged + 2, `Redis came back with ${kept}, more than was ever counted (${lastAcknowledged})`);
      assert.equal(await nextCount(stack, 10_000), kept + 1, 'counting resumes from what Redis kept');
    } finally {
      await load.stop();
    }
  });
});
