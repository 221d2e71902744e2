import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { startMetricsServer } from '../../src/metrics/metrics-server.ts';
import { capturedLog } from '../helpers/captured-log.ts';

/** A real registry with one counter in it, so a scrape's text is known. */
const registryWithOneCounter = () => {
  const registry = new Registry();
  new Counter({ name: 'test_things_total', help: 'Things the test counted.', registers: [registry] }).inc(3);
  return registry;
};

const start = async (t: TestContext, registry: Registry, host = '127.0.0.1') => {
  const { log, lines } = capturedLog();
  const server = await startMetricsServer(registry, { host, port: 0 }, log);
  let closed = false;
  t.after(async () => {
    if (!closed) await server.close();
  });
  return {
    server,
    lines,
    close: async () => {
      closed = true;
      await server.close();
    },
  };
};

/** One request over a fresh connection (fetch cannot send a body-less HEAD and read the raw answer as easily). */
const send = (url: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> =>
  new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });

describe('the metrics server (METRICS_PORT)', () => {
  it('answers GET /metrics with the registry in its content type, never cached, and logs where it listens', async (t) => {
    const registry = registryWithOneCounter();
    const { server, lines } = await start(t, registry);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
    const res = await send(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], registry.contentType);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.body, await registry.metrics());
    assert.match(res.body, /^test_things_total 3$/m);
    assert.deepEqual(
      lines.map(({ level, msg, url }) => ({ level, msg, url })),
      [{ level: 30, msg: 'metrics listening', url: `${server.url}/metrics` }],
    );
  });

  it('ignores a query string', async (t) => {
    const { server } = await start(t, registryWithOneCounter());
    const res = await send(`${server.url}/metrics?name[]=x`);
    assert.equal(res.status, 200);
    assert.match(res.body, /^test_things_total 3$/m);
  });

  it('answers HEAD /metrics with the headers and no body', async (t) => {
    const registry = registryWithOneCounter();
    const { server } = await start(t, registry);
    const res = await send(`${server.url}/metrics`, 'HEAD');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], registry.contentType);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.body, '');
  });

  for (const path of ['/', '/metric', '/metrics/', '/metricsx', '/x/metrics']) {
    it(`answers ${path} 404, naming the one path there is`, async (t) => {
      const { server } = await start(t, registryWithOneCounter());
      const res = await send(`${server.url}${path}`);
      assert.equal(res.status, 404);
      assert.equal(res.body, 'Not Found: the metrics are at /metrics\n');
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(res.headers['cache-control'], 'no-store');
    });
  }

  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
    it(`answers ${method} /metrics 405 with Allow: GET, HEAD`, async (t) => {
      const { server } = await start(t, registryWithOneCounter());
      const res = await send(`${server.url}/metrics`, method);
      assert.equal(res.status, 405);
      assert.equal(res.body, 'Method Not Allowed: /metrics accepts GET, HEAD\n');
      assert.equal(res.headers.allow, 'GET, HEAD');
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(res.headers['cache-control'], 'no-store');
    });
  }

  it('answers 500 without details when collecting fails, and logs the error', async (t) => {
    const failing = { contentType: 'text/plain', metrics: () => Promise.reject(new Error('a collector broke')) } as unknown as Registry;
    const { server, lines } = await start(t, failing);
    const res = await send(`${server.url}/metrics`);
    assert.equal(res.status, 500);
    assert.equal(res.body, 'Internal Server Error\n');
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-store');
    const logged = lines.find((line) => line.msg === 'collecting metrics failed');
    assert.equal(logged?.level, 50);
    assert.equal((logged.err as { message?: string } | undefined)?.message, 'a collector broke');
  });

  it('gives an IPv6 address in brackets', async (t) => {
    const { server } = await start(t, registryWithOneCounter(), '::1');
    assert.match(server.url, /^http:\/\/\[::1\]:[1-9][0-9]*$/);
    assert.equal((await send(`${server.url}/metrics`)).status, 200);
  });

  it('rejects, naming METRICS_PORT, when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const address = taken.address();
      assert.ok(address && typeof address === 'object');
      const { log } = capturedLog();
      await assert.rejects(startMetricsServer(new Registry(), { host: '127.0.0.1', port: address.port }, log), /^Error: METRICS_PORT: listen EADDRINUSE/);
    } finally {
      taken.close();
    }
  });

  it('loads no undici: the server takes node:http without an ES module import, whose namespace would load it (2.5 MiB per replica)', () => {
    // In a process of its own: this test process loads undici for its own reasons.
    const script = `await import(${JSON.stringify(new URL('../../src/metrics/metrics-server.ts', import.meta.url).href)});
      console.log(process.moduleLoadList.filter((name) => name.includes('undici')).join(',') || 'none')`;
    assert.equal(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim(), 'none');
  });

  it('close() cuts a scrape in flight and stops listening', async (t) => {
    // A registry that never finishes collecting: the scrape stays in flight until close().
    const stuck = { contentType: 'text/plain', metrics: () => new Promise<string>(() => undefined) } as unknown as Registry;
    const { server, close } = await start(t, stuck);
    const inFlight = send(`${server.url}/metrics`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = close();
    await assert.rejects(inFlight, /socket hang up/);
    await closing;
    await assert.rejects(send(`${server.url}/metrics`), /ECONNREFUSED/);
  });
});
