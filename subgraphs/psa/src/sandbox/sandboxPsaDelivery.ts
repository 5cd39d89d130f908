/**
 * The PSA sandbox as the system of record for delivery: timesheets and their entries, expenses and milestones,
 * moved through their approvals (the rules are the store's: `psaSchema.ts`, `psaDeliverySchema.ts`). Every change
 * and its business event are written in one transaction, the event into the outbox the relay publishes from, so
 * an approval is never announced without happening or the other way round.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type BusEvent, appendToOutbox, newEvent } from '../../../platform/src/events/index.js';
import {
  type PageRequest,
  type SqliteStore,
  WhereBuilder,
  dayFromIso,
  groupBy,
  isNumericId,
  isoFromDay,
  jsonList,
  mondayOf,
  searchPage,
} from '../../../platform/src/index.js';
import { inputError } from '../../../platform/src/subgraph/errors.js';
import type {
  ExpenseSearch,
  NewExpense,
  NewTimeEntry,
  PsaBillingMilestone,
  PsaDelivery,
  PsaExpense,
  PsaTimeEntry,
  PsaTimesheet,
  TimeEntryCorrection,
  TimesheetSearch,
} from '../psaDeliveryPort.js';
import { ASSIGNMENT_SELECT, type AssignmentRow, type MilestoneRow, toMilestone } from './psaRows.js';

interface TimesheetRow {
  id: number;
  project_id: string;
  resource_id: string;
  week_start: string;
  status: PsaTimesheet['status'];
  version: number;
  approved_on: string | null;
  status_reason: string | null;
}

interface TimeEntryRow {
  id: number;
  timesheet_id: number;
  project_id: string;
  resource_id: string;
  assignment_id: string;
  role: string;
  role_name: string;
  work_date: string;
  minutes: number;
  billable: number;
  bill_rate_minor: number;
  cost_rate_minor: number;
  currency: string;
}

interface ExpenseRow {
  id: string;
  project_id: string;
  resource_id: string;
  incurred_on: string;
  category: PsaExpense['category'];
  description: string;
  amount_minor: number;
  currency: string;
  receipt_ref: string | null;
  billable: number;
  status: PsaExpense['status'];
  version: number;
  approved_on: string | null;
  status_reason: string | null;
}

const toTimesheet = (row: TimesheetRow): PsaTimesheet => ({
  id: String(row.id),
  projectId: row.project_id,
  resourceId: row.resource_id,
  weekStart: row.week_start,
  status: row.status,
  version: row.version,
  approvedOn: row.approved_on,
  statusReason: row.status_reason,
});

const toTimeEntry = (row: TimeEntryRow): PsaTimeEntry => ({
  id: String(row.id),
  timesheetId: String(row.timesheet_id),
  projectId: row.project_id,
  resourceId: row.resource_id,
  assignmentId: row.assignment_id,
  role: { code: row.role, name: row.role_name },
  workDate: row.work_date,
  minutes: row.minutes,
  billable: row.billable === 1,
  billRateMinor: row.bill_rate_minor,
  costRateMinor: row.cost_rate_minor,
  currency: row.currency,
});

const toExpense = (row: ExpenseRow): PsaExpense => ({
  id: row.id,
  projectId: row.project_id,
  resourceId: row.resource_id,
  incurredOn: row.incurred_on,
  category: row.category,
  description: row.description,
  amountMinor: row.amount_minor,
  currency: row.currency,
  receiptRef: row.receipt_ref,
  billable: row.billable === 1,
  status: row.status,
  version: row.version,
  approvedOn: row.approved_on,
  statusReason: row.status_reason,
});

const toBillingMilestone = (row: MilestoneRow & { billing_version: number }): PsaBillingMilestone => ({
  ...toMilestone(row),
  billingVersion: row.billing_version,
});

const TIME_ENTRY_SELECT = `SELECT e.id, e.timesheet_id, t.project_id, t.resource_id, e.assignment_id, a.role, ro.name AS role_name, e.work_date,
  e.minutes, e.billable, e.bill_rate_minor, e.cost_rate_minor, p.currency
  FROM time_entry e JOIN timesheet t ON t.id = e.timesheet_id JOIN assignment a ON a.id = e.assignment_id
  JOIN role ro ON ro.code = a.role JOIN project p ON p.id = t.project_id`;
const TIMESHEET_COLUMNS = 'id, project_id, resource_id, week_start, status, version, approved_on, status_reason';
const MILESTONE_SELECT = 'SELECT m.*, p.currency FROM milestone m JOIN project p ON p.id = m.project_id';

/** Today's date as the PSA records approvals: the calendar day in UTC. */
const today = () => new Date().toISOString().slice(0, 10);

