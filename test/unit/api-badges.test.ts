import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { apiApp } from '../helpers/api-app.ts';

const ns = { namespace: 'site', key: 'page' };
const COLOR_RULE =
  'must be a hex colour (4c1, #4c1, 44cc11 or #44cc11) or one of brightgreen, green, yellow, yellowgreen, orange, red, blue, grey, lightgrey, gray, lightgray, critical, important, success, informational, inactive';

/** Parses the SVG strictly (any XML error or warning throws) and returns what a test needs to see. */
const parseSvg = (text: string) => {
  const document = new DOMParser({
    onError: (level, message) => {
      throw new Error(`SVG ${level}: ${message}`);
    },
  }).parseFromString(text, 'image/svg+xml');
  const root = document.documentElement;
  assert.ok(root);
  assert.equal(root.nodeName, 'svg');
  assert.equal(root.getAttribute('xmlns'), 'http://www.w3.org/2000/svg');
  const elements = Array.from<Element>(root.getElementsByTagName('*'));
  const names = new Set(elements.map((element) => element.nodeName.toLowerCase()));
  const attributes = elements.flatMap((element) => Array.from(element.attributes).map((attribute) => attribute.name.toLowerCase()));
  const texts = elements.filter((element) => element.nodeName === 'text').map((element) => element.textContent);
  const fills = elements.map((element) => element.getAttribute('fill')).filter((fill): fill is string => fill !== null);
  return { names, attributes, texts, fills, title: root.getElementsByTagName('title')[0]?.textContent };
};

const assertSafe = (svg: ReturnType<typeof parseSvg>) => {
  for (const forbidden of ['script', 'foreignobject', 'iframe', 'a']) assert.ok(!svg.names.has(forbidden), `no <${forbidden}>`);
  assert.deepEqual(
    svg.attributes.filter((name) => name.startsWith('on') || name === 'href' || name === 'xlink:href'),
    [],
    'no event handlers or links',
  );
};

