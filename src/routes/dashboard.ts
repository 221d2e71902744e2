import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { type ChartSize, historyChart } from '../dashboard/chart.ts';
import { presentsAdminToken } from '../dashboard/admin-token.ts';
import { counterPage, noCounterPage, RANGES, type Range } from '../dashboard/counter-page.ts';
import { instancePage, summarizeInstance } from '../dashboard/instance-page.ts';
import { type CounterId, counterId, NameError, pathOfCounter } from '../counters/names.ts';
import { replyText } from '../plain-text.ts';
import { COLOR_NAMES, STYLES } from './api/badge.ts';
import { counterUrls, type CounterParams } from './api/schemas.ts';

export interface DashboardOptions {
  /** Without it the operator's pages answer 404. */
  adminToken?: string;
  historyDays: number;
  timeZone: string;
}

interface PageQuery {
  days: Range;
  label: string;
  color: string;
  style: string;
}

const pageQuery = {
  type: 'object',
  properties: {
    days: { type: 'integer', enum: [...RANGES], default: 30 },
    label: { type: 'string', maxLength: 64, default: 'visits' },
    color: { type: 'string', enum: ['', ...COLOR_NAMES], default: '' },
    style: { type: 'string', enum: [...STYLES], default: 'flat' },
  },
} as const;

const chartQuery = {
  type: 'object',
  properties: { days: { type: 'integer', minimum: 1, maximum: 365, default: 30 }, size: { type: 'string', enum: ['wide', 'narrow'], default: 'wide' } },
} as const;

/** Renders of a chart kept this long: each costs ~10 ms of CPU, and a live page asks again on every change. */
const CHART_CACHE_MS = 2_000;
const CHART_CACHE_SIZE = 500;

const badRequest = (message: string) => Object.assign(new Error(`Bad Request: ${message}`), { statusCode: 400 });

// The counter named by the URL; no :HOST: or :PATHNAME: here (a dashboard is opened, not embedded).
const counterIn = ({ namespace, key }: CounterParams): CounterId => {
  try {
    return counterId(namespace, key, {});
  } catch (error) {
    if (error instanceof NameError) throw badRequest(error.message);
    throw error;
  }
};

const html = (reply: FastifyReply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');

/**
 * The dashboards: a public page per counter (/dashboard/:namespace?/:key) with its chart
 * (/chart/:namespace?/:key, SVG), and the operator's page (/dashboard, JSON at /instance) behind
 * ADMIN_TOKEN. Pages are complete without JavaScript; /assets/*-dashboard.js keep them live.
 */
const dashboard: FastifyPluginAsync<DashboardOptions> = async (app, { adminToken, historyDays, timeZone }) => {
  const charts = new Map<string, { at: number; svg: string }>();

  const operatorOnly = async (request: FastifyRequest, reply: FastifyReply) => {
    if (adminToken === undefined) return replyText(reply.code(404), 404, 'Not Found: the operator\'s dashboard is off (set ADMIN_TOKEN_FILE)\n');
    if (!presentsAdminToken(request.headers.authorization, adminToken)) {
      reply.header('www-authenticate', 'Basic realm="visit counter operator", charset="UTF-8"');
      return replyText(reply, 401, 'Unauthorized: the admin token is needed (any user name, the token as password)\n');
    }
    return undefined;
  };

  app.get('/dashboard', { preHandler: operatorOnly }, async (_request, reply) => {
    const summary = summarizeInstance(await app.counters.instance(), Date.now());
    return html(reply).send(instancePage(summary, app.replicaName));
  });

  app.get('/instance', { preHandler: operatorOnly }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return summarizeInstance(await app.counters.instance(), Date.now());
  });

  for (const { url, params } of counterUrls('/dashboard')) {
    app.get<{ Params: CounterParams; Querystring: PageQuery }>(url, { schema: { params, querystring: pageQuery } }, async (request, reply) => {
      const id = counterIn(request.params);
      const { days, label, color, style } = request.query;
      const snapshot = await app.live.snapshot(id);
      if (snapshot === null) return html(reply.code(404)).send(noCounterPage(id, app.replicaName));
      const shown = Math.min(days, historyDays);
      const history = shown > 0 ? await app.counters.history(id, shown) : [];
      return html(reply).send(
        counterPage({
          id, snapshot, history, range: days, historyDays, timeZone, badge: { label, color, style },
          origin: `${request.protocol}://${request.host}`, servedBy: app.replicaName,
        }),
      );
    });
  }

  for (const { url, params } of counterUrls('/chart')) {
    app.get<{ Params: CounterParams; Querystring: { days: number; size: ChartSize } }>(url, { schema: { params, querystring: chartQuery } }, async (request, reply) => {
      const id = counterIn(request.params);
      const days = Math.min(request.query.days, Math.max(historyDays, 1));
      const { size } = request.query;
      const cacheKey = `${pathOfCounter(id)} ${days} ${size}`;
      let cached = charts.get(cacheKey);
      if (!cached || Date.now() - cached.at > CHART_CACHE_MS) {
        cached = { at: Date.now(), svg: await historyChart(await app.counters.history(id, days), size) };
        if (charts.size >= CHART_CACHE_SIZE) charts.clear();
        charts.set(cacheKey, cached);
      }
      return reply
        .type('image/svg+xml; charset=utf-8')
        .header('cache-control', 'no-cache')
        // Opened on its own, the SVG is a document: its inline styles, nothing else.
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
        .send(cached.svg);
    });
  }
};

export default dashboard;
