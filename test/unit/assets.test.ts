import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTENT_SECURITY_POLICY } from '../../src/plugins/content-security-policy.ts';
import { apiApp } from '../helpers/api-app.ts';

describe('assets and the content security policy', () => {
  it('serves the stylesheet from /assets/, cached for a while', async (t) => {
    const { app } = await apiApp(t);
    const res = await app.inject('/assets/site.css');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/css/);
    assert.match(res.body, /prefers-color-scheme: dark/);
    assert.match(String(res.headers['cache-control']), /max-age=3600/);
  });

  it('lists no folder and serves nothing outside the assets', async (t) => {
    const { app } = await apiApp(t);
    assert.equal((await app.inject('/assets/')).statusCode, 403);
    assert.equal((await app.inject('/assets/missing.css')).statusCode, 404);
    assert.equal((await app.inject('/assets/..%2fserver.ts')).statusCode, 400);
  });

  it('pages load only the service’s own scripts and styles: no inline script or style', async (t) => {
    const { app } = await apiApp(t);
    const res = await app.inject({ url: '/', headers: { accept: 'text/html' } });
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.match(CONTENT_SECURITY_POLICY, /script-src 'self';/);
    assert.match(CONTENT_SECURITY_POLICY, /style-src 'self';/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval|\*/);
    // Spelled out: a directive dropped or emptied in the source must fail here.
    assert.equal(
      CONTENT_SECURITY_POLICY,
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
        "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    assert.doesNotMatch(res.body, /<style|<script>|\sstyle=|\son[a-z]+=/);
    assert.match(res.body, /<link rel="stylesheet" href="\/assets\/site.css">/);
  });

  it('errors carry the policy too; the badge has its own, allowing only its inline styles', async (t) => {
    const { app } = await apiApp(t);
    assert.equal((await app.inject('/missing')).headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    const badge = await app.inject('/badge/site/home');
    assert.equal(badge.statusCode, 200, badge.body);
    assert.equal(badge.headers['content-security-policy'], "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  });
});
