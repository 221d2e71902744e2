import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instancePage, summarizeInstance } from '../../src/dashboard/instance-page.ts';

const now = 1_000_000_000;
// Seven buckets of 10 s: six complete (the last minute) and the one still filling.
const load = Array.from({ length: 7 }, (_, i) => ({ start: now - (7 - i) * 10_000, requests: { a: 10, b: 30 } }));

describe("the operator's page", () => {
  it('gives every replica a share of 0 when nothing was served, not NaN', () => {
    const idle = summarizeInstance({ replicas: [{ name: 'a', lastSeen: now }], load: [], busiest: [], redis: {} }, now);
    assert.equal(idle.replicas[0]?.share, 0);
  });

  it("says '?' or 'never' for what Redis's INFO did not give, and the last snapshot's time in UTC", () => {
    const { redis } = summarizeInstance({ replicas: [], load: [], busiest: [], redis: {} }, now);
    assert.deepEqual(
      { ...redis },
      { usedMemory: '?', maxMemory: '?', maxMemoryPolicy: '?', appendOnly: false, appendFsync: 'unknown', aofRewriteInProgress: false, lastAofRewrite: '? (took ? s)', lastAofWrite: '?', lastSave: 'never' },
    );
    const saved = summarizeInstance({ replicas: [], load: [], busiest: [], redis: { rdb_last_save_time: '1700000000', maxmemory: '1000', maxmemory_human: '1000B' } }, now);
    assert.equal(saved.redis.lastSave, '2023-11-14T22:13:20Z');
    assert.equal(saved.redis.maxMemory, '1000B');
    assert.equal(summarizeInstance({ replicas: [], load: [], busiest: [], redis: { rdb_last_save_time: '0' } }, now).redis.lastSave, 'never');
  });

  it('shows each replica with its share as a meter and a percentage, the busiest counters as links, Redis in full', () => {
    const summary = summarizeInstance(
      {
        replicas: [{ name: 'a', lastSeen: now }, { name: 'b<', lastSeen: now }],
        load: load.map((bucket) => ({ ...bucket, requests: { a: 10, 'b<': 30 } })),
        busiest: [{ path: 'site/home', hits: 12345 }, { path: 'site/about', hits: 7 }],
        redis: { used_memory_human: '1.5M', maxmemory: '0', maxmemory_policy: 'noeviction', aof_enabled: '1', appendfsync: 'always', aof_last_write_status: 'ok' },
      },
      now,
    );
    const html = instancePage(summary, 'web-1');
    assert.match(html, /<title>Visit counter: operator<\/title>/);
    assert.match(html, /<script src="\/assets\/instance-dashboard.js" defer><\/script>/);
    assert.match(html, /<main>\n/);
    assert.match(html, /<tr data-replica="a"><th scope="row"><code>a<\/code><\/th><td class="num">0 s ago<\/td><td class="num">60<\/td><td><meter min="0" max="1" value="0.250" aria-label="share of a"><\/meter> 25 %<\/td><td class="num">70<\/td><\/tr>\n<tr data-replica="b&#60;">/);
    assert.match(html, /<meter min="0" max="1" value="0.750" aria-label="share of b&#60;"><\/meter> 75 %<\/td><td class="num">210<\/td><\/tr>\n<\/tbody>/);
    // The busiest first, one row (and one line of the page) each.
    assert.match(html, /<tbody>\n<tr><td><a href="\/dashboard\/site\/home">site\/home<\/a><\/td><td class="num">12,345<\/td><\/tr>\n<tr><td><a href="\/dashboard\/site\/about">site\/about<\/a><\/td><td class="num">7<\/td><\/tr>\n<\/tbody>/);
    assert.doesNotMatch(html, /No hits yet today/);
    assert.match(html, /<td id="redis-memory">1.5M \/ no limit \(noeviction\)<\/td>/);
    assert.match(html, /<td id="redis-aof">on, fsync always<\/td>/);
    assert.match(html, /<td id="redis-write">ok<\/td>/);
    assert.match(html, /<td id="redis-save">never<\/td>/);
  });

  it('says so when no counter was hit today', () => {
    const html = instancePage(summarizeInstance({ replicas: [], load: [], busiest: [], redis: {} }, now), 'web-1');
    assert.match(html, /<tbody>\n<tr><td colspan="2" class="muted">No hits yet today.<\/td><\/tr>\n<\/tbody>/);
  });
});