const refuse = (message: string) => inputError(ErrorCode.INVALID_STATE_TRANSITION, message);
const missing = (what: string) => inputError(ErrorCode.NOT_FOUND, `${what} does not exist in the PSA.`);

export class SandboxPsaDelivery implements PsaDelivery {
  constructor(private readonly store: SqliteStore) {}

  async timesheetsById(ids: readonly string[]): Promise<Map<string, PsaTimesheet>> {
    const rows = this.store
      .prepare<TimesheetRow>(`SELECT ${TIMESHEET_COLUMNS} FROM timesheet WHERE id IN (SELECT value FROM json_each(?))`)
      .all([jsonList(ids.filter(isNumericId).map(Number))]);
    return new Map(rows.map((row) => [String(row.id), toTimesheet(row)]));
  }

  async searchTimesheets(search: TimesheetSearch, page: PageRequest) {
    const where = new WhereBuilder()
      .add('project_id IN (SELECT value FROM json_each(:projectIds))', 'projectIds', search.projectIds)
      .add('resource_id IN (SELECT value FROM json_each(:resourceIds))', 'resourceIds', search.resourceIds)
      .add('status IN (SELECT value FROM json_each(:statuses))', 'statuses', search.statuses)
      .add('week_start >= :weekFrom', 'weekFrom', search.weekFrom)
      .add('week_start <= :weekTo', 'weekTo', search.weekTo);
    return searchPage<TimesheetRow, PsaTimesheet>(
      this.store,
      { from: 'timesheet', where, orderBy: 'week_start, id', columns: TIMESHEET_COLUMNS },
      page,
      toTimesheet,
    );
  }

  async timeEntriesByTimesheetId(timesheetIds: readonly string[]): Promise<Map<string, PsaTimeEntry[]>> {
    const rows = this.store
      .prepare<TimeEntryRow>(`${TIME_ENTRY_SELECT} WHERE e.timesheet_id IN (SELECT value FROM json_each(?)) ORDER BY e.timesheet_id, e.work_date, e.id`)
      .all([jsonList(timesheetIds.map(Number))]);
    return groupBy(rows.map(toTimeEntry), (entry) => entry.timesheetId);
  }

  async expensesById(ids: readonly string[]): Promise<Map<string, PsaExpense>> {
    const rows = this.store.prepare<ExpenseRow>('SELECT * FROM expense WHERE id IN (SELECT value FROM json_each(?))').all([jsonList(ids)]);
    return new Map(rows.map((row) => [row.id, toExpense(row)]));
  }

  async searchExpenses(search: ExpenseSearch, page: PageRequest) {
    const where = new WhereBuilder()
      .add('project_id IN (SELECT value FROM json_each(:projectIds))', 'projectIds', search.projectIds)
      .add('resource_id IN (SELECT value FROM json_each(:resourceIds))', 'resourceIds', search.resourceIds)
      .add('status IN (SELECT value FROM json_each(:statuses))', 'statuses', search.statuses);
    return searchPage<ExpenseRow, PsaExpense>(this.store, { from: 'expense', where, orderBy: 'incurred_on, id' }, page, toExpense);
  }

  async milestonesById(ids: readonly string[]): Promise<Map<string, PsaBillingMilestone>> {
    const rows = this.store
      .prepare<MilestoneRow & { billing_version: number }>(`${MILESTONE_SELECT} WHERE m.id IN (SELECT value FROM json_each(?))`)
      .all([jsonList(ids)]);
    return new Map(rows.map((row) => [row.id, toBillingMilestone(row)]));
  }

