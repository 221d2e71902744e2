/** Where visits are counted. The app only needs these three operations, so tests can pass a fake. */
export interface VisitStore {
  /** Adds one visit atomically and resolves to the new total. Rejects with StoreUnavailableError. */
  increment(): Promise<number>;
  /** True when the store answers right now. Never rejects. */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

/** The store cannot be reached or did not answer in time; the visit was not acknowledged. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}
