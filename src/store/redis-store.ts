import { randomBytes, randomUUID } from 'node:crypto';
import { ErrorReply } from 'redis';
import type { FastifyBaseLogger } from 'fastify';
import type { RedisConnection } from '../config.ts';
import { compactDay, isoDay, lastDays, secondsLeftInDay } from '../counters/days.ts';
import { pathOfCounter, type CounterId } from '../counters/names.ts';
import { visitorHash } from '../counters/visitors.ts';
import { StoreFaultError, StoreUnavailableError, type CounterChanges, type CounterStore, type Refusal, type Visitor } from './counter-store.ts';
import { FUNCTIONS_VERSION, MARKER_TTL_SECONDS, MAX_HITS_PER_CALL, STATS_KEY, UPDATES_CHANNEL, counterKeys, instanceKeys, saltKey } from './keys.ts';
import { parseInstance, LOAD_BUCKET_SECONDS, LOAD_BUCKETS } from './instance-view.ts';
import { createStoreClient } from './store-client.ts';
import { groupCommit } from './group-commit.ts';

export interface RedisStoreOptions {
  connection: RedisConnection;
  /** Upper bound on one command, so a stalled Redis turns into a quick 503 instead of a hung request. */
  timeoutMs: number;
  log: FastifyBaseLogger;
  /** Counters expire this many days after their last change; 0 = never. */
  ttlDays: number;
  /** Days of history kept per counter; 0 = none. */
  historyDays: number;
  /** IANA time zone in which days begin and end. */
  timeZone: string;
  /** How often each replica adds its request counts to /stats (ms). */
  statsFlushMs?: number;
}

/** A replica that has not reported for this long is no longer listed as alive (it reports twice a second). */
const ALIVE_MS = 5_000;
/** The day's busiest counters kept in Redis, and shown. */
const BUSIEST_KEPT = 1_000;
const BUSIEST_SHOWN = 10;

/** Distinct connection errors logged per outage, at most (a bound on the log, whatever the client reports). */
const MAX_REPORTED_ERRORS = 20;

/** Why a call was refused before it was sent. */
const NOT_CONNECTED = 'redis is not connected';

/** How long a fault keeps the replica unready without a new one (see `fault` below). */
const FAULT_HOLD_MS = 10_000;

// Reconnect fast at first, then settle at one attempt per second so a returning Redis is
// noticed within about a second without hammering a host that is gone.
const reconnectDelay = (retries: number): number => Math.min(50 * 2 ** retries, 1000);

// node-redis's own command timeout stops counting once the command is written to the socket,
// so a Redis that accepted the command but does not answer would hold the request forever.
// One timer and one promise per command: this runs on every hit.
const withDeadline = <T>(pending: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new StoreUnavailableError(`redis did not answer within ${ms} ms`));
    }, ms);
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new StoreUnavailableError(String(error)));
      },
    );
  });

// Error replies that mean "not now" rather than "wrong": Redis loading its data, busy with a
// script, or a cluster or replica in transition. They pass like an outage; every other error
// reply is a fault (see StoreFaultError). A failover is an outage: a master cut off from its
// replicas refuses writes (NOREPLICAS, min-replicas-to-write), a demoted one answers READONLY
// and ends blocked calls (UNBLOCKED), a replica without its master MASTERDOWN.
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN|NOREPLICAS|READONLY|UNBLOCKED)\b/;

type Reply = (number | string)[];
const REFUSALS: Record<number, Refusal | undefined> = { 0: { status: 'missing' }, 2: { status: 'forbidden' } };
const refusal = (code: number | string | undefined): Refusal => REFUSALS[Number(code)] ?? { status: 'missing' };

