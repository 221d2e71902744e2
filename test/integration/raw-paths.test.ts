import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startApp } from '../helpers/in-process-app.ts';
import { assertRedisInstalled, RedisServer } from '../helpers/redis-server.ts';

/** Sends a request line exactly as written (fetch and inject would normalise the path first). */
const statusOf = (port: number, target: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      resolve(Number(answer.slice(9, 12)));
    });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  });

describe('paths as clients really send them', () => {
  const redis = new RedisServer();
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    assertRedisInstalled();
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
      assert.equal(await statusOf(port, target), 400, target);
    }
    assert.equal(await redis.visits(), before);
    assert.equal(await statusOf(port, '/count'), 200, 'the canonical path still counts');
    assert.equal(await redis.visits(), before + 1);
  });
});
