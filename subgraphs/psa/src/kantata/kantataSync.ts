/**
 * Keeps the replica (kantataReplica.ts) current by polling, one page (a few at once in the baseline) per step of
 * the platform's change feed, so each step's rows, the events they mean and the new mark are committed together:
 * a restart resumes from the last committed step, missing and repeating nothing.
 *
 * - **Baseline** (the first run): every endpoint is listed in creation order (`order=created_at:asc`), restricted to
 *   records created before the baseline began (`created_before`), so the listing is stable while it pages. Nothing
 *   seen in it is an event: requests and bookings that stood before psgraph looked are not news.
 * - **Live**: each round reads, endpoint by endpoint, what changed after the endpoint's mark
 *   (`updated_after`, `order=updated_at:asc`), page by page; the mark then moves to the newest `updated_at` read,
 *   less an overlap: Kantata pages by number and stamps by the second, so a record stamped in the same second as
 *   the last one read is read again rather than missed. Re-reading is harmless: a row no newer than the replica's
 *   is not applied, and events come only from changes.
 * Endpoints are read in dependency order (roles, workspaces, workspace resources, then resource requests; then
 * milestones, timesheet submissions and time entries), so a request created in Kantata is announced in the round
 * that first sees it.
 */
import type { BusEvent } from '../../../platform/src/events/index.js';
import { dayFromIso, isoFromDay, mondayOf } from '../../../platform/src/index.js';
import type { ChangePage } from '../../../platform/src/vendor/changeFeed.js';
import { type CustomField, CustomValues, type FieldKey, type KantataCatalog, choiceLabel, numberValue, textValue } from './kantataCatalog.js';
import { type Envelope, type KantataClient, type KantataRecord, PAGE_SIZE, type QueryParams, resultsOf, sideLoaded } from './kantataClient.js';
import { canonicalIdOf, optional, text } from './kantataRecords.js';
import type { ExpenseRow } from './kantataExpenseReplica.js';
import type { Booking, KantataReplica, MilestoneRow, ResourceRow, SubmissionRow, TimeEntryRow } from './kantataReplica.js';

/** How far back a live poll reads again, for records stamped in the second of the last one read. */
const OVERLAP_MS = 2_000;
/** Pages of the baseline's listing read at once (the client's concurrency cap paces them). */
const BASELINE_BATCH = 4;
/** How far before its own clock the baseline starts, for a Kantata clock ahead of psgraph's. */
const CLOCK_SKEW_MS = 5 * 60_000;

interface Endpoint {
  readonly name: string;
  readonly path: string;
  readonly key: string;
  readonly params: QueryParams;
  /** What the baseline asks for instead, when it needs less (what a later endpoint lists anyway). */
  readonly baselineParams?: QueryParams;
  /** Applies one record (inside the page's transaction); `events` is null during the baseline. */
  readonly apply: (record: KantataRecord, page: PageContext, events: BusEvent[] | null) => void;
}

interface PageContext {
  readonly envelope: Envelope;
  readonly values: CustomValues;
  readonly fields: ReadonlyMap<FieldKey, CustomField>;
}

type SyncMark =
  | { readonly phase: 'baseline'; readonly startedAt: string; readonly endpoint: number; readonly page: number; readonly pages?: number }
  | { readonly phase: 'live'; readonly endpoint: number; readonly page: number; readonly since: Readonly<Record<string, string>>; readonly newest?: string };

/** Kantata's timestamps (with any offset) as ISO UTC text, comparable as text. */
export const isoStamp = (value: unknown): string => new Date(String(value)).toISOString();

export interface KantataSync {
  /** The change feed's poll function. */
  readonly poll: (mark: string | null) => Promise<ChangePage>;
}

/** A workspace resource as the replica keeps it: its booking, requested hours and dates are custom fields. */
export function resourceRow(record: KantataRecord, values: CustomValues, fields: ReadonlyMap<FieldKey, CustomField>): ResourceRow {
  const value = (key: FieldKey) => values.get('WorkspaceResource', record.id, fields.get(key)!);
  const booking = choiceLabel(fields.get('bookingStatus')!, value('bookingStatus'));
  const rate = (name: string) => (record[name] === undefined || record[name] === null ? null : Number(record[name]));
  return {
    id: record.id,
    workspace_id: text(record['workspace_id']),
    user_id: optional(record['user_id']),
    role_id: optional(record['role_id']),
    booking: booking === null ? null : (booking.toUpperCase() as Booking),
    bill_rate: rate('resource_bill_rate'),
    cost_rate: rate('resource_cost_rate'),
    requested_minutes: numberValue(value('requestedMinutes')),
    requested_start: textValue(value('requestedStart')),
    requested_end: textValue(value('requestedEnd')),
    updated_at: isoStamp(record['updated_at']),
  };
}

