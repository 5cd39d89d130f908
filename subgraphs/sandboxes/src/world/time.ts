/**
 * The time booked on a project: weekly timesheets (one per consultant, project and week, as in Kantata and
 * Certinia) and their daily entries. PSA stores them; ERP and billing derive postings and T&M invoices from the
 * same generator, which is how they stay consistent with PSA.
 */
import { monthOf } from '../../../platform/src/values/dates.js';
import { Prng, hashSeed } from '../../../platform/src/values/prng.js';
import type { SeedProject, World } from './world.js';

export type TimesheetStatus = 'OPEN' | 'SUBMITTED' | 'APPROVED' | 'REJECTED';

export interface SeedTimesheet {
  readonly psaId: string;
  readonly consultantIndex: number;
  readonly weekStartDay: number;
  readonly status: TimesheetStatus;
  /** Day the timesheet was approved (null unless APPROVED). */
  readonly approvedDay: number | null;
}

export interface SeedTimeEntry {
  readonly psaId: string;
  readonly timesheetIndex: number;
  readonly consultantIndex: number;
  readonly assignmentPsaId: string;
  readonly day: number;
  readonly minutes: number;
  readonly billable: boolean;
  readonly billRateMinor: number;
  readonly costRateMinor: number;
}

export interface ProjectTime {
  readonly timesheets: readonly SeedTimesheet[];
  readonly entries: readonly SeedTimeEntry[];
}

/** Timesheets of the last two weeks before "today" are still open or awaiting approval. */
const APPROVAL_LAG_DAYS = 14;

export function generateProjectTime(world: World, project: SeedProject): ProjectTime {
  const timesheets: SeedTimesheet[] = [];
  const entries: SeedTimeEntry[] = [];
  if (project.status === 'PLANNED') return { timesheets, entries };
  const random = new Prng(hashSeed('time', world.options.seed, project.index));
  const lastDay = Math.min(project.endDay, world.asOfDay - 1);
  let entrySequence = 0;
  for (const request of project.requests) {
    const assignment = request.assignment;
    if (!assignment || assignment.status === 'TENTATIVE') continue;
    // A line item's hours are spread over the project's weeks, about one working day per entry.
    const weeks = Math.max(1, Math.ceil((project.endDay - project.startDay) / 7));
    const daysPerWeek = Math.max(1, Math.min(5, Math.round(request.hours / 7.5 / weeks)));
    const billable = project.contractType !== 'RETAINER' || random.chance(0.9);
    for (let weekStart = project.startDay - ((project.startDay + 3) % 7); weekStart <= lastDay; weekStart += 7) {
      if (project.status === 'ON_HOLD' && weekStart > lastDay - 28) break;
      let sheetIndex = -1;
      for (let weekday = 0; weekday < 5; weekday++) {
        const day = weekStart + weekday;
        if (day < project.startDay || day > lastDay) continue;
        if (!random.chance(daysPerWeek / 5)) continue;
        if (sheetIndex < 0) {
          const age = world.asOfDay - (weekStart + 6);
          const status: TimesheetStatus =
            age > APPROVAL_LAG_DAYS ? (random.chance(0.995) ? 'APPROVED' : 'REJECTED') : age > 3 ? (random.chance(0.6) ? 'APPROVED' : 'SUBMITTED') : 'OPEN';
          sheetIndex = timesheets.length;
          timesheets.push({
            psaId: String(60_000_000 + project.index * 2_000 + timesheets.length),
            consultantIndex: assignment.consultantIndex,
            weekStartDay: weekStart,
            status,
            approvedDay: status === 'APPROVED' ? Math.min(world.asOfDay - 1, weekStart + 7 + random.int(0, 4)) : null,
          });
        }
        entries.push({
          psaId: String(900_000_000 + project.index * 100_000 + entrySequence++),
          timesheetIndex: sheetIndex,
          consultantIndex: assignment.consultantIndex,
          assignmentPsaId: assignment.psaId,
          day,
          minutes: random.int(8, 20) * 30,
          billable: billable && random.chance(0.93),
          billRateMinor: assignment.billRateMinor,
          costRateMinor: assignment.costRateMinor,
        });
      }
    }
  }
  return { timesheets, entries };
}

export interface MonthlyTime {
  readonly month: string;
  readonly approvedMinutes: number;
  readonly approvedBillableMinutes: number;
  /** Approved billable minutes × bill rate, in minor units: what T&M bills for the month. */
  readonly approvedBillableValueMinor: number;
  /** Approved minutes × cost rate, in minor units: what ERP posts as cost. */
  readonly approvedCostMinor: number;
}

/** Approved time per calendar month of work, in month order. */
export function monthlyApprovedTime(time: ProjectTime): MonthlyTime[] {
  const months = new Map<string, { approvedMinutes: number; approvedBillableMinutes: number; value: number; cost: number }>();
  for (const entry of time.entries) {
    if (time.timesheets[entry.timesheetIndex]!.status !== 'APPROVED') continue;
    const month = monthOf(entry.day);
    const bucket = months.get(month) ?? { approvedMinutes: 0, approvedBillableMinutes: 0, value: 0, cost: 0 };
    bucket.approvedMinutes += entry.minutes;
    bucket.cost += Math.round((entry.minutes * entry.costRateMinor) / 60);
    if (entry.billable) {
      bucket.approvedBillableMinutes += entry.minutes;
      bucket.value += Math.round((entry.minutes * entry.billRateMinor) / 60);
    }
    months.set(month, bucket);
  }
  return [...months.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([month, bucket]) => ({
      month,
      approvedMinutes: bucket.approvedMinutes,
      approvedBillableMinutes: bucket.approvedBillableMinutes,
      approvedBillableValueMinor: bucket.value,
      approvedCostMinor: bucket.cost,
    }));
}