export const createRedisStore = (options: RedisStoreOptions): CounterStore => {
  const { connection, timeoutMs, log, historyDays, timeZone } = options;
  const ttl = options.ttlDays * 86_400;
  // The client reports the same errors again on every reconnect attempt, and behind Sentinel or a
  // Cluster two of them alternate: each distinct one is logged once until Redis is ready again.
  const reported = new Set<string>();
  const client = createStoreClient(connection, {
    timeoutMs,
    reconnectDelay,
    onError: (error: Error) => {
      const message = error.message || error.name;
      if (reported.has(message) || reported.size >= MAX_REPORTED_ERRORS) return;
      reported.add(message);
      log.warn({ err: message }, 'redis connection problem');
    },
    onReady: () => {
      reported.clear();
      log.info('redis ready');
    },
    onSubscribeError: (error: unknown) => { log.warn({ err: String(error) }, 'cannot subscribe to counter updates'); },
  });
  // Startup must not wait for Redis (the client keeps trying); /readyz reports it.
  client.connect();

  // The last fault (an error reply that is no outage): the replica is not ready until a function
  // call succeeds again, or for FAULT_HOLD_MS after the last fault, so that a replica taken out of
  // traffic by its readiness (Kubernetes) is tried again rather than left out for good.
  let fault: { message: string; at: number } | undefined;
  const call = async <T = Reply>(fn: string, keys: string[], args: (string | number)[] = [], readOnly = false): Promise<T> => {
    if (!client.isReady) throw new StoreUnavailableError(NOT_CONNECTED);
    const command = [readOnly ? 'FCALL_RO' : 'FCALL', fn, String(keys.length), ...keys, ...args.map(String)];
    let reply: T;
    try {
      // The first key decides where a Cluster runs the call: every key of one call shares its hash tag.
      reply = await withDeadline(client.send<T>(keys[0], command), timeoutMs);
    } catch (error) {
      if (error instanceof ErrorReply && !TRANSIENT_REPLY.test(error.message)) {
        fault = { message: error.message, at: Date.now() };
        log.error({ err: error.message, function: fn }, 'redis refused a counter function');
        throw new StoreFaultError(`redis refused ${fn}: ${error.message}`);
      }
      throw new StoreUnavailableError(error instanceof Error ? error.message : String(error));
    }
    fault = undefined;
    return reply;
  };

  // The day, and what follows from it, computed once a second rather than on every hit.
  let today = { until: 0, compact: '', oldest: '0' };
  const currentDay = () => {
    const now = Date.now();
    if (now >= today.until) {
      const at = new Date(now);
      const days = historyDays > 0 ? lastDays(at, timeZone, historyDays) : [];
      today = { until: now - (now % 1000) + 1000, compact: compactDay(isoDay(at, timeZone)), oldest: days[0] ? compactDay(days[0]) : '0' };
    }
    return today;
  };
  // Unique-visitor HyperLogLogs live as long as the history that shows them (at least two days).
  const uniquesTtl = Math.max(historyDays + 1, 2) * 86_400;

  // The day's salt is made once by whichever replica asks first and expires when the day ends.
  const salts = new Map<string, Promise<string>>();
  const saltFor = (day: string): Promise<string> => {
    let salt = salts.get(day);
    if (!salt) {
      const secondsLeft = secondsLeftInDay(new Date(), timeZone) + 60;
      salt = call<string>('counter_salt', [saltKey(day)], [randomBytes(16).toString('base64url'), secondsLeft]);
      salt.catch(() => salts.delete(day));
      salts.clear();
      salts.set(day, salt);
    }
    return salt;
  };

  // /stats: each replica adds what it served about once a second, not one Redis write per request.
  const pending = { requests: 0, keysCreated: 0, keysUpdated: 0 };
  const takePending = (): [number, number, number] => {
    const batch: [number, number, number] = [pending.requests, pending.keysCreated, pending.keysUpdated];
    pending.requests = pending.keysCreated = pending.keysUpdated = 0;
    return batch;
  };
  // Adds what is pending and answers the totals. Put back only when the call never left (no
  // connection): one that timed out may have been added, and adding it again would count twice;
  // /stats rather misses a few requests after a stall.
  const addStats = async (): Promise<number[]> => {
    const batch = takePending();
    try {
      return await call<number[]>('counter_stats_add', [STATS_KEY], batch);
    } catch (error) {
      if (error instanceof StoreUnavailableError && error.message === NOT_CONNECTED) {
        [pending.requests, pending.keysCreated, pending.keysUpdated] = [pending.requests + batch[0], pending.keysCreated + batch[1], pending.keysUpdated + batch[2]];
      }
      throw error;
    }
  };
  const flushStats = async () => {
    if (pending.requests + pending.keysCreated + pending.keysUpdated === 0 || !client.isReady) return;
    await addStats().catch(() => undefined);
  };
  const flusher = setInterval(() => void flushStats(), options.statsFlushMs ?? 1000);
  flusher.unref();
  const served = (created = 0, updated = 0) => {
    pending.requests += 1;
    pending.keysCreated += created;
    pending.keysUpdated += updated;
  };

  // The idempotency marker goes last among a mutating function's keys. A client that may send a
  // command twice by itself (Sentinel, after a failover) gets one on every write, so that the
  // second send is answered with the first result instead of counting again.
  const markerOf = (idempotencyKey?: string) => idempotencyKey ?? (client.resendsCommands ? randomUUID() : undefined);
  const withMarker = (keys: ReturnType<typeof counterKeys>, names: string[], idempotencyKey?: string) => {
    const key = markerOf(idempotencyKey);
    return key === undefined ? names : [...names, keys.marker(key)];
  };

  // Hits go to Redis by group commit (group-commit.ts): one counter_hit call carries the hits of
  // one counter and day that arrived together, each with its marker. Markers are looked up in
  // three windows (by this replica's clock): a retry on a replica whose clock differs by less
  // than a window still finds the first one's.
  const hits = groupCommit<{ keys: ReturnType<typeof counterKeys>; day: ReturnType<typeof currentDay> }, { element: string; marker?: string | undefined }, { value: number; created: boolean }>(
    async ({ keys, day }, batch) => {
      const now = Date.now();
      const window = Math.floor(now / 1000 / MARKER_TTL_SECONDS);
      const markers = [keys.hitMarkers(window), keys.hitMarkers(window - 1), keys.hitMarkers(window + 1)];
      const reply = await call('counter_hit', [keys.counter, keys.uniques(day.compact), ...markers], [
        now, day.compact, ttl, day.oldest, uniquesTtl, MARKER_TTL_SECONDS, ...batch.flatMap(({ element, marker }) => [element, marker ?? '']),
      ]);
      return batch.map((_, index) => ({ value: Number(reply[2 * index]), created: reply[2 * index + 1] === 1 }));
    },
    MAX_HITS_PER_CALL,
  );

  // /set and /update: one argument, the presented owner digest; reply[0] is 1 when it changed.
  const change = async (fn: string, id: CounterId, argument: number, ownerDigest: string, idempotencyKey?: string) => {
    const keys = counterKeys(id);
    const reply = await call(fn, withMarker(keys, [keys.counter, keys.owner], idempotencyKey), [argument, ownerDigest, ttl, MARKER_TTL_SECONDS]);
    served(0, reply[0] === 1 ? 1 : 0);
    return reply;
  };

  return {
    async hit(id, { idempotencyKey, visitor }: { idempotencyKey?: string; visitor?: Visitor } = {}) {
      const day = currentDay();
      const path = pathOfCounter(id);
      const element = visitor ? visitorHash(await saltFor(day.compact), visitor.address, visitor.userAgent, path) : '';
      const answer = await hits(`${path} ${day.compact}`, () => ({ keys: counterKeys(id), day }), { element, marker: markerOf(idempotencyKey) });
      served(answer.created ? 1 : 0, 1);
      return answer;
    },
    async get(id) {
      const value = await call<string | null>('counter_get', [counterKeys(id).counter], [], true);
      served();
      return value === null ? null : Number(value);
    },
    async create(id, settings, idempotencyKey) {
      const keys = counterKeys(id);
      const [created, value] = await call('counter_create', withMarker(keys, [keys.counter, keys.owner], idempotencyKey), [
        Date.now(), settings.value, settings.enableReset ? 1 : 0, settings.lowerBound, settings.upperBound, settings.adminKeyDigest, ttl, MARKER_TTL_SECONDS,
      ]);
      served(created === 1 ? 1 : 0);
      return { created: created === 1, value: Number(value) };
    },
    async set(id, value, ownerDigest = '', idempotencyKey) {
      const reply = await change('counter_set', id, value, ownerDigest, idempotencyKey);
      return reply[0] === 1 ? { status: 'ok', oldValue: Number(reply[1]), value: Number(reply[2]) } : refusal(reply[0]);
    },
    async update(id, amount, ownerDigest = '', idempotencyKey) {
      const reply = await change('counter_update', id, amount, ownerDigest, idempotencyKey);
      return reply[0] === 1 ? { status: 'ok', value: Number(reply[1]) } : refusal(reply[0]);
    },
    async delete(id, ownerDigest) {
      const keys = counterKeys(id);
      // Every day's uniques that may still exist go with the counter.
      const days = lastDays(new Date(), timeZone, Math.max(historyDays, 1) + 1).map((day) => keys.uniques(compactDay(day)));
      const [code] = await call('counter_delete', [keys.counter, keys.owner, ...days], [ownerDigest]);
      served();
      return code === 1 ? { status: 'ok' } : refusal(code);
    },
    async info(id) {
      const keys = counterKeys(id);
      const reply = await call<number[]>('counter_info', [keys.counter, keys.owner], [], true);
      served();
      if (reply.length === 0) return null;
      const [value = 0, created = 0, reset = 0, lower = -1, upper = 1, owner = 0, seconds = -1] = reply;
      return { value, created, enableReset: reset === 1, lowerBound: lower, upperBound: upper, hasOwner: owner === 1, ttl: seconds };
    },
    async history(id, count) {
      const keys = counterKeys(id);
      const days = lastDays(new Date(), timeZone, count);
      const compact = days.map(compactDay);
      const reply = await call<number[]>('counter_history', [keys.counter, ...compact.map(keys.uniques)], compact);
      served();
      return days.map((day, index) => ({ day, hits: reply[2 * index] ?? 0, uniques: reply[2 * index + 1] ?? 0 }));
    },
    async stats() {
      served(); // this request is one of the totals
      const [requests = 0, keysCreated = 0, keysUpdated = 0] = await addStats();
      return { requests, keysCreated, keysUpdated };
    },
    async report({ replica, requests, hits, changes }) {
      const now = Date.now();
      const bucket = Math.floor(now / 1000 / LOAD_BUCKET_SECONDS) * LOAD_BUCKET_SECONDS;
      const message = changes.size === 0 ? '' : JSON.stringify({ replica, changes: Object.fromEntries(changes) } satisfies CounterChanges);
      await call('counter_report', [instanceKeys.replicas, instanceKeys.load(bucket), instanceKeys.busiest(currentDay().compact)], [
        now, replica, requests, (LOAD_BUCKETS + 1) * LOAD_BUCKET_SECONDS, 2 * 86_400, BUSIEST_KEPT, message, ...[...hits].flat(),
      ]);
    },
    async instance() {
      const now = Date.now();
      const current = Math.floor(now / 1000 / LOAD_BUCKET_SECONDS) * LOAD_BUCKET_SECONDS;
      const buckets = Array.from({ length: LOAD_BUCKETS }, (_, i) => current - (LOAD_BUCKETS - 1 - i) * LOAD_BUCKET_SECONDS);
      const reply = await call<unknown[]>(
        'counter_instance',
        [instanceKeys.replicas, instanceKeys.busiest(currentDay().compact), instanceKeys.config, ...buckets.map(instanceKeys.load)],
        [now - ALIVE_MS, BUSIEST_SHOWN],
        true,
      );
      return parseInstance(reply, buckets);
    },
    async subscribe(listener) {
      return client.subscribe(UPDATES_CHANNEL, (message: string) => {
        try {
          listener(JSON.parse(message) as CounterChanges);
        } catch (error) {
          log.warn({ err: String(error) }, 'ignored a malformed counter-updates message');
        }
      });
    },
    async isReady() {
      if (!client.isReady) return false;
      if (fault !== undefined && Date.now() - fault.at < FAULT_HOLD_MS) {
        log.error({ err: fault.message }, 'not ready: the last counter function call failed');
        return false;
      }
      try {
        // Every master: in a Cluster each node has its own functions, and a master without them
        // (or with another version) would fail the counters of its slots only.
        const versions = await withDeadline(client.sendToEveryMaster(['FCALL_RO', 'counter_version', '0']), timeoutMs);
        const other = versions.find((version) => Number(version) !== FUNCTIONS_VERSION);
        if (versions.length > 0 && other === undefined) return true;
        log.error({ found: other ?? 'no master', needed: FUNCTIONS_VERSION }, 'redis has another version of the counter functions');
        return false;
      } catch (error) {
        if (error instanceof ErrorReply && !TRANSIENT_REPLY.test(error.message)) log.error({ err: error.message }, 'redis refused the readiness check');
        else log.warn({ err: error instanceof Error ? error.message : String(error) }, 'redis readiness check failed');
        return false;
      }
    },
    async close() {
      clearInterval(flusher);
      await flushStats();
      await client.close();
    },
  };
};
