import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import type { DayCount } from '../store/counter-store.ts';

// Only what a bar chart needs of ECharts, rendered to an SVG string on the server (no DOM).
echarts.use([BarChart, GridComponent, LegendComponent, SVGRenderer]);

/** Two sizes: wide screens, and phones (where the wide one, scaled down, has unreadable labels). */
export const CHART_SIZES = { wide: { width: 960, height: 300 }, narrow: { width: 480, height: 300 } } as const;
export type ChartSize = keyof typeof CHART_SIZES;

// Mid-tone colours, legible on the light and the dark page alike (the chart is an image).
const HITS = '#4f7fd9';
const UNIQUES = '#35a57a';
const INK = '#8a919c';
const GRID = 'rgba(138,145,156,0.25)';

/** Hits and unique visitors per day as a bar chart, an SVG document of the given size. */
export const historyChart = (days: DayCount[], size: ChartSize = 'wide'): string => {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, ...CHART_SIZES[size] });
  try {
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: 'system-ui, sans-serif', color: INK },
      legend: { top: 4, right: 8, textStyle: { color: INK }, data: ['Hits', 'Unique visitors'] },
      grid: { left: size === 'wide' ? 56 : 44, right: 12, top: 40, bottom: 32 },
      xAxis: {
        type: 'category',
        data: days.map(({ day }) => day.slice(5)),
        axisLine: { lineStyle: { color: INK } },
        axisLabel: { color: INK },
        axisTick: { alignWithLabel: true },
      },
      yAxis: {
        type: 'value',
        minInterval: 1,
        axisLabel: { color: INK },
        splitLine: { lineStyle: { color: GRID } },
      },
      series: [
        { name: 'Hits', type: 'bar', data: days.map(({ hits }) => hits), itemStyle: { color: HITS }, barGap: '10%' },
        { name: 'Unique visitors', type: 'bar', data: days.map(({ uniques }) => uniques), itemStyle: { color: UNIQUES } },
      ],
    });
    return chart.renderToSVGString();
  } finally {
    // Without it, the chart's timers keep the process alive.
    chart.dispose();
  }
};
