/**
 * The adapter's local read replica (`<data dir>/kantata.db`) of exactly the Kantata records the API cannot answer
 * in bounded calls:
 * - time entries and timesheet submissions: a project's time totals and a consultant's approved time by period
 *   are sums over hundreds of thousands of entries, and the API sums nothing per project;
 * - resource requests and workspace resources (staffing): Kantata lists resource requests by no project, and
 *   workspace resources by one project or one user at a time;
 * - milestones (stories of type milestone): listed for many projects at once they run past one page of 200, so a
 *   page of 50 projects would cost more calls than a page of 5;
 * - the slim workspace (canonical project ID, currency, start date) and role rows those records point at.
 * It is filled once by listing, kept current by polling `updated_after` (kantataSync.ts), and written through by
 * psgraph's own writes. Each row keeps its `updated_at`, and an older copy never overwrites a newer one, so a poll
 * that read a record just before psgraph changed it cannot undo the change.
 *
 * Business events come from the same rows, in the same transactions: a resource request seen for the first time
 * is `resource_request.created` (once its workspace resource is known too), a workspace resource whose booking
 * status turns from tentative to confirmed is `assignment.confirmed` — whether psgraph made the change or someone
 * did in Kantata, and whichever of the two sees it first.
 */
import { type BusEvent, newEvent } from '../../../platform/src/events/index.js';
import { type SqliteStore, groupBy, jsonList } from '../../../platform/src/index.js';
import type { PsaApprovedTime, PsaAssignment, PsaMilestone, PsaResourceRequest, PsaTimeTotals } from '../psaPort.js';
import { roleCode } from './kantataRecords.js';
import {
  ASSIGNMENT_SELECT,
  type AssignmentQueryRow,
  type Booking,
  type MilestoneRow,
  REPLICA_DDL,
  REQUEST_SELECT,
  type RequestQueryRow,
  type RequestRow,
  type ResourceRow,
  type SubmissionRow,
  type TimeEntryRow,
  type WorkspaceRow,
  entryValue,
  toAssignment,
  toRequest,
  upsert,
} from './kantataReplicaRows.js';
import { KantataExpenseReplica } from './kantataExpenseReplica.js';
import { KantataMilestoneReplica, toMilestone } from './kantataMilestoneReplica.js';
import { KantataTimesheetReplica } from './kantataTimesheetReplica.js';

export type { Booking, MilestoneRow, ResourceRow, SubmissionRow, TimeEntryRow } from './kantataReplicaRows.js';

export class KantataReplica {
  private readonly statements;

  /** Timesheets: the consultant's project week each submission belongs to, with its approvals counted. */
  readonly timesheets: KantataTimesheetReplica;

  /** Milestones: their stories, with their billing approvals counted. */
  readonly milestones: KantataMilestoneReplica;

  /** Expenses: their expense report submissions, with their approvals counted. */
  readonly expenses: KantataExpenseReplica;

  constructor(private readonly store: SqliteStore) {
    store.exec(REPLICA_DDL);
    this.timesheets = new KantataTimesheetReplica(store);
    this.milestones = new KantataMilestoneReplica(store);
    this.expenses = new KantataExpenseReplica(store);
    const prepare = <Row>(sql: string) => store.prepareBackground<Row>(sql);
    this.statements = {
      role: prepare(upsert('kantata_role', ['id', 'name', 'updated_at'])),
      workspace: prepare(upsert('kantata_workspace', ['id', 'project_id', 'currency', 'start_date', 'updated_at'])),
      // A canonical ID moves to the workspace that now holds it (a project deleted and created again).
      releaseProject: prepare('UPDATE kantata_workspace SET project_id = NULL WHERE project_id = :project_id AND id <> :id'),
      resource: prepare(
        upsert('kantata_resource', [
          'id',
          'workspace_id',
          'user_id',
          'role_id',
          'booking',
          'bill_rate',
          'cost_rate',
          'requested_minutes',
          'requested_start',
          'requested_end',
          'updated_at',
        ]),
      ),
      request: prepare(upsert('kantata_request', ['id', 'resource_id', 'status', 'updated_at'])),

      entry: prepare(
        upsert('kantata_time_entry', [
          'id',
          'workspace_id',
          'user_id',
          'date_performed',
          'minutes',
          'billable',
          'rate',
          'cost_rate',
          'submission_id',
          'updated_at',
        ]),
      ),
      booking: prepare<{ booking: Booking | null; user_id: string | null }>('SELECT booking, user_id FROM kantata_resource WHERE id = ?'),
      assignment: prepare<AssignmentQueryRow>(`${ASSIGNMENT_SELECT} AND r.id = ?`),
      unannounced: prepare<RequestQueryRow & { workspace_known: number }>(
        `SELECT q.id, w.project_id, ro.name AS role_name, r.requested_minutes, r.requested_start, r.requested_end, q.status, r.user_id, r.booking,
           w.id IS NOT NULL AS workspace_known
         FROM kantata_request q LEFT JOIN kantata_resource r ON r.id = q.resource_id LEFT JOIN kantata_workspace w ON w.id = r.workspace_id
         LEFT JOIN kantata_role ro ON ro.id = r.role_id WHERE q.announced = 0 ORDER BY q.id`,
      ),
      announce: prepare('UPDATE kantata_request SET announced = 1 WHERE id = ?'),
      announceAll: prepare('UPDATE kantata_request SET announced = 1 WHERE announced = 0'),
      workspaceOfProject: prepare<{ id: string }>('SELECT id FROM kantata_workspace WHERE project_id = ?'),
    };
  }

