/**
 * Posting approved delivery from the PSA to ERP, exactly once. An approval (`timesheet.approved`, with its entries)
 * becomes one line per entry, keyed by entry and version and taken in once however often the event arrives. Lines
 * are checked against ERP's terms (`postingChecks.ts`): a line that fails opens one billing exception per problem
 * and posts nothing; the rest post in batches, each posting keyed by its line, so a retry after a crash or a lost
 * answer changes nothing twice. A correction (`timesheet.unapproved`) reverses what that version posted and
 * withdraws what it held back; the corrected time arrives as the next version and posts afresh.
 *
 * Fixing a problem at its source and retrying the exception posts the line; waiving it accepts the problem and
 * posts the line as it is.
 */
import type { BusEvent } from '../../../platform/src/events/index.js';
import { SystemCallError } from '../systems/systemClient.js';
import {
  type BatchSoFar,
  type BillingExceptionType,
  type DeliveryKind,
  type DeliveryLine,
  ENTITY_OF_KIND,
  type Problem,
  billableMinorOf,
  checkLine,
} from './postingChecks.js';
import type { BillingExceptionRecord, PostingStore } from './postingStore.js';
import type { LineToPost, PostingSystems } from './postingSystems.js';
import type { Reconciliation } from './reconciliation.js';
import { LogCode, type Logger } from '../../../platform/src/logging/index.js';

/** ERP takes at most this many postings per call. */
const BATCH = 500;

interface TimesheetApproved {
  timesheetId: string;
  version: number;
  projectId: string;
  resourceId: string;
  currency: string | null;
  entries: Array<{
    timeEntryId: string;
    role: string;
    workDate: string;
    minutes: number;
    billable: boolean;
    billRateMinor: number;
    costRateMinor: number;
  }>;
}

/** Each minute priced as the PSA prices it: minutes × rate ÷ 60, rounded half up per entry. */
const priced = (minutes: number, rateMinor: number) => Math.floor((minutes * rateMinor + 30) / 60);

/** The lines of one timesheet approval: one per entry. */
export function timesheetLines(event: BusEvent): DeliveryLine[] {
  const data = event.data as unknown as TimesheetApproved;
  return data.entries.map((entry) => ({
    sourceKey: `time:${entry.timeEntryId}:v${data.version}`,
    kind: 'TIME',
    recordId: entry.timeEntryId,
    version: data.version,
    parentId: data.timesheetId,
    projectId: data.projectId,
    resourceId: data.resourceId,
    item: entry.role,
    date: entry.workDate,
    minutes: entry.minutes,
    rateMinor: entry.billRateMinor,
    costRateMinor: entry.costRateMinor,
    billable: entry.billable,
    amountMinor: priced(entry.minutes, entry.billRateMinor),
    costMinor: priced(entry.minutes, entry.costRateMinor),
    currency: data.currency ?? '',
    approvedAt: event.occurredAt,
  }));
}

/** The line of an expense approval: its amount billed as incurred (when billable), and its cost to the firm. */
export function expenseLines(event: BusEvent): DeliveryLine[] {
  const data = event.data as {
    expenseId: string;
    version: number;
    projectId: string;
    resourceId: string;
    incurredOn: string;
    category: string;
    amountMinor: number;
    currency: string;
    billable: boolean;
  };
  return [
    {
      sourceKey: `expense:${data.expenseId}:v${data.version}`,
      kind: 'EXPENSE',
      recordId: data.expenseId,
      version: data.version,
      parentId: null,
      projectId: data.projectId,
      resourceId: data.resourceId,
      item: data.category,
      date: data.incurredOn,
      minutes: null,
      rateMinor: null,
      costRateMinor: null,
      billable: data.billable,
      amountMinor: data.amountMinor,
      costMinor: data.amountMinor,
      currency: data.currency,
      approvedAt: event.occurredAt,
    },
  ];
}

