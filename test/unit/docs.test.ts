import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTENT_SECURITY_POLICY } from '../../src/plugins/content-security-policy.ts';
import { apiApp } from '../helpers/api-app.ts';

/** The scripts and stylesheets a page loads. */
const assetsOf = (html: string): string[] => [...html.matchAll(/<(?:script src|link rel="stylesheet" href)="([^"]+)"/g)].map((match) => match[1] ?? '');

describe('GET /docs', () => {
  it('is an HTML page under the service’s own Content-Security-Policy, with no inline script or style', async (t) => {
    const { app } = await apiApp(t);
    const res = await app.inject('/docs');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.match(res.body, /<html lang="en">/);
    assert.doesNotMatch(res.body, /<style|<script>|\sstyle=|\son[a-z]+=/);
    assert.match(res.body, /<a href="\/openapi.json">/, 'the document itself is linked (and the page says so without JavaScript)');
  });

  it('loads Swagger UI and its settings from this service only, and each answers', async (t) => {
    const { app } = await apiApp(t);
    const assets = assetsOf((await app.inject('/docs')).body);
    assert.deepEqual(assets.sort(), ['/assets/docs.css', '/assets/docs.js', '/docs/swagger-ui/swagger-ui-bundle.js', '/docs/swagger-ui/swagger-ui.css']);
    for (const url of assets) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-type']), url.endsWith('.js') ? /^(text|application)\/javascript/ : /^text\/css/, url);
      assert.ok(res.body.length > 100, `${url} has content`);
    }
    assert.match((await app.inject('/docs/swagger-ui/swagger-ui-bundle.js')).body, /SwaggerUIBundle/);
  });

  it('serves none of Swagger UI’s other files (its demo page, Petstore initializer, source maps, OAuth page)', async (t) => {
    const { app } = await apiApp(t);
    for (const file of ['index.html', 'swagger-initializer.js', 'swagger-ui-bundle.js.map', 'oauth2-redirect.html', 'package.json', '']) {
      const res = await app.inject(`/docs/swagger-ui/${file}`);
      assert.ok(res.statusCode === 404 || res.statusCode === 403, `/docs/swagger-ui/${file}: ${res.statusCode}`);
    }
  });
});