  // ---- time ----

  async logTime(entry: NewTimeEntry): Promise<PsaTimeEntry> {
    return this.store.transaction(() => {
      const assignment = this.store.prepare<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.id = ?`).get([entry.assignmentId]);
      if (!assignment) throw missing(`Assignment ${entry.assignmentId}`);
      if (assignment.status === 'TENTATIVE')
        throw refuse(`Assignment ${entry.assignmentId} is tentative (soft-booked): time is booked on confirmed assignments only.`);
      const weekStart = isoFromDay(mondayOf(dayFromIso(entry.workDate)));
      let sheet = this.store
        .prepare<TimesheetRow>(`SELECT ${TIMESHEET_COLUMNS} FROM timesheet WHERE resource_id = ? AND project_id = ? AND week_start = ?`)
        .get([assignment.resource_id, assignment.project_id, weekStart]);
      if (sheet && sheet.status !== 'OPEN')
        throw refuse(`Timesheet ${sheet.id} for the week of ${weekStart} is ${sheet.status.toLowerCase()}: reopen it before booking more time.`);
      if (!sheet) {
        const id = this.store.prepare<{ next: number }>('SELECT COALESCE(MAX(id), 60000000) + 1 AS next FROM timesheet').get()!.next;
        this.store
          .prepare("INSERT INTO timesheet (id, resource_id, project_id, week_start, status) VALUES (?, ?, ?, ?, 'OPEN')")
          .run([id, assignment.resource_id, assignment.project_id, weekStart]);
        sheet = this.timesheetRow(String(id))!;
      }
      const id = this.store.prepare<{ next: number }>('SELECT COALESCE(MAX(id), 900000000) + 1 AS next FROM time_entry').get()!.next;
      // The placement rules (inside the week and the project's dates, on this consultant's assignment) are triggers.
      this.store
        .prepare(
          'INSERT INTO time_entry (id, timesheet_id, assignment_id, work_date, minutes, billable, bill_rate_minor, cost_rate_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run([
          id,
          sheet.id,
          assignment.id,
          entry.workDate,
          entry.minutes,
          entry.billable === false ? 0 : 1,
          assignment.bill_rate_minor,
          assignment.cost_rate_minor,
        ]);
      return this.timeEntry(String(id))!;
    });
  }

  async correctTimeEntry(id: string, correction: TimeEntryCorrection): Promise<PsaTimeEntry> {
    return this.store.transaction(() => {
      const current = this.timeEntry(id);
      if (!current) throw missing(`Time entry ${id}`);
      const sheet = this.timesheetRow(current.timesheetId)!;
      if (sheet.status === 'SUBMITTED' || sheet.status === 'APPROVED')
        throw refuse(`Time entry ${id} is on timesheet ${sheet.id}, which is ${sheet.status.toLowerCase()}: reopen the timesheet to correct it.`);
      this.store
        .prepare('UPDATE time_entry SET minutes = ?, billable = ? WHERE id = ?')
        .run([correction.minutes ?? current.minutes, (correction.billable ?? current.billable) ? 1 : 0, Number(id)]);
      return this.timeEntry(id)!;
    });
  }

  async submitTimesheet(id: string): Promise<PsaTimesheet> {
    return this.moveTimesheet(id, (sheet) => {
      if (sheet.status === 'SUBMITTED') return undefined;
      if (sheet.status !== 'OPEN') throw refuse(`Timesheet ${id} is ${sheet.status.toLowerCase()}; only an open timesheet can be submitted.`);
      const entries = this.entriesOf(sheet);
      if (entries.length === 0) throw refuse(`Timesheet ${id} has no time entries to submit.`);
      this.store.prepare("UPDATE timesheet SET status = 'SUBMITTED', status_reason = NULL WHERE id = ?").run([sheet.id]);
      return { type: 'timesheet.submitted', data: { ...this.sheetFacts(sheet), minutes: entries.reduce((sum, entry) => sum + entry.minutes, 0) } };
    });
  }

  async approveTimesheet(id: string): Promise<PsaTimesheet> {
    return this.moveTimesheet(id, (sheet) => {
      if (sheet.status === 'APPROVED') return undefined;
      if (sheet.status !== 'SUBMITTED') throw refuse(`Timesheet ${id} is ${sheet.status.toLowerCase()}; only a submitted timesheet can be approved.`);
      const approvedOn = today();
      this.store
        .prepare("UPDATE timesheet SET status = 'APPROVED', approved_on = ?, version = version + 1, status_reason = NULL WHERE id = ?")
        .run([approvedOn, sheet.id]);
      const entries = this.entriesOf(sheet);
      return {
        type: 'timesheet.approved',
        data: {
          ...this.sheetFacts(sheet),
          version: sheet.version + 1,
          approvedOn,
          currency: entries[0]?.currency ?? null,
          entries: entries.map((entry) => ({
            timeEntryId: entry.id,
            assignmentId: entry.assignmentId,
            role: entry.role.code,
            workDate: entry.workDate,
            minutes: entry.minutes,
            billable: entry.billable,
            billRateMinor: entry.billRateMinor,
            costRateMinor: entry.costRateMinor,
          })),
        },
      };
    });
  }

  async rejectTimesheet(id: string, reason: string): Promise<PsaTimesheet> {
    return this.moveTimesheet(id, (sheet) => {
      if (sheet.status === 'REJECTED') return undefined;
      if (sheet.status !== 'SUBMITTED') throw refuse(`Timesheet ${id} is ${sheet.status.toLowerCase()}; only a submitted timesheet can be rejected.`);
      this.store.prepare("UPDATE timesheet SET status = 'REJECTED', status_reason = ? WHERE id = ?").run([reason, sheet.id]);
      return { type: 'timesheet.rejected', data: { ...this.sheetFacts(sheet), reason } };
    });
  }

  async reopenTimesheet(id: string, reason: string): Promise<PsaTimesheet> {
    return this.moveTimesheet(id, (sheet) => {
      if (sheet.status === 'OPEN') return undefined;
      if (sheet.status === 'SUBMITTED') throw refuse(`Timesheet ${id} is submitted: approve or reject it first.`);
      this.store.prepare("UPDATE timesheet SET status = 'OPEN', approved_on = NULL, status_reason = ? WHERE id = ?").run([reason, sheet.id]);
      // Reopening a rejected timesheet changes nothing anyone posted; un-approving reverses what was.
      if (sheet.status === 'REJECTED') return null;
      return { type: 'timesheet.unapproved', data: { ...this.sheetFacts(sheet), version: sheet.version, reason } };
    });
  }

  // ---- expenses ----

  async createExpense(expense: NewExpense): Promise<PsaExpense> {
    return this.store.transaction(() => {
      if (!this.store.prepare('SELECT 1 FROM project WHERE id = ?').get([expense.projectId])) throw missing(`Project ${expense.projectId}`);
      if (!this.store.prepare('SELECT 1 FROM resource WHERE id = ?').get([expense.resourceId])) throw missing(`Resource ${expense.resourceId}`);
      const staffed = this.store
        .prepare("SELECT 1 FROM assignment WHERE project_id = ? AND resource_id = ? AND status <> 'TENTATIVE'")
        .get([expense.projectId, expense.resourceId]);
      if (!staffed) throw refuse(`Resource ${expense.resourceId} is not staffed on project ${expense.projectId}: only its consultants book expenses to it.`);
      const id = String(this.store.prepare<{ next: number }>('SELECT COALESCE(MAX(CAST(id AS INTEGER)), 70000000) + 1 AS next FROM expense').get()!.next);
      this.store
        .prepare(
          `INSERT INTO expense (id, project_id, resource_id, incurred_on, category, description, amount_minor, currency, receipt_ref, billable)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run([
          id,
          expense.projectId,
          expense.resourceId,
          expense.incurredOn,
          expense.category,
          expense.description,
          expense.amountMinor,
          expense.currency,
          expense.receiptRef ?? null,
          expense.billable ? 1 : 0,
        ]);
      return toExpense(this.expenseRow(id)!);
    });
  }

