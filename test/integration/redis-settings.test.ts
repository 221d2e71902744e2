import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { AppProcess } from '../helpers/app-process.ts';
import { freePort } from '../helpers/free-port.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

const ADMIN = { username: 'admin', password: 'limits-admin-pw' };

/** The real server process (src/server.ts) against `redis` as the stack runs it: user counter, password from the file. */
const startServer = async (redis: RedisServer) => {
  const port = await freePort();
  const app = new AppProcess({
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(redis.port),
    REDIS_USERNAME: 'counter',
    REDIS_PASSWORD_FILE: redis.passwordFile,
    REPLICA_NAME: 'limits',
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await app.listening();
    await waitFor('the app ready', async () => (await fetch(`${base}/readyz`)).status === 200, 10_000);
  } catch (error) {
    app.kill();
    throw error;
  }
  return { app, base };
};

describe('Redis with a small maxmemory (REDIS_MAXMEMORY) and noeviction', () => {
  const redis = new RedisServer({ username: 'counter', password: 'limits-pw', asInTheStack: { adminPassword: ADMIN.password, maxmemory: '8mb' } });
  let app: AppProcess;
  let base: string;
  const config = async (name: string): Promise<string> => {
    // A [name, value] array in RESP2, a map in RESP3.
    const reply = await redis.command(['CONFIG', 'GET', name], ADMIN);
    return String(Array.isArray(reply) ? reply[1] : (reply as Record<string, unknown>)[name]);
  };

  before(async () => {
    await redis.start();
    ({ app, base } = await startServer(redis));
  });
  after(async () => {
    app.kill('SIGTERM');
    await app.exited;
    await redis.destroy();
  });

  it('the setting reaches Redis, with noeviction', async () => {
    assert.equal(await config('maxmemory'), String(8 * 1024 * 1024));
    assert.equal(await config('maxmemory-policy'), 'noeviction');
  });

  it('when full: clear 503s (no 500, no stack), every count kept, the cause logged; counts again once memory is freed', async () => {
    for (let i = 0; i < 20; i += 1) assert.equal((await fetch(`${base}/hit/full/page`)).status, 200);

    // Fill Redis up to its limit, as the administrator, with keys the app knows nothing of.
    const chunk = 'x'.repeat(64 * 1024);
    let filled = 0;
    for (;;) {
      try {
        await redis.command(['SET', `filler:${filled}`, chunk], ADMIN);
        filled += 1;
      } catch (error) {
        assert.match(String(error), /OOM/);
        break;
      }
      assert.ok(filled < 1000, 'Redis never refused a write: no maxmemory');
    }

    // Keep it full: each of the helper's connections frees its buffers when it closes, which can
    // bring Redis back just under the limit. A limit just below what it holds now stays exceeded.
    const used = Number(/used_memory:(\d+)/.exec(String(await redis.command(['INFO', 'memory'], ADMIN)))?.[1]);
    await redis.command(['CONFIG', 'SET', 'maxmemory', String(used - 256 * 1024)], ADMIN);

    const stdoutBefore = app.stdout.length;
    for (let i = 0; i < 5; i += 1) {
      const res = await fetch(`${base}/hit/full/page`);
      const body = await res.text();
      assert.equal(res.status, 503, body);
      assert.equal(res.headers.get('retry-after'), '1');
      assert.deepEqual(JSON.parse(body), { error: 'the counter store failed, try again shortly' });
    }
    const count = await fetch(`${base}/count`);
    const countBody = await count.text();
    assert.equal(count.status, 503);
    assert.match(countBody, /^Service Unavailable/);
    assert.doesNotMatch(countBody, /OOM|maxmemory|at .*\.ts|Error/);
    // Reading still works, and shows every count made before.
    const got = await fetch(`${base}/get/full/page`);
    assert.equal(got.status, 200);
    assert.deepEqual(await got.json(), { value: 20 });
    // The log names the cause.
    // (The app writes its log every 100 ms.)
    await waitFor('the cause in the log', async () => app.stdout.slice(stdoutBefore).includes('OOM'), 2000).catch(() => undefined);
    const logged = app.stdout.slice(stdoutBefore).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string; err?: unknown });
    assert.ok(
      logged.some((line) => line.level >= 50 && /OOM command not allowed when used memory > 'maxmemory'/.test(JSON.stringify(line.err))),
      `no error naming the cause in:\n${JSON.stringify(logged)}`,
    );
    // Nothing was evicted.
    assert.equal(Number(await redis.command(['DBSIZE'], ADMIN)), filled + Number(await redis.command(['EVAL', "return #redis.call('KEYS', 'c:*') + #redis.call('KEYS', 'u:*') + #redis.call('KEYS', 'r:*') + #redis.call('KEYS', 'salt:*') + #redis.call('KEYS', 'stats') + #redis.call('KEYS', '{instance}:*')", '0'], ADMIN)));

    // Memory freed: counting resumes, without a restart, from the kept count.
    for (let i = 0; i < filled; i += 1) await redis.command(['DEL', `filler:${i}`], ADMIN);
    const res = await fetch(`${base}/hit/full/page`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { value: 21 });
  });
});

describe('the Redis password file: Redis and the app read it alike', () => {
  for (const [name, text] of [
    ['CRLF line end', 'crlf-pw-1234\r\n'],
    ['trailing blank lines', 'blank-lines-pw-1234\n\n\n'],
    ['CRLF and trailing blank lines', 'both-pw-1234\r\n\r\n\r\n'],
  ] as const) {
    it(`with a ${name}, mode 0600: the app authenticates and counts`, async () => {
      const password = text.replace(/[\r\n]+$/, '');
      const redis = new RedisServer({ username: 'counter', password, asInTheStack: { adminPassword: ADMIN.password, passwordFileText: text } });
      let app: AppProcess | undefined;
      try {
        await redis.start();
        chmodSync(redis.passwordFile, 0o600);
        let base: string;
        ({ app, base } = await startServer(redis));
        const res = await fetch(`${base}/count`, { headers: { accept: 'application/json' } });
        assert.equal(res.status, 200);
        assert.equal((await res.json() as { count: number }).count, 1);
        // Redis took the password without the line ends: a login with them fails.
        await assert.rejects(redis.command(['PING'], { username: 'counter', password: text }), /WRONGPASS|invalid/i);
        assert.equal(await redis.command(['PING'], { username: 'counter', password }), 'PONG');
      } finally {
        app?.kill('SIGTERM');
        await app?.exited;
        await redis.destroy();
      }
    });
  }
});
