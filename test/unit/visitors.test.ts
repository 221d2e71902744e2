import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { visitorHash } from '../../src/counters/visitors.ts';

describe('visitorHash', () => {
  it('is 22 base64url characters (132 bits), the same for the same visit and different when any part differs', () => {
    const hash = visitorHash('salt-1', '192.0.2.1', 'agent', 'site/page');
    assert.match(hash, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(visitorHash('salt-1', '192.0.2.1', 'agent', 'site/page'), hash);
    const others = [
      visitorHash('salt-2', '192.0.2.1', 'agent', 'site/page'),
      visitorHash('salt-1', '192.0.2.2', 'agent', 'site/page'),
      visitorHash('salt-1', '192.0.2.1', 'agent 2', 'site/page'),
      visitorHash('salt-1', '192.0.2.1', 'agent', 'site/other'),
      // The parts are kept apart: moving text from one to the next is another visitor.
      visitorHash('salt-1', '192.0.2.1a', 'gent', 'site/page'),
    ];
    assert.equal(new Set([hash, ...others]).size, others.length + 1);
  });
});
