import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countPage, welcomePage } from '../../src/pages.ts';

describe('pages', () => {
  it('escape the replica name', () => {
    assert.doesNotMatch(welcomePage('<script>x</script>'), /<script>/);
    assert.match(countPage(3, 'a&b'), /a&#38;b/);
  });

  it('are titled for what they show', () => {
    assert.match(welcomePage('r'), /<title>Visit counter<\/title>/);
    assert.match(countPage(42, 'r'), /<title>42 visits<\/title>/);
  });
});