  async submitExpense(id: string): Promise<PsaExpense> {
    return this.moveExpense(id, (expense) => {
      if (expense.status === 'SUBMITTED') return undefined;
      if (expense.status !== 'DRAFT') throw refuse(`Expense ${id} is ${expense.status.toLowerCase()}; only a draft expense can be submitted.`);
      this.store.prepare("UPDATE expense SET status = 'SUBMITTED', status_reason = NULL WHERE id = ?").run([id]);
      return null;
    });
  }

  async approveExpense(id: string): Promise<PsaExpense> {
    return this.moveExpense(id, (expense) => {
      if (expense.status === 'APPROVED') return undefined;
      if (expense.status !== 'SUBMITTED') throw refuse(`Expense ${id} is ${expense.status.toLowerCase()}; only a submitted expense can be approved.`);
      const approvedOn = today();
      this.store
        .prepare("UPDATE expense SET status = 'APPROVED', approved_on = ?, version = version + 1, status_reason = NULL WHERE id = ?")
        .run([approvedOn, id]);
      return {
        type: 'expense.approved',
        data: {
          expenseId: id,
          version: expense.version + 1,
          projectId: expense.project_id,
          resourceId: expense.resource_id,
          incurredOn: expense.incurred_on,
          category: expense.category,
          amountMinor: expense.amount_minor,
          currency: expense.currency,
          billable: expense.billable === 1,
          receiptRef: expense.receipt_ref,
          approvedOn,
        },
      };
    });
  }