  // ---- writes (each inside the caller's transaction) ----

  applyRole(row: { id: string; name: string; updated_at: string }): void {
    this.statements.role.run(row);
  }

  applyWorkspace(row: WorkspaceRow): void {
    if (row.project_id !== null) this.statements.releaseProject.run({ project_id: row.project_id, id: row.id });
    this.statements.workspace.run({ ...row });
  }

  /** Records a workspace resource; its booking turning from tentative to confirmed is `assignment.confirmed`. */
  applyResource(row: ResourceRow, events: BusEvent[] | null): void {
    const before = this.statements.booking.get([row.id]);
    this.statements.resource.run({ ...row });
    const after = this.statements.booking.get([row.id]);
    if (events === null || before?.booking !== 'TENTATIVE' || after?.booking !== 'CONFIRMED' || after.user_id === null) return;
    const assignment = this.statements.assignment.get([row.id]);
    if (assignment) events.push(assignmentConfirmed(toAssignment(assignment), new Date(row.updated_at)));
  }

  applyRequest(row: RequestRow): void {
    this.statements.request.run({ ...row });
  }

  /** Records a milestone story; its status changes are the milestone's events (kantataMilestoneReplica.ts). */
  applyMilestone(row: MilestoneRow, events: BusEvent[] | null): void {
    this.milestones.apply(row, events);
  }

  /** Records a timesheet submission; its status changes are the timesheet's events (kantataTimesheetReplica.ts). */
  applySubmission(row: SubmissionRow, events: BusEvent[] | null): void {
    this.timesheets.applySubmission(row, events);
  }

  applyTimeEntry(row: TimeEntryRow): void {
    this.statements.entry.run({ ...row });
  }

  /**
   * `resource_request.created` for each request not yet announced whose resource and project are known (null:
   * mark them all announced, as the first listing does: requests that stood before psgraph looked are no news).
   */
  announceRequests(events: BusEvent[] | null, occurredAt = new Date()): void {
    if (events === null) {
      this.statements.announceAll.run();
      return;
    }
    for (const row of this.statements.unannounced.all()) {
      if (!row.workspace_known) continue;
      this.statements.announce.run([row.id]);
      // Only psgraph's projects, and only requests carrying what the event promises (hours and dates).
      if (row.project_id === null || !row.requested_minutes || !row.requested_start || !row.requested_end) continue;
      const request = toRequest(row as RequestQueryRow);
      events.push(
        newEvent('resource_request.created', {
          source: 'psa',
          subject: request.id,
          occurredAt,
          data: {
            resourceRequestId: request.id,
            projectId: request.projectId,
            role: request.role.code,
            hours: request.hours,
            startDate: request.startDate,
            endDate: request.endDate,
          },
        }),
      );
    }
  }

  /** Forgets a deleted workspace and everything psgraph kept of it. */
  removeWorkspace(workspaceId: string): void {
    this.store
      .prepareBackground('DELETE FROM kantata_request WHERE resource_id IN (SELECT id FROM kantata_resource WHERE workspace_id = ?)')
      .run([workspaceId]);
    this.store.prepareBackground('DELETE FROM kantata_resource WHERE workspace_id = ?').run([workspaceId]);
    this.store.prepareBackground('DELETE FROM kantata_time_entry WHERE workspace_id = ?').run([workspaceId]);
    this.store.prepareBackground('DELETE FROM kantata_milestone WHERE workspace_id = ?').run([workspaceId]);
    this.store.prepareBackground('DELETE FROM kantata_workspace WHERE id = ?').run([workspaceId]);
  }

