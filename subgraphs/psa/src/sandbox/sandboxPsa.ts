/**
 * The PSA sandbox: a Kantata/Certinia-shaped store in SQLite. It keeps the PSA's rules that matter to the
 * integration, in the store itself so that no caller can get around them:
 * - time is approved only through its weekly timesheet (Kantata's timesheet submission, Certinia's timecard
 *   header): one timesheet per consultant, project and week, and an entry's approval status *is* its timesheet's
 *   status — the entry has no approval column to disagree with;
 * - an entry is booked on an assignment of the timesheet's consultant on the timesheet's project, inside the
 *   timesheet's week and inside the project's dates, and never on a tentative (soft-booked) assignment;
 * - timesheets move OPEN → SUBMITTED → APPROVED | REJECTED → OPEN, and the time on a submitted or approved
 *   timesheet is locked;
 * - projects move through their own lifecycle, and their dates cannot shrink past booked time.
 * IDs are Kantata's: numeric strings, except the project's canonical `prj_…` ID kept as its external reference.
 */
import { join } from 'node:path';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type BusEvent, type EventBus, OUTBOX_DDL, appendToOutbox, newEvent, startOutboxRelay } from '../../../platform/src/events/index.js';
import { type PageRequest, type SqliteStore, WhereBuilder, groupBy, jsonList, searchPage } from '../../../platform/src/index.js';
import { inputError } from '../../../platform/src/subgraph/errors.js';
import { openSandboxStore } from '../../../sandboxes/src/index.js';
import { type WorldOptions, buildWorld } from '../../../sandboxes/src/world/world.js';
import type {
  ApprovedTimeQuery,
  NewPsaProject,
  NewResourceRequest,
  ProjectSearch,
  PsaApprovedTime,
  PsaAssignment,
  PsaMilestone,
  PsaProject,
  PsaResource,
  PsaResourceRequest,
  PsaSystem,
  PsaTimeTotals,
  PsaWrites,
  ResourceSearch,
  SearchResult,
} from '../psaPort.js';
import {
  APPROVED_TIME_SUMS,
  APPROVED_TIME_WHERE,
  ASSIGNMENT_SELECT,
  type ApprovedTimeRow,
  type AssignmentRow,
  type MilestoneRow,
  type ProjectRow,
  RESOURCE_COLUMNS,
  RESOURCE_FROM,
  type ResourceRequestRow,
  type ResourceRow,
  type TimeTotalsRow,
  toAssignment,
  toMilestone,
  toProject,
  toResource,
  toResourceRequest,
  toTimeTotals,
} from './psaRows.js';
import { installBillingStatus } from './psaBillingStatusSchema.js';
import { installDelivery } from './psaDeliverySchema.js';
import { TABLES } from './psaSchema.js';
import { seedPsa } from './psaSeed.js';
import { installTimeRollup } from './psaTimeRollup.js';
import { SandboxPsaBillingStatus } from './sandboxPsaBillingStatus.js';
import { SandboxPsaDelivery } from './sandboxPsaDelivery.js';

export class SandboxPsa implements PsaSystem, PsaWrites {
  private readonly projectsByIdStatement;
  private readonly resourcesByIdStatement;
  private readonly milestonesStatement;
  private readonly requestsStatement;
  private readonly assignmentsByProjectStatement;
  private readonly assignmentsByResourceStatement;
  private readonly assignmentsByRequestStatement;
  private readonly timeTotalsStatement;
  private readonly approvedTimeByMonthStatement;
  private readonly approvedTimeByWeekStatement;

  /** Timesheets, expenses and milestone approvals: the PSA as the system of record for delivery. */
  readonly delivery: SandboxPsaDelivery;
  /** What billing reported back: each project's billed and unbilled amounts, each milestone's invoice. */
  readonly billingStatus: SandboxPsaBillingStatus;

