/**
 * What the PSA subgraph needs from the PSA as the system of record for delivery: weekly timesheets and their time
 * entries, expense reports, and milestones completed and approved for billing — read, and moved through their
 * approvals. Each approval is a business event the process layer posts to ERP from (`timesheet.approved`,
 * `expense.approved`, `milestone.approved_for_billing`), and each correction after approval is one too
 * (`timesheet.unapproved`, …), so that what was posted is reversed and posted again.
 *
 * Every approval carries a version: the number of times the record has been approved. A posting is keyed by its
 * source record and version, so a replayed event posts nothing and a correction (a new version) reposts.
 *
 * Lifecycles (Kantata's timesheet and expense report submissions, Certinia's timecards and milestones):
 * - timesheet: OPEN → SUBMITTED → APPROVED | REJECTED; REJECTED → OPEN; APPROVED → OPEN (un-approved, to correct);
 * - expense: DRAFT → SUBMITTED → APPROVED | REJECTED; REJECTED → DRAFT; APPROVED → DRAFT (un-approved);
 * - milestone: PLANNED → COMPLETED → APPROVED_FOR_BILLING; APPROVED_FOR_BILLING → COMPLETED (approval withdrawn).
 * Approving, submitting or completing what is already there changes nothing and emits nothing.
 */
import type { PageRequest, SearchResult } from '../../platform/src/index.js';
import type { PsaMilestone, PsaRole } from './psaPort.js';

export type TimesheetStatus = 'OPEN' | 'SUBMITTED' | 'APPROVED' | 'REJECTED';
export type ExpenseStatus = 'DRAFT' | 'SUBMITTED' | 'APPROVED' | 'REJECTED';
export type ExpenseCategory = 'TRAVEL' | 'LODGING' | 'MEALS' | 'SOFTWARE' | 'SUBCONTRACTOR' | 'OTHER';

export interface PsaTimesheet {
  readonly id: string;
  readonly projectId: string;
  readonly resourceId: string;
  /** The Monday of the week. */
  readonly weekStart: string;
  readonly status: TimesheetStatus;
  /** How many times it has been approved: the current approval's version, or the last one's when un-approved. */
  readonly version: number;
  readonly approvedOn: string | null;
  /** Why it was last rejected or un-approved. */
  readonly statusReason: string | null;
}

export interface PsaTimeEntry {
  readonly id: string;
  readonly timesheetId: string;
  readonly projectId: string;
  readonly resourceId: string;
  readonly assignmentId: string;
  readonly role: PsaRole;
  readonly workDate: string;
  readonly minutes: number;
  readonly billable: boolean;
  /** The assignment's rates when the time was logged, in the project's currency. */
  readonly billRateMinor: number;
  readonly costRateMinor: number;
  readonly currency: string;
}

export interface PsaExpense {
  readonly id: string;
  readonly projectId: string;
  readonly resourceId: string;
  readonly incurredOn: string;
  readonly category: ExpenseCategory;
  readonly description: string;
  readonly amountMinor: number;
  /** The currency it was paid in, which need not be the project's. */
  readonly currency: string;
  readonly receiptRef: string | null;
  readonly billable: boolean;
  readonly status: ExpenseStatus;
  readonly version: number;
  readonly approvedOn: string | null;
  readonly statusReason: string | null;
}

/** A milestone with its billing approval's version (how many times it has been approved for billing). */
export interface PsaBillingMilestone extends PsaMilestone {
  readonly billingVersion: number;
}

export interface TimesheetSearch {
  readonly projectIds?: readonly string[] | null;
  readonly resourceIds?: readonly string[] | null;
  readonly statuses?: readonly TimesheetStatus[] | null;
  /** Weeks starting inside [weekFrom, weekTo] (either end optional). */
  readonly weekFrom?: string | null;
  readonly weekTo?: string | null;
}

export interface ExpenseSearch {
  readonly projectIds?: readonly string[] | null;
  readonly resourceIds?: readonly string[] | null;
  readonly statuses?: readonly ExpenseStatus[] | null;
}

export interface NewTimeEntry {
  readonly assignmentId: string;
  readonly workDate: string;
  readonly minutes: number;
  /** @default true */
  readonly billable?: boolean | null;
}

export interface TimeEntryCorrection {
  readonly minutes?: number | null;
  readonly billable?: boolean | null;
}

