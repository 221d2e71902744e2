import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { RedisServer } from '../helpers/redis-server.ts';
import { startApp } from '../helpers/in-process-app.ts';

describe('counting against a real redis-server', () => {
  const redis = new RedisServer({ password: 'it-password' });
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    await redis.start();
    ({ app, base } = await startApp(redis, 'it-password'));
  });
  after(async () => {
    await app.close();
    await redis.destroy();
  });

  it('counts 500 concurrent requests exactly once each, with 500 distinct consecutive values', async () => {
    const before = await redis.visits();
    const responses = await Promise.all(
      Array.from({ length: 500 }, () => fetch(`${base}/count`, { headers: { accept: 'application/json' } })),
    );
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    const values = await Promise.all(responses.map(async (r) => ((await r.json()) as { count: number }).count));
    const sorted = [...values].sort((a, b) => a - b);
    assert.deepEqual(sorted, Array.from({ length: 500 }, (_, i) => before + i + 1));
    assert.equal(await redis.visits(), before + 500);
  });

  it('continues from the value already stored', async () => {
    await redis.command(['HSET', 'c:{default/visits}', 'v', '41']);
    const res = await fetch(`${base}/count`);
    assert.equal(await res.text(), 'Total visits: 42\n');
  });

  it('is ready while Redis answers', async () => {
    const res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 200);
  });
});
