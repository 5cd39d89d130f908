/**
 * What a delivery line must satisfy before it is posted to ERP, as pure functions of the line and the ERP's terms,
 * so that every rule is tested on its own. A line that breaks a rule yields one problem per rule broken, each
 * naming the system and team that own the fix, the record and field, what was expected and found, and how to
 * resolve it; the posting process opens a billing exception per problem and posts nothing of that line.
 *
 * The rules (business-systems.md §3.4, §3.6): the rate equals the contract's rate for the role on the work date;
 * a required purchase order is present, unexpired and not exhausted; the job is open; the period is open; the
 * currency is the contract's; the consultant is an active ERP employee.
 */

import { formatMinor } from '../../../platform/src/index.js';

export type DeliveryKind = 'TIME' | 'EXPENSE' | 'MILESTONE';

export const BILLING_EXCEPTION_TYPES = [
  'UNMAPPED_ID',
  'PROJECT_CLOSED',
  'CLOSED_PERIOD',
  'CURRENCY_MISMATCH',
  'UNKNOWN_CONSULTANT',
  'RATE_MISMATCH',
  'MISSING_PO',
  'PO_EXPIRED',
  'PO_EXHAUSTED',
  'BUDGET_EXCEEDED',
  'ERP_REFUSED',
] as const;
export type BillingExceptionType = (typeof BILLING_EXCEPTION_TYPES)[number];

/** One approved piece of delivery to post: a time entry, an expense or a milestone, at one approval version. */
export interface DeliveryLine {
  /** `time:<entry>:v<version>`: the posting's external ID in ERP. */
  readonly sourceKey: string;
  readonly kind: DeliveryKind;
  /** The PSA record: time entry, expense or milestone ID. */
  readonly recordId: string;
  readonly version: number;
  /** The timesheet of a time entry; null otherwise. */
  readonly parentId: string | null;
  readonly projectId: string;
  readonly resourceId: string | null;
  /** The role of time, the category of an expense, null for a milestone. */
  readonly item: string | null;
  readonly date: string;
  readonly minutes: number | null;
  /** The bill rate the PSA priced the time at (per hour). */
  readonly rateMinor: number | null;
  readonly costRateMinor: number | null;
  readonly billable: boolean;
  /** The amount (expenses, milestones); for time, minutes × rate. */
  readonly amountMinor: number;
  readonly costMinor: number;
  readonly currency: string;
  readonly approvedAt: string;
}

export interface ContractTerms {
  readonly projectId: string;
  readonly status: 'IN_PROGRESS' | 'CLOSED';
  readonly contractType: 'FIXED_FEE' | 'TIME_AND_MATERIALS' | 'MILESTONE' | 'RETAINER';
  readonly currency: string;
  readonly poRequired: boolean;
  readonly contractRates: ReadonlyArray<{
    readonly role: string;
    readonly effectiveFrom: string;
    readonly effectiveTo: string | null;
    readonly billRateMinor: number;
  }>;
  readonly purchaseOrder: { readonly number: string; readonly expiresOn: string; readonly amountMinor: number; readonly consumedMinor: number } | null;
  /** The job's budget (planned cost) and what posted work has cost so far: a fixed fee's work must stay within it. */
  readonly budgetMinor: number;
  readonly postedCostMinor: number;
}

/** What earlier lines of the same batch take, per project: of the PO (billable) and of the budget (cost). */
export interface BatchSoFar {
  readonly billableMinor: number;
  readonly costMinor: number;
}

export interface PostingContext {
  readonly terms: ReadonlyMap<string, ContractTerms>;
  /** PSA resource ID → whether ERP has it as an active employee (absent: unknown). */
  readonly employees: ReadonlyMap<string, boolean>;
  /** `YYYY-MM` → closed (absent: ERP has no such period). */
  readonly periodsClosed: ReadonlyMap<string, boolean>;
}

export interface Problem {
  readonly type: BillingExceptionType;
  readonly ownerSystem: 'CRM' | 'PSA' | 'ERP';
  readonly ownerTeam: string;
  readonly entityType: 'TimeEntry' | 'Expense' | 'Milestone' | 'Project';
  readonly entityId: string;
  readonly field: string;
  readonly expected: string | null;
  readonly actual: string | null;
  readonly message: string;
  readonly resolution: string;
}

/** The PSA record a line of each kind comes from, as exceptions name it. */
export const ENTITY_OF_KIND: Record<DeliveryKind, Problem['entityType']> = { TIME: 'TimeEntry', EXPENSE: 'Expense', MILESTONE: 'Milestone' };
const money = (minor: number, currency: string) => `${formatMinor(minor)} ${currency}`;

