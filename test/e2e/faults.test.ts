import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ComposeStack } from '../helpers/compose.ts';
import { checkCounterHistory } from '../helpers/counter-history.ts';
import { ACCEPT, asOperation, count, countOf, countOnce, get, isOk, Load, pool, type Outcome } from '../helpers/http.ts';
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

/** The history checker's verdict on the outcomes of one window, between two quiet reads of the counter. */
const historyProblems = (outcomes: Outcome[], before: number, after: number): string[] => checkCounterHistory(outcomes.map(asOperation), before, after);

const DROP_AFTER_REPLY = fileURLToPath(new URL('../helpers/drop-after-reply.ts', import.meta.url));

interface Forwarded {
  url: string;
  idempotencyKey?: string | null;
  status?: number;
  body?: string;
  error?: string;
}

const jsonLines = <T>(text: string): T[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as T);

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
  it('a replica that counts and then drops the connection: nginx retries on another with the same key, the client gets 200, counted once', async () => {
    const [target] = await webContainers(stack);
    assert.ok(target);
    const [inspected] = JSON.parse(await runOk('docker', ['inspect', target.id])) as { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[];
    const [network, address] = Object.entries(inspected?.NetworkSettings.Networks ?? {})[0] ?? [];
    assert.ok(network && address?.IPAddress, 'the replica is on the stack network');
    // A fourth member of nginx's `web` upstream (same network alias, same port), in front of one
    // real replica. Labelled with the project, so a `down --remove-orphans` removes it as well.
    const forwarder = `${stack.project}-drop-after-reply`;
    await runOk('docker', [
      'run', '--detach', '--name', forwarder, '--network', network, '--network-alias', 'web',
      '--label', `com.docker.compose.project=${stack.project}`, '--label', 'com.docker.compose.service=drop-after-reply',
      '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true', '--user', '1000:1000',
      '--volume', `${DROP_AFTER_REPLY}:/drop-after-reply.ts:ro`, '--env', `TARGET=${address.IPAddress}:3000`,
      process.env.NODE_IMAGE ?? 'node:24.21.0-slim', 'node', '/drop-after-reply.ts',
    ]);
    const before = await readVisits(stack);
    // Every request carries the same Idempotency-Key of the client's own: nginx must replace it
    // with its request id, or all of them would count as one.
    const clientKey = 'the-same-client-key';
    const answers: { status: number; requestId: string; count?: number }[] = [];
    let dropped: Forwarded | undefined;
    try {
      const send = async () => {
        const res = await fetch(`${stack.base}/count`, { headers: { accept: ACCEPT.json, 'idempotency-key': clientKey }, signal: AbortSignal.timeout(10_000) });
        const body = await res.text();
        answers.push({ status: res.status, requestId: res.headers.get('x-request-id') ?? '', ...(res.status === 200 ? { count: (JSON.parse(body) as { count: number }).count } : {}) });
      };
      // nginx finds the new member at its next DNS refresh (valid=2s) and then sends it every
      // fourth request (round robin).
      await waitFor('nginx to send a /count through the dropping member', async () => {
        await send();
        dropped = jsonLines<Forwarded>(await runOk('docker', ['logs', forwarder])).find((line) => line.url === '/count');
        return dropped !== undefined;
      }, 30_000, 100);
      await send();
    } finally {
      await runOk('docker', ['rm', '--force', forwarder]);
    }
    const after = await readVisits(stack);
    assert.ok(dropped);
    assert.equal(dropped.error, undefined, 'the forwarder reached the replica');
    assert.equal(dropped.status, 200, 'the replica counted the dropped request');
    const counted = (JSON.parse(dropped.body ?? '') as { count: number }).count;
    assert.match(dropped.idempotencyKey ?? '', /^[0-9a-f]{32}$/, "nginx's own request id as Idempotency-Key");
    assert.notEqual(dropped.idempotencyKey, clientKey);

    // The client got 200 for that request (matched by nginx's request id), with the total the
    // dropped attempt counted: the retry found the first result under the same key.
    const retried = answers.find((answer) => answer.requestId === dropped?.idempotencyKey);
    assert.deepEqual(retried, { status: 200, requestId: dropped.idempotencyKey, count: counted });
    assert.deepEqual(answers.filter((answer) => answer.status !== 200), [], 'every client request got 200');
    // Each request counted exactly once: the dropped one not twice, and the client's shared
    // Idempotency-Key did not fold different requests into one.
    assert.ok(answers.length >= 2);
    assert.equal(after - before, answers.length, `counter rose ${after - before} for ${answers.length} requests`);
    assert.equal(new Set(answers.map((answer) => answer.count)).size, answers.length, 'each request its own total');

    // nginx's access log: that request went to the dropping member (502) and then to a replica (200).
    const [proxy] = await stack.containers('nginx');
    assert.ok(proxy);
    let logged: { status: number; upstream: string; upstream_status: string } | undefined;
    await waitFor('the access log line of the retried request', async () => {
      logged = jsonLines<{ request_id: string; status: number; upstream: string; upstream_status: string }>(await runOk('docker', ['logs', proxy.id])).find(
        (entry) => entry.request_id === dropped?.idempotencyKey,
      );
      return logged !== undefined;
    }, 5000);
    assert.equal(logged?.status, 200);
    assert.equal(logged.upstream_status, '502, 200', `nginx tried ${logged.upstream}`);
    // Give nginx's DNS refresh time to forget the removed member before the next test.
    await sleep(3000);
  });

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

  it('crashes (SIGKILL) of replicas under load: no client error, and a linearizable history after each crash', async () => {
    let sent = 0;
    for (let round = 0; round < 3; round += 1) {
      const before = await readVisits(stack);
      const outcomes = await underLoad(stack, 24, async () => {
        const replicas = await webContainers(stack);
        const victim = replicas[round % replicas.length];
        assert.ok(victim);
        // The node process itself, as a crash would: the restart policy brings it back.
        process.kill(victim.pid, 'SIGKILL');
        await sleep(500);
        await waitHealthy(victim.id);
      });
      sent += outcomes.length;
      assert.deepEqual(errorsIn(outcomes), [], `crash ${round + 1}: a request that reached nginx after a crash got an error`);
      const after = await readVisits(stack);
      assert.deepEqual(historyProblems(outcomes, before, after), [], `crash ${round + 1}`);
      assertEachCountedOnce(outcomes, before, after);
    }
    assert.ok(sent > 300, `enough load to hit requests in flight (${sent})`);
  });

  it('Redis stalled (SIGSTOP): /count is 503 within 1 s, / stays up, counting resumes within 10 s, no double count', async () => {
    const before = await readVisits(stack);
    const redis = (await stack.containers('redis'))[0];
    assert.ok(redis);
    const load = new Load(stack.base, { loops: 4, maxMs: 60_000, maxRequests: 100_000 });
    // The test's own requests belong in the history too: any of them may have counted.
    const probes: Outcome[] = [];
    const probe = async () => {
      const outcome = await countOnce(stack.base);
      probes.push(outcome);
      return isOk(outcome);
    };
    try {
      await sleep(500);
      await runOk('docker', ['kill', '--signal', 'SIGSTOP', redis.id]);
      try {
        await sleep(300);
        const stalled = await countOnce(stack.base);
        probes.push(stalled);
        assert.equal(stalled.status, 503);
        assert.ok(stalled.ms < 1000, `503 after ${Math.round(stalled.ms)} ms`);
        assert.equal((await get(`${stack.base}/`)).status, 200);
        await sleep(2000);
      } finally {
        await runOk('docker', ['kill', '--signal', 'SIGCONT', redis.id]);
      }
      await waitFor('counting again', probe, 10_000);
    } finally {
      await load.stop();
    }
    assert.deepEqual(historyProblems([...load.outcomes, ...probes], before, await readVisits(stack)), []);
    assert.ok(load.outcomes.every((o) => o.status === 200 || o.status === 503), 'only 200 or 503');
  });

  it('Redis restarted under load: 503s only while it is away, counting resumes by itself, no double count', async () => {
    const before = await readVisits(stack);
    const probes: Outcome[] = [];
    const outcomes = await underLoad(stack, 4, async () => {
      await stack.compose(['restart', 'redis'], 60_000);
      await waitFor('counting again', async () => {
        const outcome = await countOnce(stack.base);
        probes.push(outcome);
        return isOk(outcome);
      }, 10_000);
    });
    assert.deepEqual(historyProblems([...outcomes, ...probes], before, await readVisits(stack)), []);
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
      const end = performance.now();
      return { status: reply.status, count: isOk(reply) ? countOf(reply) : undefined, at: Date.now(), start: end - reply.ms, end, ms: reply.ms, servedBy: reply.servedBy };
    });
    assert.deepEqual(errorsIn(replies).slice(0, 5), []);
    assertEachCountedOnce(replies, before, await readVisits(stack));
  });
});
