import { isoDay, lastDays } from '../../src/counters/days.ts';
import { type CounterId, pathOfCounter } from '../../src/counters/names.ts';
import { sameDigest } from '../../src/counters/owner-keys.ts';
import {
  type CounterChanges,
  type CounterInfo,
  type CounterSettings,
  type CounterStore,
  type DayCount,
  type InstanceView,
  type Refusal,
  type ReplicaReport,
  type Stats,
  StoreUnavailableError,
  type Visitor,
} from '../../src/store/counter-store.ts';

interface Counter {
  value: number;
  created: number;
  enableReset: boolean;
  lowerBound: number;
  upperBound: number;
  adminKeyDigest?: string;
  hitsByDay: Map<string, number>;
  visitorsByDay: Map<string, Set<string>>;
}

export interface FakeCounterStoreOptions {
  timeZone?: string;
  now?: () => Date;
  /** Seconds until a counter expires as info() reports it; -1 (never) by default. */
  ttl?: number;
}

export interface Call {
  method: string;
  args: unknown[];
}

/**
 * In-memory CounterStore for unit tests, with the semantics of redis/functions/counter.lua:
 * a missing counter is answered before any right is checked; a presented digest that is not
 * the owner's is always refused; enable_reset and the update bounds give way only to the owner;
 * create never resets; a mutating call with an idempotency key already seen on that counter is
 * answered with the first result and changes nothing (the key is kept per counter, like the
 * marker key r:{ns/k}:ID). `available = false` makes every call fail like an unreachable Redis.
 *
 * Stats: every counter call is a request; a counter made by hit or create is a key created;
 * each change (hit, set, update) is a key updated. Repeats answered from an idempotency key change nothing.
 */
export class FakeCounterStore implements CounterStore {
  available = true;
  closed = false;
  readonly calls: Call[] = [];
  readonly counters = new Map<string, Counter>();
  readonly answered = new Map<string, unknown>();
  readonly totals: Stats = { requests: 0, keysCreated: 0, keysUpdated: 0 };
  readonly timeZone: string;
  readonly now: () => Date;
  readonly ttl: number;

  constructor({ timeZone = 'UTC', now = () => new Date(), ttl = -1 }: FakeCounterStoreOptions = {}) {
    this.timeZone = timeZone;
    this.now = now;
    this.ttl = ttl;
  }

  // Reports, the instance view and subscriptions are not counter calls: not in `calls`.
  private mustBeAvailable(): void {
    if (!this.available) throw new StoreUnavailableError('fake counter store is down');
  }

  private enter(method: string, args: unknown[], request = true): void {
    this.calls.push({ method, args });
    if (!this.available) throw new StoreUnavailableError('fake counter store is down');
    if (request) this.totals.requests += 1;
  }

  /**
   * Runs a mutation once per (counter, idempotency key): a repeat gets the first result. Like the
   * functions, only a change is remembered; a refusal (missing, forbidden, exists) is not.
   */
  private once<T>(id: CounterId, idempotencyKey: string | undefined, change: () => T, changed: (result: T) => boolean): T {
    if (idempotencyKey === undefined) return change();
    const marker = `${pathOfCounter(id)}\n${idempotencyKey}`;
    if (this.answered.has(marker)) return structuredClone(this.answered.get(marker)) as T;
    const result = change();
    if (changed(result)) this.answered.set(marker, structuredClone(result));
    return result;
  }

  private isOwner(counter: Counter, presented: string | undefined): boolean {
    return presented !== undefined && counter.adminKeyDigest !== undefined && sameDigest(counter.adminKeyDigest, presented);
  }

  private wrongKey(counter: Counter, presented: string | undefined): boolean {
    return presented !== undefined && !this.isOwner(counter, presented);
  }

  /** Sets a counter up directly (not counted as a request), for tests. */
  put(id: CounterId, settings: Partial<CounterSettings> & { value: number }): Counter {
    const counter: Counter = {
      value: settings.value,
      created: this.now().getTime(),
      enableReset: settings.enableReset ?? false,
      lowerBound: settings.lowerBound ?? -1,
      upperBound: settings.upperBound ?? 1,
      ...(settings.adminKeyDigest === undefined ? {} : { adminKeyDigest: settings.adminKeyDigest }),
      hitsByDay: new Map(),
      visitorsByDay: new Map(),
    };
    this.counters.set(pathOfCounter(id), counter);
    return counter;
  }

  /** The seed counter /count (default/visits); 0 before the first visit. */
  get visits(): number {
    return this.peek({ namespace: 'default', key: 'visits' })?.value ?? 0;
  }

  peek(id: CounterId): Counter | undefined {
    return this.counters.get(pathOfCounter(id));
  }

  async hit(id: CounterId, options: { idempotencyKey?: string; visitor?: Visitor } = {}): Promise<{ value: number; created: boolean }> {
    this.enter('hit', [id, options]);
    return this.once(id, options.idempotencyKey, () => {
      const existing = this.peek(id);
      const created = existing === undefined;
      if (created) this.totals.keysCreated += 1;
      const counter = existing ?? this.put(id, { value: 0 });
      counter.value += 1;
      this.totals.keysUpdated += 1;
      const day = isoDay(this.now(), this.timeZone);
      counter.hitsByDay.set(day, (counter.hitsByDay.get(day) ?? 0) + 1);
      if (options.visitor) {
        const visitors = counter.visitorsByDay.get(day) ?? new Set<string>();
        visitors.add(`${options.visitor.address}\n${options.visitor.userAgent}`);
        counter.visitorsByDay.set(day, visitors);
      }
      return { value: counter.value, created };
    }, () => true);
  }

