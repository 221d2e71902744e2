import cors from '@fastify/cors';
import type { FastifyPluginAsync, RouteOptions } from 'fastify';
import { CORS } from './answers.ts';
import badge from './badge.ts';
import create from './create.ts';
import deleteCounter from './delete.ts';
import { apiErrorHandler, strictIntegers } from './failures.ts';
import history from './history.ts';
import hitGet from './hit-get.ts';
import infoStats from './info-stats.ts';
import { registerOpenApi } from './openapi.ts';
import setUpdate from './set-update.ts';
import stream, { type StreamLimits } from './stream.ts';

export interface CountingApiOptions {
  /** When set, GET /create needs `Authorization: Bearer <createToken>`. */
  createToken?: string;
  /** Days of history kept per counter (0: history is off). */
  historyDays: number;
  /** The operator's IANA time zone: days start at its midnight. */
  timeZone: string;
  /** Bounds on the live streams (/stream). */
  streams: StreamLimits;
}

/**
 * The CountAPI-compatible API at the root: /hit, /get, /set, /update, /info, /create, /stats,
 * DELETE /counters, /badge, /history, /stream (live) and /openapi.json. Encapsulated: its JSON errors and CORS
 * stay on its own routes; the rest of the app keeps its plain-text answers.
 * Needs app.counters (plugins/counter-store.ts).
 */
const countingApi: FastifyPluginAsync<CountingApiOptions> = async (app, options) => {
  const preflighted = new Set<string>();
  app.addHook('onRoute', function (route: RouteOptions) {
    // @fastify/cors answers preflights through its own `OPTIONS *` route, which would catch
    // OPTIONS on every path of the app. That route is turned off here; each API URL gets its own.
    if (route.method === 'OPTIONS') {
      if (route.url === '*' || route.url === '/*') route.config = { ...route.config, cors: false } as RouteOptions['config'];
      return;
    }
    if (route.method !== 'HEAD' && !preflighted.has(route.url)) {
      preflighted.add(route.url);
      // The cors hook answers these before any handler runs.
      this.options(route.url, { schema: { hide: true } }, (_request, reply) => {
        void reply.code(204).send();
      });
    }
    const check = strictIntegers(route);
    if (check) {
      const existing = route.preValidation ?? [];
      route.preValidation = [...(Array.isArray(existing) ? existing : [existing]), check];
    }
  });
  await registerOpenApi(app);
  await app.register(cors, CORS);
  app.setErrorHandler(apiErrorHandler);

  await app.register(hitGet);
  await app.register(setUpdate);
  await app.register(create, options.createToken === undefined ? {} : { createToken: options.createToken });
  await app.register(infoStats);
  await app.register(deleteCounter);
  await app.register(badge);
  await app.register(history, { historyDays: options.historyDays, timeZone: options.timeZone });
  await app.register(stream, options.streams);
};

export default countingApi;
