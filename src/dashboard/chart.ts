import type { DayCount } from '../store/counter-store.ts';

type ECharts = typeof import('echarts/core');

// ECharts is loaded on the first chart, not at start: most replicas never draw one, and loaded
// it costs each replica memory under load too. Only what a bar chart needs, each installer from
// its own module: the package's barrels ('echarts/charts', ...) load every chart type, which
// took a replica from about 100 to 200 MiB of RSS (measured with process.memoryUsage()).
let loading: Promise<ECharts> | undefined;
const loadECharts = (): Promise<ECharts> =>
  (loading ??= (async () => {
    const [echarts, ...installers] = await Promise.all([
      import('echarts/core'),
      import('echarts/lib/chart/bar/install.js'),
      import('echarts/lib/component/grid/installSimple.js'),
      import('echarts/lib/component/legend/installLegendPlain.js'),
      import('echarts/lib/renderer/installSVGRenderer.js'),
    ]);
    echarts.use(installers.map(({ install }) => install));
    return echarts;
  })());

/** Two sizes: wide screens, and phones (where the wide one, scaled down, has unreadable labels). */
export const CHART_SIZES = { wide: { width: 960, height: 300 }, narrow: { width: 480, height: 300 } } as const;
export type ChartSize = keyof typeof CHART_SIZES;

// Mid-tone colours, legible on the light and the dark page alike (the chart is an image).
const HITS = '#4f7fd9';
const UNIQUES = '#35a57a';
const INK = '#8a919c';
const GRID = 'rgba(138,145,156,0.25)';

/** Hits and unique visitors per day as a bar chart, an SVG document of the given size. */
export const historyChart = async (days: DayCount[], size: ChartSize = 'wide'): Promise<string> => {
  const echarts = await loadECharts();
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
