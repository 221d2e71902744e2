import { StoreUnavailableError, type VisitStore } from '../../src/visit-store.ts';

/** In-memory stand-in for unit tests: counts, or fails like an unreachable Redis. */
export class FakeStore implements VisitStore {
  count = 0;
  available = true;
  closed = false;

  async increment(): Promise<number> {
    if (!this.available) throw new StoreUnavailableError('fake store is down');
    this.count += 1;
    return this.count;
  }

  async isReady(): Promise<boolean> {
    return this.available;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
