/**
 * What the PSA subgraph needs from the PSA system. The sandbox implements it over SQLite; the Kantata adapter over
 * the Kantata OX REST API (workspaces, stories, workspace resources, timesheet submissions) and a local replica;
 * a Certinia one would over SOQL on `pse__*__c`. Every lookup takes a batch of keys, because every lookup is called from
 * a DataLoader. Methods are async because a vendor adapter's are.
 *
 * Money is in minor units with its currency; dates are ISO `YYYY-MM-DD`; time is in whole minutes, as Kantata
 * keeps it (`time_in_minutes`), so sums stay exact until the resolver turns them into hours.
 */
import type { PageRequest, SearchResult, SystemAdapter } from '../../platform/src/index.js';
import type { PsaBillingStatus } from './psaBillingStatusPort.js';
import type { PsaDelivery } from './psaDeliveryPort.js';

export type { SearchResult };

export type ProjectStatus = 'PLANNED' | 'ACTIVE' | 'ON_HOLD' | 'COMPLETED' | 'CANCELLED';
export type MilestoneStatus = 'PLANNED' | 'COMPLETED' | 'APPROVED_FOR_BILLING';
export type ResourceRequestStatus = 'OPEN' | 'HELD' | 'FULFILLED' | 'CANCELLED';
export type AssignmentStatus = 'TENTATIVE' | 'CONFIRMED' | 'CLOSED';
export type UtilizationGranularity = 'WEEK' | 'MONTH';

export interface PsaProject {
  /** Canonical project ID (`prj_…`), written into the PSA's external-reference field at activation. */
  readonly id: string;
  /** The PSA's own numeric ID (Kantata workspace ID). */
  readonly psaId: string;
  /** 18-character Salesforce Account ID of the client. */
  readonly accountId: string;
  readonly code: string;
  readonly name: string;
  readonly status: ProjectStatus;
  readonly region: string;
  readonly serviceLine: string;
  readonly contractType: string;
  readonly currency: string;
  readonly startDate: string;
  readonly endDate: string;
  readonly managerId: string;
}

export interface PsaRole {
  readonly code: string;
  readonly name: string;
}

export interface PsaResource {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly role: PsaRole;
  readonly region: string;
  readonly skills: readonly string[];
  /** The consultant's home currency, in which both rates are kept. */
  readonly currency: string;
  readonly costRateMinor: number;
  readonly billRateMinor: number;
  readonly weeklyCapacityHours: number;
}

export interface PsaMilestone {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly targetDate: string;
  readonly actualDate: string | null;
  readonly status: MilestoneStatus;
  readonly billable: boolean;
  /** Null when the milestone is not billable. */
  readonly amountMinor: number | null;
  readonly currency: string;
}

export interface PsaResourceRequest {
  readonly id: string;
  readonly projectId: string;
  readonly role: PsaRole;
  readonly hours: number;
  readonly startDate: string;
  readonly endDate: string;
  readonly status: ResourceRequestStatus;
}

export interface PsaAssignment {
  readonly id: string;
  readonly projectId: string;
  readonly resourceId: string;
  /** The staffing request this assignment fills; null for a consultant staffed directly. */
  readonly requestId: string | null;
  readonly role: PsaRole;
  readonly status: AssignmentStatus;
  /** Rates in the project's currency (the consultant's cost rate converted at staffing). */
  readonly billRateMinor: number;
  readonly costRateMinor: number;
  readonly currency: string;
}

/** Time booked on one project, summed by the approval status of each entry's timesheet. */
export interface PsaTimeTotals {
  readonly projectId: string;
  readonly timeEntryCount: number;
  readonly totalMinutes: number;
  readonly approvedMinutes: number;
  readonly submittedMinutes: number;
  readonly openMinutes: number;
  readonly approvedBillableMinutes: number;
  /** Sum over approved billable entries of minutes × bill rate ÷ 60, each entry rounded half up. */
  readonly approvedBillableValueMinor: number;
  /** Sum over approved entries of minutes × cost rate ÷ 60, each entry rounded half up. */
  readonly approvedCostMinor: number;
  readonly lastEntryDate: string | null;
}

/** Approved minutes of one consultant in one period (month `YYYY-MM` or the Monday of an ISO week). */
export interface PsaApprovedTime {
  readonly resourceId: string;
  /** `YYYY-MM` for months; the Monday (`YYYY-MM-DD`) of the week for weeks. */
  readonly periodKey: string;
  readonly billableMinutes: number;
  readonly nonBillableMinutes: number;
}

