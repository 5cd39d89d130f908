/**
 * psgraph's timesheets over Kantata, in the replica (kantataReplica.ts). Kantata has no timesheet record: it has
 * timesheet submissions, each a consultant's time on one project in one week, approved, rejected or cancelled, and
 * a new one each time the week is submitted again. psgraph's timesheet is the consultant's project week:
 * - its ID is the ID of the week's first submission (a week never submitted has no Kantata record, so no timesheet);
 * - its status is its latest submission's: `new` (the record's `pending`) is SUBMITTED, `approved` APPROVED,
 *   `rejected` REJECTED, `cancelled` OPEN — and a rejected one psgraph reopened is OPEN (Kantata keeps it rejected,
 *   its time already editable);
 * - its version (how many times it has been approved) is counted here, since Kantata keeps no such number: each
 *   submission of the week seen turning approved adds one;
 * - its entries are the consultant's time entries on the project in that week.
 *
 * Its events come from the submissions' status changes, in the transaction that records them, whoever made the
 * change (psgraph's write or someone in Kantata) and whichever sees it first: `timesheet.submitted`, `.approved`
 * (with its entries), `.rejected`, and `.unapproved` for an approved submission cancelled.
 */
import { type BusEvent, newEvent } from '../../../platform/src/events/index.js';
import {
  type PageRequest,
  type SearchResult,
  type SqliteStore,
  WhereBuilder,
  groupBy,
  isNumericId,
  jsonList,
  searchPage,
} from '../../../platform/src/index.js';
import type { PsaTimeEntry, PsaTimesheet, TimesheetSearch } from '../psaDeliveryPort.js';
import { toRole } from './kantataRecords.js';
import { type SubmissionRow, upsert } from './kantataReplicaRows.js';

const TIMESHEET_DDL = `
CREATE TABLE IF NOT EXISTS kantata_timesheet (
  id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, user_id TEXT NOT NULL, week_start TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 0, status_reason TEXT, reopened_submission_id TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS kantata_timesheet_week ON kantata_timesheet(workspace_id, user_id, week_start);
CREATE INDEX IF NOT EXISTS kantata_submission_week ON kantata_submission(workspace_id, user_id, week_start);`;

/** Columns a replica made before timesheets were kept lacks (its submissions fill them as they change). */
const SUBMISSION_COLUMNS = ['workspace_id', 'user_id', 'week_start', 'resolution', 'resolved_at'];

/** Each timesheet of a psgraph project with its latest submission and its port status. */
const SHEETS = `(SELECT t.id, w.project_id, t.user_id, t.workspace_id, t.week_start, t.version, t.status_reason, w.currency,
    s.id AS submission_id, s.resolved_at,
    CASE WHEN s.status = 'new' THEN 'SUBMITTED' WHEN s.status = 'approved' THEN 'APPROVED'
      WHEN s.status = 'rejected' AND t.reopened_submission_id IS NOT s.id THEN 'REJECTED' ELSE 'OPEN' END AS status
  FROM kantata_timesheet t JOIN kantata_workspace w ON w.id = t.workspace_id
  LEFT JOIN kantata_submission s ON s.id = (SELECT s2.id FROM kantata_submission s2
    WHERE s2.workspace_id = t.workspace_id AND s2.user_id = t.user_id AND s2.week_start = t.week_start ORDER BY CAST(s2.id AS INTEGER) DESC LIMIT 1)
  WHERE w.project_id IS NOT NULL) x`;

/**
 * A timesheet's entries. Kantata's time entry names no workspace resource: its assignment is the consultant's
 * resource on the project (the first, should they hold two), its role that resource's.
 */
const ENTRIES = `SELECT e.id, t.id AS timesheet_id, w.project_id, e.user_id, e.date_performed, e.minutes, e.billable, e.rate, e.cost_rate, w.currency,
    (SELECT r.id FROM kantata_resource r WHERE r.workspace_id = e.workspace_id AND r.user_id = e.user_id ORDER BY CAST(r.id AS INTEGER) LIMIT 1) AS assignment_id,
    (SELECT ro.name FROM kantata_resource r JOIN kantata_role ro ON ro.id = r.role_id WHERE r.workspace_id = e.workspace_id AND r.user_id = e.user_id
      ORDER BY CAST(r.id AS INTEGER) LIMIT 1) AS role_name
  FROM kantata_timesheet t JOIN kantata_workspace w ON w.id = t.workspace_id
  JOIN kantata_time_entry e ON e.workspace_id = t.workspace_id AND e.user_id = t.user_id AND e.date_performed BETWEEN t.week_start AND date(t.week_start, '+6 days')
  WHERE w.project_id IS NOT NULL`;