/** The line of a milestone approved for billing: its amount, on the day it was completed. */
export function milestoneLines(event: BusEvent): DeliveryLine[] {
  const data = event.data as { milestoneId: string; version: number; projectId: string; actualDate: string; amountMinor: number; currency: string };
  return [
    {
      sourceKey: `milestone:${data.milestoneId}:v${data.version}`,
      kind: 'MILESTONE',
      recordId: data.milestoneId,
      version: data.version,
      parentId: null,
      projectId: data.projectId,
      resourceId: null,
      item: null,
      date: data.actualDate,
      minutes: null,
      rateMinor: null,
      costRateMinor: null,
      billable: true,
      amountMinor: data.amountMinor,
      costMinor: 0,
      currency: data.currency,
      approvedAt: event.occurredAt,
    },
  ];
}

/** Each approval event, the lines it brings; each correction event, the approval it withdraws. */
const APPROVALS: Readonly<Record<string, (event: BusEvent) => DeliveryLine[]>> = {
  'timesheet.approved': timesheetLines,
  'expense.approved': expenseLines,
  'milestone.approved_for_billing': milestoneLines,
};
const CORRECTIONS: Readonly<Record<string, (data: Record<string, unknown>) => { kind: DeliveryKind; id: string }>> = {
  'timesheet.unapproved': (data) => ({ kind: 'TIME', id: String(data['timesheetId']) }),
  'expense.unapproved': (data) => ({ kind: 'EXPENSE', id: String(data['expenseId']) }),
  'milestone.billing_approval_withdrawn': (data) => ({ kind: 'MILESTONE', id: String(data['milestoneId']) }),
};
export const APPROVAL_EVENT_TYPES = Object.keys(APPROVALS);
export const CORRECTION_EVENT_TYPES = Object.keys(CORRECTIONS);

export interface DeliveryPosterOptions {
  readonly store: PostingStore;
  readonly systems: PostingSystems;
  /** Told after each commit (wakes the outbox relay). */
  readonly onCommit?: () => void;
  readonly log?: Logger;
}

export interface PostingOutcome {
  readonly posted: number;
  readonly heldBack: number;
}

export class DeliveryPoster {
  constructor(private readonly options: DeliveryPosterOptions) {}

  private get store(): PostingStore {
    return this.options.store;
  }

  /** An approval (`timesheet.approved`, `expense.approved`, `milestone.approved_for_billing`): take its lines in, once, and post them. */
  async approved(event: BusEvent): Promise<PostingOutcome> {
    const lines = APPROVALS[event.type]!(event);
    this.commit(() => this.store.admit(lines, event.id));
    // Lines of this approval not yet posted (new, or admitted before a crash): post them now.
    return this.postWaiting(lines.map((line) => line.sourceKey));
  }

  /** A correction (`timesheet.unapproved`, …): reverse what that version posted in ERP, withdraw what it held back. */
  async unapproved(event: BusEvent): Promise<void> {
    const { kind, id } = CORRECTIONS[event.type]!(event.data);
    const { version, reason } = event.data as { version: number; reason: string };
    const records = this.store.linesOfApproval(kind, id, version);
    const posted = records.filter((record) => record.status === 'POSTED').map((record) => record.line.sourceKey);
    // ERP first: if the reversal fails, the event is redelivered and nothing here has changed yet.
    for (let i = 0; i < posted.length; i += BATCH) await this.options.systems.reverse(posted.slice(i, i + BATCH));
    this.commit(() => this.store.withdraw({ kind, id, version }, records, `${event.type} (${id} v${version}): ${reason}`));
  }

  /** Checks lines against ERP's terms, holds back those with problems, and posts the rest. */
  async post(lines: readonly DeliveryLine[]): Promise<PostingOutcome> {
    if (lines.length === 0) return { posted: 0, heldBack: 0 };
    const context = await this.options.systems.context(lines);
    const soFar = new Map<string, BatchSoFar>();
    const ready: LineToPost[] = [];
    const held: Array<{ line: DeliveryLine; problems: Problem[] }> = [];
    for (const line of lines) {
      const before = soFar.get(line.projectId) ?? { billableMinor: 0, costMinor: 0 };
      const problems = checkLine(line, context, before, this.store.waivedTypes(line.sourceKey));
      if (problems.length > 0) {
        held.push({ line, problems });
        continue;
      }
      const billableMinor = billableMinorOf(line, context.terms.get(line.projectId)!);
      soFar.set(line.projectId, { billableMinor: before.billableMinor + billableMinor, costMinor: before.costMinor + line.costMinor });
      ready.push({ line, billableMinor });
    }
    if (held.length > 0)
      this.commit(() => held.forEach(({ line, problems }) => this.store.holdBack(line, problems, context.regions.get(line.projectId) ?? null)));
    for (let i = 0; i < ready.length; i += BATCH) await this.postBatch(ready.slice(i, i + BATCH), context.regions);
    return { posted: ready.length, heldBack: held.length };
  }

