import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf, newAdminKey, presentedDigest, sameDigest } from '../../src/counters/owner-keys.ts';

describe('owner keys', () => {
  it('takes the admin key only from exactly "Bearer <key>"', () => {
    const key = newAdminKey();
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(presentedDigest(`Bearer ${key}`), digestOf(key));
    assert.equal(presentedDigest(undefined), undefined);
    for (const header of [`Bearer ${key} extra`, `xBearer ${key}`, `bearer ${key}`, `Bearer  ${key}`, 'Bearer short', `Bearer ${key}!`]) {
      assert.equal(presentedDigest(header), undefined, header);
    }
  });

  it('compares digests by value', () => {
    assert.equal(sameDigest(digestOf('a-key-of-some-length'), digestOf('a-key-of-some-length')), true);
    assert.equal(sameDigest(digestOf('a-key-of-some-length'), digestOf('another-key-of-some')), false);
    assert.equal(sameDigest(digestOf('a-key-of-some-length'), 'short'), false);
  });
});
