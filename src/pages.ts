// Pages are tiny and fixed, so they are template strings rather than a view engine.

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// data: favicon stops browsers from asking for /favicon.ico on every page view.
const page = (title: string, body: string, servedBy: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5}
.count{font-size:3rem;font-weight:700}footer{color:#666;font-size:.875rem;margin-top:2rem}</style>
</head>
<body>
${body}
<footer>Served by <code>${escapeHtml(servedBy)}</code></footer>
</body>
</html>
`;

export const WELCOME_TEXT = 'Welcome to the visit counter! Visit /count to count your visit.\n';

export const welcomePage = (servedBy: string): string =>
  page(
    'Visit counter',
    `<h1>Welcome to the visit counter!</h1>
<p><a href="/count">Count my visit</a></p>`,
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
