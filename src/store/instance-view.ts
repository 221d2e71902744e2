import type { InstanceView } from './counter-store.ts';

/** The operator's load figures: requests per replica in buckets of 10 s over the last 5 minutes. */
export const LOAD_BUCKET_SECONDS = 10;
export const LOAD_BUCKETS = 30;

// INFO fields the dashboard shows; the rest of INFO stays in Redis.
const INFO_FIELDS = new Set([
  'used_memory', 'used_memory_human', 'used_memory_peak_human', 'maxmemory', 'maxmemory_human', 'maxmemory_policy',
  'aof_enabled', 'aof_rewrite_in_progress', 'aof_rewrites', 'aof_last_bgrewrite_status', 'aof_last_rewrite_time_sec',
  'aof_last_write_status', 'rdb_last_save_time', 'rdb_changes_since_last_save', 'rdb_last_bgsave_status', 'loading',
]);

const pairs = (flat: unknown): [string, string][] => {
  // Stryker disable next-line ArrayDeclaration: a list of one element makes no pair either
  const list = Array.isArray(flat) ? flat.map(String) : [];
  const result: [string, string][] = [];
  for (let i = 0; i + 1 < list.length; i += 2) result.push([list[i] as string, list[i + 1] as string]);
  return result;
};

/** Reads counter_instance's reply (see redis/functions/counter.lua). */
export const parseInstance = (reply: unknown[], bucketStarts: number[]): InstanceView => {
  const [replicas, busiest, config, info, ...loads] = reply;
  const redis: Record<string, string> = Object.fromEntries(pairs(config));
  // Stryker disable next-line StringLiteral: any text without a colon adds no field either
  for (const line of (typeof info === 'string' ? info : '').split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && INFO_FIELDS.has(line.slice(0, at))) redis[line.slice(0, at)] = line.slice(at + 1);
  }
  return {
    replicas: pairs(replicas).map(([name, lastSeen]) => ({ name, lastSeen: Number(lastSeen) })),
    busiest: pairs(busiest).map(([path, hits]) => ({ path, hits: Number(hits) })),
    load: bucketStarts.map((start, i) => ({
      start: start * 1000,
      requests: Object.fromEntries(pairs(loads[i]).map(([name, requests]) => [name, Number(requests)])),
    })),
    redis,
  };
};
