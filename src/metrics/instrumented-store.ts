import { performance } from 'node:perf_hooks';
import { type CounterStore, StoreFaultError, StoreUnavailableError } from '../store/counter-store.ts';
import type { Metrics } from './registry.ts';

/** Not a Redis round trip: closing the connections at shutdown, opening the pub/sub subscription. */
const UNMEASURED = new Set(['close', 'subscribe']);

const kindOf = (error: unknown): string => {
  // StoreFaultError is a StoreUnavailableError too: ask for it first.
  if (error instanceof StoreFaultError) return 'fault';
  if (error instanceof StoreUnavailableError) return 'unavailable';
  return 'other';
};

/**
 * The store, with every method measured: its time (failures included) in the Redis command
 * histogram and its failures by kind, labelled with the method's name. Each store operation is
 * one Redis round trip (one FCALL of redis/functions/counter.lua; a hit also fetches the day's
 * salt once a day), so these are Redis's latency and errors as the replica sees them, its
 * network and client queue included. A resolved `hit` counts a hit.
 *
 * A Proxy rather than a class naming each method: a method added to CounterStore is measured
 * without a change here. The label's values are the interface's method names, a bounded set.
 */
export const instrumentStore = (store: CounterStore, metrics: Metrics): CounterStore => {
  const measured = new Map<string, (...args: unknown[]) => unknown>();

  const measure = (operation: string): ((...args: unknown[]) => unknown) => {
    const duration = metrics.redisDuration.labels(operation);
    const took = (began: number) => {
      duration.observe((performance.now() - began) / 1000);
    };
    const failed = (began: number, error: unknown) => {
      took(began);
      metrics.redisErrors.labels(operation, kindOf(error)).inc();
    };
    return (...args: unknown[]): unknown => {
      const method = Reflect.get(store, operation) as (...args: unknown[]) => unknown;
      const began = performance.now();
      let result: unknown;
      try {
        result = Reflect.apply(method, store, args);
      } catch (error) {
        failed(began, error);
        throw error;
      }
      if (!(result instanceof Promise)) {
        took(began);
        return result;
      }
      return result.then(
        (value: unknown) => {
          took(began);
          if (operation === 'hit') metrics.hits.inc();
          return value;
        },
        (error: unknown) => {
          failed(began, error);
          throw error;
        },
      );
    };
  };

  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string' || UNMEASURED.has(property)) {
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      }
      let wrapper = measured.get(property);
      if (!wrapper) {
        wrapper = measure(property);
        measured.set(property, wrapper);
      }
      return wrapper;
    },
  });
};
