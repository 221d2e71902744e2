import type { FastifyBaseLogger } from 'fastify';
import { type CounterId, pathOfCounter } from '../counters/names.ts';
import type { CounterChanges, CounterStore } from '../store/counter-store.ts';

/** What a live page shows of a counter, pushed on every change. */
export interface CounterSnapshot {
  value: number;
  /** Today (in the operator's time zone) as YYYY-MM-DD, with its hits and unique visitors. */
  day: string;
  today: number;
  uniques: number;
}

/** A live stream's callback: a new snapshot, or null when the counter was deleted. */
export type Viewer = (snapshot: CounterSnapshot | null) => void;

interface Watched {
  id: CounterId;
  viewers: Set<Viewer>;
  /** A refresh is running; `again` asks for one more after it (changes arrived meanwhile). */
  refreshing: boolean;
  again: boolean;
}

/**
 * One replica's side of the live features. It gathers what the replica did (requests served, hits
 * and changes per counter) and reports it to Redis twice a second in one call (counter_report):
 * the heartbeat and load the operator's dashboard shows, the day's busiest counters, and the
 * changed counters, which Redis publishes on one pub/sub channel. Every replica subscribes to
 * that channel and pushes a fresh snapshot to the viewers it holds of each changed counter, so a
 * hit served by any replica reaches viewers on every other.
 *
 * Pub/sub rather than a Redis stream: a change is only worth showing now (a viewer that missed
 * one gets the current state from the next, or on connecting), so nothing needs storing or
 * trimming; and one message per replica per half second costs Redis the same at any hit rate.
 */
export class LiveActivity {
  private requests = 0;
  private hits = new Map<string, number>();
  private changes = new Map<string, number | null>();
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private viewerCount = 0;

  private readonly options: { replica: string; store: CounterStore; log: FastifyBaseLogger; reportEveryMs?: number };

  constructor(options: { replica: string; store: CounterStore; log: FastifyBaseLogger; reportEveryMs?: number }) {
    this.options = options;
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.options.store.subscribe((message) => { this.onChanges(message); });
    this.timer = setInterval(() => void this.report(), this.options.reportEveryMs ?? 500);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.report();
    await this.unsubscribe?.();
  }

  served(): void {
    this.requests += 1;
  }

  counted(id: CounterId, value: number): void {
    const path = pathOfCounter(id);
    this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
    this.changes.set(path, value);
  }

  changed(id: CounterId, value: number | null): void {
    this.changes.set(pathOfCounter(id), value);
  }

  /** Live viewers on this replica, of every counter. */
  get viewers(): number {
    return this.viewerCount;
  }

  /** Calls `viewer` on every change of the counter until the returned function is called. */
  watch(id: CounterId, viewer: Viewer): () => void {
    const path = pathOfCounter(id);
    let entry = this.watched.get(path);
    if (!entry) {
      entry = { id, viewers: new Set(), refreshing: false, again: false };
      this.watched.set(path, entry);
    }
    entry.viewers.add(viewer);
    this.viewerCount += 1;
    const watchedEntry = entry;
    return () => {
      if (!watchedEntry.viewers.delete(viewer)) return;
      this.viewerCount -= 1;
      if (watchedEntry.viewers.size === 0) this.watched.delete(path);
    };
  }

  /** The counter as a live page shows it; null when it does not exist. */
  async snapshot(id: CounterId): Promise<CounterSnapshot | null> {
    const [value, [today]] = await Promise.all([this.options.store.get(id), this.options.store.history(id, 1)]);
    if (value === null) return null;
    return { value, day: today?.day ?? '', today: today?.hits ?? 0, uniques: today?.uniques ?? 0 };
  }

  private async report(): Promise<void> {
    const { requests, hits, changes } = this;
    this.requests = 0;
    this.hits = new Map();
    this.changes = new Map();
    try {
      await this.options.store.report({ replica: this.options.replica, requests, hits, changes });
    } catch {
      // Redis is away: keep the load and hits for the next report; the changes are only worth
      // announcing now (viewers get the current state when Redis is back and the next change comes).
      this.requests += requests;
      for (const [path, n] of hits) this.hits.set(path, (this.hits.get(path) ?? 0) + n);
    }
  }

  private onChanges({ changes }: CounterChanges): void {
    for (const path of Object.keys(changes)) {
      const entry = this.watched.get(path);
      if (entry) void this.refresh(entry);
    }
  }

  // One snapshot read at a time per counter, however many changes arrive meanwhile.
  private async refresh(entry: Watched): Promise<void> {
    if (entry.refreshing) {
      entry.again = true;
      return;
    }
    entry.refreshing = true;
    try {
      do {
        entry.again = false;
        let snapshot: CounterSnapshot | null;
        try {
          snapshot = await this.snapshot(entry.id);
        } catch (error) {
          this.options.log.warn({ err: String(error) }, 'live update skipped: redis did not answer');
          return;
        }
        for (const viewer of entry.viewers) viewer(snapshot);
        // Set by onChanges while the snapshot was being read (the linter cannot see through the await).
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
      } while (entry.again);
    } finally {
      entry.refreshing = false;
    }
  }
}

/**
 * The store as the routes use it: every hit and change is also noted for the live features; every
 * other method (those added later too) passes through unchanged.
 */
export const noteActivity = (store: CounterStore, activity: LiveActivity): CounterStore => {
  const noted: Partial<CounterStore> = {
    async hit(id, options) {
      const result = await store.hit(id, options);
      activity.counted(id, result.value);
      return result;
    },
    async create(id, settings, idempotencyKey) {
      const result = await store.create(id, settings, idempotencyKey);
      if (result.created) activity.changed(id, result.value);
      return result;
    },
    async set(id, value, ownerDigest, idempotencyKey) {
      const result = await store.set(id, value, ownerDigest, idempotencyKey);
      if (result.status === 'ok') activity.changed(id, result.value);
      return result;
    },
    async update(id, amount, ownerDigest, idempotencyKey) {
      const result = await store.update(id, amount, ownerDigest, idempotencyKey);
      if (result.status === 'ok') activity.changed(id, result.value);
      return result;
    },
    async delete(id, ownerDigest) {
      const result = await store.delete(id, ownerDigest);
      if (result.status === 'ok') activity.changed(id, null);
      return result;
    },
  };
  // Bound once per method, not on every call: /get and the other reads pass through here.
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, name, receiver) {
      if (typeof name === 'string' && name in noted) return noted[name as keyof CounterStore];
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      let method = bound.get(name);
      if (!method) {
        method = (value as (...args: unknown[]) => unknown).bind(target);
        bound.set(name, method);
      }
      return method;
    },
  });
};
