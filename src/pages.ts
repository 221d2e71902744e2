// Pages are server-rendered template strings: every number is in the HTML; scripts (from
// /assets/, never inline: see plugins/content-security-policy.ts) only add live updates.

export const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface PageOptions {
  /** Scripts under /assets/, loaded deferred. */
  scripts?: string[];
  /** `narrow` for short text pages, `wide` for dashboards. */
  width?: 'narrow' | 'wide';
}

// data: favicon stops browsers from asking for /favicon.ico on every page view.
export const page = (title: string, body: string, servedBy: string, { scripts = [], width = 'narrow' }: PageOptions = {}): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/site.css">
${scripts.map((name) => `<script src="/assets/${escapeHtml(name)}" defer></script>\n`).join('')}<title>${escapeHtml(title)}</title>
</head>
<body>
<main${width === 'narrow' ? ' class="narrow"' : ''}>
${body}
<footer>Served by <code>${escapeHtml(servedBy)}</code></footer>
</main>
</body>
</html>
`;

export const WELCOME_TEXT = 'Welcome to the visit counter! Visit /count to count your visit.\n';

export const welcomePage = (servedBy: string): string =>
  page(
    'Visit counter',
    `<h1>Welcome to the visit counter!</h1>
<p><a href="/count">Count my visit</a></p>
<ul>
<li><a href="/dashboard/default/visits">This counter's dashboard</a>: totals, today, unique visitors, the last weeks, live.</li>
<li><a href="/docs">API documentation</a>: a counter for every page and README badge (<a href="/openapi.json">OpenAPI</a>).</li>
<li><a href="/dashboard">Operator's dashboard</a>: replicas, load and Redis (needs the admin token).</li>
</ul>`,
    servedBy,
  );

export const countText = (count: number): string => `Total visits: ${count}\n`;

export const countPage = (count: number, servedBy: string): string =>
  page(
    `${count} visits`,
    `<h1>Visit counter</h1>
<p>Total visits: <span class="count" id="count">${count}</span></p>
<p>Refresh to count another visit. <a href="/">Home</a></p>`,
    servedBy,
  );
