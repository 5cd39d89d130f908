/**
 * Delivery over Kantata: timesheets (kantataTimesheetReplica.ts says what a timesheet is in Kantata) read from the
 * replica and moved through their approvals with Kantata's own calls — `POST /timesheet_submissions` (submit),
 * `PUT /timesheet_submissions/:id/approve|reject|cancel` (un-approving is cancelling the approved submission, the only
 * reversal Kantata has), `PUT /time_entries/:id` (correcting time on an open or rejected week). Each write first reads
 * the week as Kantata holds it now (its submissions and time), so it is refused for the sandbox's reasons with the
 * sandbox's codes and messages; what it changes goes into the replica with its event, in one local transaction.
 *
 * Expenses go through expense report submissions (kantataExpenses.ts); milestones are completed and approved for
 * billing through their stories (kantataMilestones.ts).
 *
 * Not taken through psgraph yet, answering SYSTEM_OPERATION_UNSUPPORTED naming Kantata: logging time (a week never
 * submitted has no Kantata record to be the timesheet's ID).
 */
import { unsupportedOperations } from '../../../platform/src/vendor/unsupportedOperations.js';
import { DELIVERY_OPERATIONS, type PsaDelivery, type PsaTimeEntry, type PsaTimesheet, type TimeEntryCorrection } from '../psaDeliveryPort.js';
import type { KantataCatalog } from './kantataCatalog.js';
import { type Envelope, type KantataClient, resultsOf } from './kantataClient.js';
import { KantataExpenses } from './kantataExpenses.js';
import { KantataMilestones } from './kantataMilestones.js';
import type { KantataPsaOptions } from './kantataReads.js';
import type { KantataReplica } from './kantataReplica.js';
import { SUBMISSION_PARAMS, TIME_ENTRY_PARAMS, applySubmissionRecord, timeEntryRow } from './kantataSync.js';
import type { TimesheetState } from './kantataTimesheetReplica.js';
import { missing, refuse, sendOnce } from './kantataWrites.js';

