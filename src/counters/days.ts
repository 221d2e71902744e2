/**
 * Days in the operator's time zone (COUNTER_TIMEZONE): history and unique visitors are kept per
 * day, and a day ends at midnight where the operator is, not at midnight UTC.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

const formatterFor = (timeZone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(timeZone);
  // Stryker disable next-line ConditionalExpression: a cache; a new formatter formats the same
  if (!formatter) {
    // en-CA formats as YYYY-MM-DD.
    formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    // Stryker disable next-line all: a cache; a new formatter formats the same
    formatters.set(timeZone, formatter);
  }
  return formatter;
};

/** True when the runtime knows this IANA time zone name. */
export const isTimeZone = (name: string): boolean => {
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
};

/** The calendar day of an instant in a time zone, as YYYY-MM-DD. */
export const isoDay = (at: Date, timeZone: string): string => formatterFor(timeZone).format(at);

/** The same day as YYYYMMDD: the form stored in Redis (a number, so older days compare smaller). */
export const compactDay = (isoDate: string): string => isoDate.replaceAll('-', '');

/** The `count` calendar days ending with the day of `at` (oldest first), as YYYY-MM-DD. */
export const lastDays = (at: Date, timeZone: string, count: number): string[] => {
  const today = isoDay(at, timeZone);
  // Calendar arithmetic on the date alone (noon UTC avoids any DST edge).
  const base = new Date(`${today}T12:00:00Z`).getTime();
  const days: string[] = [];
  for (let back = count - 1; back >= 0; back -= 1) days.push(new Date(base - back * 86_400_000).toISOString().slice(0, 10));
  return days;
};

/** Seconds from `at` until the end of its day in the time zone (at most 86,400; DST days aside). */
export const secondsLeftInDay = (at: Date, timeZone: string): number => {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return 86_400 - (part('hour') * 3600 + part('minute') * 60 + part('second'));
};
