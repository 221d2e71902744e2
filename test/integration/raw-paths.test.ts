import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startApp } from '../helpers/in-process-app.ts';
import { rawGet } from '../helpers/raw-http.ts';
import { RedisServer } from '../helpers/redis-server.ts';

describe('paths as clients really send them', () => {
  const redis = new RedisServer();
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    await redis.start();
    let base: string;
    ({ app, base } = await startApp(redis));
    port = Number(new URL(base).port);
  });
  after(async () => {
    await app.close();
    await redis.destroy();
  });

  it('refuses dot segments, encoded separators and NUL with 400, and counts none of them', async () => {
    const before = await redis.visits();
    for (const target of ['/../count', '/a/../count', '/./count', '/%2e%2e/count', '/%2E./count', '/count/.', '/%2fcount', '/x%5c../count', '/count%00']) {
      assert.equal(await rawGet(port, target), 400, target);
    }
    assert.equal(await redis.visits(), before);
    assert.equal(await rawGet(port, '/count'), 200, 'the canonical path still counts');
    assert.equal(await redis.visits(), before + 1);
  });
});