  /** Retries the line an exception holds back (after its cause was fixed at the source); returns the exception now. */
  async retry(exceptionId: string): Promise<BillingExceptionRecord | undefined> {
    const exception = this.store.exceptionsById([exceptionId]).get(exceptionId);
    if (!exception) return undefined;
    await this.postWaiting([exception.sourceKey]);
    return this.store.exceptionsById([exceptionId]).get(exceptionId);
  }

  /** Accepts an exception's problem (the line then posts as it is, if nothing else holds it back). */
  async waive(exceptionId: string, note: string, by: string): Promise<BillingExceptionRecord | undefined> {
    const exception = this.store.exceptionsById([exceptionId]).get(exceptionId);
    if (!exception) return undefined;
    if (exception.status === 'OPEN') this.commit(() => this.store.waive(exception, note, by));
    await this.postWaiting([exception.sourceKey]);
    return this.store.exceptionsById([exceptionId]).get(exceptionId);
  }

  /** Compares one project across the PSA, the process's lines and ERP. */
  reconcile(projectId: string): Promise<Reconciliation> {
    return this.options.systems.reconcile(projectId, this.store);
  }

  /** Retries the lines these exceptions hold back (each line once, however many of its exceptions are given). */
  async retryMany(exceptions: readonly BillingExceptionRecord[]): Promise<PostingOutcome> {
    return this.postWaiting([...new Set(exceptions.map((exception) => exception.sourceKey))]);
  }

  /** Retries every line held back or left pending (oldest first), e.g. after a period was reopened. */
  async retryWaiting(limit = 10_000): Promise<PostingOutcome> {
    return this.post(this.store.waiting(limit).map((record) => record.line));
  }

  /** Posts those of these lines still waiting (pending, or held back); the rest are where they should be. */
  private postWaiting(sourceKeys: readonly string[]): Promise<PostingOutcome> {
    const waiting = this.store.lines(sourceKeys).filter((record) => record.status === 'PENDING' || record.status === 'EXCEPTION');
    return this.post(waiting.map((record) => record.line));
  }

  /**
   * Posts one batch (all or nothing in ERP). A batch ERP refuses as a whole is posted line by line, so that the one
   * line ERP will not take is held back with ERP's reason and the others post.
   */
  private async postBatch(batch: readonly LineToPost[], regions: ReadonlyMap<string, string>): Promise<void> {
    try {
      await this.options.systems.post(batch);
      this.commit(() => this.store.markPosted(batch.map((item) => item.line)));
    } catch (error) {
      if (!(error instanceof SystemCallError) || error.transient) throw error;
      if (batch.length > 1) {
        for (const item of batch) await this.postBatch([item], regions);
        return;
      }
      const line = batch[0]!.line;
      this.options.log?.warn(
        { code: LogCode.PROCESS_FAILED, process: 'posting', source_key: line.sourceKey, project_id: line.projectId, error_code: error.code },
        `ERP refused ${line.sourceKey}: ${error.message}`,
      );
      this.commit(() => this.store.holdBack(line, [erpRefusal(line, error)], regions.get(line.projectId) ?? null));
    }
  }

  private commit<T>(work: () => T): T {
    const result = this.store.sqlite.transaction(work);
    this.options.onCommit?.();
    return result;
  }
}

function erpRefusal(line: DeliveryLine, error: SystemCallError): Problem {
  const type: BillingExceptionType = 'ERP_REFUSED';
  return {
    type,
    ownerSystem: 'ERP',
    ownerTeam: 'Integration engineering',
    entityType: ENTITY_OF_KIND[line.kind],
    entityId: line.recordId,
    field: 'posting',
    expected: 'accepted by ERP',
    actual: error.code,
    message: `ERP refused the posting: ${error.message}`,
    resolution: 'Fix what ERP names (its record or setting), then retry.',
  };
}
