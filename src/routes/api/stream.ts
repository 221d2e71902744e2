import { fastifySSE as sse } from '@fastify/sse';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { pathOfCounter } from '../../counters/names.ts';
import type { CounterSnapshot } from '../../live/activity.ts';
import { ApiError, NOT_FOUND } from './failures.ts';
import { counterOf } from './requests.ts';
import { type CounterParams, counterUrls, errorResponses } from './schemas.ts';

export interface StreamLimits {
  /** Streams one client address may hold open on this replica. */
  perClient: number;
  /** Streams this replica holds open at most. */
  perReplica: number;
}

/** Comments sent while nothing changes, so that proxies do not close an idle stream (nginx: 60 s). */
const HEARTBEAT_MS = 15_000;

/**
 * GET /stream/:namespace?/:key: Server-Sent Events, as Abacus serves them. Each event's data is the
 * counter's snapshot as JSON ({value, day, today, uniques}), sent at once and again after every
 * change made through any replica; `event: deleted` when the counter goes. Streams are bounded per
 * client address and per replica (429 beyond), and end when the replica shuts down (the browser's
 * EventSource reconnects, through nginx, to another replica).
 */
const stream: FastifyPluginAsync<StreamLimits> = async (app, limits) => {
  await app.register(sse, { heartbeatInterval: HEARTBEAT_MS });
  const perClient = new Map<string, number>();
  /** Streams holding a slot, the ones still reading their first snapshot included. */
  let held = 0;
  /** Streams sending (past their first snapshot): ended at shutdown. */
  const open = new Set<FastifyReply>();

  app.addHook('preClose', async () => {
    for (const reply of open) reply.sse.close();
  });

  for (const { url, params } of counterUrls('/stream')) {
    app.get<{ Params: CounterParams }>(
      url,
      {
        sse: { kind: 'only' },
        schema: {
          summary: "A counter's changes, live (Server-Sent Events)",
          description: 'text/event-stream: each event\'s data is {"value", "day", "today", "uniques"}; `event: deleted` when the counter is deleted.',
          tags: ['counters'],
          params,
          response: {
            200: {
              description: 'a stream of snapshots, one event per change',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            ...errorResponses,
            404: errorResponses['4xx'],
          },
        },
      },
      async (request, reply) => {
        const id = counterOf(request, reply);
        const client = request.ip;
        if (held >= limits.perReplica) throw new ApiError(429, 'too many live streams on this server; try again later');
        if ((perClient.get(client) ?? 0) >= limits.perClient) throw new ApiError(429, `at most ${limits.perClient} live streams per client`);
        // The slot is taken before the first read, so that streams asked for together are counted
        // together, and given back by whatever ends the stream: the read failing, no such counter
        // (both close it), the client leaving (also while the first read is on its way) or shutdown.
        held += 1;
        perClient.set(client, (perClient.get(client) ?? 0) + 1);
        let stopWatching: () => void = () => undefined;
        reply.sse.onClose(() => {
          stopWatching();
          open.delete(reply);
          held -= 1;
          const left = (perClient.get(client) ?? 1) - 1;
          if (left === 0) perClient.delete(client);
          else perClient.set(client, left);
        });
        const first = await app.live.snapshot(id);
        if (first === null) throw new ApiError(404, NOT_FOUND);
        // Gone while the snapshot was read: nothing to send to, and its slot is already back.
        if (!reply.sse.isConnected) return;

        open.add(reply);
        const send = (snapshot: CounterSnapshot | null) => {
          if (!reply.sse.isConnected) return;
          const message = snapshot === null ? { event: 'deleted', data: { path: pathOfCounter(id) } } : { data: snapshot };
          reply.sse.send(message).catch(() => { reply.sse.close(); });
        };
        stopWatching = app.live.watch(id, send);
        reply.sse.keepAlive();
        // A browser's EventSource waits this long before reconnecting after the stream ends.
        await reply.sse.send({ data: first, retry: 2000 });
      },
    );
  }
};

export default stream;
