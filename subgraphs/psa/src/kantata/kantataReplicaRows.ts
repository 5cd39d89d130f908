/**
 * The replica's tables (kantataReplica.ts): their DDL, the rows the sync and psgraph's writes put in them, and the
 * queries' rows as the port's records — the PSA sandbox's `psaRows.ts`, for Kantata's records.
 */
import type { AssignmentStatus, PsaAssignment, PsaResourceRequest, ResourceRequestStatus } from '../psaPort.js';
import { toRole } from './kantataRecords.js';

export const REPLICA_DDL = `
CREATE TABLE IF NOT EXISTS kantata_role (id TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kantata_workspace (
  id TEXT PRIMARY KEY, project_id TEXT, currency TEXT NOT NULL, start_date TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS kantata_workspace_project ON kantata_workspace(project_id);
CREATE TABLE IF NOT EXISTS kantata_resource (
  id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, user_id TEXT, role_id TEXT, booking TEXT, bill_rate INTEGER, cost_rate INTEGER,
  requested_minutes INTEGER, requested_start TEXT, requested_end TEXT, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS kantata_resource_workspace ON kantata_resource(workspace_id);
CREATE INDEX IF NOT EXISTS kantata_resource_user ON kantata_resource(user_id);
CREATE TABLE IF NOT EXISTS kantata_request (
  id TEXT PRIMARY KEY, resource_id TEXT NOT NULL, status TEXT NOT NULL, announced INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS kantata_request_resource ON kantata_request(resource_id);
CREATE INDEX IF NOT EXISTS kantata_request_unannounced ON kantata_request(id) WHERE announced = 0;
CREATE TABLE IF NOT EXISTS kantata_milestone (
  id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, title TEXT NOT NULL, due_date TEXT, completed_on TEXT, state TEXT, status TEXT,
  billable INTEGER NOT NULL, budget_in_cents INTEGER, position INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS kantata_milestone_workspace ON kantata_milestone(workspace_id, position);
CREATE TABLE IF NOT EXISTS kantata_submission (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, workspace_id TEXT, user_id TEXT, week_start TEXT, resolution TEXT, resolved_at TEXT,
  updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kantata_time_entry (
  id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, user_id TEXT NOT NULL, date_performed TEXT NOT NULL, minutes INTEGER NOT NULL,
  billable INTEGER NOT NULL, rate INTEGER NOT NULL, cost_rate INTEGER NOT NULL, submission_id TEXT, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS kantata_time_entry_workspace ON kantata_time_entry(workspace_id);
CREATE INDEX IF NOT EXISTS kantata_time_entry_user ON kantata_time_entry(user_id, date_performed);`;

export type Booking = 'TENTATIVE' | 'CONFIRMED' | 'CLOSED';

export interface WorkspaceRow {
  readonly id: string;
  readonly project_id: string | null;
  readonly currency: string;
  readonly start_date: string;
  readonly updated_at: string;
}

export interface ResourceRow {
  readonly id: string;
  readonly workspace_id: string;
  readonly user_id: string | null;
  readonly role_id: string | null;
  readonly booking: Booking | null;
  readonly bill_rate: number | null;
  readonly cost_rate: number | null;
  readonly requested_minutes: number | null;
  readonly requested_start: string | null;
  readonly requested_end: string | null;
  readonly updated_at: string;
}

export interface RequestRow {
  readonly id: string;
  readonly resource_id: string;
  /** Kantata's: new, approved, rejected, cancelled. */
  readonly status: string;
  readonly updated_at: string;
}

export interface MilestoneRow {
  readonly id: string;
  readonly workspace_id: string;
  readonly title: string;
  readonly due_date: string | null;
  readonly completed_on: string | null;
  readonly state: string | null;
  readonly status: string | null;
  readonly billable: number;
  readonly budget_in_cents: number | null;
  readonly position: number;
  /** The "Billing Approval Note" custom field: why its billing approval was last withdrawn. */
  readonly billing_note: string | null;
  readonly updated_at: string;
}

