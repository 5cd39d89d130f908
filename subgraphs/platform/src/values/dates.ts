/**
 * Calendar arithmetic on whole days. Business dates (close date, work date, due date) are dates, not instants,
 * so they are kept as day numbers (days since 1970-01-01, UTC) and printed as ISO `YYYY-MM-DD`.
 */
const DAY_MS = 86_400_000;

export function dayFromIso(iso: string): number {
  return Math.floor(Date.parse(`${iso}T00:00:00Z`) / DAY_MS);
}

export function isoFromDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** 0 = Monday … 6 = Sunday (ISO weekday minus one). */
export function weekdayOf(day: number): number {
  return (new Date(day * DAY_MS).getUTCDay() + 6) % 7;
}

export function mondayOf(day: number): number {
  return day - weekdayOf(day);
}

/** `YYYY-MM` of a day. */
export function monthOf(day: number): string {
  return isoFromDay(day).slice(0, 7);
}

export function firstDayOfMonth(month: string): number {
  return dayFromIso(`${month}-01`);
}

export function addMonths(month: string, count: number): string {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  const index = year * 12 + (monthNumber - 1) + count;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

export function lastDayOfMonth(month: string): number {
  return firstDayOfMonth(addMonths(month, 1)) - 1;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real calendar date in `YYYY-MM-DD` form (rejects 2026-02-30). */
export function isIsoDate(value: string): boolean {
  return ISO_DATE.test(value) && isoFromDay(dayFromIso(value)) === value;
}