/** A new expense, as its consultant records it (a draft). */
export type NewExpense = Pick<PsaExpense, 'projectId' | 'resourceId' | 'incurredOn' | 'category' | 'description' | 'amountMinor' | 'currency' | 'billable'> & {
  readonly receiptRef?: string | null;
};

export interface PsaDelivery {
  timesheetsById(ids: readonly string[]): Promise<Map<string, PsaTimesheet>>;
  /** Ordered by week, then ID. */
  searchTimesheets(search: TimesheetSearch, page: PageRequest): Promise<SearchResult<PsaTimesheet>>;
  /** Ordered by work date, then ID. */
  timeEntriesByTimesheetId(timesheetIds: readonly string[]): Promise<Map<string, PsaTimeEntry[]>>;
  expensesById(ids: readonly string[]): Promise<Map<string, PsaExpense>>;
  /** Ordered by date incurred, then ID. */
  searchExpenses(search: ExpenseSearch, page: PageRequest): Promise<SearchResult<PsaExpense>>;
  milestonesById(ids: readonly string[]): Promise<Map<string, PsaBillingMilestone>>;

  /** Books time on a confirmed assignment, in the consultant's open timesheet for that week (opened if none). */
  logTime(entry: NewTimeEntry): Promise<PsaTimeEntry>;
  /** Changes an entry whose timesheet is open; time on a submitted or approved timesheet is locked. */
  correctTimeEntry(id: string, correction: TimeEntryCorrection): Promise<PsaTimeEntry>;
  /** OPEN → SUBMITTED (`timesheet.submitted`); an empty timesheet cannot be submitted. */
  submitTimesheet(id: string): Promise<PsaTimesheet>;
  /** SUBMITTED → APPROVED, version + 1 (`timesheet.approved`, with its entries). */
  approveTimesheet(id: string): Promise<PsaTimesheet>;
  /** SUBMITTED → REJECTED (`timesheet.rejected`). */
  rejectTimesheet(id: string, reason: string): Promise<PsaTimesheet>;
  /** REJECTED → OPEN, or APPROVED → OPEN to correct it (`timesheet.unapproved`: what was posted is reversed). */
  reopenTimesheet(id: string, reason: string): Promise<PsaTimesheet>;

  createExpense(expense: NewExpense): Promise<PsaExpense>;
  submitExpense(id: string): Promise<PsaExpense>;
  /** SUBMITTED → APPROVED, version + 1 (`expense.approved`). */
  approveExpense(id: string): Promise<PsaExpense>;
  rejectExpense(id: string, reason: string): Promise<PsaExpense>;
  /** REJECTED → DRAFT, or APPROVED → DRAFT to correct it (`expense.unapproved`). */
  reopenExpense(id: string, reason: string): Promise<PsaExpense>;

  /** PLANNED → COMPLETED on its actual date (`milestone.completed`). */
  completeMilestone(id: string, actualDate: string): Promise<PsaBillingMilestone>;
  /** COMPLETED → APPROVED_FOR_BILLING, billing version + 1 (`milestone.approved_for_billing`); billable ones only. */
  approveMilestoneForBilling(id: string): Promise<PsaBillingMilestone>;
  /** APPROVED_FOR_BILLING → COMPLETED (`milestone.billing_approval_withdrawn`). */
  withdrawMilestoneBillingApproval(id: string, reason: string): Promise<PsaBillingMilestone>;
}

/** Every call of the delivery port, by what it does (as a refusal names it). */
export const DELIVERY_OPERATIONS: Record<keyof PsaDelivery, string> = {
  timesheetsById: 'Reading timesheets',
  searchTimesheets: 'Reading timesheets',
  timeEntriesByTimesheetId: 'Reading time entries',
  expensesById: 'Reading expenses',
  searchExpenses: 'Reading expenses',
  milestonesById: 'Reading milestones by ID',
  logTime: 'Logging time',
  correctTimeEntry: 'Correcting time',
  submitTimesheet: 'Submitting a timesheet',
  approveTimesheet: 'Approving a timesheet',
  rejectTimesheet: 'Rejecting a timesheet',
  reopenTimesheet: 'Reopening a timesheet',
  createExpense: 'Creating an expense',
  submitExpense: 'Submitting an expense',
  approveExpense: 'Approving an expense',
  rejectExpense: 'Rejecting an expense',
  reopenExpense: 'Reopening an expense',
  completeMilestone: 'Completing a milestone',
  approveMilestoneForBilling: 'Approving a milestone for billing',
  withdrawMilestoneBillingApproval: 'Withdrawing a milestone’s billing approval',
};
