import { escapeHtml, page } from '../pages.ts';
import type { InstanceView } from '../store/counter-store.ts';
import { formatNumber } from './format.ts';

/** The operator's figures, as the page shows them and /instance answers them (JSON). */
export interface InstanceSummary {
  replicas: { name: string; secondsSinceReport: number; lastMinute: number; share: number; lastFiveMinutes: number }[];
  /** Requests per second over the last complete minute, all replicas together. */
  requestsPerSecond: number;
  busiest: { path: string; hits: number }[];
  redis: {
    usedMemory: string;
    maxMemory: string;
    maxMemoryPolicy: string;
    appendOnly: boolean;
    appendFsync: string;
    aofRewriteInProgress: boolean;
    lastAofRewrite: string;
    lastAofWrite: string;
    lastSave: string;
  };
}

const BUCKETS_PER_MINUTE = 6;

export const summarizeInstance = (view: InstanceView, now: number): InstanceSummary => {
  // The newest bucket is still filling: the last minute is the six complete ones before it.
  const complete = view.load.slice(0, -1);
  const lastMinute = complete.slice(-BUCKETS_PER_MINUTE);
  const sum = (buckets: typeof view.load, name: string) => buckets.reduce((total, bucket) => total + (bucket.requests[name] ?? 0), 0);
  const total = view.replicas.reduce((all, { name }) => all + sum(lastMinute, name), 0);
  const { redis } = view;
  const lastSave = Number(redis.rdb_last_save_time);
  return {
    replicas: view.replicas
      .map(({ name, lastSeen }) => {
        const minute = sum(lastMinute, name);
        return {
          name,
          secondsSinceReport: Math.max(0, Math.round((now - lastSeen) / 1000)),
          lastMinute: minute,
          share: total === 0 ? 0 : minute / total,
          lastFiveMinutes: sum(view.load, name),
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name)),
    requestsPerSecond: Math.round((10 * total) / (lastMinute.length * 10 || 1)) / 10,
    busiest: view.busiest,
    redis: {
      usedMemory: redis.used_memory_human ?? '?',
      maxMemory: redis.maxmemory === '0' ? 'no limit' : (redis.maxmemory_human ?? '?'),
      maxMemoryPolicy: redis.maxmemory_policy ?? '?',
      appendOnly: redis.aof_enabled === '1',
      appendFsync: redis.appendfsync ?? 'unknown',
      aofRewriteInProgress: redis.aof_rewrite_in_progress === '1',
      // -1: no rewrite since Redis started.
      lastAofRewrite: redis.aof_last_rewrite_time_sec === '-1' ? 'none since Redis started' : `${redis.aof_last_bgrewrite_status ?? '?'} (took ${redis.aof_last_rewrite_time_sec ?? '?'} s)`,
      lastAofWrite: redis.aof_last_write_status ?? '?',
      lastSave: Number.isFinite(lastSave) && lastSave > 0 ? new Date(lastSave * 1000).toISOString().replace('.000Z', 'Z') : 'never',
    },
  };
};

const percent = (share: number): string => `${Math.round(share * 100)} %`;

const replicaRows = (summary: InstanceSummary): string =>
  summary.replicas
    .map(
      (r) => `<tr data-replica="${escapeHtml(r.name)}"><th scope="row"><code>${escapeHtml(r.name)}</code></th><td class="num">${r.secondsSinceReport} s ago</td>` +
        `<td class="num">${formatNumber(r.lastMinute)}</td><td><meter min="0" max="1" value="${r.share.toFixed(3)}" aria-label="share of ${escapeHtml(r.name)}"></meter> ${percent(r.share)}</td>` +
        `<td class="num">${formatNumber(r.lastFiveMinutes)}</td></tr>`,
    )
    .join('\n');

const busiestRows = (summary: InstanceSummary): string =>
  summary.busiest.length === 0
    ? '<tr><td colspan="2" class="muted">No hits yet today.</td></tr>'
    : summary.busiest
        .map(({ path, hits }) => `<tr><td><a href="/dashboard/${escapeHtml(path)}">${escapeHtml(path)}</a></td><td class="num">${formatNumber(hits)}</td></tr>`)
        .join('\n');

/** The operator's dashboard (behind ADMIN_TOKEN): replicas and their share, load, Redis, busiest counters. */
export const instancePage = (summary: InstanceSummary, servedBy: string): string => {
  const { redis } = summary;
  return page(
    'Visit counter: operator',
    `<nav class="crumbs"><a href="/">Visit counter</a> / operator</nav>
<h1>The service right now</h1>
<dl class="figures">
<div class="figure"><dt>Replicas alive</dt><dd id="replica-count">${summary.replicas.length}</dd></div>
<div class="figure"><dt>Requests per second (last minute)</dt><dd id="rps">${summary.requestsPerSecond.toLocaleString('en-US')}</dd></div>
<div class="figure"><dt>Redis memory</dt><dd id="memory">${escapeHtml(redis.usedMemory)}</dd></div>
</dl>
<p class="live" id="live" data-state="static" aria-live="polite">Updated when you reload the page.</p>
<div class="two-columns">
<section>
<h2>Replicas and their share of the requests</h2>
<div class="table-wrap" tabindex="0" role="region" aria-label="Replicas"><table id="replicas">
<thead><tr><th scope="col">Replica</th><th scope="col" class="num">Last report</th><th scope="col" class="num">Last minute</th><th scope="col">Share</th><th scope="col" class="num">Last 5 min</th></tr></thead>
<tbody>
${replicaRows(summary)}
</tbody>
</table></div>
</section>
<section>
<h2>Busiest counters today</h2>
<div class="table-wrap" tabindex="0" role="region" aria-label="Busiest counters today"><table id="busiest">
<thead><tr><th scope="col">Counter</th><th scope="col" class="num">Hits today</th></tr></thead>
<tbody>
${busiestRows(summary)}
</tbody>
</table></div>
</section>
</div>
<h2>Redis</h2>
<div class="table-wrap" tabindex="0" role="region" aria-label="Redis"><table id="redis">
<tbody>
<tr><th scope="row">Memory used / limit</th><td id="redis-memory">${escapeHtml(redis.usedMemory)} / ${escapeHtml(redis.maxMemory)} (${escapeHtml(redis.maxMemoryPolicy)})</td></tr>
<tr><th scope="row">Append-only file</th><td id="redis-aof">${redis.appendOnly ? 'on' : 'off'}, fsync ${escapeHtml(redis.appendFsync)}${redis.aofRewriteInProgress ? ', rewriting now' : ''}</td></tr>
<tr><th scope="row">Last AOF rewrite</th><td id="redis-rewrite">${escapeHtml(redis.lastAofRewrite)}</td></tr>
<tr><th scope="row">Last AOF write</th><td id="redis-write">${escapeHtml(redis.lastAofWrite)}</td></tr>
<tr><th scope="row">Last snapshot (RDB)</th><td id="redis-save">${escapeHtml(redis.lastSave)}</td></tr>
</tbody>
</table></div>
<p class="muted">Figures from every replica's reports (twice a second) and Redis's INFO. <a href="/docs">API documentation</a>.</p>`,
    servedBy,
    { scripts: ['instance-dashboard.js'], width: 'wide' },
  );
};