/** What the line bills the customer under its contract: time by the hour on T&M only, the rest as approved. */
export function billableMinorOf(line: DeliveryLine, terms: ContractTerms): number {
  if (!line.billable) return 0;
  if (line.kind === 'TIME') return terms.contractType === 'TIME_AND_MATERIALS' ? line.amountMinor : 0;
  return line.amountMinor;
}

/**
 * Every problem of `line`, given the ERP's terms. `before` is what earlier lines of the same batch take of the
 * purchase order and of the budget, so that a batch cannot overrun a PO or a fixed fee's budget that each line alone
 * would fit.
 */
export function checkLine(
  line: DeliveryLine,
  context: PostingContext,
  before: BatchSoFar = { billableMinor: 0, costMinor: 0 },
  waived: ReadonlySet<BillingExceptionType> = new Set(),
): Problem[] {
  const consumedBefore = before.billableMinor;
  const problems: Problem[] = [];
  const problem = (fields: Omit<Problem, 'entityType' | 'entityId'> & Partial<Pick<Problem, 'entityType' | 'entityId'>>) => {
    if (!waived.has(fields.type)) problems.push({ entityType: ENTITY_OF_KIND[line.kind], entityId: line.recordId, ...fields });
  };
  const terms = context.terms.get(line.projectId);
  if (!terms) {
    problem({
      type: 'UNMAPPED_ID',
      ownerSystem: 'ERP',
      ownerTeam: 'Finance operations',
      entityType: 'Project',
      entityId: line.projectId,
      field: 'job.externalId',
      expected: line.projectId,
      actual: null,
      message: `Project ${line.projectId} has no job in ERP.`,
      resolution: 'Activate the project (or set the job’s external ID to the canonical project ID in ERP), then retry.',
    });
    return problems;
  }
  if (terms.status !== 'IN_PROGRESS') {
    problem({
      type: 'PROJECT_CLOSED',
      ownerSystem: 'ERP',
      ownerTeam: 'Finance operations',
      entityType: 'Project',
      entityId: line.projectId,
      field: 'job.status',
      expected: 'IN_PROGRESS',
      actual: terms.status,
      message: `The ERP job of project ${line.projectId} is closed to postings.`,
      resolution: 'Reopen the job in ERP if the work belongs to it (or move the time to the right project in the PSA), then retry.',
    });
  }
  const period = line.date.slice(0, 7);
  const closed = context.periodsClosed.get(period);
  if (closed !== false) {
    problem({
      type: 'CLOSED_PERIOD',
      ownerSystem: 'ERP',
      ownerTeam: 'Finance (accounting close)',
      field: 'accountingPeriod',
      expected: `${period} open`,
      actual: closed === undefined ? `${period} not set up` : `${period} closed`,
      message: `The accounting period ${period} of ${line.date} is ${closed === undefined ? 'not set up in ERP' : 'closed'}.`,
      resolution: `Reopen ${period} in ERP for late postings, or correct the date at the source, then retry.`,
    });
  }
  if (line.currency !== terms.currency) {
    problem({
      type: 'CURRENCY_MISMATCH',
      ownerSystem: 'PSA',
      ownerTeam: 'Delivery operations',
      field: 'currency',
      expected: terms.currency,
      actual: line.currency,
      message: `It is in ${line.currency}; the contract of ${line.projectId} is in ${terms.currency}.`,
      resolution: `Record it in ${terms.currency} in the PSA (converted at the firm's rate), then retry.`,
    });
  }
  if (line.resourceId !== null && context.employees.get(line.resourceId) !== true) {
    const known = context.employees.has(line.resourceId);
    problem({
      type: 'UNKNOWN_CONSULTANT',
      ownerSystem: 'ERP',
      ownerTeam: 'HR and finance operations',
      field: 'employee.externalId',
      expected: `active employee ${line.resourceId}`,
      actual: known ? 'inactive' : null,
      message: `Consultant ${line.resourceId} is ${known ? 'inactive' : 'not an employee'} in ERP.`,
      resolution: `Create (or reactivate) the consultant’s employee record in ERP with external ID ${line.resourceId}, then retry.`,
    });
  }
  if (line.kind === 'TIME' && billableMinorOf(line, terms) > 0 && line.item !== null && line.rateMinor !== null) {
    const rate = terms.contractRates.find(
      (candidate) =>
        candidate.role === line.item && candidate.effectiveFrom <= line.date && (candidate.effectiveTo === null || line.date <= candidate.effectiveTo),
    );
    if (!rate || rate.billRateMinor !== line.rateMinor) {
      problem({
        type: 'RATE_MISMATCH',
        ownerSystem: 'PSA',
        ownerTeam: 'Delivery operations',
        field: 'assignment.billRate',
        expected: rate ? money(rate.billRateMinor, terms.currency) : `a contract rate for ${line.item} on ${line.date}`,
        actual: money(line.rateMinor, line.currency),
        message: rate
          ? `Billed at ${money(line.rateMinor, line.currency)} an hour; the contract rate for ${line.item} on ${line.date} is ${money(rate.billRateMinor, terms.currency)}.`
          : `The contract has no rate for ${line.item} on ${line.date}.`,
        resolution: rate
          ? 'Correct the assignment’s bill rate in the PSA and re-approve the time, or add the agreed rate to the contract in ERP; then retry.'
          : `Add the ${line.item} rate to the contract in ERP (effective from the work date), then retry.`,
      });
    }
  }
  const billableMinor = billableMinorOf(line, terms);
  if (terms.poRequired && billableMinor > 0) {
    const order = terms.purchaseOrder;
    if (!order) {
      problem({
        type: 'MISSING_PO',
        ownerSystem: 'CRM',
        ownerTeam: 'Sales operations',
        entityType: 'Project',
        entityId: line.projectId,
        field: 'opportunity.poNumber',
        expected: 'a purchase order',
        actual: null,
        message: `The contract of ${line.projectId} requires a purchase order and has none.`,
        resolution: 'Get the client’s PO, record it on the deal in CRM and on the job in ERP, then retry.',
      });
    } else if (order.expiresOn < line.date) {
      problem({
        type: 'PO_EXPIRED',
        ownerSystem: 'CRM',
        ownerTeam: 'Account management',
        entityType: 'Project',
        entityId: line.projectId,
        field: 'purchaseOrder.expiresOn',
        expected: `on or after ${line.date}`,
        actual: order.expiresOn,
        message: `PO ${order.number} expired on ${order.expiresOn}, before ${line.date}.`,
        resolution: `Ask the client to extend PO ${order.number} (or issue a new one), record it in ERP, then retry.`,
      });
    } else if (order.consumedMinor + consumedBefore + billableMinor > order.amountMinor) {
      problem({
        type: 'PO_EXHAUSTED',
        ownerSystem: 'CRM',
        ownerTeam: 'Account management',
        entityType: 'Project',
        entityId: line.projectId,
        field: 'purchaseOrder.amount',
        expected: `at least ${money(order.consumedMinor + consumedBefore + billableMinor, terms.currency)}`,
        actual: money(order.amountMinor, terms.currency),
        message: `PO ${order.number} of ${money(order.amountMinor, terms.currency)} has ${money(Math.max(0, order.amountMinor - order.consumedMinor - consumedBefore), terms.currency)} left; this needs ${money(billableMinor, terms.currency)}.`,
        resolution: `Ask the client to raise PO ${order.number} (or issue another), record it in ERP, then retry.`,
      });
    }
  }
  // A fixed fee bills its schedule whatever the work costs: work beyond the budget is the firm's loss, so it waits
  // for someone to agree a change order (or accept the overrun) instead of posting silently.
  if (terms.contractType === 'FIXED_FEE' && line.costMinor > 0 && terms.postedCostMinor + before.costMinor + line.costMinor > terms.budgetMinor) {
    const left = Math.max(0, terms.budgetMinor - terms.postedCostMinor - before.costMinor);
    problem({
      type: 'BUDGET_EXCEEDED',
      ownerSystem: 'PSA',
      ownerTeam: 'Project management',
      entityType: 'Project',
      entityId: line.projectId,
      field: 'job.budget',
      expected: `at least ${money(terms.postedCostMinor + before.costMinor + line.costMinor, terms.currency)}`,
      actual: money(terms.budgetMinor, terms.currency),
      message: `The fixed fee's budget of ${money(terms.budgetMinor, terms.currency)} has ${money(left, terms.currency)} left; this work costs ${money(line.costMinor, terms.currency)}.`,
      resolution:
        'Agree a change order and raise the job’s budget in ERP (then retry), correct the time in the PSA if it belongs elsewhere, or waive to accept the overrun.',
    });
  }
  return problems;
}
