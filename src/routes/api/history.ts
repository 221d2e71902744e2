import type { FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import type { DayCount } from '../../store/counter-store.ts';
import { answer } from './answers.ts';
import { ApiError, NOT_FOUND } from './failures.ts';
import { counterOf } from './requests.ts';
import { type AnswerForms, type CounterParams, counterUrls, errorResponses, integer, jsonQuery } from './schemas.ts';

interface HistoryOptions {
  /** Days of history kept per counter; 0 turns history off. */
  historyDays: number;
  /** The operator's time zone, where each day starts and ends. */
  timeZone: string;
}

interface HistoryQuery extends AnswerForms {
  days: number;
  format: 'json' | 'csv';
}

const dayCount = {
  type: 'object',
  required: ['day', 'hits', 'uniques'],
  properties: {
    day: { type: 'string', description: 'YYYY-MM-DD in the server time zone' },
    hits: { type: 'integer' },
    uniques: { type: 'integer', description: 'distinct visitors of that day (estimated, about 1% error)' },
  },
} as const;

const historyBody = {
  type: 'object',
  required: ['namespace', 'key', 'timezone', 'days'],
  properties: {
    namespace: { type: 'string' },
    key: { type: 'string' },
    timezone: { type: 'string' },
    days: { type: 'array', items: dayCount },
  },
} as const;

const csvOf = (days: DayCount[]): string => `day,hits,uniques\n${days.map(({ day, hits, uniques }) => `${day},${hits},${uniques}\n`).join('')}`;

const historyOff: onRequestHookHandler = (_request, _reply, done) => {
  done(new ApiError(404, 'history is off on this server'));
};

/** GET /history/...: hits and unique visitors per day, oldest first, today last. */
const history: FastifyPluginAsync<HistoryOptions> = async (app, { historyDays, timeZone }) => {
  const off = historyDays < 1;
  const daysParameter = integer(1, Math.max(1, historyDays), { default: Math.max(1, Math.min(30, historyDays)) });
  for (const { url, params } of counterUrls('/history')) {
    app.get<{ Params: CounterParams; Querystring: HistoryQuery }>(
      url,
      {
        // With history off every request is a 404, whatever it asks.
        ...(off ? { onRequest: historyOff } : {}),
        schema: {
          summary: 'Hits and unique visitors per day',
          tags: ['history'],
          params,
          querystring: jsonQuery({
            days: daysParameter,
            format: { type: 'string', enum: ['json', 'csv'], default: 'json', description: 'json or csv' },
          }),
          response: {
            200: {
              description: 'the days, oldest first',
              content: { 'application/json': { schema: historyBody }, 'text/csv': { schema: { type: 'string' } } },
            },
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const id = counterOf(request, reply);
        const { days, format } = request.query;
        if (format === 'csv' && request.query.callback !== undefined) throw new ApiError(400, 'callback applies to JSON answers only, not to format=csv');
        const [value, counts] = await Promise.all([app.counters.get(id), app.counters.history(id, days)]);
        if (value === null) throw new ApiError(404, NOT_FOUND);
        if (format === 'csv' && request.query.img === undefined) {
          return reply.type('text/csv; charset=utf-8').header('cache-control', 'no-store').send(csvOf(counts));
        }
        return answer(request, reply, { namespace: id.namespace, key: id.key, timezone: timeZone, days: counts });
      },
    );
  }
};

export default history;