  // ---- reads ----

  workspaceIdOf(projectId: string): string | undefined {
    return this.statements.workspaceOfProject.get([projectId])?.id;
  }

  workspaceIdsOf(projectIds: readonly string[]): Map<string, string> {
    const rows = this.store
      .prepareBackground<{ id: string; project_id: string }>(
        'SELECT id, project_id FROM kantata_workspace WHERE project_id IN (SELECT value FROM json_each(?))',
      )
      .all([jsonList(projectIds)]);
    return new Map(rows.map((row) => [row.project_id, row.id]));
  }

  roleIdOf(code: string): string | undefined {
    const roles = this.store.prepareBackground<{ id: string; name: string }>('SELECT id, name FROM kantata_role ORDER BY id').all();
    return roles.find((candidate) => roleCode(candidate.name) === code)?.id;
  }

  milestonesByProjectId(projectIds: readonly string[]): Map<string, PsaMilestone[]> {
    return groupBy(this.milestones.byProjectId(projectIds).map(toMilestone), (milestone) => milestone.projectId);
  }

  requestsByProjectId(projectIds: readonly string[]): Map<string, PsaResourceRequest[]> {
    const rows = this.store
      .prepareBackground<RequestQueryRow>(`${REQUEST_SELECT} AND w.project_id IN (SELECT value FROM json_each(?)) ORDER BY w.project_id, q.id`)
      .all([jsonList(projectIds)]);
    return groupBy(rows.map(toRequest), (request) => request.projectId);
  }

  requestsById(requestIds: readonly string[]): PsaResourceRequest[] {
    return this.store
      .prepareBackground<RequestQueryRow>(`${REQUEST_SELECT} AND q.id IN (SELECT value FROM json_each(?)) ORDER BY q.id`)
      .all([jsonList(requestIds)])
      .map(toRequest);
  }

  assignmentsByProjectId(projectIds: readonly string[]): Map<string, PsaAssignment[]> {
    const rows = this.store
      .prepareBackground<AssignmentQueryRow>(`${ASSIGNMENT_SELECT} AND w.project_id IN (SELECT value FROM json_each(?)) ORDER BY w.project_id, r.id`)
      .all([jsonList(projectIds)]);
    return groupBy(rows.map(toAssignment), (assignment) => assignment.projectId);
  }

  assignmentsByResourceId(userIds: readonly string[]): Map<string, PsaAssignment[]> {
    const rows = this.store
      .prepareBackground<AssignmentQueryRow>(`${ASSIGNMENT_SELECT} AND r.user_id IN (SELECT value FROM json_each(?)) ORDER BY r.user_id, w.start_date, r.id`)
      .all([jsonList(userIds)]);
    return groupBy(rows.map(toAssignment), (assignment) => assignment.resourceId);
  }

  assignmentsByRequestId(requestIds: readonly string[]): Map<string, PsaAssignment> {
    const rows = this.store
      .prepareBackground<AssignmentQueryRow>(
        `${ASSIGNMENT_SELECT} AND r.id IN (SELECT resource_id FROM kantata_request WHERE id IN (SELECT value FROM json_each(?)))`,
      )
      .all([jsonList(requestIds)]);
    const byResource = new Map(rows.map((row) => [row.id, toAssignment(row)]));
    const requests = this.store
      .prepareBackground<{ id: string; resource_id: string }>('SELECT id, resource_id FROM kantata_request WHERE id IN (SELECT value FROM json_each(?))')
      .all([jsonList(requestIds)]);
    const result = new Map<string, PsaAssignment>();
    for (const request of requests) {
      const assignment = byResource.get(request.resource_id);
      if (assignment && assignment.requestId === request.id) result.set(request.id, assignment);
    }
    return result;
  }

  /** An assignment as the replica has it (after psgraph wrote it through). */
  assignment(resourceId: string): PsaAssignment | undefined {
    const row = this.statements.assignment.get([resourceId]);
    return row ? toAssignment(row) : undefined;
  }

