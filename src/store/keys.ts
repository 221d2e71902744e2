import { pathOfCounter, type CounterId } from '../counters/names.ts';

/**
 * Where one counter lives in Redis (see redis/functions/counter.lua for what each key holds).
 * Every key of a counter carries the hash tag {namespace/key}: one counter, one Cluster slot.
 */
export const counterKeys = (id: CounterId) => {
  const tag = `{${pathOfCounter(id)}}`;
  return {
    counter: `c:${tag}`,
    owner: `a:${tag}`,
    uniques: (compactDay: string) => `u:${tag}:${compactDay}`,
    marker: (idempotencyKey: string) => `r:${tag}:${idempotencyKey}`,
  };
};

export const saltKey = (compactDay: string) => `salt:${compactDay}`;
export const STATS_KEY = 'stats';

/** The version of redis/functions/counter.lua this app needs (its counter_version). */
export const FUNCTIONS_VERSION = 1;

/** Long enough to outlive nginx's retries of one request (proxy_next_upstream_timeout is 5 s). */
export const MARKER_TTL_SECONDS = 30;
