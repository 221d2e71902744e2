import type { CounterId } from '../counters/names.ts';

/** Who visits, for unique visitors; hashed with the day's salt before it reaches Redis. */
export interface Visitor {
  address: string;
  userAgent: string;
}

export interface CounterSettings {
  value: number;
  enableReset: boolean;
  lowerBound: number;
  upperBound: number;
  /** SHA-256 of the owner's admin key (see counters/owner-keys.ts). */
  adminKeyDigest: string;
}

export interface CounterInfo {
  value: number;
  /** When the counter was made, in ms since the epoch. */
  created: number;
  enableReset: boolean;
  lowerBound: number;
  upperBound: number;
  hasOwner: boolean;
  /** Seconds until the counter expires, -1 when it never does. */
  ttl: number;
}

export interface DayCount {
  /** YYYY-MM-DD in the operator's time zone. */
  day: string;
  hits: number;
  uniques: number;
}

export interface Stats {
  requests: number;
  keysCreated: number;
  keysUpdated: number;
}

/** What one replica did since its last report (see live/activity.ts). */
export interface ReplicaReport {
  replica: string;
  /** Requests it served. */
  requests: number;
  /** Hits per counter path, for the day's busiest counters. */
  hits: Map<string, number>;
  /** The latest value of each counter path that changed (null: deleted), announced to every replica. */
  changes: Map<string, number | null>;
}

/** Counter changes as announced by one replica. */
export interface CounterChanges {
  replica: string;
  changes: Record<string, number | null>;
}

/** The operator's view of the whole service (the instance dashboard). */
export interface InstanceView {
  /** Replicas that reported within the last few seconds, by name, with when (ms). */
  replicas: { name: string; lastSeen: number }[];
  /** Requests per replica in 10 s buckets, oldest first, the current one last. */
  load: { start: number; requests: Record<string, number> }[];
  /** Today's busiest counters (path, hits today), busiest first. */
  busiest: { path: string; hits: number }[];
  /** Redis's memory and persistence state: INFO fields and the fsync policy. */
  redis: Record<string, string>;
}

/** The outcome of a change that needs a right: `missing` counter, or `forbidden` without it. */
export type Refusal = { status: 'missing' } | { status: 'forbidden' };

/**
 * Where counters live. Every method rejects with StoreUnavailableError when the store cannot answer
 * within its deadline; a mutating method given an idempotency key changes the counter at most once
 * per key (for a while) and answers repeats with the first result.
 */
export interface CounterStore {
  /** Adds 1, creating the counter when missing; also counts the day and the unique visitor. */
  hit(id: CounterId, options?: { idempotencyKey?: string; visitor?: Visitor }): Promise<{ value: number; created: boolean }>;
  get(id: CounterId): Promise<number | null>;
  /** Never resets: an existing counter is left as it is (`created: false`). */
  create(id: CounterId, settings: CounterSettings, idempotencyKey?: string): Promise<{ created: boolean; value: number }>;
  /** Allowed with enable_reset, or for the owner (ownerDigest matches); a presented digest that does not match is always forbidden. */
  set(id: CounterId, value: number, ownerDigest?: string, idempotencyKey?: string): Promise<{ status: 'ok'; oldValue: number; value: number } | Refusal>;
  /** Allowed within the counter's bounds, or beyond them for the owner; a presented digest that does not match is always forbidden. */
  update(id: CounterId, amount: number, ownerDigest?: string, idempotencyKey?: string): Promise<{ status: 'ok'; value: number } | Refusal>;
  /** Only the owner may delete. */
  delete(id: CounterId, ownerDigest: string): Promise<{ status: 'ok' } | Refusal>;
  info(id: CounterId): Promise<CounterInfo | null>;
  /** The last `days` days (oldest first, today last), in the operator's time zone. */
  history(id: CounterId, days: number): Promise<DayCount[]>;
  stats(): Promise<Stats>;
  /** Records a replica's report: heartbeat, load, busiest counters; announces its changes. */
  report(report: ReplicaReport): Promise<void>;
  /** The operator's view, from every replica's reports and Redis's own state. */
  instance(): Promise<InstanceView>;
  /**
   * Calls `listener` with the changes every replica announces (this one's included), from now on
   * and across reconnections. Resolves to a function that stops listening.
   */
  subscribe(listener: (changes: CounterChanges) => void): Promise<() => Promise<void>>;
  /** True when the store answers right now and has the functions this release needs. Never rejects. */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

/** The store cannot be reached or did not answer in time; nothing was acknowledged. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/**
 * The store answered, with an error that is no outage: a refused command (NOPERM), a missing or
 * failing function, a value that is not a number, out of memory. Clients get the same 503 as for
 * an outage; the operator gets an error in the log naming the cause, and readiness fails.
 */
export class StoreFaultError extends StoreUnavailableError {
  override name = 'StoreFaultError';
}
