import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiApp } from '../helpers/api-app.ts';

describe('the app as a Fastify plugin', () => {
  it('registers each of its plugins under its own name, so that others can declare them as dependencies', async (t) => {
    const { app } = await apiApp(t);
    const names = ['visit-counter', 'http-metrics', 'served-by', 'no-get-bodies', 'canonical-paths', 'drain', 'assets', 'live', 'counter-store', 'content-security-policy', 'errors'];
    assert.deepEqual(names.filter((name) => !app.hasPlugin(name)), []);
  });

  it('logs nothing unless it is given a logger (tests and tools build it without one)', async (t) => {
    const { app } = await apiApp(t);
    // Fastify's no-op logger has no level; a pino logger (`logger: true`) would be at 'info'.
    assert.equal(app.log.level, undefined);
  });
});
