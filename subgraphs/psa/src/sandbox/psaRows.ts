/** The PSA sandbox's rows and the port records they map to, with the column lists the adapter's queries share. */
import type {
  AssignmentStatus,
  MilestoneStatus,
  ProjectStatus,
  PsaAssignment,
  PsaMilestone,
  PsaProject,
  PsaResource,
  PsaResourceRequest,
  PsaTimeTotals,
  ResourceRequestStatus,
} from '../psaPort.js';

export interface ProjectRow {
  id: string;
  psa_id: string;
  account_id: string;
  code: string;
  name: string;
  status: ProjectStatus;
  region: string;
  service_line: string;
  contract_type: string;
  currency: string;
  start_date: string;
  end_date: string;
  manager_id: string;
}

export interface ResourceRow {
  id: string;
  name: string;
  email: string;
  role: string;
  role_name: string;
  region: string;
  currency: string;
  cost_rate_minor: number;
  bill_rate_minor: number;
  weekly_capacity_hours: number;
  /** JSON array of skill names. */
  skills: string;
}

export interface MilestoneRow {
  id: string;
  project_id: string;
  name: string;
  target_date: string;
  actual_date: string | null;
  status: MilestoneStatus;
  billable: 0 | 1;
  amount_minor: number | null;
  currency: string;
}

export interface ResourceRequestRow {
  id: string;
  project_id: string;
  role: string;
  role_name: string;
  hours: number;
  start_date: string;
  end_date: string;
  status: ResourceRequestStatus;
}

export interface AssignmentRow {
  id: string;
  project_id: string;
  resource_id: string;
  request_id: string | null;
  role: string;
  role_name: string;
  status: AssignmentStatus;
  bill_rate_minor: number;
  cost_rate_minor: number;
  currency: string;
}

export interface TimeTotalsRow {
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
}

export const toProject = (row: ProjectRow): PsaProject => ({
  id: row.id,
  psaId: row.psa_id,
  accountId: row.account_id,
  code: row.code,
  name: row.name,
  status: row.status,
  region: row.region,
  serviceLine: row.service_line,
  contractType: row.contract_type,
  currency: row.currency,
  startDate: row.start_date,
  endDate: row.end_date,
  managerId: row.manager_id,
});

export const toResource = (row: ResourceRow): PsaResource => ({
  id: row.id,
  name: row.name,
  email: row.email,
  role: { code: row.role, name: row.role_name },
  region: row.region,
  skills: JSON.parse(row.skills) as string[],
  currency: row.currency,
  costRateMinor: row.cost_rate_minor,
  billRateMinor: row.bill_rate_minor,
  weeklyCapacityHours: row.weekly_capacity_hours,
});

export const toMilestone = (row: MilestoneRow): PsaMilestone => ({
  id: row.id,
  projectId: row.project_id,
  name: row.name,
  targetDate: row.target_date,
  actualDate: row.actual_date,
  status: row.status,
  billable: row.billable === 1,
  amountMinor: row.amount_minor,
  currency: row.currency,
});

export const toResourceRequest = (row: ResourceRequestRow): PsaResourceRequest => ({
  id: row.id,
  projectId: row.project_id,
  role: { code: row.role, name: row.role_name },
  hours: row.hours,
  startDate: row.start_date,
  endDate: row.end_date,
  status: row.status,
});

export const toAssignment = (row: AssignmentRow): PsaAssignment => ({
  id: row.id,
  projectId: row.project_id,
  resourceId: row.resource_id,
  requestId: row.request_id,
  role: { code: row.role, name: row.role_name },
  status: row.status,
  billRateMinor: row.bill_rate_minor,
  costRateMinor: row.cost_rate_minor,
  currency: row.currency,
});

export const toTimeTotals = (row: TimeTotalsRow): PsaTimeTotals => ({
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
});

export const RESOURCE_COLUMNS = `r.id, r.name, r.email, r.role, ro.name AS role_name, r.region, r.currency, r.cost_rate_minor, r.bill_rate_minor,
  r.weekly_capacity_hours, (SELECT json_group_array(skill) FROM (SELECT skill FROM resource_skill s WHERE s.resource_id = r.id ORDER BY skill)) AS skills`;
export const RESOURCE_FROM = 'resource r JOIN role ro ON ro.code = r.role';
export const ASSIGNMENT_SELECT = `SELECT a.id, a.project_id, a.resource_id, a.request_id, a.role, ro.name AS role_name, a.status, a.bill_rate_minor,
  a.cost_rate_minor, p.currency FROM assignment a JOIN role ro ON ro.code = a.role JOIN project p ON p.id = a.project_id`;

export const APPROVED_TIME_WHERE = `FROM timesheet t JOIN time_entry e ON e.timesheet_id = t.id
  WHERE t.resource_id IN (SELECT value FROM json_each(:resourceIds)) AND t.status = 'APPROVED'
    AND t.week_start BETWEEN date(:fromDate, '-6 days') AND :toDate AND e.work_date BETWEEN :fromDate AND :toDate`;
export const APPROVED_TIME_SUMS = `t.resource_id AS resource_id, SUM(CASE WHEN e.billable = 1 THEN e.minutes ELSE 0 END) AS billable_minutes,
  SUM(CASE WHEN e.billable = 0 THEN e.minutes ELSE 0 END) AS non_billable_minutes`;

export interface ApprovedTimeRow {
  resource_id: string;
  period_key: string;
  billable_minutes: number;
  non_billable_minutes: number;
}
