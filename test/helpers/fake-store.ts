import { StoreUnavailableError, type VisitStore } from '../../src/visit-store.ts';

/** In-memory stand-in for unit tests: counts, or fails like an unreachable Redis. */
export class FakeStore implements VisitStore {
  count = 0;
  available = true;
  closed = false;
  readonly seen = new Map<string, number>();

  async increment(idempotencyKey?: string): Promise<number> {
    if (!this.available) throw new StoreUnavailableError('fake store is down');
    const earlier = idempotencyKey === undefined ? undefined : this.seen.get(idempotencyKey);
    if (earlier !== undefined) return earlier;
    this.count += 1;
    if (idempotencyKey !== undefined) this.seen.set(idempotencyKey, this.count);
    return this.count;
  }

  async isReady(): Promise<boolean> {
    return this.available;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
