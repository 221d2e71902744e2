import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { historyChart } from '../../src/dashboard/chart.ts';

const days = [
  { day: '2026-11-01', hits: 10, uniques: 4 },
  { day: '2026-11-02', hits: 30, uniques: 0 },
];

/** Height of each bar of one series, in the order of the days (ECharts draws a bar as `M x y l w 0 l 0 -h ...`). */
const barHeights = (svg: string, series: number, colour: string): number[] =>
  [...svg.matchAll(/<path d="M[\d.]+ [\d.]+l[\d.]+ 0l0 -([\d.]+)[^"]*" fill="([^"]+)" ecmeta_series_index="(\d)" ecmeta_data_index="(\d+)"/g)]
    .filter((match) => Number(match[3]) === series)
    .map((match) => {
      assert.equal(match[2], colour, `series ${series}'s colour`);
      return Number(match[1]);
    });

describe('the history chart (server-rendered SVG)', () => {
  it('draws one bar per day for hits and for unique visitors, in proportion, labelled by day', async () => {
    const svg = await historyChart(days, 'narrow');
    const hits = barHeights(svg, 0, '#4f7fd9');
    assert.equal(hits.length, 2);
    assert.ok(Math.abs((hits[1] ?? 0) / (hits[0] ?? 1) - 3) < 0.05, `hits bars 10 and 30: ${hits.join(', ')}`);
    const uniques = barHeights(svg, 1, '#35a57a');
    assert.ok(Math.abs((uniques[0] ?? 0) / (hits[0] ?? 1) - 0.4) < 0.05, `uniques bar 4 against hits 10: ${uniques.join(', ')}`);
    for (const label of ['11-01', '11-02', 'Hits', 'Unique visitors']) assert.match(svg, new RegExp(`>${label}</text>`));
    assert.match(svg, /font-family:system-ui, sans-serif;/);
  });

  it('comes in two sizes, the narrow one with a narrower left margin', async () => {
    const wide = await historyChart(days);
    const narrow = await historyChart(days, 'narrow');
    assert.match(wide, /^<svg width="960" height="300"/);
    assert.match(narrow, /^<svg width="480" height="300"/);
    // The value axis' grid lines start at the grid's left edge.
    assert.match(wide, /<path d="M56 268\.5L948 268\.5"/);
    assert.match(narrow, /<path d="M44 268\.5L468 268\.5"/);
  });
});