const shiftDay = (iso: string, days: number) => new Date(Date.parse(`${iso}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

export class KantataTimesheets {
  constructor(
    private readonly kantata: KantataClient,
    private readonly replica: KantataReplica,
    private readonly options: Pick<KantataPsaOptions, 'replicaReady' | 'commit'>,
  ) {}

  async timesheetsById(ids: readonly string[]): Promise<Map<string, PsaTimesheet>> {
    await this.options.replicaReady();
    return this.replica.timesheets.byId(ids);
  }

  async searchTimesheets(...args: Parameters<PsaDelivery['searchTimesheets']>) {
    await this.options.replicaReady();
    return this.replica.timesheets.search(...args);
  }

  async timeEntriesByTimesheetId(ids: readonly string[]): Promise<Map<string, PsaTimeEntry[]>> {
    await this.options.replicaReady();
    return this.replica.timesheets.entriesBySheetId(ids);
  }

  async correctTimeEntry(id: string, correction: TimeEntryCorrection): Promise<PsaTimeEntry> {
    await this.options.replicaReady();
    const known = this.replica.timesheets.entry(id);
    if (!known) throw missing(`Time entry ${id}`);
    const { timesheet } = await this.current(known.timesheetId);
    if (timesheet.status === 'SUBMITTED' || timesheet.status === 'APPROVED')
      throw refuse(`Time entry ${id} is on timesheet ${timesheet.id}, which is ${timesheet.status.toLowerCase()}: reopen the timesheet to correct it.`);
    const entry = this.replica.timesheets.entry(id);
    if (!entry) throw missing(`Time entry ${id}`);
    // The same values however often it is sent: retried like a read.
    const envelope = await this.kantata.send(
      'correctTimeEntry',
      true,
      'PUT',
      `/time_entries/${id}`,
      { time_entry: { time_in_minutes: correction.minutes ?? entry.minutes, billable: correction.billable ?? entry.billable } },
      TIME_ENTRY_PARAMS,
    );
    this.options.commit(() => {
      for (const record of resultsOf(envelope, 'time_entries')) this.replica.applyTimeEntry(timeEntryRow(record));
    });
    return this.replica.timesheets.entry(id)!;
  }

  async submitTimesheet(id: string): Promise<PsaTimesheet> {
    const state = await this.current(id);
    const { timesheet } = state;
    if (timesheet.status === 'SUBMITTED') return timesheet;
    if (timesheet.status !== 'OPEN') throw refuse(`Timesheet ${id} is ${timesheet.status.toLowerCase()}; only an open timesheet can be submitted.`);
    const entries = this.replica.timesheets.entries(id);
    if (entries.length === 0) throw refuse(`Timesheet ${id} has no time entries to submit.`);
    const body = {
      timesheet_submission: {
        line_item_ids: entries.map((entry) => Number(entry.id)),
        title: `Week of ${timesheet.weekStart}`,
        workspace_id: Number(state.workspaceId),
        user_id: Number(state.userId),
      },
    };
    // A POST: sent once (Kantata has no idempotency key); a lost answer is looked for rather than sent again.
    return this.write(id, 'SUBMITTED', () => this.kantata.send('submitTimesheet', false, 'POST', '/timesheet_submissions', body, SUBMISSION_PARAMS));
  }

  async approveTimesheet(id: string): Promise<PsaTimesheet> {
    const state = await this.current(id);
    if (state.timesheet.status === 'APPROVED') return state.timesheet;
    if (state.timesheet.status !== 'SUBMITTED')
      throw refuse(`Timesheet ${id} is ${state.timesheet.status.toLowerCase()}; only a submitted timesheet can be approved.`);
    return this.resolve(state, 'approve', 'APPROVED', {});
  }

  async rejectTimesheet(id: string, reason: string): Promise<PsaTimesheet> {
    const state = await this.current(id);
    if (state.timesheet.status === 'REJECTED') return state.timesheet;
    if (state.timesheet.status !== 'SUBMITTED')
      throw refuse(`Timesheet ${id} is ${state.timesheet.status.toLowerCase()}; only a submitted timesheet can be rejected.`);
    return this.resolve(state, 'reject', 'REJECTED', { description: reason });
  }

  async reopenTimesheet(id: string, reason: string): Promise<PsaTimesheet> {
    const state = await this.current(id);
    const { timesheet } = state;
    if (timesheet.status === 'OPEN') return timesheet;
    if (timesheet.status === 'SUBMITTED') throw refuse(`Timesheet ${id} is submitted: approve or reject it first.`);
    if (timesheet.status === 'REJECTED') {
      // Kantata keeps the submission rejected, its time editable and submittable again: nothing to call.
      this.options.commit(() => this.replica.timesheets.reopenRejected(id, state.submissionId!, reason));
      return this.replica.timesheets.state(id)!.timesheet;
    }
    // Un-approving is cancelling the approved submission (Kantata has no other reversal): `timesheet.unapproved`.
    return this.resolve(state, 'cancel', 'OPEN', { description: reason });
  }

  // ---- helpers ----

  /** `PUT /timesheet_submissions/:id/<action>` with its resolution, on the timesheet's latest submission. */
  private resolve(state: TimesheetState, action: 'approve' | 'reject' | 'cancel', goal: PsaTimesheet['status'], resolution: { description?: string }) {
    const path = `/timesheet_submissions/${state.submissionId!}/${action}`;
    // Not retried blindly: a second approval of an approved submission is refused; a lost answer is looked for instead.
    return this.write(state.timesheet.id, goal, () => this.kantata.send(`${action}Timesheet`, false, 'PUT', path, { resolution }, SUBMISSION_PARAMS));
  }

  /** Sends a write whose answer is submissions; applies them with their events. A lost answer: the week is read again. */
  private write(id: string, goal: PsaTimesheet['status'], send: () => Promise<Envelope>): Promise<PsaTimesheet> {
    return sendOnce(
      send,
      async () => {
        const now = await this.current(id);
        return now.timesheet.status === goal ? now.timesheet : null;
      },
      (envelope) => {
        this.options.commit((events) => {
          for (const record of resultsOf(envelope, 'timesheet_submissions')) applySubmissionRecord(this.replica, record, envelope, events);
        });
        return this.replica.timesheets.state(id)!.timesheet;
      },
    );
  }

  /**
   * The timesheet as Kantata holds it now: the week's submissions (with their time) and time entries read and
   * applied, with the events of any change someone made in Kantata since the last poll.
   */
  private async current(id: string): Promise<TimesheetState> {
    await this.options.replicaReady();
    const known = this.replica.timesheets.state(id);
    if (!known) throw missing(`Timesheet ${id}`);
    const week = known.timesheet.weekStart;
    const [submissions, entries] = await Promise.all([
      this.kantata.list('readTimesheet', '/timesheet_submissions', {
        ...SUBMISSION_PARAMS,
        workspace_id: known.workspaceId,
        user_ids: known.userId,
        start_date: week,
        order: 'date:asc',
      }),
      this.kantata.list('readTimesheet', '/time_entries', {
        ...TIME_ENTRY_PARAMS,
        workspace_id: known.workspaceId,
        with_user_ids: known.userId,
        date_performed_between: `${week}:${shiftDay(week, 6)}`,
      }),
    ]);
    this.options.commit((events) => {
      for (const record of resultsOf(entries, 'time_entries')) this.replica.applyTimeEntry(timeEntryRow(record));
      const records = resultsOf(submissions, 'timesheet_submissions').sort((a, b) => Number(a.id) - Number(b.id));
      for (const record of records) applySubmissionRecord(this.replica, record, submissions, events);
    });
    return this.replica.timesheets.state(id)!;
  }
}

/** The delivery port over Kantata: timesheets and their time, expenses and milestones through psgraph; logging time refused naming Kantata. */
export function kantataDelivery(
  kantata: KantataClient,
  catalog: KantataCatalog,
  replica: KantataReplica,
  options: Pick<KantataPsaOptions, 'replicaReady' | 'commit'>,
): PsaDelivery {
  const timesheets = new KantataTimesheets(kantata, replica, options);
  const milestones = new KantataMilestones(kantata, catalog, replica, options);
  const expenses = new KantataExpenses(kantata, replica, options);
  return {
    ...unsupportedOperations<PsaDelivery>('Kantata', DELIVERY_OPERATIONS),
    timesheetsById: (ids) => timesheets.timesheetsById(ids),
    searchTimesheets: (search, page) => timesheets.searchTimesheets(search, page),
    timeEntriesByTimesheetId: (ids) => timesheets.timeEntriesByTimesheetId(ids),
    correctTimeEntry: (id, correction) => timesheets.correctTimeEntry(id, correction),
    submitTimesheet: (id) => timesheets.submitTimesheet(id),
    approveTimesheet: (id) => timesheets.approveTimesheet(id),
    rejectTimesheet: (id, reason) => timesheets.rejectTimesheet(id, reason),
    reopenTimesheet: (id, reason) => timesheets.reopenTimesheet(id, reason),
    expensesById: (ids) => expenses.expensesById(ids),
    searchExpenses: (search, page) => expenses.searchExpenses(search, page),
    createExpense: (expense) => expenses.createExpense(expense),
    submitExpense: (id) => expenses.submitExpense(id),
    approveExpense: (id) => expenses.approveExpense(id),
    rejectExpense: (id, reason) => expenses.rejectExpense(id, reason),
    reopenExpense: (id, reason) => expenses.reopenExpense(id, reason),
    milestonesById: (ids) => milestones.milestonesById(ids),
    completeMilestone: (id, actualDate) => milestones.completeMilestone(id, actualDate),
    approveMilestoneForBilling: (id) => milestones.approveMilestoneForBilling(id),
    withdrawMilestoneBillingApproval: (id, reason) => milestones.withdrawMilestoneBillingApproval(id, reason),
  };
}
