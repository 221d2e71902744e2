import { makeBadge } from 'badge-maker';
import type { FastifyPluginAsync } from 'fastify';
import { counterOf, idempotencyKeyOf, visitorOf } from './requests.ts';
import { type CounterParams, counterUrls, errorResponses, idempotencyHeaders, type IdempotencyHeaders } from './schemas.ts';

/** The colour names badge-maker (shields.io) knows, aliases included. */
export const COLOR_NAMES = [
  'brightgreen', 'green', 'yellow', 'yellowgreen', 'orange', 'red', 'blue', 'grey', 'lightgrey',
  'gray', 'lightgray', 'critical', 'important', 'success', 'informational', 'inactive',
] as const;

export const STYLES = ['flat', 'flat-square', 'plastic', 'for-the-badge'] as const;

const colour = {
  type: 'string',
  anyOf: [{ pattern: '^#?(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$' }, { enum: COLOR_NAMES }],
  description: `a hex colour (4c1, #4c1, 44cc11 or #44cc11) or one of ${COLOR_NAMES.join(', ')}`,
};

interface BadgeQuery {
  action: 'hit' | 'get';
  label: string;
  color?: string;
  labelColor?: string;
  style: (typeof STYLES)[number];
  abbreviated?: '' | 'true' | 'false' | '1' | '0';
}

const badgeQuery = {
  type: 'object',
  properties: {
    action: { type: 'string', enum: ['hit', 'get'], default: 'hit', description: 'hit (count this view, the default) or get (only show the count)' },
    label: { type: 'string', maxLength: 64, default: 'visits', description: 'text of at most 64 characters' },
    color: colour,
    labelColor: colour,
    style: { type: 'string', enum: STYLES, default: 'flat', description: STYLES.join(', ') },
    abbreviated: { type: 'string', enum: ['', 'true', 'false', '1', '0'], description: 'true, 1 or empty (1.2K instead of 1234), false or 0' },
  },
};

const COMPACT = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

const hexOrName = (value: string | undefined): string | undefined =>
  value === undefined || value.startsWith('#') || (COLOR_NAMES as readonly string[]).includes(value) ? value : `#${value}`;

/** GET /badge/...: an SVG badge (shields.io's look) showing a counter, counting the view like /hit. */
const badge: FastifyPluginAsync = async (app) => {
  for (const { url, params } of counterUrls('/badge')) {
    app.get<{ Params: CounterParams; Querystring: BadgeQuery; Headers: IdempotencyHeaders }>(
      url,
      {
        exposeHeadRoute: false,
        schema: {
          summary: 'An SVG badge showing the counter; counts the view unless action=get (a missing counter then shows 0)',
          tags: ['badges'],
          params,
          querystring: badgeQuery,
          headers: idempotencyHeaders,
          response: {
            200: { description: 'the badge', content: { 'image/svg+xml': { schema: { type: 'string' } } } },
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const id = counterOf(request, reply);
        const { action, label, color, labelColor, style, abbreviated } = request.query;
        const value =
          action === 'get'
            ? ((await app.counters.get(id)) ?? 0)
            : (await app.counters.hit(id, { idempotencyKey: idempotencyKeyOf(request), visitor: visitorOf(request) })).value;
        const short = abbreviated === '' || abbreviated === 'true' || abbreviated === '1';
        // badge-maker escapes the text it draws and writes no script.
        const svg = makeBadge({
          label,
          message: short ? COMPACT.format(value) : String(value),
          style,
          ...(color === undefined ? { color: 'blue' } : { color: hexOrName(color) }),
          ...(labelColor === undefined ? {} : { labelColor: hexOrName(labelColor) }),
        });
        return reply
          .type('image/svg+xml; charset=utf-8')
          .header('cache-control', 'no-cache, no-store, must-revalidate, max-age=0')
          .header('expires', 'Thu, 01 Jan 1970 00:00:00 GMT')
          .header('pragma', 'no-cache')
          // Opened on its own, the SVG is a document: it may use its inline styles and nothing else.
          .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
          .header('x-content-type-options', 'nosniff')
          .send(svg);
      },
    );
  }
};

export default badge;
