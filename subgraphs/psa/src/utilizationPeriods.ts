/**
 * The calendar side of utilization: which periods a requested range covers and how many working days each has.
 * Kept apart from the PSA port because capacity is the firm's convention (weekly hours spread over Monday to
 * Friday, no holiday calendar), not something the PSA system stores.
 */
import { addMonths, firstDayOfMonth, isoFromDay, lastDayOfMonth, mondayOf, monthOf, weekdayOf } from '../../platform/src/index.js';
import type { UtilizationGranularity } from './psaPort.js';

export interface UtilizationPeriod {
  /** How the PSA groups approved time: `YYYY-MM`, or the Monday of the week as `YYYY-MM-DD`. */
  readonly key: string;
  /** `YYYY-MM`, or the ISO week `YYYY-Www`. */
  readonly label: string;
  /** The period clipped to the requested range, so capacity and approved time cover the same days. */
  readonly startDay: number;
  readonly endDay: number;
  readonly workingDays: number;
}

/** Every month or ISO week touching [fromDay, toDay], in order, each clipped to the range. */
export function utilizationPeriods(fromDay: number, toDay: number, granularity: UtilizationGranularity): UtilizationPeriod[] {
  const periods: UtilizationPeriod[] = [];
  const clip = (key: string, label: string, start: number, end: number) => {
    const startDay = Math.max(start, fromDay);
    const endDay = Math.min(end, toDay);
    periods.push({ key, label, startDay, endDay, workingDays: workingDaysBetween(startDay, endDay) });
  };
  if (granularity === 'MONTH') {
    for (let month = monthOf(fromDay); firstDayOfMonth(month) <= toDay; month = addMonths(month, 1)) {
      clip(month, month, firstDayOfMonth(month), lastDayOfMonth(month));
    }
  } else {
    for (let monday = mondayOf(fromDay); monday <= toDay; monday += 7) clip(isoFromDay(monday), isoWeekLabel(monday), monday, monday + 6);
  }
  return periods;
}

/** Monday-to-Friday days in [fromDay, toDay], both inclusive. */
export function workingDaysBetween(fromDay: number, toDay: number): number {
  if (toDay < fromDay) return 0;
  const days = toDay - fromDay + 1;
  let working = Math.floor(days / 7) * 5;
  for (let day = fromDay + Math.floor(days / 7) * 7; day <= toDay; day++) if (weekdayOf(day) < 5) working++;
  return working;
}

/** ISO 8601 week of a Monday: the week belongs to the year of its Thursday. */
export function isoWeekLabel(monday: number): string {
  const thursday = monday + 3;
  const year = isoFromDay(thursday).slice(0, 4);
  const week = Math.floor((thursday - firstDayOfMonth(`${year}-01`)) / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}
