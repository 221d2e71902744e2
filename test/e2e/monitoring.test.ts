import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ComposeStack } from '../helpers/compose.ts';
import { freePort } from '../helpers/free-port.ts';
import { ACCEPT, get, pool, tally } from '../helpers/http.ts';
import { runOk } from '../helpers/run.ts';
import { describeStack } from '../helpers/stack-suite.ts';
import { waitFor } from '../helpers/wait.ts';

interface Target {
  labels: Record<string, string>;
  health: string;
  lastError: string;
  lastScrape: string;
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

/** Prometheus' HTTP API, on the loopback port the stack publishes it on (PROMETHEUS_PORT). */
const api = async <T>(stack: ComposeStack, path: string): Promise<T> => {
  const res = await fetch(`http://${stack.extraEnv.PROMETHEUS_PORT ?? ''}/api/v1/${path}`, { signal: AbortSignal.timeout(5000) });
  const body = asRecord(await res.json());
  assert.equal(body.status, 'success', `${path}: ${JSON.stringify(body)}`);
  return body.data as T;
};

const targets = async (stack: ComposeStack): Promise<Target[]> =>
  (await api<{ activeTargets: Target[] }>(stack, 'targets?state=active')).activeTargets;

const query = async (stack: ComposeStack, promql: string): Promise<Sample[]> =>
  (await api<{ result: Sample[] }>(stack, `query?query=${encodeURIComponent(promql)}`)).result;

/** The web replicas as Prometheus should find them: `address:9464` by hostname (X-Served-By). */
const replicas = async (stack: ComposeStack): Promise<Map<string, string>> => {
  const running = (await stack.containers('web')).filter((c) => c.running);
  const found = new Map<string, string>();
  for (const container of running) {
    const address = (await runOk('docker', ['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container.id])).trim();
    found.set(container.id.slice(0, 12), `${address}:9464`);
  }
  return found;
};

const summary = (list: Target[]): string =>
  list.map((t) => `${t.labels.job ?? '?'} ${t.labels.instance ?? '?'} ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`).join('; ');

/** Resolves once the targets are exactly the replicas given, nginx's exporter and Prometheus, every one up. */
const allUp = async (stack: ComposeStack, webInstances: string[], timeoutMs: number): Promise<number> => {
  let last: Target[] = [];
  try {
    return await waitFor(
      `${webInstances.length} web targets, nginx and prometheus, all up`,
      async () => {
        last = await targets(stack);
        const web = last.filter((t) => t.labels.job === 'web').map((t) => t.labels.instance).sort();
        const jobs = last.map((t) => t.labels.job).sort();
        return (
          JSON.stringify(web) === JSON.stringify([...webInstances].sort()) &&
          JSON.stringify(jobs) === JSON.stringify([...webInstances.map(() => 'web'), 'nginx', 'prometheus'].sort()) &&
          last.every((t) => t.health === 'up')
        );
      },
      timeoutMs,
      500,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; targets: ${summary(last)}`, { cause: error });
  }
};

/** Waits until Prometheus has scraped every target after `since` (ms since the epoch). */
const scrapedSince = (stack: ComposeStack, since: number): Promise<number> =>
  waitFor('a scrape of every target after the requests', async () => (await targets(stack)).every((t) => Date.parse(t.lastScrape) > since), 20_000, 250);

/** Hits each replica counted, by instance, as Prometheus last scraped them. */
const hitsByInstance = async (stack: ComposeStack): Promise<Map<string, number>> =>
  new Map((await query(stack, 'visitcounter_hits_total')).map((s) => [s.metric.instance ?? '', Number(s.value[1])]));

const inspect = async (id: string): Promise<Record<string, unknown>> => asRecord((JSON.parse(await runOk('docker', ['inspect', id])) as unknown[])[0]);

describeStack(
  'the monitoring profile: Prometheus scraping every replica and nginx',
  import.meta.filename,
  (stack) => {
    it('every target is up: each of the 3 web replicas (by its address), the nginx exporter, Prometheus', async (t) => {
      const web = await replicas(stack);
      assert.equal(web.size, 3);
      const ms = await allUp(stack, [...web.values()], 30_000);
      t.diagnostic(`all targets up ${ms} ms after the stack was healthy`);
      const [nginxUp] = await query(stack, 'nginx_up');
      assert.equal(nginxUp?.value[1], '1', 'the exporter reads nginx stub_status');
    });

    it('scaling web to 4: the new replica becomes a target, up, within 20 s', async (t) => {
      await stack.compose(['up', '--detach', '--no-recreate', '--no-build', '--wait', '--scale', 'web=4'], 120_000);
      const web = await replicas(stack);
      assert.equal(web.size, 4);
      const ms = await allUp(stack, [...web.values()], 20_000);
      t.diagnostic(`4 web targets up ${ms} ms after the scale-up`);
    });

    it('the hits Prometheus saw rose exactly as many as were counted through nginx, replica by replica', async (t) => {
      const web = await replicas(stack);
      // The counter /get reads below exists before the requests race.
      assert.equal((await get(`${stack.base}/hit/monitoring/page`)).status, 200);
      await scrapedSince(stack, Date.now());
      const before = await hitsByInstance(stack);
      assert.deepEqual([...before.keys()].sort(), [...web.values()].sort(), 'a hits series for every replica');
      const [sumBefore] = await query(stack, 'sum(visitcounter_hits_total)');

      // The counting routes, through nginx: /count, /hit and /badge count a hit each; /get does not.
      const urls = ['/count', '/hit/monitoring/page', '/badge/monitoring/page', '/get/monitoring/page'];
      const replies = await pool(80, 8, (i) => get(`${stack.base}${urls[i % urls.length] ?? ''}`, i % 4 === 0 ? ACCEPT.json : undefined));
      const finished = Date.now();
      assert.deepEqual(replies.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body}`), [], 'every request answered 200');
      const counted = replies.filter((_, i) => i % 4 !== 3);
      const served = tally(counted);
      assert.ok(served.size >= 2, `the hits went to several replicas: ${JSON.stringify([...served])}`);

      await scrapedSince(stack, finished);
      const after = await hitsByInstance(stack);
      const [sumAfter] = await query(stack, 'sum(visitcounter_hits_total)');
      assert.equal(Number(sumAfter?.value[1]) - Number(sumBefore?.value[1]), counted.length, 'sum(visitcounter_hits_total) rose by the hits counted');
      for (const [hostname, instance] of web) {
        const rise = (after.get(instance) ?? NaN) - (before.get(instance) ?? NaN);
        assert.equal(rise, served.get(hostname) ?? 0, `replica ${hostname} (${instance})`);
      }
      t.diagnostic(`${counted.length} hits over ${served.size} replicas: ${JSON.stringify([...served])}`);
    });

    it('only Prometheus is published, on loopback; the metrics ports are not, and nginx does not pass them on', async () => {
      for (const container of await stack.containers()) {
        if (container.service === 'nginx') assert.deepEqual(Object.keys(container.published), ['8080/tcp'], 'nginx publishes 8080 alone (not 8081)');
        else if (container.service === 'prometheus') assert.deepEqual(container.published, { '9090/tcp': [stack.extraEnv.PROMETHEUS_PORT] });
        else assert.deepEqual(container.published, {}, `${container.name} publishes nothing`);
      }
      // Through nginx, these paths are the app's: no route, no metrics, no nginx status.
      for (const path of ['/metrics', '/stub_status']) {
        const reply = await get(`${stack.base}${path}`);
        assert.equal(reply.status, 404, path);
        assert.doesNotMatch(reply.body, /visitcounter_|Active connections/, path);
      }
    });

    it('prometheus and nginx-exporter: non-root, read-only root, no capabilities, no-new-privileges, limits', async () => {
      for (const service of ['prometheus', 'nginx-exporter']) {
        const [container] = await stack.containers(service);
        assert.ok(container?.running, `${service} runs`);
        const info = await inspect(container.id);
        const host = asRecord(info.HostConfig);
        assert.notEqual(String(asRecord(info.Config).User), '', `${service}: a user is set`);
        assert.doesNotMatch(await runOk('cat', [`/proc/${String(container.pid)}/status`]), /^Uid:\s+0\s/m, `${service}: PID 1 is not root`);
        assert.equal(host.ReadonlyRootfs, true, `${service}: read-only root`);
        assert.deepEqual(host.CapDrop, ['ALL'], `${service}: cap_drop ALL`);
        assert.ok((host.SecurityOpt as string[] | null)?.includes('no-new-privileges:true'), `${service}: no-new-privileges`);
        assert.ok(Number(host.Memory) > 0 && Number(host.NanoCpus) > 0 && Number(host.PidsLimit) > 0, `${service}: limits`);
      }
    });
  },
  {
    env: { COMPOSE_PROFILES: 'monitoring' },
    beforeUp: async (stack) => {
      stack.extraEnv.PROMETHEUS_PORT = `127.0.0.1:${String(await freePort())}`;
    },
  },
);