/** The parameters every read of workspace resources asks for: custom fields, user, role and both rates. */
export const RESOURCE_PARAMS = {
  include: 'custom_field_values,user,role',
  optional_fields: 'resource_bill_rate,resource_cost_rate',
} as const satisfies QueryParams;

/** The parameters every read of timesheet submissions asks for: the consultant, the project and the time on it. */
export const SUBMISSION_PARAMS = { include: 'time_entries,user,workspace' } as const satisfies QueryParams;
export const TIME_ENTRY_PARAMS = { include: 'recent_submission', from_archived_workspaces: true } as const satisfies QueryParams;

/** A time entry as the replica keeps it; `on` gives what a side-loaded entry leaves out (its submission's project, user and ID). */
export function timeEntryRow(record: KantataRecord, on?: { workspace_id: string; user_id: string; submission_id: string }): TimeEntryRow {
  return {
    id: record.id,
    workspace_id: on?.workspace_id ?? text(record['workspace_id']),
    user_id: on?.user_id ?? text(record['user_id']),
    date_performed: text(record['date_performed']),
    minutes: Number(record['time_in_minutes'] ?? 0),
    billable: record['billable'] === true ? 1 : 0,
    rate: Number(record['rate_in_cents'] ?? 0),
    cost_rate: Number(record['cost_rate_in_cents'] ?? 0),
    submission_id: on?.submission_id ?? optional(record['recent_submission_id']),
    updated_at: isoStamp(record['updated_at']),
  };
}

/** A submission as the replica keeps it: the open state under the filter's name (`new`; the record says `pending`). */
export function submissionRow(record: KantataRecord): SubmissionRow {
  const status = text(record['status']);
  const start = optional(record['start_date']);
  const resolvedAt = optional(record['current_resolution_created_at_date']);
  return {
    id: record.id,
    status: status === 'pending' ? 'new' : status,
    workspace_id: optional(record['workspace_id']),
    user_id: optional(record['user_id']),
    week_start: start === null ? null : isoFromDay(mondayOf(dayFromIso(start))),
    resolution: optional(record['current_resolution_description']),
    resolved_at: resolvedAt === null ? null : isoStamp(resolvedAt),
    updated_at: isoStamp(record['updated_at']),
  };
}

/**
 * A submission read with SUBMISSION_PARAMS: its time first (an active submission's entries are its own, and an
 * approval's event lists them), then the submission, with the events its change means.
 */
export function applySubmissionRecord(replica: KantataReplica, record: KantataRecord, envelope: Envelope, events: BusEvent[] | null): void {
  const row = submissionRow(record);
  if ((row.status === 'new' || row.status === 'approved') && row.workspace_id !== null && row.user_id !== null) {
    const entries = sideLoaded(envelope, 'time_entries');
    for (const id of (record['time_entry_ids'] ?? []) as readonly unknown[]) {
      const entry = entries.get(String(id));
      if (entry) replica.applyTimeEntry(timeEntryRow(entry, { workspace_id: row.workspace_id, user_id: row.user_id, submission_id: row.id }));
    }
  }
  replica.applySubmission(row, events);
}

/** The parameters every read of milestone stories asks for: their custom fields and project. */
export const MILESTONE_PARAMS = { include: 'custom_field_values,workspace' } as const satisfies QueryParams;

/** A milestone story as the replica keeps it: its actual date and billing note are custom fields. */
export function milestoneRow(record: KantataRecord, values: CustomValues, fields: ReadonlyMap<FieldKey, CustomField>): MilestoneRow {
  const value = (key: FieldKey) => {
    const field = fields.get(key);
    return field ? textValue(values.get('Story', record.id, field)) : null;
  };
  const budget = record['budget_estimate_in_cents'];
  return {
    id: record.id,
    workspace_id: text(record['workspace_id']),
    title: text(record['title']),
    due_date: optional(record['due_date']),
    completed_on: value('completedOn'),
    state: optional(record['state']),
    status: optional(record['status']),
    billable: record['billable'] === true ? 1 : 0,
    budget_in_cents: budget === undefined || budget === null ? null : Number(budget),
    position: Number(record['position'] ?? 0),
    billing_note: value('billingNote'),
    updated_at: isoStamp(record['updated_at']),
  };
}

/** The parameters every read of expenses and expense reports asks for: the consultant, the project, and a report's expenses. */
export const EXPENSE_PARAMS = { include: 'user,workspace' } as const satisfies QueryParams;
export const EXPENSE_REPORT_PARAMS = { include: 'expenses,user,workspace', all_on_account: true } as const satisfies QueryParams;