interface SheetQueryRow {
  id: string;
  project_id: string;
  user_id: string;
  workspace_id: string;
  week_start: string;
  version: number;
  status_reason: string | null;
  currency: string;
  submission_id: string | null;
  resolved_at: string | null;
  status: PsaTimesheet['status'];
}

interface EntryQueryRow {
  id: string;
  timesheet_id: string;
  project_id: string;
  user_id: string;
  date_performed: string;
  minutes: number;
  billable: number;
  rate: number;
  cost_rate: number;
  currency: string;
  assignment_id: string | null;
  role_name: string | null;
}

/** A timesheet with what psgraph needs to act on it in Kantata. */
export interface TimesheetState {
  readonly timesheet: PsaTimesheet;
  readonly workspaceId: string;
  readonly userId: string;
  /** Its latest submission, if it was ever submitted. */
  readonly submissionId: string | null;
}

const toTimesheet = (row: SheetQueryRow): PsaTimesheet => ({
  id: row.id,
  projectId: row.project_id,
  resourceId: row.user_id,
  weekStart: row.week_start,
  status: row.status,
  version: row.version,
  approvedOn: row.status === 'APPROVED' && row.resolved_at !== null ? row.resolved_at.slice(0, 10) : null,
  statusReason: row.status_reason,
});

const toTimeEntry = (row: EntryQueryRow): PsaTimeEntry => ({
  id: row.id,
  timesheetId: row.timesheet_id,
  projectId: row.project_id,
  resourceId: row.user_id,
  assignmentId: row.assignment_id ?? '',
  role: toRole(row.role_name === null ? undefined : { id: '', name: row.role_name }),
  workDate: row.date_performed,
  minutes: row.minutes,
  billable: row.billable === 1,
  billRateMinor: row.rate,
  costRateMinor: row.cost_rate,
  currency: row.currency,
});

const byNumericId = (a: { id: string }, b: { id: string }) => Number(a.id) - Number(b.id);

export class KantataTimesheetReplica {
  private readonly statements;

  constructor(private readonly store: SqliteStore) {
    const columns = new Set(
      store
        .prepareBackground<{ name: string }>("SELECT name FROM pragma_table_info('kantata_submission')")
        .all()
        .map((c) => c.name),
    );
    for (const column of SUBMISSION_COLUMNS) if (!columns.has(column)) store.exec(`ALTER TABLE kantata_submission ADD COLUMN ${column} TEXT`);
    store.exec(TIMESHEET_DDL);
    const prepare = <Row>(sql: string) => store.prepareBackground<Row>(sql);
    this.statements = {
      submission: prepare(upsert('kantata_submission', ['id', 'status', 'workspace_id', 'user_id', 'week_start', 'resolution', 'resolved_at', 'updated_at'])),
      submissionRow: prepare<SubmissionRow>('SELECT * FROM kantata_submission WHERE id = ?'),
      openSheet: prepare(
        'INSERT INTO kantata_timesheet (id, workspace_id, user_id, week_start) VALUES (:id, :workspace_id, :user_id, :week_start) ON CONFLICT DO NOTHING',
      ),
      latest: prepare<{ id: string }>(
        'SELECT id FROM kantata_submission WHERE workspace_id = ? AND user_id = ? AND week_start = ? ORDER BY CAST(id AS INTEGER) DESC LIMIT 1',
      ),
      sheetOfWeek: prepare<{ id: string; version: number }>(
        'SELECT id, version FROM kantata_timesheet WHERE workspace_id = ? AND user_id = ? AND week_start = ?',
      ),
      sheet: prepare<SheetQueryRow>(`SELECT * FROM ${SHEETS} WHERE x.id = ?`),
      change: prepare('UPDATE kantata_timesheet SET version = version + :approved, status_reason = :reason, reopened_submission_id = :reopened WHERE id = :id'),
      entries: prepare<EntryQueryRow>(`${ENTRIES} AND t.id = ? ORDER BY e.date_performed, CAST(e.id AS INTEGER)`),
      entry: prepare<EntryQueryRow>(`${ENTRIES} AND e.id = ?`),
    };
  }

