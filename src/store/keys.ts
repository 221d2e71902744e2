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
    /** The hits' markers of one window of MARKER_TTL_SECONDS (a hash: Idempotency-Key -> answer). */
    hitMarkers: (window: number) => `h:${tag}:${window}`,
  };
};

export const saltKey = (compactDay: string) => `salt:${compactDay}`;
export const STATS_KEY = 'stats';

/** What the operator's dashboard reads, under one hash tag (one Cluster slot); see counter.lua. */
export const instanceKeys = {
  replicas: '{instance}:replicas',
  config: '{instance}:config',
  /** Requests per replica in the 10 s bucket that starts at `seconds` (a multiple of 10). */
  load: (seconds: number) => `{instance}:load:${seconds}`,
  busiest: (compactDay: string) => `{instance}:top:${compactDay}`,
};

/** The pub/sub channel on which replicas announce counter changes (for the live pages). */
export const UPDATES_CHANNEL = 'counter-updates';

/** The version of redis/functions/counter.lua this app needs (its counter_version). */
export const FUNCTIONS_VERSION = 3;

/** The most hits one counter_hit call carries (its MAX_HITS_PER_CALL); a fuller batch is sent at once. */
export const MAX_HITS_PER_CALL = 1000;

/** Long enough to outlive nginx's retries of one request (proxy_next_upstream_timeout is 5 s). */
export const MARKER_TTL_SECONDS = 30;