/** An expense as the replica keeps it; `on` gives what a side-loaded one leaves out (its report's project and user). */
export function expenseRow(record: KantataRecord, on?: { workspace_id: string; user_id: string }): ExpenseRow {
  return {
    id: record.id,
    workspace_id: on?.workspace_id ?? text(record['workspace_id']),
    user_id: on?.user_id ?? text(record['user_id']),
    date: text(record['date']),
    category: text(record['category']),
    notes: optional(record['notes']),
    amount: Number(record['amount_in_cents'] ?? 0),
    currency: text(record['currency']),
    receipt_id: optional(record['receipt_id']),
    billable: record['is_billable'] === true ? 1 : 0,
    updated_at: isoStamp(record['updated_at']),
  };
}

/** An expense report read with EXPENSE_REPORT_PARAMS: its expenses first (an approval's event describes them), then the report. */
export function applyExpenseReportRecord(replica: KantataReplica, record: KantataRecord, envelope: Envelope, events: BusEvent[] | null): void {
  const status = text(record['status']);
  const workspaceId = optional(record['workspace_id']);
  const userId = optional(record['user_id']);
  const expenses = sideLoaded(envelope, 'expenses');
  const ids = ((record['expense_ids'] ?? []) as readonly unknown[]).map(String);
  if (workspaceId !== null && userId !== null)
    for (const id of ids) {
      const expense = expenses.get(id);
      if (expense) replica.expenses.applyExpense(expenseRow(expense, { workspace_id: workspaceId, user_id: userId }));
    }
  const resolvedAt = optional(record['current_resolution_created_at_date']);
  replica.expenses.applyReport(
    {
      id: record.id,
      status: status === 'pending' ? 'new' : status,
      resolution: optional(record['current_resolution_description']),
      resolved_at: resolvedAt === null ? null : isoStamp(resolvedAt),
      updated_at: isoStamp(record['updated_at']),
    },
    ids,
    events,
  );
}