  constructor(readonly store: SqliteStore) {
    // Kantata's subscribed events, kept in an outbox written with each change and relayed to the bus.
    store.exec(OUTBOX_DDL);
    this.delivery = new SandboxPsaDelivery(store);
    this.billingStatus = new SandboxPsaBillingStatus(store);
    this.projectsByIdStatement = store.prepare<ProjectRow>('SELECT * FROM project WHERE id IN (SELECT value FROM json_each(?))');
    this.resourcesByIdStatement = store.prepare<ResourceRow>(`SELECT ${RESOURCE_COLUMNS} FROM ${RESOURCE_FROM} WHERE r.id IN (SELECT value FROM json_each(?))`);
    this.milestonesStatement = store.prepare<MilestoneRow>(
      `SELECT m.*, p.currency FROM milestone m JOIN project p ON p.id = m.project_id
       WHERE m.project_id IN (SELECT value FROM json_each(?)) ORDER BY m.project_id, m.sort_order`,
    );
    this.requestsStatement = store.prepare<ResourceRequestRow>(
      `SELECT q.id, q.project_id, q.role, ro.name AS role_name, q.hours, q.start_date, q.end_date, q.status
       FROM resource_request q JOIN role ro ON ro.code = q.role
       WHERE q.project_id IN (SELECT value FROM json_each(?)) ORDER BY q.project_id, q.id`,
    );
    this.assignmentsByProjectStatement = store.prepare<AssignmentRow>(
      `${ASSIGNMENT_SELECT} WHERE a.project_id IN (SELECT value FROM json_each(?)) ORDER BY a.project_id, a.id`,
    );
    this.assignmentsByResourceStatement = store.prepare<AssignmentRow>(
      `${ASSIGNMENT_SELECT} WHERE a.resource_id IN (SELECT value FROM json_each(?)) ORDER BY a.resource_id, p.start_date, a.id`,
    );
    this.assignmentsByRequestStatement = store.prepare<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.request_id IN (SELECT value FROM json_each(?))`);
    this.timeTotalsStatement = store.prepare<TimeTotalsRow>(
      `SELECT project_id, SUM(entry_count) AS entry_count, SUM(minutes) AS total_minutes,
         SUM(CASE WHEN status = 'APPROVED' THEN minutes ELSE 0 END) AS approved_minutes,
         SUM(CASE WHEN status = 'SUBMITTED' THEN minutes ELSE 0 END) AS submitted_minutes,
         SUM(CASE WHEN status = 'OPEN' THEN minutes ELSE 0 END) AS open_minutes,
         SUM(CASE WHEN status = 'APPROVED' THEN billable_minutes ELSE 0 END) AS approved_billable_minutes,
         SUM(CASE WHEN status = 'APPROVED' THEN billable_value_minor ELSE 0 END) AS approved_billable_value_minor,
         SUM(CASE WHEN status = 'APPROVED' THEN cost_minor ELSE 0 END) AS approved_cost_minor,
         MAX(last_entry_date) AS last_entry_date
       FROM project_time_rollup
       WHERE project_id IN (SELECT value FROM json_each(?)) AND entry_count > 0
       GROUP BY project_id`,
    );
    this.approvedTimeByMonthStatement = store.prepare<ApprovedTimeRow>(
      `SELECT ${APPROVED_TIME_SUMS}, substr(e.work_date, 1, 7) AS period_key ${APPROVED_TIME_WHERE} GROUP BY t.resource_id, period_key ORDER BY resource_id, period_key`,
    );
    // The Monday on or before the work date: step back six days, then forward to the next Monday.
    this.approvedTimeByWeekStatement = store.prepare<ApprovedTimeRow>(
      `SELECT ${APPROVED_TIME_SUMS}, date(e.work_date, '-6 days', 'weekday 1') AS period_key ${APPROVED_TIME_WHERE} GROUP BY t.resource_id, period_key ORDER BY resource_id, period_key`,
    );
  }

  get statementCount(): number {
    return this.store.statementCount;
  }

  async projectsById(ids: readonly string[]): Promise<Map<string, PsaProject>> {
    return new Map(this.projectsByIdStatement.all([jsonList(ids)]).map((row) => [row.id, toProject(row)]));
  }

  async searchProjects(search: ProjectSearch, page: PageRequest): Promise<SearchResult<PsaProject>> {
    const where = new WhereBuilder()
      .add('status IN (SELECT value FROM json_each(:statuses))', 'statuses', search.statuses)
      .add('region IN (SELECT value FROM json_each(:regions))', 'regions', search.regions)
      .add('service_line IN (SELECT value FROM json_each(:serviceLines))', 'serviceLines', search.serviceLines)
      .add('contract_type IN (SELECT value FROM json_each(:contractTypes))', 'contractTypes', search.contractTypes)
      .add('account_id = :accountId', 'accountId', search.accountId)
      .add('account_id IN (SELECT value FROM json_each(:accountIds))', 'accountIds', search.accountIds)
      .add('end_date >= :activeFrom', 'activeFrom', search.activeFrom)
      .add('start_date <= :activeTo', 'activeTo', search.activeTo)
      .add('start_date >= :startFrom', 'startFrom', search.startFrom)
      .add('start_date <= :startTo', 'startTo', search.startTo);
    return searchPage<ProjectRow, PsaProject>(this.store, { from: 'project', where, orderBy: 'start_date, id' }, page, toProject);
  }

  async resourcesById(ids: readonly string[]): Promise<Map<string, PsaResource>> {
    return new Map(this.resourcesByIdStatement.all([jsonList(ids)]).map((row) => [row.id, toResource(row)]));
  }

  async searchResources(search: ResourceSearch, page: PageRequest): Promise<SearchResult<PsaResource>> {
    return searchPage<ResourceRow, PsaResource>(
      this.store,
      { from: RESOURCE_FROM, where: resourceWhere(search), orderBy: 'r.name, r.id', columns: RESOURCE_COLUMNS },
      page,
      toResource,
    );
  }

  async resourcesMatching(search: ResourceSearch, limit: number): Promise<readonly PsaResource[]> {
    const where = resourceWhere(search);
    return this.store
      .prepare<ResourceRow>(`SELECT ${RESOURCE_COLUMNS} FROM ${RESOURCE_FROM} ${where} ORDER BY r.name, r.id LIMIT :limit`)
      .all({ ...where.params, limit })
      .map(toResource);
  }

  async milestonesByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaMilestone[]>> {
    return groupBy(this.milestonesStatement.all([jsonList(projectIds)]).map(toMilestone), (milestone) => milestone.projectId);
  }

  async resourceRequestsByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaResourceRequest[]>> {
    return groupBy(this.requestsStatement.all([jsonList(projectIds)]).map(toResourceRequest), (request) => request.projectId);
  }

  async assignmentsByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaAssignment[]>> {
    return groupBy(this.assignmentsByProjectStatement.all([jsonList(projectIds)]).map(toAssignment), (assignment) => assignment.projectId);
  }

  async assignmentsByResourceId(resourceIds: readonly string[]): Promise<Map<string, PsaAssignment[]>> {
    return groupBy(this.assignmentsByResourceStatement.all([jsonList(resourceIds)]).map(toAssignment), (assignment) => assignment.resourceId);
  }

  async assignmentsByRequestId(requestIds: readonly string[]): Promise<Map<string, PsaAssignment>> {
    return new Map(this.assignmentsByRequestStatement.all([jsonList(requestIds)]).map((row) => [row.request_id!, toAssignment(row)]));
  }

  async timeTotalsByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaTimeTotals>> {
    return new Map(this.timeTotalsStatement.all([jsonList(projectIds)]).map((row) => [row.project_id, toTimeTotals(row)]));
  }

  async approvedTimeByPeriod(query: ApprovedTimeQuery): Promise<readonly PsaApprovedTime[]> {
    const statement = query.granularity === 'WEEK' ? this.approvedTimeByWeekStatement : this.approvedTimeByMonthStatement;
    return statement.all({ resourceIds: jsonList(query.resourceIds), fromDate: query.fromDate, toDate: query.toDate }).map((row) => ({
      resourceId: row.resource_id,
      periodKey: row.period_key,
      billableMinutes: row.billable_minutes,
      nonBillableMinutes: row.non_billable_minutes,
    }));
  }

  async createProject(project: NewPsaProject): Promise<PsaProject> {
    return this.store.transaction(() => {
      if (this.projectsByIdStatement.all([jsonList([project.id])]).length > 0) {
        throw inputError(ErrorCode.CONFLICT, `A project with external reference ${project.id} already exists in the PSA.`);
      }
      const psaId = this.store.prepare<{ next: number }>('SELECT COALESCE(MAX(CAST(psa_id AS INTEGER)), 1000000) + 1 AS next FROM project').get()!.next;
      this.store
        .prepare(
          `INSERT INTO project (id, psa_id, account_id, code, name, status, region, service_line, contract_type, currency, start_date, end_date, manager_id)
           VALUES (?, ?, ?, ?, ?, 'PLANNED', ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run([
          project.id,
          String(psaId),
          project.accountId,
          project.code,
          project.name,
          project.region,
          project.serviceLine,
          project.contractType,
          project.currency,
          project.startDate,
          project.endDate,
          project.managerId,
        ]);
      return toProject(this.projectsByIdStatement.all([jsonList([project.id])])[0]!);
    });
  }

  async createResourceRequests(projectId: string, requests: readonly NewResourceRequest[]): Promise<PsaResourceRequest[]> {
    return this.store.transaction(() => {
      if (this.projectsByIdStatement.all([jsonList([projectId])]).length === 0)
        throw inputError(ErrorCode.NOT_FOUND, `Project ${projectId} does not exist in the PSA.`);
      const nextId = this.store.prepare<{ next: number }>('SELECT COALESCE(MAX(CAST(id AS INTEGER)), 30000000) + 1 AS next FROM resource_request');
      const insert = this.store.prepare(
        "INSERT INTO resource_request (id, project_id, role, hours, start_date, end_date, status) VALUES (?, ?, ?, ?, ?, ?, 'OPEN')",
      );
      const created: string[] = [];
      for (const request of requests) {
        const id = String(nextId.get()!.next);
        insert.run([id, projectId, request.role, request.hours, request.startDate, request.endDate]);
        created.push(id);
      }
      const byId = new Map(
        this.requestsStatement
          .all([jsonList([projectId])])
          .map(toResourceRequest)
          .map((request) => [request.id, request]),
      );
      const result = created.map((id) => byId.get(id)!);
      for (const request of result) {
        this.emit(
          newEvent('resource_request.created', {
            source: 'psa',
            subject: request.id,
            data: {
              resourceRequestId: request.id,
              projectId,
              role: request.role.code,
              hours: request.hours,
              startDate: request.startDate,
              endDate: request.endDate,
            },
          }),
        );
      }
      return result;
    });
  }

  async cancelResourceRequests(projectId: string): Promise<PsaResourceRequest[]> {
    return this.store.transaction(() => {
      this.store.prepare("UPDATE resource_request SET status = 'CANCELLED' WHERE project_id = ? AND status IN ('OPEN', 'HELD')").run([projectId]);
      return this.requestsStatement.all([jsonList([projectId])]).map(toResourceRequest);
    });
  }

  async deleteProject(projectId: string): Promise<boolean> {
    return this.store.transaction(() => {
      if (this.projectsByIdStatement.all([jsonList([projectId])]).length === 0) return false;
      const staffed = this.store
        .prepare<{ n: number }>('SELECT (SELECT COUNT(*) FROM assignment WHERE project_id = ?) + (SELECT COUNT(*) FROM timesheet WHERE project_id = ?) AS n')
        .get([projectId, projectId])!.n;
      if (staffed > 0) throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Project ${projectId} has assignments or time; it can be cancelled, not deleted.`);
      this.store.prepare('DELETE FROM milestone WHERE project_id = ?').run([projectId]);
      this.store.prepare('DELETE FROM resource_request WHERE project_id = ?').run([projectId]);
      this.store.prepare('DELETE FROM project WHERE id = ?').run([projectId]);
      return true;
    });
  }

  async confirmAssignment(assignmentId: string): Promise<PsaAssignment> {
    return this.store.transaction(() => {
      const current = this.store.prepare<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.id = ?`).get([assignmentId]);
      if (!current) throw inputError(ErrorCode.NOT_FOUND, `Assignment ${assignmentId} does not exist in the PSA.`);
      if (current.status === 'CLOSED') throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Assignment ${assignmentId} is closed; it cannot be confirmed.`);
      if (current.status === 'CONFIRMED') return toAssignment(current);
      this.store.prepare("UPDATE assignment SET status = 'CONFIRMED' WHERE id = ?").run([assignmentId]);
      if (current.request_id !== null)
        this.store.prepare("UPDATE resource_request SET status = 'FULFILLED' WHERE id = ? AND status = 'HELD'").run([current.request_id]);
      const confirmed = toAssignment(this.store.prepare<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.id = ?`).get([assignmentId])!);
      this.emit(
        newEvent('assignment.confirmed', {
          source: 'psa',
          subject: confirmed.id,
          data: {
            assignmentId: confirmed.id,
            projectId: confirmed.projectId,
            resourceId: confirmed.resourceId,
            resourceRequestId: confirmed.requestId,
            role: confirmed.role.code,
          },
        }),
      );
      return confirmed;
    });
  }

  relayEvents(bus: EventBus): { stop(): Promise<void>; flush(): Promise<void> } {
    return startOutboxRelay(this.store, bus, { pollMs: 100 });
  }

  private emit(event: BusEvent): void {
    appendToOutbox(this.store, event);
  }

  close(): void {
    this.store.close();
  }
}

function resourceWhere(search: ResourceSearch): WhereBuilder {
  return new WhereBuilder()
    .add('r.id IN (SELECT value FROM json_each(:ids))', 'ids', search.ids)
    .add('r.role IN (SELECT value FROM json_each(:roles))', 'roles', search.roles)
    .add('r.region IN (SELECT value FROM json_each(:regions))', 'regions', search.regions)
    .add('EXISTS (SELECT 1 FROM resource_skill s WHERE s.resource_id = r.id AND s.skill = :skill)', 'skill', search.skill)
    .contains('r.name', 'nameContains', search.nameContains);
}

/** Opens (creating and seeding on first use) the PSA sandbox in `dataDir/psa.db`. */
export function openSandboxPsa(dataDir: string, world: WorldOptions): SandboxPsa {
  const store = openSandboxStore({ file: join(dataDir, 'psa.db'), ddl: TABLES, world, seed: (fresh) => seedPsa(fresh, buildWorld(world)) });
  // A store seeded before the time rollup existed gets it now.
  installTimeRollup(store);
  installDelivery(store);
  installBillingStatus(store);
  return new SandboxPsa(store);
}
