import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { buildApp } from '../../src/app.ts';
import { FakeCounterStore } from '../helpers/fake-counter-store.ts';

interface Line {
  level: number;
  msg: string;
  err?: unknown;
}

/** The app (plain-text side, plugins/errors.ts) with its log lines in an array. */
const appWithLog = async (t: TestContext) => {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  const store = new FakeCounterStore();
  const app = await buildApp({ replicaName: 'errors', store, counting: { historyDays: 30, timeZone: 'UTC' } }, pino({ level: 'info' }, sink));
  t.after(() => app.close());
  return { app, store, lines };
};

describe('plain-text error answers and what they log', () => {
  it('405 names the path and the methods it accepts', async (t) => {
    const { app } = await appWithLog(t);
    const res = await app.inject({ method: 'PUT', url: '/count' });
    assert.equal(res.statusCode, 405);
    assert.equal(res.body, 'Method Not Allowed: /count accepts GET\n');
    const home = await app.inject({ method: 'DELETE', url: '/' });
    assert.equal(home.statusCode, 405);
    assert.equal(home.headers.allow, 'GET, HEAD');
    assert.equal(home.body, 'Method Not Allowed: / accepts GET, HEAD\n');
  });

  it('404 and 406: exact short answers, never cached', async (t) => {
    const { app } = await appWithLog(t);
    const missing = await app.inject('/nowhere');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers['cache-control'], 'no-store');
    const refused = await app.inject({ url: '/count', headers: { accept: 'image/png' } });
    assert.equal(refused.statusCode, 406);
    assert.equal(refused.body, 'Not Acceptable: this resource is available as text/plain, text/html, application/json\n');
  });

  it("takes no request id from a client's Request-Id header (only a well-formed X-Request-ID)", async (t) => {
    const { app } = await appWithLog(t);
    const res = await app.inject({ url: '/', headers: { 'request-id': 'chosen-by-client' } });
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('the store unreachable: 503, and a warning in the log (not an error: it is an outage)', async (t) => {
    const { app, store, lines } = await appWithLog(t);
    store.available = false;
    assert.equal((await app.inject('/count')).statusCode, 503);
    const warnings = lines.filter((line) => line.msg === 'visit store unavailable');
    assert.deepEqual(warnings.map(({ level, err }) => ({ level, err })), [{ level: 40, err: 'fake counter store is down' }]);
  });

  it('a 4xx error of a route: its status and its own short message', async (t) => {
    const { app } = await appWithLog(t);
    app.get('/refused', async () => {
      throw Object.assign(new Error('Bad Request: not like that'), { statusCode: 400 });
    });
    const res = await app.inject('/refused');
    assert.equal(res.statusCode, 400);
    assert.equal(res.body, 'Bad Request: not like that\n');
  });

  it('an error carrying a status below 400 is a failure all the same: a bare 500, the error in the log', async (t) => {
    const { app, lines } = await appWithLog(t);
    app.get('/odd', async () => {
      throw Object.assign(new Error('odd internals'), { statusCode: 302 });
    });
    const res = await app.inject('/odd');
    assert.equal(res.statusCode, 500);
    assert.equal(res.body, 'Internal Server Error\n');
    const failed = lines.filter((line) => line.msg === 'request failed');
    assert.deepEqual(failed.map(({ level }) => level), [50]);
    assert.match(JSON.stringify(failed[0]?.err), /odd internals/);
  });

  it('a 5xx error of a route: a bare 500 for the client, the error in the log', async (t) => {
    const { app, lines } = await appWithLog(t);
    app.get('/upstream', async () => {
      throw Object.assign(new Error('upstream internals'), { statusCode: 502 });
    });
    const res = await app.inject('/upstream');
    assert.equal(res.statusCode, 500);
    assert.equal(res.body, 'Internal Server Error\n');
    const failed = lines.filter((line) => line.msg === 'request failed');
    assert.equal(failed.length, 1);
    const [line] = failed;
    assert.ok(line);
    assert.equal(line.level, 50);
    assert.match(JSON.stringify(line.err), /upstream internals/);
  });
});
