import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { it } from 'node:test';
import type { ComposeStack } from '../helpers/compose.ts';
import { ACCEPT, count, get, isOk, pool } from '../helpers/http.ts';
import { rawGet, rawRequest, statusOf } from '../helpers/raw-http.ts';
import { readVisits, redisCli } from '../helpers/stack-redis.ts';
import { runOk } from '../helpers/run.ts';
import { describeStack } from '../helpers/stack-suite.ts';

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

const inspect = async (id: string): Promise<Record<string, unknown>> => {
  const parsed = JSON.parse(await runOk('docker', ['inspect', id])) as unknown[];
  return asRecord(parsed[0]);
};

/** The real uid of a host process (a container's PID 1), from /proc. */
const uidOf = async (stack: ComposeStack, service: string): Promise<number> => {
  const container = (await stack.containers(service))[0];
  assert.ok(container, service);
  const status = await runOk('cat', [`/proc/${String(container.pid)}/status`]);
  const match = /^Uid:\s+(\d+)/m.exec(status);
  assert.ok(match?.[1], 'Uid line');
  return Number(match[1]);
};

const SECURITY_HEADERS = (headers: Headers, what: string): void => {
  assert.equal(headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  assert.ok(headers.get('referrer-policy'), `${what}: Referrer-Policy`);
  assert.match(headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
  assert.equal(headers.get('server'), 'nginx', `${what}: no version in Server`);
  assert.equal(headers.get('x-powered-by'), null, `${what}: no X-Powered-By`);
};

describeStack(
  'hardening and hostile input',
  import.meta.filename,
  (stack) => {
    it('containers: non-root, read-only root file systems, no capabilities, no-new-privileges, limits, no Docker socket', async () => {
      for (const service of ['web', 'redis', 'nginx']) {
        assert.notEqual(await uidOf(stack, service), 0, `${service} PID 1 is not root`);
        for (const container of await stack.containers(service)) {
          const info = await inspect(container.id);
          const host = asRecord(info.HostConfig);
          assert.equal(host.ReadonlyRootfs, true, `${service}: read-only root`);
          assert.deepEqual(host.CapDrop, ['ALL'], `${service}: cap_drop ALL`);
          assert.equal(host.CapAdd ?? null, null, `${service}: no capability added`);
          assert.ok((host.SecurityOpt as string[] | null)?.includes('no-new-privileges:true'), `${service}: no-new-privileges`);
          assert.equal(host.Privileged, false);
          assert.ok(Number(host.Memory) > 0, `${service}: memory limit`);
          assert.ok(Number(host.NanoCpus) > 0, `${service}: CPU limit`);
          assert.ok(Number(host.PidsLimit) > 0, `${service}: PID limit`);
          const mounts = (info.Mounts as unknown[]).map((m) => String(asRecord(m).Source));
          assert.ok(!mounts.some((source) => source.includes('docker.sock')), `${service}: no Docker socket`);
          const env = (asRecord(info.Config).Env as string[]).join('\n');
          assert.ok(!env.includes(stack.password), `${service}: the Redis password is not in the environment`);
        }
      }
    });

    it('Redis: the default user is off, and the app user gets NOPERM for FLUSHALL, CONFIG, KEYS and DEBUG', async () => {
      assert.match(await redisCli(stack, ['GET', 'visits'], { auth: false }), /NOAUTH|NOPERM/);
      for (const command of [['FLUSHALL'], ['CONFIG', 'GET', 'dir'], ['KEYS', '*'], ['DEL', 'visits'], ['SET', 'other', '1']]) {
        assert.match(await redisCli(stack, command), /NOPERM/, command.join(' '));
      }
      // Redis refuses DEBUG to everyone before the ACL is asked (enable-debug-command no, kept as
      // a second wall); the ACL's own NOPERM for it is proven in test/integration/exactly-once.
      assert.match(await redisCli(stack, ['DEBUG', 'SLEEP', '0']), /NOPERM|DEBUG command not allowed/);
      assert.match(await redisCli(stack, ['PING']), /PONG/);
    });

    it('security headers on pages and on error responses alike; no version, no X-Powered-By', async () => {
      SECURITY_HEADERS((await get(`${stack.base}/`, ACCEPT.html)).headers, 'GET /');
      SECURITY_HEADERS((await count(stack.base)).headers, 'GET /count');
      SECURITY_HEADERS((await get(`${stack.base}/missing`)).headers, '404');
      SECURITY_HEADERS((await fetch(`${stack.base}/count`, { method: 'POST' })).headers, '405');
      SECURITY_HEADERS((await get(`${stack.base}/${'a'.repeat(9000)}`)).headers, '414');
      const notFound = await get(`${stack.base}/missing`);
      assert.doesNotMatch(notFound.body, /nginx\/\d/);
    });

    it('hostile and malformed requests get a 4xx, never a 5xx, and are never counted', async () => {
      const before = await readVisits(stack);
      const port = stack.port;
      const cases: [string, Promise<number>][] = [
        ['very long URL', get(`${stack.base}/count?${'q'.repeat(9000)}`).then((r) => r.status)],
        ['oversized header', fetch(`${stack.base}/count`, { headers: { 'x-big': 'h'.repeat(9000) } }).then((r) => r.status)],
        ['too many headers', fetch(`${stack.base}/count`, { headers: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`x-h${i}`, 'v'.repeat(100)])) }).then((r) => r.status)],
        ['body over the limit', fetch(`${stack.base}/count`, { method: 'POST', body: 'b'.repeat(20_000) }).then((r) => r.status)],
        ['body on GET', rawRequest(port, 'GET /count HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello').then(statusOf)],
        ['unknown method', rawRequest(port, 'FOO /count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n').then(statusOf)],
        ['odd Accept', get(`${stack.base}/count`, 'image/png').then((r) => r.status)],
        // Sent raw: fetch itself would resolve the dot segments before sending.
        ['path traversal', rawGet(port, '/../count')],
        ['encoded traversal', rawGet(port, '/%2e%2e/count')],
        ['traversal inside the path', rawGet(port, '/a/../count')],
        ['encoded slash', rawGet(port, '/%2fcount')],
        ['NUL byte', get(`${stack.base}/count%00`).then((r) => r.status)],
        ['invalid percent-encoding', get(`${stack.base}/count%zz`).then((r) => r.status)],
        ['overlong UTF-8', get(`${stack.base}/%c0%ae%c0%ae/count`).then((r) => r.status)],
        ['trailing segment', get(`${stack.base}/count/..;/x`).then((r) => r.status)],
        ['HEAD /count', fetch(`${stack.base}/count`, { method: 'HEAD' }).then((r) => r.status)],
      ];
      // One after the other would be kinder to the rate limit, but it is the answers that matter:
      // a 429 is a 4xx too, and nothing here may be counted either way.
      for (const [what, pending] of cases) {
        const status = await pending;
        assert.ok(status >= 400 && status < 500, `${what}: ${status}`);
      }
      assert.equal(await readVisits(stack), before);
    });

    it('slow clients (slowloris) are cut off by nginx', async () => {
      const started = Date.now();
      const closedAfter = await new Promise<number>((resolve, reject) => {
        const socket = connect(stack.port, '127.0.0.1');
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
        const drip = setInterval(() => socket.write('X-a: b\r\n'), 2000);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(drip);
          resolve(Date.now() - started);
        });
        setTimeout(() => {
          clearInterval(drip);
          socket.destroy();
          reject(new Error('a slow client was still connected after 30 s'));
        }, 30_000);
      });
      assert.ok(closedAfter < 20_000, `closed after ${closedAfter} ms`);
    });

    it('rate limit per client on /count: 429 with Retry-After past the burst, rejected requests not counted, / not limited', async () => {
      await new Promise((resolve) => setTimeout(resolve, 3000)); // let the bucket refill
      const before = await readVisits(stack);
      const replies = await pool(60, 30, () => count(stack.base));
      const ok = replies.filter(isOk);
      const limited = replies.filter((r) => r.status === 429);
      assert.equal(ok.length + limited.length, replies.length, 'only 200 and 429');
      assert.ok(limited.length > 0, 'some requests were limited');
      assert.ok(ok.length >= 10, `the burst passes (${ok.length})`);
      for (const reply of limited) {
        assert.equal(reply.headers.get('retry-after'), '1');
        SECURITY_HEADERS(reply.headers, '429');
      }
      assert.equal(await readVisits(stack), before + ok.length);
      const pages = await pool(60, 30, () => get(`${stack.base}/`));
      assert.ok(pages.every((r) => r.status === 200), '/ is not limited');
    });
  },
  { env: { RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '10' } },
);
