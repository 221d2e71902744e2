/** Where visits are counted. The app only needs these three operations, so tests can pass a fake. */
export interface VisitStore {
  /**
   * Adds one visit atomically and resolves to the new total. Rejects with StoreUnavailableError.
   * With a key, the visit is added at most once per key (for a while): a repeat of the same
   * key, such as nginx retrying the request on another replica, gets the first call's total.
   */
  increment(idempotencyKey?: string): Promise<number>;
  /** True when the store answers right now. Never rejects. */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

/** The store cannot be reached or did not answer in time; the visit was not acknowledged. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}
