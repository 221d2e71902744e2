import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { buildApp } from '../../src/app.ts';
import { MAX_LOGGED_URL } from '../../src/request-log.ts';
import { FakeCounterStore } from '../helpers/fake-counter-store.ts';

/** The app with a logger whose lines land in an array, as the replicas' JSON lines on stdout. */
const appWithLog = async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const app = await buildApp({ replicaName: 'log-test', store: new FakeCounterStore(), counting: { historyDays: 30, timeZone: 'UTC' } }, log);
  return { app, lines };
};

/** The one `request` line among the logged ones. */
const requestLine = (lines: Record<string, unknown>[]): Record<string, unknown> => {
  const found = lines.filter((line) => line.msg === 'request');
  assert.equal(found.length, 1, `request lines: ${JSON.stringify(found)}`);
  return found[0] ?? {};
};

describe('request log', () => {
  it('logs one line per request with the whole URL when it is short', async () => {
    const { app, lines } = await appWithLog();
    await app.inject({ url: '/get/some-site/home?x=1' });
    await app.close();
    const line = requestLine(lines);
    assert.equal(line.url, '/get/some-site/home?x=1');
    assert.equal(line.urlCut, undefined);
    assert.equal(line.level, 30, 'info: an answered request is no error');
    assert.equal(line.method, 'GET');
    assert.equal(line.route, '/get/:namespace/:key');
    assert.equal(line.status, 404);
  });

  it('logs a URL of exactly 512 characters whole', async () => {
    const { app, lines } = await appWithLog();
    const url = `/get/some-site/home?junk=${'a'.repeat(512 - '/get/some-site/home?junk='.length)}`;
    assert.equal(url.length, 512);
    await app.inject({ url });
    await app.close();
    const line = requestLine(lines);
    assert.equal(line.url, url);
    assert.equal(line.urlCut, undefined);
  });

  it('logs the time the request took in milliseconds, to two decimals', async () => {
    const { app, lines } = await appWithLog();
    app.get('/slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, 60));
      return 'done\n';
    });
    await app.inject({ url: '/slow' });
    await app.close();
    const { durationMs } = requestLine(lines);
    assert.equal(typeof durationMs, 'number');
    assert.ok(Number(durationMs) >= 55 && Number(durationMs) < 10_000, `durationMs ${String(durationMs)}`);
    // As written in the line: at most two decimals (x * 100 is not exact in binary floating point: 64.01 * 100 is 6401.000000000001).
    assert.match(String(durationMs), /^\d+(\.\d{1,2})?$/);
  });

  it('logs a request that failed after its answer (an onResponse hook threw) as an error, with the error', async () => {
    const { app, lines } = await appWithLog();
    try {
      app.addHook('onResponse', async () => {
        throw new Error('failed after answering');
      });
      assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    } finally {
      await app.close();
    }
    const line = requestLine(lines);
    assert.equal(line.level, 50);
    assert.equal(line.status, 200);
    assert.equal(line.url, '/healthz');
    assert.match(JSON.stringify(line.err), /failed after answering/);
  });

  it('cuts an 8 KB URL to 512 characters and says it was cut, so one request logs a bounded line', async () => {
    const { app, lines } = await appWithLog();
    const url = `/get/some-site/home?junk=${'a'.repeat(8 * 1024)}`;
    const res = await app.inject({ url });
    await app.close();
    assert.ok(res.statusCode < 500);
    const line = requestLine(lines);
    assert.equal(MAX_LOGGED_URL, 512);
    assert.equal(line.url, url.slice(0, 512));
    assert.equal(line.urlCut, true);
    assert.equal(line.urlLength, url.length);
    // Every line of the request, not only its URL field, stays bounded.
    for (const logged of lines) assert.ok(JSON.stringify(logged).length < 2048, `a log line of ${JSON.stringify(logged).length} bytes`);
  });
});
