import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countPage, page, welcomePage } from '../../src/pages.ts';

describe('pages', () => {
  it('escape the replica name', () => {
    assert.doesNotMatch(welcomePage('<script>x</script>'), /<script>/);
    assert.match(countPage(3, 'a&b'), /a&#38;b/);
  });

  it('are titled for what they show', () => {
    assert.match(welcomePage('r'), /<title>Visit counter<\/title>/);
    assert.match(countPage(42, 'r'), /<title>42 visits<\/title>/);
  });

  it('are narrow text pages without scripts unless a page asks for scripts and a wide layout', () => {
    const text = page('t', 'body', 'r');
    assert.match(text, /<main class="narrow">\nbody\n/);
    assert.doesNotMatch(text, /<script/);
    const dashboard = page('t', 'body', 'r', { scripts: ['a.js', 'b<.js'], width: 'wide' });
    assert.match(dashboard, /<main>\nbody\n/);
    assert.match(dashboard, /<script src="\/assets\/a.js" defer><\/script>\n<script src="\/assets\/b&#60;.js" defer><\/script>\n<title>t<\/title>/);
  });
});
