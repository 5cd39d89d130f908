/**
 * How a project is billed: its billing schedule (kept by ERP) and the invoices issued from it (kept by
 * billing). The schedule follows the contract type, as in NetSuite's project billing types: T&M in arrears from
 * approved time, fixed-fee instalments, milestones approved for billing, and retainers in advance.
 */
import { addMonths, firstDayOfMonth, lastDayOfMonth, monthOf } from '../../../platform/src/values/dates.js';
import { stripeId } from '../../../platform/src/values/ids.js';
import { Prng, hashSeed } from '../../../platform/src/values/prng.js';
import { LEGAL_ENTITIES } from './catalog.js';
import { type ProjectTime, monthlyApprovedTime } from './time.js';
import type { SeedProject, World } from './world.js';

export type BillingScheduleType = 'TIME_AND_MATERIALS' | 'FIXED_INTERVAL' | 'MILESTONE' | 'RETAINER';

export interface SeedScheduleLine {
  readonly sequence: number;
  readonly day: number;
  readonly description: string;
  /** Zero for T&M lines, whose amount is the period's approved time. */
  readonly amountMinor: number;
  readonly milestonePsaId: string | null;
}

export type InvoiceStatus = 'DRAFT' | 'OPEN' | 'PAID' | 'VOID' | 'UNCOLLECTIBLE';

export interface SeedInvoice {
  readonly id: string;
  readonly number: string;
  readonly sequence: number;
  readonly description: string;
  readonly servicePeriodStartDay: number;
  readonly servicePeriodEndDay: number;
  readonly scheduleLineSequence: number;
  readonly createdDay: number;
  readonly subtotalMinor: number;
  readonly taxMinor: number;
  readonly totalMinor: number;
  readonly amountPaidMinor: number;
  readonly status: InvoiceStatus;
  readonly finalizedDay: number | null;
  readonly dueDay: number | null;
  readonly paidDay: number | null;
  readonly voidedDay: number | null;
  readonly uncollectibleDay: number | null;
  readonly paymentId: string | null;
}

export interface ProjectBilling {
  readonly scheduleType: BillingScheduleType;
  readonly frequency: 'MONTHLY' | 'MILESTONE';
  readonly inArrears: boolean;
  readonly lines: readonly SeedScheduleLine[];
  readonly invoices: readonly SeedInvoice[];
}

/** VAT/GST charged by each legal entity on services (US services are not taxed here). */
export const TAX_RATE_BY_LEGAL_ENTITY: Readonly<Record<number, number>> = { 1: 0, 2: 0.2, 3: 0.19, 4: 0.1 };

export function scheduleTypeOf(project: SeedProject): BillingScheduleType {
  switch (project.contractType) {
    case 'TIME_AND_MATERIALS':
      return 'TIME_AND_MATERIALS';
    case 'FIXED_FEE':
      return 'FIXED_INTERVAL';
    case 'MILESTONE':
      return 'MILESTONE';
    case 'RETAINER':
      return 'RETAINER';
  }
}