export interface SubmissionRow {
  readonly id: string;
  /** Kantata's, with the open state as its filter names it: new, approved, rejected, cancelled. */
  readonly status: string;
  readonly workspace_id: string | null;
  readonly user_id: string | null;
  /** The Monday of the submission's week. */
  readonly week_start: string | null;
  /** The current resolution's description (a rejection's or cancellation's reason) and when it was made. */
  readonly resolution: string | null;
  readonly resolved_at: string | null;
  readonly updated_at: string;
}

export interface TimeEntryRow {
  readonly id: string;
  readonly workspace_id: string;
  readonly user_id: string;
  readonly date_performed: string;
  readonly minutes: number;
  readonly billable: number;
  readonly rate: number;
  readonly cost_rate: number;
  readonly submission_id: string | null;
  readonly updated_at: string;
}

/** Upserts a row unless the stored copy is newer (`updated_at` compared as ISO text, UTC). */
export function upsert(table: string, columns: readonly string[]): string {
  const rest = columns.filter((column) => column !== 'id');
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((column) => `:${column}`).join(', ')})
    ON CONFLICT (id) DO UPDATE SET ${rest.map((column) => `${column} = excluded.${column}`).join(', ')}
    WHERE excluded.updated_at >= ${table}.updated_at`;
}

export const ASSIGNMENT_SELECT = `SELECT r.id, w.project_id, r.user_id, r.role_id, ro.name AS role_name, r.booking, r.bill_rate, r.cost_rate, w.currency,
  (SELECT q.id FROM kantata_request q WHERE q.resource_id = r.id ORDER BY q.id LIMIT 1) AS request_id
  FROM kantata_resource r JOIN kantata_workspace w ON w.id = r.workspace_id LEFT JOIN kantata_role ro ON ro.id = r.role_id
  WHERE r.user_id IS NOT NULL AND w.project_id IS NOT NULL`;

export const REQUEST_SELECT = `SELECT q.id, w.project_id, ro.name AS role_name, r.requested_minutes, r.requested_start, r.requested_end, q.status, r.user_id, r.booking
  FROM kantata_request q JOIN kantata_resource r ON r.id = q.resource_id JOIN kantata_workspace w ON w.id = r.workspace_id
  LEFT JOIN kantata_role ro ON ro.id = r.role_id WHERE w.project_id IS NOT NULL`;

/** An entry's value at a rate: minutes × rate ÷ 60, rounded half up per entry as the sandbox rounds it. */
export const entryValue = (rate: string) => `(e.minutes * e.${rate} + 30) / 60`;

export interface AssignmentQueryRow {
  id: string;
  project_id: string;
  user_id: string;
  role_name: string | null;
  booking: Booking | null;
  bill_rate: number | null;
  cost_rate: number | null;
  currency: string;
  request_id: string | null;
}

export interface RequestQueryRow {
  id: string;
  project_id: string;
  role_name: string | null;
  requested_minutes: number | null;
  requested_start: string | null;
  requested_end: string | null;
  status: string;
  user_id: string | null;
  booking: Booking | null;
}

/** A request's port status: Kantata's approval, and for an approved one whether its resource is still soft-booked. */
function requestStatus(row: Pick<RequestQueryRow, 'status' | 'user_id' | 'booking'>): ResourceRequestStatus {
  if (row.status === 'new') return 'OPEN';
  if (row.status !== 'approved') return 'CANCELLED';
  return row.user_id === null || row.booking === 'TENTATIVE' ? 'HELD' : 'FULFILLED';
}

const role = (name: string | null) => toRole(name === null ? undefined : { id: '', name });

export const toRequest = (row: RequestQueryRow): PsaResourceRequest => ({
  id: row.id,
  projectId: row.project_id,
  role: role(row.role_name),
  hours: (row.requested_minutes ?? 0) / 60,
  startDate: row.requested_start ?? '',
  endDate: row.requested_end ?? '',
  status: requestStatus(row),
});

export const toAssignment = (row: AssignmentQueryRow): PsaAssignment => ({
  id: row.id,
  projectId: row.project_id,
  resourceId: row.user_id,
  requestId: row.request_id,
  role: role(row.role_name),
  // A named resource without a booking status is booked: Kantata's default.
  status: (row.booking ?? 'CONFIRMED') as AssignmentStatus,
  billRateMinor: row.bill_rate ?? 0,
  costRateMinor: row.cost_rate ?? 0,
  currency: row.currency,
});
