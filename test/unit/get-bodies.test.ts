import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { FakeCounterStore } from '../helpers/fake-counter-store.ts';
import { rawRequest, statusOf } from '../helpers/raw-http.ts';

const TOO_LARGE = 'Content Too Large: GET and HEAD requests take no body\n';

/** The app listening on a loopback port, for requests sent byte for byte. */
const listening = async (t: TestContext) => {
  const store = new FakeCounterStore();
  const app = await buildApp({ replicaName: 'bodies', store, counting: { historyDays: 30, timeZone: 'UTC' } });
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === 'object');
  return { store, port: address.port };
};

describe('bodies on GET and HEAD (plugins/no-get-bodies.ts)', () => {
  it('a GET with a chunked body: 413, the connection closed, nothing counted', async (t) => {
    const { store, port } = await listening(t);
    const answer = await rawRequest(port, 'GET /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    assert.equal(statusOf(answer), 413);
    assert.match(answer, /\r\nconnection: close\r\n/i);
    assert.ok(answer.endsWith(`\r\n\r\n${TOO_LARGE}`), answer);
    assert.equal(store.visits, 0);
  });

  it('a HEAD with a body: 413', async (t) => {
    const { port } = await listening(t);
    const answer = await rawRequest(port, 'HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc');
    assert.equal(statusOf(answer), 413);
  });

  it('a GET that says Content-Length: 0 has no body: counted as usual', async (t) => {
    const { store, port } = await listening(t);
    const answer = await rawRequest(port, 'GET /count HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(answer), 200);
    assert.ok(answer.endsWith('\r\n\r\nTotal visits: 1\n'), answer);
    assert.equal(store.visits, 1);
  });
});