  async rejectExpense(id: string, reason: string): Promise<PsaExpense> {
    return this.moveExpense(id, (expense) => {
      if (expense.status === 'REJECTED') return undefined;
      if (expense.status !== 'SUBMITTED') throw refuse(`Expense ${id} is ${expense.status.toLowerCase()}; only a submitted expense can be rejected.`);
      this.store.prepare("UPDATE expense SET status = 'REJECTED', status_reason = ? WHERE id = ?").run([reason, id]);
      return null;
    });
  }

  async reopenExpense(id: string, reason: string): Promise<PsaExpense> {
    return this.moveExpense(id, (expense) => {
      if (expense.status === 'DRAFT') return undefined;
      if (expense.status === 'SUBMITTED') throw refuse(`Expense ${id} is submitted: approve or reject it first.`);
      this.store.prepare("UPDATE expense SET status = 'DRAFT', approved_on = NULL, status_reason = ? WHERE id = ?").run([reason, id]);
      if (expense.status === 'REJECTED') return null;
      return { type: 'expense.unapproved', data: { expenseId: id, version: expense.version, projectId: expense.project_id, reason } };
    });
  }

  // ---- milestones ----

  async completeMilestone(id: string, actualDate: string): Promise<PsaBillingMilestone> {
    return this.moveMilestone(id, (milestone) => {
      if (milestone.status !== 'PLANNED') return undefined;
      this.store.prepare("UPDATE milestone SET status = 'COMPLETED', actual_date = ? WHERE id = ?").run([actualDate, id]);
      return { type: 'milestone.completed', data: { milestoneId: id, projectId: milestone.project_id, actualDate } };
    });
  }

  async approveMilestoneForBilling(id: string): Promise<PsaBillingMilestone> {
    return this.moveMilestone(id, (milestone) => {
      if (milestone.status === 'APPROVED_FOR_BILLING') return undefined;
      if (milestone.status !== 'COMPLETED') throw refuse(`Milestone ${id} is planned: complete it before approving it for billing.`);
      if (milestone.billable !== 1) throw refuse(`Milestone ${id} is not billable; only billable milestones are approved for billing.`);
      this.store.prepare("UPDATE milestone SET status = 'APPROVED_FOR_BILLING', billing_version = billing_version + 1 WHERE id = ?").run([id]);
      return {
        type: 'milestone.approved_for_billing',
        data: {
          milestoneId: id,
          version: milestone.billing_version + 1,
          projectId: milestone.project_id,
          name: milestone.name,
          actualDate: milestone.actual_date!,
          amountMinor: milestone.amount_minor!,
          currency: milestone.currency,
        },
      };
    });
  }

