import type { CounterId } from '../counters/names.ts';
import { pathOfCounter } from '../counters/names.ts';
import type { CounterSnapshot } from '../live/activity.ts';
import { escapeHtml, page } from '../pages.ts';
import { COLOR_NAMES, STYLES } from '../routes/api/badge.ts';
import type { DayCount } from '../store/counter-store.ts';
import { CHART_SIZES } from './chart.ts';
import { formatDay, formatNumber } from './format.ts';

export const RANGES = [30, 90, 365] as const;
export type Range = (typeof RANGES)[number];

export interface BadgeLook {
  label: string;
  color: string;
  style: string;
}

export interface CounterPageData {
  id: CounterId;
  snapshot: CounterSnapshot;
  /** Oldest first; empty when history is off. */
  history: DayCount[];
  range: Range;
  /** Days of history the service keeps (HISTORY_DAYS). */
  historyDays: number;
  timeZone: string;
  badge: BadgeLook;
  /** Where clients reach the service, for the snippets (scheme and host as the browser used them). */
  origin: string;
  servedBy: string;
}

const query = (params: Record<string, string>): string => {
  const search = new URLSearchParams(Object.entries(params).filter(([, value]) => value !== '')).toString();
  return search ? `?${search}` : '';
};

/** The URL of the counter's badge, with the look chosen (defaults left out). */
export const badgeUrl = (origin: string, path: string, { label, color, style }: BadgeLook, extra: Record<string, string> = {}): string =>
  `${origin}/badge/${path}${query({ ...extra, label: label === 'visits' ? '' : label, color, style: style === 'flat' ? '' : style })}`;

const snippets = ({ id, origin, badge }: CounterPageData) => {
  const path = pathOfCounter(id);
  const badgeSrc = badgeUrl(origin, path, badge);
  return [
    { name: 'markdown', title: 'Badge for a README (Markdown)', text: `![${badge.label}](${badgeSrc})` },
    { name: 'html', title: 'Badge for a web page (HTML)', text: `<img src="${badgeSrc}" alt="${badge.label}">` },
    {
      name: 'script',
      title: 'Page counter (counts each view, shows the total)',
      text: `<span id="visits"></span>
<script>
  fetch('${origin}/hit/${path}')
    .then((answer) => answer.json())
    .then(({ value }) => { document.getElementById('visits').textContent = value.toLocaleString(); });
</script>`,
    },
    { name: 'curl', title: 'From a shell', text: `curl ${origin}/hit/${path}      # count one\ncurl ${origin}/get/${path}      # read` },
  ];
};

const options = (values: readonly string[], chosen: string): string =>
  values.map((value) => `<option${value === chosen ? ' selected' : ''}>${escapeHtml(value)}</option>`).join('');

/** A counter's public dashboard: every number, the chart and its data are in the HTML. */
export const counterPage = (data: CounterPageData): string => {
  const { id, snapshot, history, range, historyDays, timeZone, badge, servedBy } = data;
  const path = pathOfCounter(id);
  const pathHtml = escapeHtml(path);
  const shown = history.length;
  const rangeLinks = RANGES.map(
    (days) => `<a href="/dashboard/${pathHtml}?days=${days}"${days === range ? ' aria-current="true"' : ''}>${days} days</a>`,
  ).join('');
  const rows = [...history]
    .reverse()
    .map(
      ({ day, hits, uniques }) =>
        `<tr data-day="${escapeHtml(day)}"><td>${escapeHtml(formatDay(day))}</td><td class="num">${formatNumber(hits)}</td><td class="num">${formatNumber(uniques)}</td></tr>`,
    )
    .join('\n');
  const chart =
    historyDays === 0
      ? '<p class="muted">History is off on this server (HISTORY_DAYS=0).</p>'
      : `<nav class="ranges" aria-label="Days shown">${rangeLinks}</nav>
<figure class="chart"><picture>
<source id="chart-narrow" media="(max-width: 40rem)" srcset="/chart/${pathHtml}?days=${shown}&#38;size=narrow" width="${CHART_SIZES.narrow.width}" height="${CHART_SIZES.narrow.height}">
<img id="chart" src="/chart/${pathHtml}?days=${shown}" width="${CHART_SIZES.wide.width}" height="${CHART_SIZES.wide.height}" alt="Bar chart of hits and unique visitors per day over the last ${shown} days; the same figures are in the table below.">
</picture></figure>
<details>
<summary>The last ${shown} days as a table</summary>
<div class="table-wrap" tabindex="0" role="region" aria-label="Hits and unique visitors per day"><table id="history">
<caption class="muted">Days in ${escapeHtml(timeZone)}, newest first</caption>
<thead><tr><th scope="col">Day</th><th scope="col" class="num">Hits</th><th scope="col" class="num">Unique visitors</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>
</details>`;
  const badgePreview = escapeHtml(badgeUrl('', path, badge, { action: 'get' }));
  return page(
    `${path}: ${formatNumber(snapshot.value)} visits`,
    `<nav class="crumbs"><a href="/">Visit counter</a> / dashboard</nav>
<h1>${pathHtml}</h1>
<div id="counter" data-path="${pathHtml}" data-range="${shown}">
<dl class="figures">
<div class="figure total"><dt>Total</dt><dd id="total">${formatNumber(snapshot.value)}</dd></div>
<div class="figure"><dt>Today <span class="muted" id="day">${escapeHtml(formatDay(snapshot.day))}</span></dt><dd id="today">${formatNumber(snapshot.today)}</dd></div>
<div class="figure"><dt>Unique visitors today</dt><dd id="uniques">${formatNumber(snapshot.uniques)}</dd></div>
</dl>
<p class="live" id="live" data-state="static" aria-live="polite">Updated when you reload the page.</p>
</div>
<h2>Hits per day</h2>
${chart}
<h2>Badge</h2>
<form class="badge-options" id="badge-options" method="get" action="/dashboard/${pathHtml}">
<input type="hidden" name="days" value="${range}">
<label>Label <input name="label" value="${escapeHtml(badge.label)}" maxlength="64"></label>
<label>Colour <select name="color"><option value=""${badge.color === '' ? ' selected' : ''}>default</option>${options(COLOR_NAMES, badge.color)}</select></label>
<label>Style <select name="style">${options(STYLES, badge.style)}</select></label>
<button type="submit">Apply</button>
</form>
<p class="badge-preview"><img id="badge-preview" src="${badgePreview}" alt="The badge as it looks now"></p>
<h2>Use it</h2>
${snippets(data)
  .map(
    ({ name, title, text }) =>
      `<div class="snippet"><label for="snippet-${name}">${escapeHtml(title)}</label><textarea id="snippet-${name}" readonly wrap="off" spellcheck="false" rows="${text.split('\n').length + 1}">${escapeHtml(text)}</textarea></div>`,
  )
  .join('\n')}
<p class="muted">Read-only and public, like <code>/get</code>: opening this page counts nothing. <a href="/docs">API documentation</a>.</p>`,
    servedBy,
    { scripts: ['counter-dashboard.js'], width: 'wide' },
  );
};

/** The page for a counter that does not exist (404). */
export const noCounterPage = (id: CounterId, servedBy: string): string =>
  page(
    'No such counter',
    `<nav class="crumbs"><a href="/">Visit counter</a> / dashboard</nav>
<h1>No counter ${escapeHtml(pathOfCounter(id))} yet</h1>
<p>It is made by its first hit (<code>/hit/${escapeHtml(pathOfCounter(id))}</code>) or by <code>/create</code>. <a href="/docs">API documentation</a>.</p>`,
    servedBy,
  );