  timeTotalsByProjectId(projectIds: readonly string[]): Map<string, PsaTimeTotals> {
    const rows = this.store
      .prepareBackground<{
        project_id: string;
        entry_count: number;
        total_minutes: number;
        approved_minutes: number;
        submitted_minutes: number;
        open_minutes: number;
        approved_billable_minutes: number;
        approved_billable_value_minor: number;
        approved_cost_minor: number;
        last_entry_date: string | null;
      }>(
        `SELECT w.project_id, COUNT(*) AS entry_count, SUM(e.minutes) AS total_minutes,
           SUM(CASE WHEN s.status = 'approved' THEN e.minutes ELSE 0 END) AS approved_minutes,
           SUM(CASE WHEN s.status = 'new' THEN e.minutes ELSE 0 END) AS submitted_minutes,
           SUM(CASE WHEN s.status IS NULL OR s.status = 'cancelled' THEN e.minutes ELSE 0 END) AS open_minutes,
           SUM(CASE WHEN s.status = 'approved' AND e.billable = 1 THEN e.minutes ELSE 0 END) AS approved_billable_minutes,
           SUM(CASE WHEN s.status = 'approved' AND e.billable = 1 THEN ${entryValue('rate')} ELSE 0 END) AS approved_billable_value_minor,
           SUM(CASE WHEN s.status = 'approved' THEN ${entryValue('cost_rate')} ELSE 0 END) AS approved_cost_minor,
           MAX(e.date_performed) AS last_entry_date
         FROM kantata_workspace w JOIN kantata_time_entry e ON e.workspace_id = w.id LEFT JOIN kantata_submission s ON s.id = e.submission_id
         WHERE w.project_id IN (SELECT value FROM json_each(?)) GROUP BY w.project_id`,
      )
      .all([jsonList(projectIds)]);
    return new Map(
      rows.map((row) => [
        row.project_id,
        {
          projectId: row.project_id,
          timeEntryCount: row.entry_count,
          totalMinutes: row.total_minutes,
          approvedMinutes: row.approved_minutes,
          submittedMinutes: row.submitted_minutes,
          openMinutes: row.open_minutes,
          approvedBillableMinutes: row.approved_billable_minutes,
          approvedBillableValueMinor: row.approved_billable_value_minor,
          approvedCostMinor: row.approved_cost_minor,
          lastEntryDate: row.last_entry_date,
        },
      ]),
    );
  }

  approvedTimeByPeriod(userIds: readonly string[], fromDate: string, toDate: string, granularity: 'WEEK' | 'MONTH'): PsaApprovedTime[] {
    // The Monday on or before the date: step back six days, then forward to the next Monday.
    const period = granularity === 'WEEK' ? `date(e.date_performed, '-6 days', 'weekday 1')` : 'substr(e.date_performed, 1, 7)';
    return this.store
      .prepareBackground<{ resource_id: string; period_key: string; billable_minutes: number; non_billable_minutes: number }>(
        `SELECT e.user_id AS resource_id, ${period} AS period_key,
           SUM(CASE WHEN e.billable = 1 THEN e.minutes ELSE 0 END) AS billable_minutes,
           SUM(CASE WHEN e.billable = 0 THEN e.minutes ELSE 0 END) AS non_billable_minutes
         FROM kantata_time_entry e JOIN kantata_submission s ON s.id = e.submission_id AND s.status = 'approved'
         WHERE e.user_id IN (SELECT value FROM json_each(?)) AND e.date_performed BETWEEN ? AND ?
         GROUP BY e.user_id, period_key ORDER BY resource_id, period_key`,
      )
      .all([jsonList(userIds), fromDate, toDate])
      .map((row) => ({
        resourceId: row.resource_id,
        periodKey: row.period_key,
        billableMinutes: row.billable_minutes,
        nonBillableMinutes: row.non_billable_minutes,
      }));
  }
}

/** `assignment.confirmed`, as the sandbox emits it (contracts/events/assignment.confirmed.v1). */
export function assignmentConfirmed(assignment: PsaAssignment, occurredAt: Date): BusEvent {
  return newEvent('assignment.confirmed', {
    source: 'psa',
    subject: assignment.id,
    occurredAt,
    data: {
      assignmentId: assignment.id,
      projectId: assignment.projectId,
      resourceId: assignment.resourceId,
      resourceRequestId: assignment.requestId,
      role: assignment.role.code,
    },
  });
}
