import assert from 'node:assert/strict';
import Module, { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { apiApp } from '../helpers/api-app.ts';

/**
 * The official client, countapi-js 1.0.2, unchanged: it fetches https://api.countapi.xyz through
 * cross-fetch. Its cross-fetch is replaced, in the require cache, by a fetch that sends the same
 * request to this app instead, as a page on https://blog.example.com/posts/hello would.
 */
const require = createRequire(import.meta.url);
const clientPath = require.resolve('countapi-js');
const crossFetchPath = createRequire(clientPath).resolve('cross-fetch');

let base = '';
const redirected = (url: string, init?: RequestInit) => {
  assert.ok(url.startsWith('https://api.countapi.xyz/'), url);
  const headers = new Headers(init?.headers);
  headers.set('origin', 'https://blog.example.com');
  headers.set('referer', 'https://blog.example.com/posts/hello');
  return fetch(`${base}${url.slice('https://api.countapi.xyz'.length)}`, { ...init, headers });
};
const stand_in = new Module(crossFetchPath);
stand_in.exports = redirected;
stand_in.loaded = true;
require.cache[crossFetchPath] = stand_in;

interface Answer {
  status: number;
  path: string;
  value?: number;
  [field: string]: unknown;
}
interface Client {
  create(options: Record<string, unknown>): Promise<Answer>;
  get(namespace: string, key?: string): Promise<Answer>;
  hit(namespace: string, key?: string): Promise<Answer>;
  set(namespace: string, key: string | number, value?: number): Promise<Answer>;
  update(namespace: string, key: string | number, amount?: number): Promise<Answer>;
  info(namespace: string, key?: string): Promise<Answer>;
  stats(): Promise<Answer>;
  visits(page?: string): Promise<Answer>;
  event(name: string): Promise<Answer>;
}
const countapi = require('countapi-js') as Client;

describe('countapi-js 1.0.2 against this app', () => {
  it('creates, reads, hits, sets, updates, describes and counts', async (t) => {
    const { app } = await apiApp(t);
    base = await app.listen({ host: '127.0.0.1', port: 0 });

    const created = await countapi.create({ namespace: 'blog', key: 'launch', value: 10, enable_reset: 1, update_upperbound: 5 });
    assert.equal(created.status, 200);
    assert.equal(created.path, 'blog/launch');
    assert.equal(created.value, 10);
    assert.match(String(created.admin_key), /^[A-Za-z0-9_-]{43}$/);

    assert.deepEqual(await countapi.get('blog', 'launch'), { status: 200, path: 'blog/launch', value: 10 });
    assert.deepEqual(await countapi.hit('blog', 'launch'), { status: 200, path: 'blog/launch', value: 11 });
    assert.deepEqual(await countapi.set('blog', 'launch', 3), { status: 200, path: 'blog/launch', old_value: 11, value: 3 });
    assert.deepEqual(await countapi.update('blog', 'launch', 5), { status: 200, path: 'blog/launch', value: 8 });
    const refused = await countapi.update('blog', 'launch', 6);
    assert.equal(refused.status, 403);
    const info = await countapi.info('blog', 'launch');
    assert.equal(info.status, 200);
    assert.equal(info.value, 8);
    assert.equal(info.enable_reset, true);
    assert.equal(info.update_upperbound, 5);
    assert.equal(info.ttl, -1);

    // Without namespace: the default one.
    assert.deepEqual(await countapi.hit('solo-key'), { status: 200, path: 'default/solo-key', value: 1 });
    const missing = await countapi.get('blog', 'nothing');
    assert.deepEqual(missing, { status: 404, path: 'blog/nothing', value: null });
    // A 400 rejects with the server's message.
    await assert.rejects(countapi.create({ namespace: 'blog', key: 'x', update_lowerbound: 1 }), (error: unknown) => {
      assert.equal(error, 'update_lowerbound must be an integer from -9007199254740991 to 0');
      return true;
    });

    // visits() and event() count the requesting page: :HOST: and :PATHNAME:.
    assert.deepEqual(await countapi.visits(), { status: 200, path: 'blog.example.com/.posts.hello', value: 1 });
    assert.deepEqual(await countapi.visits(), { status: 200, path: 'blog.example.com/.posts.hello', value: 2 });
    assert.deepEqual(await countapi.visits('home'), { status: 200, path: 'blog.example.com/home', value: 1 });
    assert.deepEqual(await countapi.event('signup'), { status: 200, path: 'blog.example.com/signup', value: 1 });

    const stats = await countapi.stats();
    assert.equal(stats.status, 200);
    assert.equal(typeof stats.requests, 'number');
    assert.equal(stats.keys_created, 5);
    assert.equal(typeof stats.version, 'string');
  });
});
