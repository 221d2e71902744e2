import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { AppProcess } from '../helpers/app-process.ts';
import { freePort } from '../helpers/free-port.ts';
import { ACCEPT, get } from '../helpers/http.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

const PROMTOOL = process.env.PROMTOOL_BIN ?? 'promtool';

/** `promtool check metrics` over stdin: its exit code and everything it printed (nothing when clean). */
const promtoolCheck = (text: string): Promise<{ code: number | null; output: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) => {
      // Fails, never skips: CI installs it (.ci/setup-promtool.sh).
      reject(error.code === 'ENOENT' ? new Error(`${PROMTOOL} is not installed: run .ci/setup-promtool.sh (Debian's promtool) or set PROMTOOL_BIN`) : error);
    });
    child.once('close', (code) => {
      resolve({ code, output });
    });
    child.stdin.end(text);
  });

/** The value of the one sample of `series` (a name with its labels, as exported) in `text`. */
const sample = (text: string, series: string): number => {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  assert.ok(line, `${series} is exported`);
  return Number(line.slice(series.length + 1));
};

describe('the metrics of a real app process', () => {
  const redis = new RedisServer();
  let app: AppProcess;
  let base = '';
  let metricsUrl = '';

  const scrape = async (): Promise<string> => {
    const res = await fetch(metricsUrl);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    return res.text();
  };

  before(async () => {
    await redis.start();
    const [port, metricsPort] = [await freePort(), await freePort()];
    app = new AppProcess({
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      REDIS_TIMEOUT_MS: '200',
      REPLICA_NAME: 'metrics-1',
    });
    await app.listening();
    base = `http://127.0.0.1:${port}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  });
  after(async () => {
    app.kill();
    await redis.destroy();
  });

  it('exports what promtool check metrics finds nothing to fix in, after traffic of every kind', async () => {
    for (let i = 0; i < 3; i += 1) assert.equal((await get(`${base}/count`, ACCEPT.json)).status, 200);
    for (let i = 0; i < 2; i += 1) assert.equal((await get(`${base}/hit/site/page`)).status, 200);
    assert.equal((await get(`${base}/get/site/page`)).status, 200);
    assert.equal((await get(`${base}/no/such/page`)).status, 404);
    const text = await scrape();
    const lint = await promtoolCheck(text);
    assert.deepEqual(lint, { code: 0, output: '' }, `promtool check metrics on:\n${text}`);

    assert.equal(sample(text, 'visitcounter_hits_total'), 5);
    assert.equal(sample(text, 'visitcounter_http_requests_total{method="GET",route="/count",status="200"}'), 3);
    assert.equal(sample(text, 'visitcounter_http_requests_total{method="GET",route="/hit/:namespace/:key",status="200"}'), 2);
    assert.equal(sample(text, 'visitcounter_http_requests_total{method="GET",route="unmatched",status="404"}'), 1);
    assert.equal(sample(text, 'visitcounter_http_request_duration_seconds_count{method="GET",route="/count",status="200"}'), 3);
    assert.equal(sample(text, 'visitcounter_redis_command_duration_seconds_count{operation="hit"}'), 5);
    assert.equal(sample(text, 'visitcounter_redis_command_duration_seconds_count{operation="get"}'), 1);
    assert.equal(sample(text, 'visitcounter_sse_streams_open'), 0);
    // prom-client's default process metrics, under their standard names.
    assert.ok(sample(text, 'process_cpu_seconds_total') > 0);
    assert.ok(sample(text, 'process_resident_memory_bytes') > 0);
    assert.ok(sample(text, 'nodejs_heap_size_used_bytes') > 0);
    assert.match(text, /^nodejs_eventloop_lag_p99_seconds /m);
  });

  it('counts the SSE streams open: 2 while two /stream requests are open, 0 once their clients left', async () => {
    const streams = [new AbortController(), new AbortController()];
    for (const stream of streams) {
      const res = await fetch(`${base}/stream/site/page`, { signal: stream.signal });
      assert.equal(res.status, 200);
      assert.ok(res.body);
      await res.body.getReader().read(); // the first event: the stream is open
    }
    assert.equal(sample(await scrape(), 'visitcounter_sse_streams_open'), 2);
    for (const stream of streams) stream.abort();
    await waitFor('the streams closed', async () => sample(await scrape(), 'visitcounter_sse_streams_open') === 0, 5000);
  });

  it('counts Redis failures by kind: unavailable when Redis stalls, fault when it refuses the function', async () => {
    const before = await scrape();
    const errors = (kind: string, text: string): number => {
      const series = `visitcounter_redis_command_errors_total{operation="hit",kind="${kind}"}`;
      return text.includes(`${series} `) ? sample(text, series) : 0;
    };

    await redis.pause();
    try {
      assert.equal((await get(`${base}/count`)).status, 503);
    } finally {
      await redis.resume();
    }
    await redis.command(['FUNCTION', 'DELETE', 'counter']);
    try {
      assert.equal((await get(`${base}/count`)).status, 503);
      assert.equal((await get(`${base}/count`)).status, 503);
    } finally {
      await redis.loadFunctions();
    }

    const text = await scrape();
    assert.equal(errors('unavailable', text) - errors('unavailable', before), 1);
    assert.equal(errors('fault', text) - errors('fault', before), 2);
    assert.equal(sample(text, 'visitcounter_hits_total'), sample(before, 'visitcounter_hits_total'), 'a failed hit counts no hit');
    assert.equal(sample(text, 'visitcounter_http_requests_total{method="GET",route="/count",status="503"}'), 3);
    assert.deepEqual(await promtoolCheck(text), { code: 0, output: '' }, 'the error series are clean too');
  });

  it('serves the metrics on their own port only: the app port has no /metrics, the metrics port nothing else', async () => {
    assert.equal((await get(`${base}/metrics`)).status, 404);
    const other = await fetch(metricsUrl.replace('/metrics', '/count'));
    assert.equal(other.status, 404);
    assert.doesNotMatch(await other.text(), /visitcounter_/);
    const post = await fetch(metricsUrl, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  it('on SIGTERM exits 0 at once, with a scraper\'s keep-alive connection still open', async () => {
    await scrape(); // fetch keeps the connection open for the next scrape
    const signalledAt = Date.now();
    app.child.kill('SIGTERM');
    const exit = await app.exited;
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - signalledAt < 2000, `exited after ${Date.now() - signalledAt} ms`);
    await assert.rejects(fetch(metricsUrl), 'the metrics port is closed');
  });
});

describe('METRICS_PORT', () => {
  it('when not a port, stops the replica at once (exit 78) with one line naming it', async () => {
    const exit = await new AppProcess({ METRICS_PORT: '9464x' }).exited;
    assert.equal(exit.code, 78);
    assert.equal(exit.stderr, 'Invalid configuration: METRICS_PORT must be integer (got "9464x")\n');
  });

  it('when taken by another process, stops the replica at start (exit 1), naming the port', async () => {
    const redis = new RedisServer();
    await redis.start();
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const app = new AppProcess({ HOST: '127.0.0.1', PORT: String(await freePort()), METRICS_PORT: String(taken), REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port) });
      const exit = await app.exited;
      assert.equal(exit.code, 1);
      const fatal = exit.stdout.split('\n').find((line) => line.includes('"msg":"cannot listen"'));
      assert.match(fatal ?? exit.stdout, new RegExp(`"message":"METRICS_PORT: listen EADDRINUSE: address already in use 127.0.0.1:${taken}"`));
    } finally {
      blocker.close();
      await redis.destroy();
    }
  });
});