export interface ProjectSearch {
  readonly statuses?: readonly string[] | null;
  readonly regions?: readonly string[] | null;
  readonly serviceLines?: readonly string[] | null;
  readonly contractTypes?: readonly string[] | null;
  readonly accountId?: string | null;
  /** Only projects of these accounts (a client user's): how row-level access narrows a search. */
  readonly accountIds?: readonly string[] | null;
  /** Overlap: the project's start-to-end span touches [activeFrom, activeTo] (either end optional). */
  readonly activeFrom?: string | null;
  readonly activeTo?: string | null;
  readonly startFrom?: string | null;
  readonly startTo?: string | null;
}

export interface ResourceSearch {
  readonly ids?: readonly string[] | null;
  readonly roles?: readonly string[] | null;
  readonly regions?: readonly string[] | null;
  readonly skill?: string | null;
  readonly nameContains?: string | null;
}

export interface ApprovedTimeQuery {
  readonly resourceIds: readonly string[];
  readonly fromDate: string;
  readonly toDate: string;
  readonly granularity: UtilizationGranularity;
}

export interface PsaSystem {
  projectsById(ids: readonly string[]): Promise<Map<string, PsaProject>>;
  /** Ordered by start date, then ID. */
  searchProjects(search: ProjectSearch, page: PageRequest): Promise<SearchResult<PsaProject>>;
  resourcesById(ids: readonly string[]): Promise<Map<string, PsaResource>>;
  /** Ordered by name, then ID. */
  searchResources(search: ResourceSearch, page: PageRequest): Promise<SearchResult<PsaResource>>;
  /** At most `limit` matching consultants, ordered by name then ID, in one lookup (no count). */
  resourcesMatching(search: ResourceSearch, limit: number): Promise<readonly PsaResource[]>;
  milestonesByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaMilestone[]>>;
  resourceRequestsByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaResourceRequest[]>>;
  assignmentsByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaAssignment[]>>;
  assignmentsByResourceId(resourceIds: readonly string[]): Promise<Map<string, PsaAssignment[]>>;
  assignmentsByRequestId(requestIds: readonly string[]): Promise<Map<string, PsaAssignment>>;
  /** Projects without time have no entry in the map. */
  timeTotalsByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaTimeTotals>>;
  /** Approved time inside [fromDate, toDate], per consultant and period; periods without time are absent. */
  approvedTimeByPeriod(query: ApprovedTimeQuery): Promise<readonly PsaApprovedTime[]>;
}

/** A new project (Kantata workspace) as activation creates it. */
export interface NewPsaProject {
  /** The canonical project ID, kept as the workspace's external reference. */
  readonly id: string;
  readonly accountId: string;
  readonly code: string;
  readonly name: string;
  readonly region: string;
  readonly serviceLine: string;
  readonly contractType: string;
  readonly currency: string;
  readonly startDate: string;
  readonly endDate: string;
  readonly managerId: string;
}

export interface NewResourceRequest {
  readonly role: string;
  readonly hours: number;
  readonly startDate: string;
  readonly endDate: string;
}

/**
 * The writes psgraph makes to the PSA. Kantata has no idempotency key on any POST: a create retried after a
 * timeout creates a second record. So creates here are deliberately not idempotent, and a caller that may retry
 * searches first (the project by its canonical ID, its requests through the project). Cancels and deletes are
 * idempotent, as Kantata's cancel actions and hard DELETEs end in the same state however often they are sent.
 */
export interface PsaWrites {
  /** Creates the workspace; CONFLICT when a project already has this canonical ID. */
  createProject(project: NewPsaProject): Promise<PsaProject>;
  /**
   * Opens one staffing request per entry, each emitting `resource_request.created`. Not idempotent, and over a
   * vendor not atomic either: a failure part-way may leave the earlier requests open (each with its event), so a
   * caller that retries looks at the project's requests first.
   */
  createResourceRequests(projectId: string, requests: readonly NewResourceRequest[]): Promise<PsaResourceRequest[]>;
  /** Cancels the project's open and held requests (fulfilled ones stand); returns every request of the project. */
  cancelResourceRequests(projectId: string): Promise<PsaResourceRequest[]>;
  /** Hard-deletes a project nobody is staffed on, with its requests; false when there is none. */
  deleteProject(projectId: string): Promise<boolean>;
  /** Tentative → confirmed (its request fulfilled), emitting `assignment.confirmed`; confirming again changes nothing. */
  confirmAssignment(assignmentId: string): Promise<PsaAssignment>;
}

/**
 * The PSA as the subgraph runs over it: the port, and where its business events (`resource_request.created`,
 * `assignment.confirmed`) come from — the sandbox's outbox, or Kantata's changes, polled.
 */
export type PsaAdapter = SystemAdapter<PsaPort>;

/**
 * Everything the PSA subgraph asks of the PSA: its reads, activation's writes, delivery (psaDeliveryPort.ts) and
 * what billing reports back (psaBillingStatusPort.ts).
 */
export interface PsaPort extends PsaSystem, PsaWrites {
  readonly delivery: PsaDelivery;
  readonly billingStatus: PsaBillingStatus;
}