  async get(id: CounterId): Promise<number | null> {
    this.enter('get', [id]);
    return this.peek(id)?.value ?? null;
  }

  async create(id: CounterId, settings: CounterSettings, idempotencyKey?: string): Promise<{ created: boolean; value: number }> {
    this.enter('create', [id, settings, idempotencyKey]);
    return this.once(id, idempotencyKey, () => {
      const existing = this.peek(id);
      if (existing) return { created: false, value: existing.value };
      this.put(id, settings);
      this.totals.keysCreated += 1;
      return { created: true, value: settings.value };
    }, (result) => result.created);
  }

  async set(id: CounterId, value: number, ownerDigest?: string, idempotencyKey?: string): Promise<{ status: 'ok'; oldValue: number; value: number } | Refusal> {
    this.enter('set', [id, value, ownerDigest, idempotencyKey]);
    return this.once(id, idempotencyKey, () => {
      const counter = this.peek(id);
      if (!counter) return { status: 'missing' as const };
      if (this.wrongKey(counter, ownerDigest)) return { status: 'forbidden' as const };
      if (!counter.enableReset && !this.isOwner(counter, ownerDigest)) return { status: 'forbidden' as const };
      const oldValue = counter.value;
      counter.value = value;
      this.totals.keysUpdated += 1;
      return { status: 'ok' as const, oldValue, value };
    }, (result) => result.status === 'ok');
  }

  async update(id: CounterId, amount: number, ownerDigest?: string, idempotencyKey?: string): Promise<{ status: 'ok'; value: number } | Refusal> {
    this.enter('update', [id, amount, ownerDigest, idempotencyKey]);
    return this.once(id, idempotencyKey, () => {
      const counter = this.peek(id);
      if (!counter) return { status: 'missing' as const };
      if (this.wrongKey(counter, ownerDigest)) return { status: 'forbidden' as const };
      const outside = amount < counter.lowerBound || amount > counter.upperBound;
      if (outside && !this.isOwner(counter, ownerDigest)) return { status: 'forbidden' as const };
      counter.value += amount;
      this.totals.keysUpdated += 1;
      return { status: 'ok' as const, value: counter.value };
    }, (result) => result.status === 'ok');
  }

  async delete(id: CounterId, ownerDigest: string): Promise<{ status: 'ok' } | Refusal> {
    this.enter('delete', [id, ownerDigest]);
    const counter = this.peek(id);
    if (!counter) return { status: 'missing' };
    if (!this.isOwner(counter, ownerDigest)) return { status: 'forbidden' };
    this.counters.delete(pathOfCounter(id));
    return { status: 'ok' };
  }

  async info(id: CounterId): Promise<CounterInfo | null> {
    this.enter('info', [id]);
    const counter = this.peek(id);
    if (!counter) return null;
    return {
      value: counter.value,
      created: counter.created,
      enableReset: counter.enableReset,
      lowerBound: counter.lowerBound,
      upperBound: counter.upperBound,
      hasOwner: counter.adminKeyDigest !== undefined,
      ttl: this.ttl,
    };
  }

  async history(id: CounterId, days: number): Promise<DayCount[]> {
    this.enter('history', [id, days]);
    const counter = this.peek(id);
    return lastDays(this.now(), this.timeZone, days).map((day) => ({
      day,
      hits: counter?.hitsByDay.get(day) ?? 0,
      uniques: counter?.visitorsByDay.get(day)?.size ?? 0,
    }));
  }

  async stats(): Promise<Stats> {
    this.enter('stats', [], false);
    return { ...this.totals };
  }

  /** Every report received, and the listeners of announced changes (in-process pub/sub). */
  readonly reports: ReplicaReport[] = [];
  readonly listeners = new Set<(changes: CounterChanges) => void>();
  /** What instance() answers besides the replicas and busiest counters derived from the reports. */
  redisInfo: Record<string, string> = { used_memory_human: '1.00M', maxmemory_human: '400.00M', aof_enabled: '1', appendfsync: 'everysec' };

  async report(report: ReplicaReport): Promise<void> {
    this.mustBeAvailable();
    this.reports.push({ ...report, hits: new Map(report.hits), changes: new Map(report.changes) });
    if (report.changes.size === 0) return;
    const message: CounterChanges = { replica: report.replica, changes: Object.fromEntries(report.changes) };
    // Delivered later, as Redis would.
    setImmediate(() => {
      for (const listener of this.listeners) listener(message);
    });
  }

  async instance(): Promise<InstanceView> {
    this.mustBeAvailable();
    const lastSeen = new Map<string, number>();
    const requests: Record<string, number> = {};
    const hits = new Map<string, number>();
    for (const { replica, requests: served, hits: counted } of this.reports) {
      lastSeen.set(replica, this.now().getTime());
      requests[replica] = (requests[replica] ?? 0) + served;
      for (const [path, n] of counted) hits.set(path, (hits.get(path) ?? 0) + n);
    }
    return {
      replicas: [...lastSeen].map(([name, seen]) => ({ name, lastSeen: seen })),
      load: [{ start: this.now().getTime(), requests }],
      busiest: [...hits].map(([path, n]) => ({ path, hits: n })).sort((a, b) => b.hits - a.hits),
      redis: { ...this.redisInfo },
    };
  }

  async subscribe(listener: (changes: CounterChanges) => void): Promise<() => Promise<void>> {
    this.mustBeAvailable();
    this.listeners.add(listener);
    return async () => {
      this.listeners.delete(listener);
    };
  }

  async isReady(): Promise<boolean> {
    return this.available;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** How many calls of a method reached the store. */
  count(method: string): number {
    return this.calls.filter((call) => call.method === method).length;
  }
}
