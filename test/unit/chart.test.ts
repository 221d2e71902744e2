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

// The chart is an image on the light and the dark page alike: every label and line is in one
// mid-tone ink, never ECharts' own dark grey.
const INK = '#8a919c';

/** Every text of the chart: its colour, position and content. */
const texts = (svg: string) =>
  [...svg.matchAll(/<text [^>]*?transform="translate\(([\d.]+) ([\d.]+)\)" fill="([^"]+)"[^>]*>([^<]*)<\/text>/g)].map((match) => ({
    x: Number(match[1]),
    y: Number(match[2]),
    fill: match[3] ?? '',
    text: match[4] ?? '',
  }));

/** Every straight line (the axis and the grid): its colour and opacity. */
const lines = (svg: string) =>
  [...svg.matchAll(/<path d="M[\d.]+ [\d.]+L[\d.]+ [\d.]+" fill="none"[^>]*? stroke="([^"]+)"(?: stroke-opacity="([\d.]+)")?/g)].map((match) => ({
    stroke: match[1],
    opacity: match[2],
  }));

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

  it('draws every label (days, values, legend) and the axis in the mid-tone ink, the grid in it at a quarter', async () => {
    for (const size of ['wide', 'narrow'] as const) {
      const svg = await historyChart(days, size);
      const labels = texts(svg);
      for (const label of ['0', '30', '11-01', '11-02', 'Hits', 'Unique visitors']) assert.ok(labels.some(({ text }) => text === label), `${size}: label ${label}`);
      assert.deepEqual([...new Set(labels.map(({ fill }) => fill))], [INK], `${size}: text colours`);
      const drawn = lines(svg);
      assert.deepEqual(drawn.filter(({ stroke }) => stroke === INK), [{ stroke: INK, opacity: undefined }], `${size}: one axis line`);
      const grid = drawn.filter(({ stroke }) => stroke !== INK);
      assert.ok(grid.length >= 2, `${size}: grid lines`);
      for (const line of grid) assert.deepEqual(line, { stroke: 'rgb(138,145,156)', opacity: '0.25' }, `${size}: grid line colour`);
    }
  });

  it('puts the legend at the top right, above the bars', async () => {
    for (const [size, width] of [['wide', 960], ['narrow', 480]] as const) {
      const legend = texts(await historyChart(days, size)).filter(({ text }) => text === 'Hits' || text === 'Unique visitors');
      assert.equal(legend.length, 2);
      for (const { text, x, y } of legend) assert.ok(x > width / 2 && y < 40, `${size}: ${text} at ${x}, ${y}`);
    }
  });

  it('counts in whole numbers on the value axis, even for a handful of hits', async () => {
    const svg = await historyChart([{ day: '2026-11-01', hits: 1, uniques: 1 }, { day: '2026-11-02', hits: 2, uniques: 1 }]);
    const values = texts(svg).filter(({ text }) => /^[\d.]+$/.test(text)).map(({ text }) => text);
    assert.ok(values.length >= 2, values.join(', '));
    for (const value of values) assert.match(value, /^\d+$/);
  });

  it('is a still image: no animation', async () => {
    assert.doesNotMatch(await historyChart(days), /animation|@keyframes/);
  });
});
