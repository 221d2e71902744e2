// A counter's dashboard, live: the server-rendered page is complete; this only keeps it current.
// Listens to /stream/<path> (Server-Sent Events), updates the figures, today's row of the table
// and the chart, and makes the badge options and snippets follow the form without a reload.
const numbers = new Intl.NumberFormat('en-US');
const root = document.getElementById('counter');
const path = root.dataset.path;
const live = document.getElementById('live');
const chart = document.getElementById('chart');

const setText = (id, text) => {
  const element = document.getElementById(id);
  if (element && element.textContent !== text) element.textContent = text;
};

// The chart and the badge preview are SVG images rendered by the server: asked for again, at
// most every 2 s.
let chartDue = 0;
let chartTimer;
const refreshChart = () => {
  if (!chart) return;
  const wait = Math.max(0, chartDue - Date.now());
  clearTimeout(chartTimer);
  chartTimer = setTimeout(() => {
    chartDue = Date.now() + 2000;
    const url = new URL(chart.src, location.href);
    url.searchParams.set('t', String(Date.now()));
    chart.src = url.pathname + url.search;
    const narrow = document.getElementById('chart-narrow');
    const narrowUrl = new URL(narrow.srcset, location.href);
    narrowUrl.searchParams.set('t', String(Date.now()));
    narrow.srcset = narrowUrl.pathname + narrowUrl.search;
    const badge = document.getElementById('badge-preview');
    const badgeUrl = new URL(badge.src, location.href);
    badgeUrl.searchParams.set('t', String(Date.now()));
    badge.src = badgeUrl.pathname + badgeUrl.search;
  }, wait);
};

const updateTable = ({ day, today, uniques }) => {
  const row = document.querySelector(`#history tbody tr[data-day="${day}"]`);
  if (!row) return;
  row.cells[1].textContent = numbers.format(today);
  row.cells[2].textContent = numbers.format(uniques);
};

const show = (state, text) => {
  live.dataset.state = state;
  live.textContent = text;
};

const stream = new EventSource(`/stream/${path}`);
stream.addEventListener('open', () => show('live', 'Live: updates as visits are counted.'));
stream.addEventListener('error', () => show('static', 'Live updates paused; reconnecting…'));
stream.addEventListener('deleted', () => {
  show('static', 'This counter was deleted.');
  stream.close();
});
stream.addEventListener('message', (event) => {
  const snapshot = JSON.parse(event.data);
  setText('total', numbers.format(snapshot.value));
  setText('today', numbers.format(snapshot.today));
  setText('uniques', numbers.format(snapshot.uniques));
  document.title = `${path}: ${numbers.format(snapshot.value)} visits`;
  updateTable(snapshot);
  refreshChart();
});

// Badge options: the preview and the snippets follow the form as it changes.
const form = document.getElementById('badge-options');
const preview = document.getElementById('badge-preview');

const badgeQuery = (extra) => {
  const params = new URLSearchParams(extra);
  const label = form.elements.label.value;
  if (label && label !== 'visits') params.set('label', label);
  if (form.elements.color.value) params.set('color', form.elements.color.value);
  if (form.elements.style.value !== 'flat') params.set('style', form.elements.style.value);
  const query = params.toString();
  return query ? `?${query}` : '';
};
const updateBadge = () => {
  const label = form.elements.label.value || 'visits';
  const src = `${location.origin}/badge/${path}${badgeQuery({})}`;
  preview.src = `/badge/${path}${badgeQuery({ action: 'get' })}`;
  document.getElementById('snippet-markdown').value = `![${label}](${src})`;
  document.getElementById('snippet-html').value = `<img src="${src}" alt="${label}">`;
};
form.addEventListener('input', updateBadge);
form.addEventListener('submit', (event) => {
  event.preventDefault();
  updateBadge();
});

// Snippets are selected whole on focus, ready to copy.
for (const snippet of document.querySelectorAll('.snippet textarea')) {
  snippet.addEventListener('focus', () => snippet.select());
}
