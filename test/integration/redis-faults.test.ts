import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/app.ts';
import { createRedisStore } from '../../src/store/redis-store.ts';
import { COUNTING } from '../helpers/in-process-app.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

const ADMIN = { username: 'admin', password: 'faults-admin-pw' };
const LIBRARY = readFileSync(new URL('../../redis/functions/counter.lua', import.meta.url), 'utf8');

/**
 * Redis errors that are no outage: Redis answers, and refuses. Each must reach the log as an error
 * naming the cause and fail readiness, while clients get the usual 503 without the details; once
 * the cause is gone, counting and readiness come back by themselves.
 */
describe('when Redis answers with an error that is no outage', () => {
  const redis = new RedisServer({ username: 'counter', password: 'faults-pw', asInTheStack: { adminPassword: ADMIN.password } });
  const lines: { level: number; msg: string; err?: string }[] = [];
  let app: FastifyInstance;
  let base: string;
  const admin = (...args: string[]) => redis.command(args, ADMIN);
  const status = async (path: string) => (await fetch(`${base}${path}`)).status;

  before(async () => {
    await redis.start();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string; err?: string });
        done();
      },
    });
    const log = pino({ level: 'info' }, sink);
    const store = createRedisStore({ connection: { url: redis.url, username: 'counter', password: 'faults-pw', database: 0 }, timeoutMs: 500, log, ...COUNTING });
    app = await buildApp({ replicaName: 'it', store, counting: COUNTING }, log);
    await waitFor('the store ready', () => store.isReady(), 5000);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await app.close();
    await redis.destroy();
  });

  const expectFault = async (cause: RegExp) => {
    const from = lines.length;
    const res = await fetch(`${base}/count`);
    const body = await res.text();
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(body, 'Service Unavailable: the counter store failed, try again shortly\n', 'the client learns no internals');
    const api = await fetch(`${base}/hit/faults/api`);
    assert.equal(api.status, 503);
    assert.deepEqual(await api.json(), { error: 'the counter store failed, try again shortly' });
    const errors = lines.slice(from).filter((line) => line.level === 50);
    assert.ok(errors.some((line) => cause.test(line.err ?? '')), `an error line naming ${String(cause)}: ${JSON.stringify(lines.slice(from))}`);
    assert.equal(await status('/readyz'), 503);
    assert.equal(await status('/readyz'), 503, 'still not ready: no call has succeeded since');
  };
  const expectRecovered = async () => {
    assert.equal(await status('/hit/faults/api'), 200);
    assert.equal(await status('/count'), 200);
    assert.equal(await status('/readyz'), 200);
  };

  it('the counter functions unloaded (ERR Function not found), then loaded again', async () => {
    await expectRecovered();
    await admin('FUNCTION', 'DELETE', 'counter');
    try {
      await expectFault(/Function not found/);
    } finally {
      await admin('FUNCTION', 'LOAD', 'REPLACE', LIBRARY);
    }
    await expectRecovered();
  });

  it("the app's user refused the function (NOPERM), then allowed again", async () => {
    await admin('ACL', 'SETUSER', 'counter', '-fcall');
    try {
      await expectFault(/NOPERM/);
    } finally {
      await admin('ACL', 'SETUSER', 'counter', '+fcall');
    }
    await expectRecovered();
  });

  it('a counter value that is not a number, then repaired', async () => {
    await expectRecovered();
    const counters = ['c:{default/visits}', 'c:{faults/api}'];
    const values = await Promise.all(counters.map(async (counter) => String(await admin('HGET', counter, 'v'))));
    for (const counter of counters) await admin('HSET', counter, 'v', 'abc');
    try {
      await expectFault(/not an integer/);
    } finally {
      for (const [index, counter] of counters.entries()) await admin('HSET', counter, 'v', values[index] ?? '0');
    }
    await expectRecovered();
  });

  it('out of memory (OOM), then memory again', async () => {
    await admin('CONFIG', 'SET', 'maxmemory', '1');
    try {
      await expectFault(/^OOM /);
    } finally {
      await admin('CONFIG', 'SET', 'maxmemory', '0');
    }
    await expectRecovered();
  });
});
