import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { counterId, pageOf, pathOfCounter } from '../../src/counters/names.ts';

describe('counter names', () => {
  it('makes a page path into a name: other characters become dots, cut to 64, padded to 3', () => {
    assert.deepEqual(counterId(undefined, ':PATHNAME:', { pathname: '/' }), { namespace: 'default', key: '...' });
    assert.deepEqual(counterId(undefined, 'p:PATHNAME:', { pathname: '/a b/c' }), { namespace: 'default', key: 'p.a.b.c' });
    const long = `/${'x'.repeat(100)}`;
    assert.equal(counterId(undefined, ':PATHNAME:', { pathname: long }).key, `.${'x'.repeat(63)}`);
    assert.deepEqual(counterId(':HOST:', 'home', { host: 'blog.example.com' }), { namespace: 'blog.example.com', key: 'home' });
  });

  it('refuses a name that breaks the rules with a NameError saying which part', () => {
    assert.throws(() => counterId('ok-namespace', 'no', {}), { name: 'NameError', message: 'key must match ^[A-Za-z0-9_\\-.]{3,64}$' });
    assert.throws(() => counterId('a/b', 'key', {}), { name: 'NameError', message: 'namespace must match ^[A-Za-z0-9_\\-.]{3,64}$' });
    assert.throws(() => counterId(':HOST:', 'key', { pathname: '/' }), { name: 'NameError', message: 'namespace uses :HOST: but the request has no Origin or Referer' });
  });

  it('reads the page from Origin (host) and Referer (host and path), ignoring what is no URL', () => {
    assert.deepEqual(pageOf({ origin: 'https://a.example', referer: 'https://b.example/p/q?x=1' }), { host: 'a.example', pathname: '/p/q' });
    assert.deepEqual(pageOf({ referer: 'https://b.example/p' }), { host: 'b.example', pathname: '/p' });
    assert.deepEqual(pageOf({ origin: 'null', referer: 'not a url' }), { host: undefined, pathname: undefined });
    assert.deepEqual(pageOf({}), { host: undefined, pathname: undefined });
    assert.equal(pathOfCounter({ namespace: 'n-1', key: 'k-1' }), 'n-1/k-1');
  });

  it('takes no page from an Origin or Referer given as a list of values', () => {
    assert.deepEqual(pageOf({ origin: ['https://a.example'], referer: ['https://b.example/p', 'https://c.example/q'] }), { host: undefined, pathname: undefined });
  });
});
