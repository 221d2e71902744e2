import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ComposeStack } from '../helpers/compose.ts';
import { runOk } from '../helpers/run.ts';
import { ACCEPT, count, countOf, get, pool, tally, type Reply } from '../helpers/http.ts';
import { readVisits, redisCli } from '../helpers/stack-redis.ts';
import { describeStack } from '../helpers/stack-suite.ts';

interface PsEntry {
  Service?: string;
  Publishers?: { PublishedPort?: number }[];
}

/** `docker compose ps --format json`: one JSON array (older v2) or one object per line (newer). */
const composePs = async (stack: ComposeStack): Promise<PsEntry[]> => {
  const output = (await stack.compose(['ps', '--all', '--format', 'json'])).trim();
  if (output.startsWith('[')) return JSON.parse(output) as PsEntry[];
  return output.split('\n').filter(Boolean).map((line) => JSON.parse(line) as PsEntry);
};

const nonRoot = (uid: string | undefined): boolean => uid !== undefined && /^\d+$/.test(uid) && uid !== '0';

describeStack('the stack through nginx', import.meta.filename, (stack) => {
  it('answers / with 200 and the welcome, as text, HTML and JSON', async () => {
    const text = await get(`${stack.base}/`);
    assert.equal(text.status, 200);
    assert.match(text.contentType, /^text\/plain/);
    assert.match(text.body, /Welcome to the visit counter/);
    assert.ok(text.servedBy, 'X-Served-By is set');

    const html = await get(`${stack.base}/`, ACCEPT.html);
    assert.equal(html.status, 200);
    assert.match(html.contentType, /^text\/html/);
    assert.match(html.body, /<h1>Welcome to the visit counter!<\/h1>/);

    const json = await get(`${stack.base}/`, ACCEPT.json);
    assert.equal(json.status, 200);
    assert.match(json.contentType, /^application\/json/);
    const body = JSON.parse(json.body) as { message?: unknown; links?: unknown };
    assert.match(String(body.message), /Welcome to the visit counter/);
    assert.deepEqual(body.links, { count: '/count', dashboard: '/dashboard/default/visits', docs: '/docs', api: '/openapi.json' });
  });

  it('compresses the pages\' big assets (gzip), not the short API answers', async () => {
    const bundle = await fetch(`${stack.base}/docs/swagger-ui/swagger-ui-bundle.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(bundle.status, 200);
    assert.equal(bundle.headers.get('content-encoding'), 'gzip');
    assert.match(await bundle.text(), /SwaggerUI/);
    const css = await fetch(`${stack.base}/assets/site.css`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(css.headers.get('content-encoding'), 'gzip');
    const api = await fetch(`${stack.base}/get/visits`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(api.headers.get('content-encoding'), null);
  });

  it('counts exactly 1 more on each sequential /count, in text, HTML and JSON', async () => {
    const parse: Record<keyof typeof ACCEPT, (reply: Reply) => number> = {
      text: (reply) => Number(/^Total visits: (\d+)\n$/.exec(reply.body)?.[1]),
      html: (reply) => Number(/<span class="count" id="count">(\d+)<\/span>/.exec(reply.body)?.[1]),
      json: countOf,
    };
    const types = { text: /^text\/plain/, html: /^text\/html/, json: /^application\/json/ };
    let previous = await readVisits(stack);
    for (let round = 0; round < 3; round += 1) {
      for (const form of ['text', 'html', 'json'] as const) {
        const reply = await get(`${stack.base}/count`, ACCEPT[form]);
        assert.equal(reply.status, 200, `${form}: ${reply.body}`);
        assert.match(reply.contentType, types[form]);
        assert.equal(reply.headers.get('cache-control'), 'no-store');
        const value = parse[form](reply);
        assert.equal(value, previous + 1, `${form} answer after ${previous}: ${reply.body}`);
        previous = value;
      }
    }
    assert.equal(await readVisits(stack), previous, 'Redis holds the last count answered');
  });

  it('balances 30 sequential /count requests over the 3 replicas, at least 6 each', async () => {
    const replies: Reply[] = [];
    for (let i = 0; i < 30; i += 1) replies.push(await count(stack.base));
    assert.ok(replies.every((reply) => reply.status === 200));
    const seen = tally(replies);
    assert.equal(seen.size, 3, `X-Served-By values: ${JSON.stringify([...seen])}`);
    for (const [replica, times] of seen) assert.ok(times >= 6, `${replica} answered only ${times} of 30`);
  });

  it('answers 2,000 /count requests at concurrency 50, all 2xx, each counted once', async () => {
    const before = await readVisits(stack);
    const replies = await pool(2000, 50, () => count(stack.base));
    const failed = replies.filter((reply) => reply.status < 200 || reply.status >= 300);
    assert.deepEqual(failed.map((reply) => `${reply.status} ${reply.body}`), [], 'non-2xx answers');
    const counts = replies.map(countOf);
    assert.equal(new Set(counts).size, 2000, 'every answer carries a count of its own');
    assert.ok(counts.every((value) => value > before && value <= before + 2000), 'counts lie in (before, before + 2000]');
    assert.equal(await readVisits(stack), before + 2000);
  });

  it('publishes a host port for nginx only, and no container shares the host network', async () => {
    const containers = await stack.containers();
    assert.deepEqual([...new Set(containers.map((c) => c.service))].sort(), ['nginx', 'redis', 'redis-secrets', 'web']);
    for (const container of containers) {
      assert.notEqual(container.networkMode, 'host', `${container.name} runs on the host network`);
      if (container.service === 'nginx') {
        assert.deepEqual(Object.keys(container.published), ['8080/tcp'], `${container.name} publishes only its port 8080`);
        assert.ok(container.published['8080/tcp']?.every((binding) => binding.endsWith(`:${stack.port}`)));
      } else {
        assert.deepEqual(container.published, {}, `${container.name} publishes ${JSON.stringify(container.published)}`);
      }
    }
    // Compose's own view agrees: only nginx has a publisher with a host port.
    const published = (await composePs(stack))
      .filter((entry) => (entry.Publishers ?? []).some((p) => Number(p.PublishedPort) > 0))
      .map((entry) => entry.Service);
    assert.deepEqual([...new Set(published)], ['nginx']);
  });

  it('Redis refuses commands without the password (NOAUTH), and accepts them with it', async () => {
    const refused = await redisCli(stack, ['GET', 'visits'], { auth: false });
    assert.match(refused, /NOAUTH/);
    const wrong = await stack.exec('redis', ['redis-cli', '--no-auth-warning', '--user', 'counter', '--pass', 'not-the-password', 'PING']);
    assert.doesNotMatch(wrong, /PONG/);
    assert.match(await redisCli(stack, ['PING']), /PONG/);
  });

  it('runs the app and Redis as non-root users, PID 1 included', async () => {
    for (const service of ['web', 'redis']) {
      const containers = await stack.containers(service);
      assert.ok(containers.length > 0);
      for (const container of containers) {
        const rows = (await runOk('docker', ['top', container.id, '-eo', 'pid,uid,args'])).trim().split('\n').slice(1);
        const processes = rows.map((row) => {
          const [pid, uid, ...args] = row.trim().split(/\s+/);
          return { pid: Number(pid), uid, args: args.join(' ') };
        });
        const pid1 = processes.find((p) => p.pid === container.pid);
        assert.ok(pid1, `${container.name}: PID 1 (host pid ${container.pid}) not in docker top`);
        assert.ok(nonRoot(pid1.uid), `${container.name}: PID 1 \`${pid1.args}\` runs as uid ${String(pid1.uid)}`);
        for (const p of processes) assert.ok(nonRoot(p.uid), `${container.name}: \`${p.args}\` runs as uid ${String(p.uid)}`);
      }
      const uid = (await stack.exec(service, ['id', '-u'])).trim();
      assert.ok(nonRoot(uid), `docker compose exec ${service} id -u = ${uid}`);
    }
  });
});
