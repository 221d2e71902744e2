/** How the dashboards write numbers and days: thousands separators, short dates. */
const NUMBER = new Intl.NumberFormat('en-US');
// Days are already the operator's (YYYY-MM-DD in COUNTER_TIMEZONE): read them as dates, in UTC.
const DAY = new Intl.DateTimeFormat('en-US', { weekday: 'short', month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' });

export const formatNumber = (n: number): string => NUMBER.format(n);

export const formatDay = (day: string): string => {
  const date = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? day : DAY.format(date);
};
