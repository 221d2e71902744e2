import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInstance } from '../../src/store/instance-view.ts';

// Every INFO field the dashboard shows (instance-view.ts), with a value that names it.
const SHOWN = [
  'used_memory', 'used_memory_human', 'used_memory_peak_human', 'maxmemory', 'maxmemory_human', 'maxmemory_policy',
  'aof_enabled', 'aof_rewrite_in_progress', 'aof_rewrites', 'aof_last_bgrewrite_status', 'aof_last_rewrite_time_sec',
  'aof_last_write_status', 'rdb_last_save_time', 'rdb_changes_since_last_save', 'rdb_last_bgsave_status', 'loading',
];

/** counter_instance's reply (redis/functions/counter.lua): replicas, busiest, config, INFO, then one load list per bucket. */
const reply = (info: unknown, config: unknown[] = [], ...loads: unknown[]): unknown[] => [[], [], config, info, ...loads];

describe('parseInstance: the operator dashboard\'s view of counter_instance', () => {
  it('keeps each INFO field the dashboard shows, with its value after the first colon, and the config pairs', () => {
    const info = ['# Memory', ...SHOWN.map((field) => `${field}:${field}-value`), 'maxmemory_policy:a:b', ''].join('\r\n');
    const { redis } = parseInstance(reply(info, ['appendfsync', 'everysec']), []);
    assert.deepEqual(redis, {
      appendfsync: 'everysec',
      ...Object.fromEntries(SHOWN.map((field) => [field, `${field}-value`])),
      maxmemory_policy: 'a:b',
    });
  });

  it('leaves out INFO fields it does not show, and lines without a colon even when they begin with a shown name', () => {
    const info = 'redis_version:8.0.0\r\nused_memory_rss:123\r\nloading:1\r\nloading0\r\n:loading\r\n';
    assert.deepEqual(parseInstance(reply(info), []).redis, { loading: '1' });
  });

  it('reads INFO with bare \\n line ends as with \\r\\n', () => {
    assert.deepEqual(parseInstance(reply('used_memory:10\nloading:0\n'), []).redis, { used_memory: '10', loading: '0' });
  });

  it('takes a missing or non-text INFO as no fields', () => {
    for (const info of [undefined, null, 42, ['loading:0']]) {
      assert.deepEqual(parseInstance(reply(info, ['appendfsync', 'always']), []).redis, { appendfsync: 'always' }, String(info));
    }
  });

  it('pairs replicas, busiest counters and loads, dropping an element left without a partner', () => {
    const view = parseInstance([
      ['web-1', '1700000000000', 'web-2', '1700000001000', 'web-3'],
      ['/a', '7', '/b', 3, '/c'],
      ['appendfsync'],
      '',
      ['web-1', '5', 'web-2'],
      [],
    ], [1_700_000_000, 1_700_000_010]);
    assert.deepEqual(view, {
      replicas: [{ name: 'web-1', lastSeen: 1_700_000_000_000 }, { name: 'web-2', lastSeen: 1_700_000_001_000 }],
      busiest: [{ path: '/a', hits: 7 }, { path: '/b', hits: 3 }],
      // Bucket starts come in seconds and leave in milliseconds.
      load: [{ start: 1_700_000_000_000, requests: { 'web-1': 5 } }, { start: 1_700_000_010_000, requests: {} }],
      redis: {},
    });
  });
});
