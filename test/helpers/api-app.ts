import type { TestContext } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { buildApp } from '../../src/app.ts';
import type { LiveSettings } from '../../src/config.ts';
import type { CountingApiOptions } from '../../src/routes/api/index.ts';
import { FakeCounterStore } from './fake-counter-store.ts';

interface ApiAppOptions extends Partial<CountingApiOptions> {
  counters?: FakeCounterStore;
  /** The operator's dashboard's token and the bounds on live streams. */
  live?: Partial<LiveSettings>;
  /** Where the app logs; none by default. */
  log?: FastifyBaseLogger;
}

/** The whole app with the counting API on a fake counter store; closed when the test ends. */
export const apiApp = async (t: TestContext, options: ApiAppOptions = {}) => {
  const { counters = new FakeCounterStore(), live, log, ...api } = options;
  const app = await buildApp({ replicaName: 'api', store: counters, counting: { historyDays: 30, timeZone: 'UTC', ...api }, ...(live ? { live } : {}) }, log);
  t.after(() => app.close());
  return { app, counters };
};