  /** Records a submission; its status change (when it is the latest of its week) is the timesheet's event. */
  applySubmission(row: SubmissionRow, events: BusEvent[] | null): void {
    const before = this.statements.submissionRow.get([row.id]);
    this.statements.submission.run({ ...row });
    const after = this.statements.submissionRow.get([row.id])!;
    if (after.workspace_id === null || after.user_id === null || after.week_start === null) return;
    const week = [after.workspace_id, after.user_id, after.week_start];
    // The week's first submission names the timesheet for good.
    this.statements.openSheet.run({ id: after.id, workspace_id: after.workspace_id, user_id: after.user_id, week_start: after.week_start });
    // An older submission of the week changing is history: the latest says where the timesheet is.
    if (this.statements.latest.get(week)?.id !== after.id || before?.status === after.status) return;
    const sheet = this.statements.sheetOfWeek.get(week)!;
    const change = (approved: 0 | 1, reason: string | null) => this.statements.change.run({ id: sheet.id, approved, reason, reopened: null });
    const reason = after.resolution?.trim() || null;
    let event: { type: string; data: Record<string, unknown> } | null = null;
    if (after.status === 'approved') {
      change(1, null);
      const state = this.state(sheet.id);
      if (state) {
        const entries = this.entries(sheet.id);
        event = {
          type: 'timesheet.approved',
          data: {
            ...facts(state.timesheet),
            version: state.timesheet.version,
            approvedOn: state.timesheet.approvedOn,
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
      }
    } else if (after.status === 'rejected') {
      change(0, reason);
      event = { type: 'timesheet.rejected', data: { reason: reason ?? 'Rejected in Kantata' } };
    } else if (after.status === 'new') {
      change(0, null);
      const minutes = this.entries(sheet.id).reduce((sum, entry) => sum + entry.minutes, 0);
      event = { type: 'timesheet.submitted', data: { minutes } };
    } else if (after.status === 'cancelled') {
      change(0, reason);
      // Cancelling an approval reverses what was posted; cancelling a submission nobody approved changes nothing posted.
      if (before?.status === 'approved') event = { type: 'timesheet.unapproved', data: { version: sheet.version, reason: reason ?? 'Cancelled in Kantata' } };
    }
    const state = this.state(sheet.id);
    if (events === null || event === null || !state) return;
    events.push(
      newEvent(event.type, {
        source: 'psa',
        subject: sheet.id,
        occurredAt: new Date(after.updated_at),
        data: { ...facts(state.timesheet), ...event.data },
      }),
    );
  }

  /** A rejected timesheet reopened by psgraph: Kantata keeps its submission rejected (its time is editable already). */
  reopenRejected(id: string, submissionId: string, reason: string): void {
    this.statements.change.run({ id, approved: 0, reason, reopened: submissionId });
  }

  state(id: string): TimesheetState | undefined {
    if (!isNumericId(id)) return undefined;
    const row = this.statements.sheet.get([id]);
    return row ? { timesheet: toTimesheet(row), workspaceId: row.workspace_id, userId: row.user_id, submissionId: row.submission_id } : undefined;
  }

  byId(ids: readonly string[]): Map<string, PsaTimesheet> {
    const rows = this.store
      .prepareBackground<SheetQueryRow>(`SELECT * FROM ${SHEETS} WHERE x.id IN (SELECT value FROM json_each(?))`)
      .all([jsonList(ids.filter(isNumericId))]);
    return new Map(rows.map((row) => [row.id, toTimesheet(row)]));
  }

  search(search: TimesheetSearch, page: PageRequest): SearchResult<PsaTimesheet> {
    const where = new WhereBuilder()
      .add('x.project_id IN (SELECT value FROM json_each(:projectIds))', 'projectIds', search.projectIds)
      .add('x.user_id IN (SELECT value FROM json_each(:resourceIds))', 'resourceIds', search.resourceIds)
      .add('x.status IN (SELECT value FROM json_each(:statuses))', 'statuses', search.statuses)
      .add('x.week_start >= :weekFrom', 'weekFrom', search.weekFrom)
      .add('x.week_start <= :weekTo', 'weekTo', search.weekTo);
    return searchPage<SheetQueryRow, PsaTimesheet>(this.store, { from: SHEETS, where, orderBy: 'x.week_start, CAST(x.id AS INTEGER)' }, page, toTimesheet);
  }

  entries(id: string): PsaTimeEntry[] {
    return this.statements.entries.all([id]).map(toTimeEntry);
  }

  entriesBySheetId(ids: readonly string[]): Map<string, PsaTimeEntry[]> {
    const rows = this.store
      .prepareBackground<EntryQueryRow>(`${ENTRIES} AND t.id IN (SELECT value FROM json_each(?)) ORDER BY t.id, e.date_performed, CAST(e.id AS INTEGER)`)
      .all([jsonList(ids.filter(isNumericId))]);
    return groupBy(rows.map(toTimeEntry), (entry) => entry.timesheetId);
  }

  /** A time entry on a timesheet psgraph knows (time on a week never submitted is on none). */
  entry(id: string): PsaTimeEntry | undefined {
    if (!isNumericId(id)) return undefined;
    const rows = this.statements.entry.all([id]).map(toTimeEntry);
    return rows.sort(byNumericId)[0];
  }
}

const facts = (sheet: PsaTimesheet) => ({ timesheetId: sheet.id, projectId: sheet.projectId, resourceId: sheet.resourceId, weekStart: sheet.weekStart });
