import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AppProcess } from '../helpers/app-process.ts';
import { freePort } from '../helpers/free-port.ts';
import { waitFor } from '../helpers/wait.ts';
import { RedisServer } from '../helpers/redis-server.ts';

describe('the server process', () => {
  describe('configuration errors', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ REDIS_PORT: 'abc' }, /^Invalid configuration: REDIS_PORT must be integer \(got "abc"\)\n$/],
      [{ PORT: '-1' }, /^Invalid configuration: PORT must be >= 1/],
      [{ REDIS_DB: 'one' }, /^Invalid configuration: REDIS_DB must be integer/],
      [{ REDIS_URL: 'http://h:1' }, /^Invalid configuration: REDIS_URL must start with redis:\/\//],
      [{ LOG_LEVEL: 'verbose' }, /^Invalid configuration: LOG_LEVEL must be one of/],
    ];
    for (const [env, message] of cases) {
      it(`exits non-zero at once on ${Object.keys(env).join()}=${Object.values(env).join()}`, async () => {
        const started = Date.now();
        const exit = await new AppProcess(env).exited;
        assert.equal(exit.code, 78);
        assert.match(exit.stderr, message);
        assert.equal(exit.stderr.trim().split('\n').length, 1, 'one line');
        assert.equal(exit.stdout, '');
        assert.ok(Date.now() - started < 5000);
      });
    }
  });

  it('on SIGTERM while it still waits for Redis at start, exits 0 without listening', async () => {
    const app = new AppProcess({ HOST: '127.0.0.1', PORT: String(await freePort()), REDIS_HOST: '127.0.0.1', REDIS_PORT: String(await freePort()) });
    await waitFor('the first failed connection to Redis logged', async () => app.stdout.includes('redis connection problem'), 5000);
    const signalledAt = Date.now();
    app.child.kill('SIGTERM');
    const exit = await app.exited;
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - signalledAt < 2000);
    assert.match(exit.stdout, /"msg":"stopped"/);
    assert.doesNotMatch(exit.stdout, /Server listening/);
  });

  it('started while Redis is down, still listens after waiting about 5 s for it (not ready, but alive)', async () => {
    const port = await freePort();
    const app = new AppProcess({ HOST: '127.0.0.1', PORT: String(port), REDIS_HOST: '127.0.0.1', REDIS_PORT: String(await freePort()) });
    try {
      const started = Date.now();
      await app.listening(15_000);
      const took = Date.now() - started;
      assert.ok(took >= 4500, `listened after ${took} ms`);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 503);
    } finally {
      app.kill();
    }
  });

  describe('with Redis', () => {
    const redis = new RedisServer({ password: 'p@ss word' });

    before(async () => {
      await redis.start();
    });
    after(async () => {
      await redis.destroy();
    });

    const launch = async (env: Record<string, string>, nodeArgs: string[] = []) => {
      const port = await freePort();
      const app = new AppProcess({ HOST: '127.0.0.1', PORT: String(port), REPLICA_NAME: 'proc-1', ...env }, nodeArgs);
      await app.listening();
      return { app, base: `http://127.0.0.1:${port}` };
    };

    it('connects with REDIS_URL credentials and logs one JSON line per request', async () => {
      const { app, base } = await launch({ REDIS_URL: `redis://:${encodeURIComponent('p@ss word')}@127.0.0.1:${redis.port}/0` });
      try {
        const res = await fetch(`${base}/count`, { headers: { 'x-request-id': 'req-42' } });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-served-by'), 'proc-1');
        // Log lines are written in batches, at the latest 100 ms after they are logged.
        await waitFor('the request logged', async () => app.stdout.includes('"msg":"request"'), 1000);
        const lines = app.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
        const requests = lines.filter((line) => line.msg === 'request');
        assert.equal(requests.length, 1);
        const [line] = requests;
        assert.equal(line?.reqId, 'req-42');
        assert.equal(line.replica, 'proc-1');
        assert.equal(line.route, '/count');
        assert.equal(line.status, 200);
        assert.equal(typeof line.durationMs, 'number');
      } finally {
        app.kill();
      }
    });

    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`on ${signal} finishes the request in flight, refuses new ones and exits 0`, async () => {
        const { app, base } = await launch({
          REDIS_HOST: '127.0.0.1',
          REDIS_PORT: String(redis.port),
          REDIS_PASSWORD: 'p@ss word',
          REDIS_TIMEOUT_MS: '5000',
        });
        const before = await redis.visits();
        // Hold Redis still so the request is provably in flight when the signal arrives.
        await redis.pause();
        const inFlight = fetch(`${base}/count`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        const signalledAt = Date.now();
        app.child.kill(signal);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await assert.rejects(fetch(`${base}/healthz`), 'a new connection is refused while draining');
        await redis.resume();

        const res = await inFlight;
        assert.equal(res.status, 200);
        assert.equal(await res.text(), `Total visits: ${before + 1}\n`);
        const exit = await app.exited;
        assert.equal(exit.code, 0);
        assert.ok(Date.now() - signalledAt < 10_000);
        assert.match(exit.stdout, /"msg":"stopped"/);
        assert.match(exit.stdout, new RegExp(`"signal":"${signal}","msg":"shutting down: finishing requests in flight"`));
        assert.equal(await redis.visits(), before + 1);
      });
    }

    it('gives up on a request still in flight 9 s after SIGTERM (Compose kills at 10 s): exits 1, saying so', async () => {
      const { app, base } = await launch({
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(redis.port),
        REDIS_PASSWORD: 'p@ss word',
        REDIS_TIMEOUT_MS: '10000',
      });
      await redis.pause();
      try {
        const inFlight = fetch(`${base}/count`).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 200));
        const signalledAt = Date.now();
        app.child.kill('SIGTERM');
        const exit = await app.exited;
        const took = Date.now() - signalledAt;
        assert.equal(exit.code, 1);
        assert.ok(took >= 8500 && took < 15_000, `exited ${took} ms after SIGTERM`);
        assert.match(exit.stdout, /"level":50,[^\n]*"msg":"shutdown deadline passed, exiting with requests unfinished"/);
        await inFlight;
      } finally {
        await redis.resume();
      }
    });

    it("serves its metrics, the process's too, on METRICS_PORT, and starts no metrics server with METRICS_PORT=0", async () => {
      const metricsPort = await freePort();
      const redisEnv = { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), REDIS_PASSWORD: 'p@ss word' };
      const { app, base } = await launch({ ...redisEnv, METRICS_PORT: String(metricsPort) });
      try {
        assert.equal((await fetch(`${base}/count`)).status, 200);
        const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
        assert.equal(res.status, 200);
        const text = await res.text();
        assert.match(text, /^visitcounter_http_requests_total\{method="GET",route="\/count",status="200"\} 1$/m);
        assert.match(text, /^process_cpu_user_seconds_total [0-9.e-]+$/m);
        assert.match(app.stdout, new RegExp(`"url":"http://127\\.0\\.0\\.1:${metricsPort}/metrics","msg":"metrics listening"`));
      } finally {
        app.kill();
      }
      const without = await launch(redisEnv);
      try {
        assert.equal((await fetch(`${without.base}/healthz`)).status, 200);
        assert.doesNotMatch(without.app.stdout, /metrics listening/);
      } finally {
        without.app.kill();
      }
    });

    it('on an uncaught error logs it as fatal, closes the app and exits 1', async () => {
      const { app, base } = await launch(
        { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), REDIS_PASSWORD: 'p@ss word' },
        ['--import', fileURLToPath(new URL('../helpers/uncaught-on-sigusr2.ts', import.meta.url))],
      );
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      app.child.kill('SIGUSR2');
      const exit = await app.exited;
      assert.equal(exit.code, 1);
      assert.match(exit.stdout, /"level":60,[^\n]*"err":\{[^\n]*"message":"planted by the test"[^\n]*"msg":"uncaught error, shutting down"/);
      assert.doesNotMatch(exit.stdout, /shutting down: finishing requests in flight/);
      assert.match(exit.stdout, /"msg":"stopped"/);
    });

    it('exits 1 at once, logging why, when it cannot listen (the port is taken)', async () => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const address = taken.address();
      assert.ok(address && typeof address === 'object');
      try {
        const app = new AppProcess({ HOST: '127.0.0.1', PORT: String(address.port), REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), REDIS_PASSWORD: 'p@ss word' });
        const exit = await app.exited;
        assert.equal(exit.code, 1);
        assert.match(exit.stdout, /"level":60,[^\n]*"err":\{[^\n]*EADDRINUSE[^\n]*"msg":"cannot listen"/);
      } finally {
        taken.close();
      }
    });
  });
});
