import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { apiApp } from '../helpers/api-app.ts';

interface Operation {
  summary?: string;
  parameters?: { name: string; in: string; required?: boolean }[];
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
}

type Document = { openapi: string; info: { version: string }; paths: Record<string, Record<string, Operation>> };

const EXPECTED: Record<string, { method: string; query?: string[]; idempotent?: boolean }> = {
  '/hit/{key}': { method: 'get', query: ['callback', 'img'], idempotent: true },
  '/hit/{namespace}/{key}': { method: 'get', query: ['callback', 'img'], idempotent: true },
  '/get/{key}': { method: 'get', query: ['callback', 'img'] },
  '/get/{namespace}/{key}': { method: 'get', query: ['callback', 'img'] },
  '/set/{key}': { method: 'get', query: ['value', 'callback', 'img'], idempotent: true },
  '/set/{namespace}/{key}': { method: 'get', query: ['value', 'callback', 'img'], idempotent: true },
  '/update/{key}': { method: 'get', query: ['amount', 'callback', 'img'], idempotent: true },
  '/update/{namespace}/{key}': { method: 'get', query: ['amount', 'callback', 'img'], idempotent: true },
  '/info/{key}': { method: 'get', query: ['callback', 'img'] },
  '/info/{namespace}/{key}': { method: 'get', query: ['callback', 'img'] },
  '/create': { method: 'get', query: ['namespace', 'key', 'value', 'enable_reset', 'update_lowerbound', 'update_upperbound', 'callback', 'img'] },
  '/stats': { method: 'get', query: ['callback', 'img'] },
  '/counters/{key}': { method: 'delete' },
  '/counters/{namespace}/{key}': { method: 'delete' },
  '/badge/{key}': { method: 'get', query: ['action', 'label', 'color', 'labelColor', 'style', 'abbreviated'], idempotent: true },
  '/badge/{namespace}/{key}': { method: 'get', query: ['action', 'label', 'color', 'labelColor', 'style', 'abbreviated'], idempotent: true },
  '/history/{key}': { method: 'get', query: ['days', 'format', 'callback', 'img'] },
  '/history/{namespace}/{key}': { method: 'get', query: ['days', 'format', 'callback', 'img'] },
  '/stream/{key}': { method: 'get', query: [] },
  '/stream/{namespace}/{key}': { method: 'get', query: [] },
};

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async (t) => {
    const { app } = await apiApp(t);
    const res = await app.inject('/openapi.json');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(res.json<Document>().openapi, '3.1.0');
    const result = await new Validator().validate(res.json<Record<string, unknown>>());
    assert.deepEqual(result, { valid: true });
  });

  it('lists every route of the API with its parameters, and nothing else', async (t) => {
    const { app } = await apiApp(t);
    const { paths } = (await app.inject('/openapi.json')).json<Document>();
    assert.deepEqual(Object.keys(paths).sort(), Object.keys(EXPECTED).sort());
    for (const [path, { method, query = [], idempotent = false }] of Object.entries(EXPECTED)) {
      assert.deepEqual(Object.keys(paths[path] ?? {}), [method], path);
      const operation = paths[path]?.[method];
      assert.ok(operation?.summary, path);
      const parameters = operation.parameters ?? [];
      const named = (place: string) => parameters.filter((parameter) => parameter.in === place).map((parameter) => parameter.name).sort();
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();
      assert.deepEqual(named('path'), inPath, path);
      assert.deepEqual(named('query'), [...query].sort(), path);
      assert.deepEqual(named('header'), idempotent ? ['idempotency-key'] : [], path);
      assert.ok(operation.responses['200'] ?? operation.responses['204'], path);
    }
    assert.deepEqual(paths['/counters/{namespace}/{key}']?.delete?.security, [{ adminKey: [] }]);
    assert.deepEqual(paths['/set/{key}']?.get?.security, [{}, { adminKey: [] }]);
  });

  it('marks /create as needing the create token when the server has one', async (t) => {
    const { app } = await apiApp(t, { createToken: 'token-token-token' });
    const { paths } = (await app.inject('/openapi.json')).json<Document>();
    assert.deepEqual(paths['/create']?.get?.security, [{ createToken: [] }]);
  });
});
