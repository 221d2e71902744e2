import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { RedisServer } from '../helpers/redis-server.ts';
import { startApp } from '../helpers/in-process-app.ts';
import { waitFor } from '../helpers/wait.ts';

const timed = async (url: string) => {
  const started = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  return { status: res.status, body, ms: performance.now() - started };
};

describe('when Redis goes away', () => {
  // Persisted, so a restart keeps the count and the test can tell what was counted.
  const redis = new RedisServer({ args: ['--appendonly', 'yes'] });
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    await redis.start();
    ({ app, base } = await startApp(redis));
  });
  after(async () => {
    await app.close();
    await redis.destroy();
  });

  it('answers 503 within 1 s while Redis is stopped, keeps / up, and recovers by itself', async () => {
    assert.equal((await timed(`${base}/count`)).status, 200);
    const counted = await redis.visits();
    await redis.stop();

    for (let i = 0; i < 5; i += 1) {
      const res = await timed(`${base}/count`);
      assert.equal(res.status, 503);
      assert.ok(res.ms < 1000, `503 took ${res.ms} ms`);
      assert.match(res.body, /counter store is not reachable/);
    }
    assert.equal((await timed(`${base}/`)).status, 200);
    assert.equal((await timed(`${base}/readyz`)).status, 503);

    await redis.start();
    await waitFor('/count answering 200', async () => (await fetch(`${base}/count`)).status === 200, 10_000);
    assert.equal(await redis.visits(), counted + 1, 'only the successful request after recovery was counted');
  });

  it('answers 503 within 1 s while Redis is stalled (SIGSTOP), then resumes', async () => {
    await redis.pause();
    try {
      const res = await timed(`${base}/count`);
      assert.equal(res.status, 503);
      assert.ok(res.ms < 1000, `503 took ${res.ms} ms`);
      const ready = await timed(`${base}/readyz`);
      assert.equal(ready.status, 503);
      assert.ok(ready.ms < 1000, `readyz took ${ready.ms} ms`);
    } finally {
      await redis.resume();
    }
    await waitFor('/count answering 200', async () => (await fetch(`${base}/count`)).status === 200, 10_000);
  });
});

describe('when Redis is not up yet at start', () => {
  const redis = new RedisServer();
  let app: FastifyInstance | undefined;

  after(async () => {
    await app?.close();
    await redis.destroy();
  });

  it('starts anyway, is not ready, and becomes ready once Redis is up', async () => {
    await redis.start();
    await redis.stop();
    let base: string;
    ({ app, base } = await startApp(redis, undefined, { waitForRedis: false }));
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
    assert.equal((await fetch(`${base}/count`)).status, 503);
    await redis.start();
    await waitFor('/readyz answering 200', async () => (await fetch(`${base}/readyz`)).status === 200, 10_000);
    assert.equal(await (await fetch(`${base}/count`)).text(), 'Total visits: 1\n');
  });
});