  async withdrawMilestoneBillingApproval(id: string, reason: string): Promise<PsaBillingMilestone> {
    return this.moveMilestone(id, (milestone) => {
      if (milestone.status === 'COMPLETED') return undefined;
      if (milestone.status !== 'APPROVED_FOR_BILLING') throw refuse(`Milestone ${id} is planned; it has no billing approval to withdraw.`);
      this.store.prepare("UPDATE milestone SET status = 'COMPLETED' WHERE id = ?").run([id]);
      return {
        type: 'milestone.billing_approval_withdrawn',
        data: { milestoneId: id, version: milestone.billing_version, projectId: milestone.project_id, reason },
      };
    });
  }

  // ---- one transaction per change: read, check, write, and the event in the outbox ----

  /**
   * Runs a change on one record: `change` returns the event to emit, `null` when the change emits none, or
   * `undefined` when the record is already where it was asked to go (nothing written, nothing emitted).
   */
  private move<Row, Result>(
    read: () => Row | undefined,
    what: string,
    change: (row: Row) => EventToEmit | null | undefined,
    subject: string,
    result: () => Result,
  ): Promise<Result> {
    return Promise.resolve(
      this.store.transaction(() => {
        const row = read();
        if (!row) throw missing(what);
        const event = change(row);
        if (event) this.emit(newEvent(event.type, { source: 'psa', subject, data: event.data }));
        return result();
      }),
    );
  }

  private moveTimesheet(id: string, change: (sheet: TimesheetRow) => EventToEmit | null | undefined) {
    return this.move(
      () => this.timesheetRow(id),
      `Timesheet ${id}`,
      change,
      id,
      () => toTimesheet(this.timesheetRow(id)!),
    );
  }

  private moveExpense(id: string, change: (expense: ExpenseRow) => EventToEmit | null | undefined) {
    return this.move(
      () => this.expenseRow(id),
      `Expense ${id}`,
      change,
      id,
      () => toExpense(this.expenseRow(id)!),
    );
  }

  private moveMilestone(id: string, change: (milestone: MilestoneRow & { billing_version: number }) => EventToEmit | null | undefined) {
    const read = () => this.store.prepare<MilestoneRow & { billing_version: number }>(`${MILESTONE_SELECT} WHERE m.id = ?`).get([id]);
    return this.move(read, `Milestone ${id}`, change, id, () => toBillingMilestone(read()!));
  }

  private timesheetRow(id: string): TimesheetRow | undefined {
    if (!isNumericId(id)) return undefined;
    return this.store.prepare<TimesheetRow>(`SELECT ${TIMESHEET_COLUMNS} FROM timesheet WHERE id = ?`).get([Number(id)]);
  }

  private expenseRow(id: string): ExpenseRow | undefined {
    return this.store.prepare<ExpenseRow>('SELECT * FROM expense WHERE id = ?').get([id]);
  }

  private timeEntry(id: string): PsaTimeEntry | undefined {
    if (!isNumericId(id)) return undefined;
    const row = this.store.prepare<TimeEntryRow>(`${TIME_ENTRY_SELECT} WHERE e.id = ?`).get([Number(id)]);
    return row ? toTimeEntry(row) : undefined;
  }

  private entriesOf(sheet: TimesheetRow): PsaTimeEntry[] {
    return this.store.prepare<TimeEntryRow>(`${TIME_ENTRY_SELECT} WHERE e.timesheet_id = ? ORDER BY e.work_date, e.id`).all([sheet.id]).map(toTimeEntry);
  }

  private sheetFacts(sheet: TimesheetRow) {
    return { timesheetId: String(sheet.id), projectId: sheet.project_id, resourceId: sheet.resource_id, weekStart: sheet.week_start };
  }

  private emit(event: BusEvent): void {
    appendToOutbox(this.store, event);
  }
}

/** What a change announces: its business event's type and data. */
interface EventToEmit {
  readonly type: string;
  readonly data: Record<string, unknown>;
}