export function planProjectBilling(world: World, project: SeedProject, time: ProjectTime): ProjectBilling {
  const scheduleType = scheduleTypeOf(project);
  const lines = scheduleLines(project, time, scheduleType);
  const account = world.accounts[project.accountIndex]!;
  const entity = LEGAL_ENTITIES.find((candidate) => candidate.id === project.legalEntityId)!;
  const taxRate = account.taxExempt ? 0 : (TAX_RATE_BY_LEGAL_ENTITY[entity.id] ?? 0);
  const random = new Prng(hashSeed('billing', world.options.seed, project.index));
  const invoices: SeedInvoice[] = [];
  const monthly = new Map(monthlyApprovedTime(time).map((month) => [month.month, month]));

  const completedMilestones = new Set(project.milestones.filter((m) => m.actualDay !== null).map((m) => m.psaId));
  for (const line of lines) {
    if (line.milestonePsaId !== null && !completedMilestones.has(line.milestonePsaId)) continue;
    // T&M bills a month's approved time on the first days of the next month; the rest bill on the line's date.
    const servicePeriodStartDay = scheduleType === 'TIME_AND_MATERIALS' ? firstDayOfMonth(monthOf(line.day)) : line.day;
    const servicePeriodEndDay = scheduleType === 'TIME_AND_MATERIALS' ? lastDayOfMonth(monthOf(line.day)) : line.day;
    const createdDay = scheduleType === 'TIME_AND_MATERIALS' ? servicePeriodEndDay + 1 : line.day;
    if (createdDay > world.asOfDay) continue;
    const subtotalMinor = scheduleType === 'TIME_AND_MATERIALS' ? (monthly.get(monthOf(line.day))?.approvedBillableValueMinor ?? 0) : line.amountMinor;
    if (subtotalMinor <= 0) continue;
    const taxMinor = Math.round(subtotalMinor * taxRate);
    const totalMinor = subtotalMinor + taxMinor;
    const sequence = invoices.length + 1;
    const age = world.asOfDay - createdDay;
    const finalizedDay = age >= 3 ? createdDay + random.int(1, 2) : null;
    const dueDay = finalizedDay === null ? null : finalizedDay + account.paymentTermsDays;
    let status: InvoiceStatus = 'DRAFT';
    let amountPaidMinor = 0;
    let paidDay: number | null = null;
    let voidedDay: number | null = null;
    let uncollectibleDay: number | null = null;
    if (finalizedDay !== null && dueDay !== null) {
      const overdueBy = world.asOfDay - dueDay;
      const outcome =
        overdueBy < 0
          ? random.weighted([
              ['OPEN', 66],
              ['PAID', 28],
              ['PARTIAL', 4],
              ['VOID', 2],
            ] as const)
          : random.weighted([
              ['PAID', 86],
              ['OPEN', 5],
              ['PARTIAL', 3],
              ['VOID', 3],
              ['UNCOLLECTIBLE', 3],
            ] as const);
      if (outcome === 'PAID') {
        status = 'PAID';
        amountPaidMinor = totalMinor;
        paidDay = Math.min(world.asOfDay - 1, Math.max(finalizedDay + 1, dueDay + random.int(-20, 15)));
      } else if (outcome === 'PARTIAL') {
        status = 'OPEN';
        amountPaidMinor = Math.round((totalMinor * random.int(20, 80)) / 100);
        paidDay = Math.min(world.asOfDay - 1, finalizedDay + random.int(5, 30));
      } else if (outcome === 'VOID') {
        status = 'VOID';
        voidedDay = Math.min(world.asOfDay - 1, finalizedDay + random.int(1, 20));
      } else if (outcome === 'UNCOLLECTIBLE') {
        status = 'UNCOLLECTIBLE';
        uncollectibleDay = Math.min(world.asOfDay - 1, dueDay + random.int(30, 90));
      } else {
        status = 'OPEN';
      }
    }
    invoices.push({
      id: stripeId('in', random),
      number: `MER-${String(project.index + 1).padStart(5, '0')}-${String(sequence).padStart(3, '0')}`,
      sequence,
      description: line.description,
      servicePeriodStartDay,
      servicePeriodEndDay,
      scheduleLineSequence: line.sequence,
      createdDay,
      subtotalMinor,
      taxMinor,
      totalMinor,
      amountPaidMinor,
      status,
      finalizedDay,
      dueDay,
      paidDay,
      voidedDay,
      uncollectibleDay,
      paymentId: amountPaidMinor > 0 ? stripeId('py', random) : null,
    });
  }
  return {
    scheduleType,
    frequency: scheduleType === 'MILESTONE' ? 'MILESTONE' : 'MONTHLY',
    inArrears: scheduleType === 'TIME_AND_MATERIALS',
    lines,
    invoices,
  };
}

function scheduleLines(project: SeedProject, time: ProjectTime, scheduleType: BillingScheduleType): SeedScheduleLine[] {
  const months: string[] = [];
  for (let month = monthOf(project.startDay); month <= monthOf(project.endDay); month = addMonths(month, 1)) months.push(month);
  switch (scheduleType) {
    case 'TIME_AND_MATERIALS': {
      // One line per month with approved time; its amount is known only when the time is approved.
      const worked = new Set(monthlyApprovedTime(time).map((month) => month.month));
      return months
        .filter((month) => worked.has(month))
        .map((month, i) => ({
          sequence: i + 1,
          day: lastDayOfMonth(month),
          description: `Time and materials, ${month}`,
          amountMinor: 0,
          milestonePsaId: null,
        }));
    }
    case 'FIXED_INTERVAL':
    case 'RETAINER': {
      const instalment = Math.floor(project.budgetMinor / months.length / 100) * 100;
      return months.map((month, i) => ({
        sequence: i + 1,
        day: scheduleType === 'RETAINER' ? firstDayOfMonth(month) : Math.min(lastDayOfMonth(month), project.endDay),
        description: scheduleType === 'RETAINER' ? `Retainer, ${month}` : `Fixed fee instalment ${i + 1} of ${months.length}`,
        amountMinor: i === months.length - 1 ? project.budgetMinor - instalment * (months.length - 1) : instalment,
        milestonePsaId: null,
      }));
    }
    case 'MILESTONE':
      return project.milestones.map((milestone, i) => ({
        sequence: i + 1,
        day: milestone.actualDay ?? milestone.targetDay,
        description: `Milestone: ${milestone.name}`,
        amountMinor: milestone.amountMinor,
        milestonePsaId: milestone.psaId,
      }));
  }
}
