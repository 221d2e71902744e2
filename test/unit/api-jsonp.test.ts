import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiApp } from '../helpers/api-app.ts';

describe('JSONP answers that carry markup characters', () => {
  it('escape < > & as \\u003c \\u003e \\u0026, so nothing in them can end a <script> element', async (t) => {
    const { app } = await apiApp(t, { createToken: 'the-create-token-0123' });
    const res = await app.inject('/create?callback=cb');
    assert.equal(res.statusCode, 401);
    assert.equal(res.body, 'cb({"error":"creating a counter needs Authorization: Bearer \\u003ccreate token\\u003e"});');
    const parsed: unknown = JSON.parse(/^cb\((.*)\);$/.exec(res.body)?.[1] ?? '');
    assert.deepEqual(parsed, { error: 'creating a counter needs Authorization: Bearer <create token>' });
  });
});