describe('GET /badge', () => {
  it('draws the count after counting the view like /hit, with no-cache headers', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 41 });
    const res = await app.inject({ url: '/badge/site/page', headers: { 'user-agent': 'camo', 'idempotency-key': 'b-1' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/svg+xml; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-cache, no-store, must-revalidate, max-age=0');
    assert.equal(res.headers.pragma, 'no-cache');
    assert.ok(Date.parse(String(res.headers.expires)) < Date.now(), 'Expires in the past');
    // Opened on its own, the SVG may use its inline styles and nothing else.
    assert.equal(res.headers['content-security-policy'], "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-path'], 'site/page');
    const svg = parseSvg(res.body);
    assertSafe(svg);
    assert.equal(svg.title, 'visits: 42');
    assert.ok(svg.texts.includes('visits'));
    assert.ok(svg.texts.includes('42'));
    assert.deepEqual(counters.calls.at(-1), {
      method: 'hit',
      args: [ns, { idempotencyKey: 'b-1', visitor: { address: '127.0.0.1', userAgent: 'camo' } }],
    });
    // The same Idempotency-Key again: counted once.
    await app.inject({ url: '/badge/site/page', headers: { 'idempotency-key': 'b-1' } });
    assert.equal(counters.peek(ns)?.value, 42);
  });

  it('counts in the default namespace without one', async (t) => {
    const { app, counters } = await apiApp(t);
    const res = await app.inject('/badge/page');
    assert.equal(res.headers['x-path'], 'default/page');
    assert.equal(parseSvg(res.body).title, 'visits: 1');
    assert.equal(counters.peek({ namespace: 'default', key: 'page' })?.value, 1);
  });

  it('with action=get only shows the count; a missing counter shows 0 and is not created', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 7 });
    assert.equal(parseSvg((await app.inject('/badge/site/page?action=get')).body).title, 'visits: 7');
    assert.equal(counters.peek(ns)?.value, 7);
    const missing = await app.inject('/badge/site/other?action=get');
    assert.equal(missing.statusCode, 200);
    assert.equal(parseSvg(missing.body).title, 'visits: 0');
    assert.equal(counters.peek({ namespace: 'site', key: 'other' }), undefined);
    assert.equal(counters.count('hit'), 0);
    assert.equal(parseSvg((await app.inject('/badge/site/page?action=hit')).body).title, 'visits: 8');
  });

  it('escapes the label: markup and quotes stay text', async (t) => {
    const { app } = await apiApp(t);
    const label = `<script>alert("x")</script>'&"`;
    const res = await app.inject(`/badge/site/page?label=${encodeURIComponent(label)}`);
    assert.equal(res.statusCode, 200);
    assert.doesNotMatch(res.body, /<script/i);
    const svg = parseSvg(res.body);
    assertSafe(svg);
    assert.equal(svg.title, `${label}: 1`);
    assert.ok(svg.texts.includes(label));
  });

  it('abbreviates large counts when asked', async (t) => {
    const { app, counters } = await apiApp(t);
    counters.put(ns, { value: 1233 });
    for (const flag of ['', 'true', '1']) {
      assert.equal(parseSvg((await app.inject(`/badge/site/page?action=get&abbreviated=${flag}`)).body).title, 'visits: 1.2K', flag);
    }
    assert.equal(parseSvg((await app.inject('/badge/site/page?action=get&abbreviated')).body).title, 'visits: 1.2K');
    assert.equal(parseSvg((await app.inject('/badge/site/page?action=get&abbreviated=false')).body).title, 'visits: 1233');
    assert.equal(parseSvg((await app.inject('/badge/site/page?action=get&abbreviated=0')).body).title, 'visits: 1233');
    counters.put(ns, { value: 2_345_678 });
    assert.equal(parseSvg((await app.inject('/badge/site/page?action=get&abbreviated=1')).body).title, 'visits: 2.3M');
  });

  it('draws each style as valid SVG', async (t) => {
    const { app } = await apiApp(t);
    const drawn = new Set<string>();
    for (const style of ['flat', 'flat-square', 'plastic', 'for-the-badge']) {
      const res = await app.inject(`/badge/site/page?action=get&style=${style}&label=views`);
      assert.equal(res.statusCode, 200, style);
      const svg = parseSvg(res.body);
      assertSafe(svg);
      assert.ok(svg.texts.includes(style === 'for-the-badge' ? 'VIEWS' : 'views'), style);
      drawn.add(res.body);
    }
    assert.equal(drawn.size, 4, 'four different drawings');
    const plain = await app.inject('/badge/site/page?action=get&label=views');
    assert.equal(plain.body, (await app.inject('/badge/site/page?action=get&label=views&style=flat')).body, 'flat is the default');
  });

  it('paints the colours asked for, hex or named', async (t) => {
    const { app } = await apiApp(t);
    const fills = async (query: string) => parseSvg((await app.inject(`/badge/site/page?action=get&${query}`)).body).fills;
    assert.ok((await fills('color=ff69b4')).includes('#ff69b4'));
    assert.ok((await fills('color=%23ff69b4')).includes('#ff69b4'));
    assert.ok((await fills('color=abc')).includes('#abc'));
    assert.ok((await fills('color=brightgreen')).includes('#4b0'));
    assert.ok((await fills('labelColor=123456')).includes('#123456'));
    assert.ok((await fills('labelColor=critical')).includes('#dd4343'));
    assert.ok((await fills('')).includes('#007ec6'), 'blue by default');
  });

  it('refuses bad input on each parameter, without counting', async (t) => {
    const { app, counters } = await apiApp(t);
    const cases: [string, string][] = [
      ['style=social', 'style must be flat, flat-square, plastic, for-the-badge'],
      ['style=', 'style must be flat, flat-square, plastic, for-the-badge'],
      ['color=purple', `color ${COLOR_RULE}`],
      ['color=%2312', `color ${COLOR_RULE}`],
      ['color=ggg', `color ${COLOR_RULE}`],
      ['color=red%22%20onload%3D%22x', `color ${COLOR_RULE}`],
      ['labelColor=rgb(1,2,3)', `labelColor ${COLOR_RULE}`],
      ['labelColor=1234', `labelColor ${COLOR_RULE}`],
      [`label=${'x'.repeat(65)}`, 'label must be text of at most 64 characters'],
      ['label=a&label=b', 'label must be given once'],
      ['action=put', 'action must be hit (count this view, the default) or get (only show the count)'],
      ['abbreviated=yes', 'abbreviated must be true, 1 or empty (1.2K instead of 1234), false or 0'],
    ];
    for (const [query, error] of cases) {
      const res = await app.inject(`/badge/site/page?${query}`);
      assert.equal(res.statusCode, 400, query);
      assert.deepEqual(res.json(), { error }, query);
    }
    const name = await app.inject('/badge/s/page');
    assert.equal(name.statusCode, 400);
    assert.deepEqual(name.json(), { error: 'namespace must match ^[A-Za-z0-9_\\-.]{3,64}$' });
    const key = await app.inject({ url: '/badge/site/page', headers: { 'idempotency-key': 'no spaces' } });
    assert.deepEqual(key.json(), { error: 'Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 . _ : -' });
    assert.equal(counters.count('hit'), 0);
  });

  it('is not served for HEAD, which would count', async (t) => {
    const { app, counters } = await apiApp(t);
    assert.equal((await app.inject({ method: 'HEAD', url: '/badge/site/page' })).statusCode, 404);
    assert.equal(counters.count('hit'), 0);
  });
});