export function kantataSync(kantata: KantataClient, catalog: KantataCatalog, replica: KantataReplica, serviceName: string): KantataSync {
  const endpoints: readonly Endpoint[] = [
    {
      name: 'roles',
      path: '/roles',
      key: 'roles',
      params: {},
      apply: (record) => replica.applyRole({ id: record.id, name: text(record['name']), updated_at: isoStamp(record['updated_at']) }),
    },
    {
      name: 'workspaces',
      path: '/workspaces',
      key: 'workspaces',
      params: { include: 'external_references', include_archived: true },
      apply: (record, page) =>
        replica.applyWorkspace({
          id: record.id,
          project_id: canonicalIdOf(record, { externalReferences: sideLoaded(page.envelope, 'external_references'), serviceName }),
          currency: text(record['currency']),
          start_date: text(record['start_date']),
          updated_at: isoStamp(record['updated_at']),
        }),
    },
    {
      name: 'workspace_resources',
      path: '/workspace_resources',
      key: 'workspace_resources',
      params: { include_unnamed: true, ...RESOURCE_PARAMS },
      apply: (record, page, events) => replica.applyResource(resourceRow(record, page.values, page.fields), events),
    },
    {
      name: 'resource_requests',
      path: '/resource_requests',
      key: 'resource_requests',
      params: { include: 'resource' },
      apply: (record) =>
        replica.applyRequest({
          id: record.id,
          resource_id: text(record['resource_id']),
          status: text(record['status']),
          updated_at: isoStamp(record['updated_at']),
        }),
    },
    {
      name: 'milestones',
      path: '/stories',
      key: 'stories',
      params: { story_type: 'milestone', ...MILESTONE_PARAMS },
      apply: (record, page, events) => replica.applyMilestone(milestoneRow(record, page.values, page.fields), events),
    },
    {
      name: 'timesheet_submissions',
      path: '/timesheet_submissions',
      key: 'timesheet_submissions',
      params: SUBMISSION_PARAMS,
      // The baseline lists every time entry next; live, a submission's time comes with it (its approval lists it).
      baselineParams: { include: 'user,workspace' },
      apply: (record, page, events) => applySubmissionRecord(replica, record, page.envelope, events),
    },
    {
      name: 'time_entries',
      path: '/time_entries',
      key: 'time_entries',
      params: TIME_ENTRY_PARAMS,
      apply: (record) => replica.applyTimeEntry(timeEntryRow(record)),
    },
    {
      name: 'expenses',
      path: '/expenses',
      key: 'expenses',
      params: EXPENSE_PARAMS,
      apply: (record) => replica.expenses.applyExpense(expenseRow(record)),
    },
    {
      name: 'expense_report_submissions',
      path: '/expense_report_submissions',
      key: 'expense_report_submissions',
      params: EXPENSE_REPORT_PARAMS,
      apply: (record, page, events) => applyExpenseReportRecord(replica, record, page.envelope, events),
    },
  ];

  const poll = async (rawMark: string | null): Promise<ChangePage> => {
    const mark: SyncMark =
      rawMark === null ? { phase: 'baseline', startedAt: new Date(Date.now() - CLOCK_SKEW_MS).toISOString(), endpoint: 0, page: 1 } : JSON.parse(rawMark);
    const endpoint = endpoints[mark.endpoint]!;
    const fields = await catalog.all();
    const window: QueryParams =
      mark.phase === 'baseline'
        ? { created_before: mark.startedAt, order: 'created_at:asc' }
        : { updated_after: mark.since[endpoint.name], order: 'updated_at:asc' };
    // The baseline's listing is stable, so once its size is known several of its pages are read at once.
    const batch = mark.phase === 'baseline' && mark.pages !== undefined ? Math.max(1, Math.min(BASELINE_BATCH, mark.pages - mark.page + 1)) : 1;
    const fetched = await Promise.all(
      Array.from({ length: batch }, (_, i) =>
        kantata.get(`sync:${endpoint.name}`, endpoint.path, {
          ...(mark.phase === 'baseline' ? (endpoint.baselineParams ?? endpoint.params) : endpoint.params),
          ...window,
          page: mark.page + i,
          per_page: PAGE_SIZE,
        }),
      ),
    );
    const shortAt = fetched.findIndex((envelope) => resultsOf(envelope, endpoint.key).length < PAGE_SIZE);
    const envelopes = shortAt < 0 ? fetched : fetched.slice(0, shortAt + 1);
    const records = envelopes.map((envelope) => resultsOf(envelope, endpoint.key));
    const full = shortAt < 0;
    const newest = records.flat().reduce<string | undefined>(
      (latest, record) => {
        const stamp = isoStamp(record['updated_at']);
        return latest === undefined || stamp > latest ? stamp : latest;
      },
      mark.phase === 'live' ? mark.newest : undefined,
    );
    const pages = Math.ceil(Number(envelopes[0]!.count ?? 0) / PAGE_SIZE);
    const next = nextMark(mark, full, envelopes.length, pages, newest, endpoints);
    const events: BusEvent[] = [];
    return {
      // Filled by `record`, inside the transaction that commits the page: whether a change is an event depends
      // on the replica as it stands then, with psgraph's own writes (and their events) already in it or not.
      events,
      mark: JSON.stringify(next),
      more: !(next.phase === 'live' && next.endpoint === 0 && next.page === 1 && mark.phase === 'live'),
      record: () => {
        // An endpoint added since the replica was made (no mark of its own yet) is listed once like a baseline: what
        // stood before psgraph read it is no news.
        const live = mark.phase === 'live' && mark.since[endpoint.name] !== undefined ? events : null;
        envelopes.forEach((envelope, i) => {
          const page: PageContext = { envelope, values: CustomValues.of(envelope), fields };
          for (const record of records[i]!) endpoint.apply(record, page, live);
        });
        replica.announceRequests(live);
      },
    };
  };
  return { poll };
}

/** Where the next page is read: the next page of this window, or the next endpoint (or phase, or round). */
function nextMark(mark: SyncMark, full: boolean, read: number, pages: number, newest: string | undefined, endpoints: readonly Endpoint[]): SyncMark {
  if (mark.phase === 'baseline') {
    if (full) return { ...mark, page: mark.page + read, pages };
    if (mark.endpoint + 1 < endpoints.length) return { phase: 'baseline', startedAt: mark.startedAt, endpoint: mark.endpoint + 1, page: 1 };
    return { phase: 'live', endpoint: 0, page: 1, since: Object.fromEntries(endpoints.map((endpoint) => [endpoint.name, mark.startedAt])) };
  }
  if (full) return { ...mark, page: mark.page + 1, ...(newest ? { newest } : {}) };
  const name = endpoints[mark.endpoint]!.name;
  const since = mark.since[name]!;
  const moved = newest === undefined ? since : new Date(Math.max(Date.parse(since), Date.parse(newest) - OVERLAP_MS)).toISOString();
  return { phase: 'live', endpoint: (mark.endpoint + 1) % endpoints.length, page: 1, since: { ...mark.since, [name]: moved } };
}

/** Whether the replica has been filled once (a mark past the baseline). */
export const isLive = (mark: string | null): boolean => mark !== null && (JSON.parse(mark) as SyncMark).phase === 'live';
