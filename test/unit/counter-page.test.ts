import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CounterPageData, counterPage, noCounterPage } from '../../src/dashboard/counter-page.ts';
import { formatDay } from '../../src/dashboard/format.ts';

const unescape = (html: string): string => html.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));

/** The text of one snippet's textarea, unescaped, and the rows it asks for. */
const snippet = (html: string, name: string) => {
  const match = new RegExp(`<label for="snippet-${name}">([^<]*)</label><textarea id="snippet-${name}" readonly wrap="off" spellcheck="false" rows="(\\d+)">([^<]*)</textarea>`).exec(html);
  assert.ok(match, `snippet ${name}`);
  return { title: unescape(match[1] ?? ''), rows: Number(match[2]), text: unescape(match[3] ?? '') };
};

const data = (over: Partial<CounterPageData> = {}): CounterPageData => ({
  id: { namespace: 'site', key: 'home' },
  snapshot: { value: 1234, day: '2026-11-27', today: 5, uniques: 3 },
  history: [
    { day: '2026-11-26', hits: 7, uniques: 2 },
    { day: '2026-11-27', hits: 5, uniques: 3 },
  ],
  range: 30,
  historyDays: 30,
  timeZone: 'UTC',
  badge: { label: 'visits', color: '', style: 'flat' },
  origin: 'https://c.example',
  servedBy: 'web-1',
  ...over,
});

describe("a counter's dashboard page", () => {
  it('gives the snippets for the default badge, with no query, and titles each', () => {
    const html = counterPage(data());
    assert.deepEqual(snippet(html, 'markdown'), { title: 'Badge for a README (Markdown)', rows: 2, text: '![visits](https://c.example/badge/site/home)' });
    assert.deepEqual(snippet(html, 'html'), { title: 'Badge for a web page (HTML)', rows: 2, text: '<img src="https://c.example/badge/site/home" alt="visits">' });
    const script = snippet(html, 'script');
    assert.equal(script.title, 'Page counter (counts each view, shows the total)');
    assert.equal(
      script.text,
      `<span id="visits"></span>
<script>
  fetch('https://c.example/hit/site/home')
    .then((answer) => answer.json())
    .then(({ value }) => { document.getElementById('visits').textContent = value.toLocaleString(); });
</script>`,
    );
    assert.equal(script.rows, 7);
    assert.deepEqual(snippet(html, 'curl'), {
      title: 'From a shell',
      rows: 3,
      text: 'curl https://c.example/hit/site/home      # count one\ncurl https://c.example/get/site/home      # read',
    });
    assert.match(html, /<img id="badge-preview" src="\/badge\/site\/home\?action=get" alt="The badge as it looks now">/);
    assert.equal(html.match(/<\/textarea><\/div>\n<div class="snippet">/g)?.length, 3, 'one snippet a line');
  });

  it('puts a chosen look in the badge URL, and marks it chosen in the form', () => {
    const html = counterPage(data({ badge: { label: 'views', color: 'green', style: 'plastic' } }));
    assert.equal(snippet(html, 'markdown').text, '![views](https://c.example/badge/site/home?label=views&color=green&style=plastic)');
    assert.match(html, /<select name="color"><option value="">default<\/option><option>brightgreen<\/option><option selected>green<\/option><option>yellow<\/option>/);
    assert.match(html, /<select name="style"><option>flat<\/option><option>flat-square<\/option><option selected>plastic<\/option><option>for-the-badge<\/option><\/select>/);
    const defaults = counterPage(data());
    assert.match(defaults, /<select name="color"><option value="" selected>default<\/option><option>brightgreen<\/option>/);
    assert.match(defaults, /<select name="style"><option selected>flat<\/option><option>flat-square<\/option>/);
  });

  it('links the three ranges, marking the one shown, and lists the days newest first', () => {
    const html = counterPage(data({ range: 90 }));
    assert.match(
      html,
      /<nav class="ranges" aria-label="Days shown"><a href="\/dashboard\/site\/home\?days=30">30 days<\/a><a href="\/dashboard\/site\/home\?days=90" aria-current="true">90 days<\/a><a href="\/dashboard\/site\/home\?days=365">365 days<\/a><\/nav>/,
    );
    assert.match(
      html,
      new RegExp(`<tbody>\\n<tr data-day="2026-11-27"><td>${formatDay('2026-11-27')}</td><td class="num">5</td><td class="num">3</td></tr>\\n<tr data-day="2026-11-26"><td>${formatDay('2026-11-26')}</td><td class="num">7</td><td class="num">2</td></tr>\\n</tbody>`),
    );
  });

  it('is titled with the counter and its total, and loads its script', () => {
    const html = counterPage(data());
    assert.match(html, /<title>site\/home: 1,234 visits<\/title>/);
    assert.match(html, /<script src="\/assets\/counter-dashboard.js" defer><\/script>/);
    assert.match(html, /<main>/, 'wide, like the other dashboards');
    assert.match(html, /<dd id="total">1,234<\/dd>/);
  });

  it('titles the page for a missing counter', () => {
    assert.match(noCounterPage({ namespace: 'site', key: 'none' }, 'web-1'), /<title>No such counter<\/title>/);
  });

  it('writes a day as a short date, and anything that is not a day as it is', () => {
    assert.equal(formatDay('2026-11-27'), 'Fri, Nov 27, 2026');
    assert.equal(formatDay('not a day'), 'not a day');
  });
});
