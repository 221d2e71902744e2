import type { TestContext } from 'node:test';
import { buildApp } from '../../src/app.ts';
import type { CountingApiOptions } from '../../src/routes/api/index.ts';
import { FakeCounterStore } from './fake-counter-store.ts';

/** The whole app with the counting API on a fake counter store; closed when the test ends. */
export const apiApp = async (t: TestContext, options: Partial<CountingApiOptions> & { counters?: FakeCounterStore } = {}) => {
  const { counters = new FakeCounterStore(), ...api } = options;
  const app = await buildApp({ replicaName: 'api', store: counters, counting: { historyDays: 30, timeZone: 'UTC', ...api } });
  t.after(() => app.close());
  return { app, counters };
};
