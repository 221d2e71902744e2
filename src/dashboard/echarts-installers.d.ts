// ECharts ships no declarations beside its per-feature modules; these are the ones chart.ts loads
// (the same `install` functions its barrels re-export as BarChart, GridComponent, ...).
type EChartsUse = Parameters<typeof import('echarts/core').use>[0];
type EChartsInstaller = Extract<EChartsUse, (...args: never[]) => unknown>;
declare module 'echarts/lib/chart/bar/install.js' { export const install: EChartsInstaller; }
declare module 'echarts/lib/component/grid/installSimple.js' { export const install: EChartsInstaller; }
declare module 'echarts/lib/component/legend/installLegendPlain.js' { export const install: EChartsInstaller; }
declare module 'echarts/lib/renderer/installSVGRenderer.js' { export const install: EChartsInstaller; }
