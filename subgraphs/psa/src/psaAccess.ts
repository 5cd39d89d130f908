/**
 * The PSA as one caller may see it (row-level access, enforced here where the data lives): a client user reads
 * only its own accounts' projects — by ID, in searches and through entity references — and what hangs off them;
 * the consultant directory, utilization and staffing changes are for staff; the project and its staffing demand
 * are written by the activation process alone, and what billing reports back by the process layer alone.
 */
import { type Caller, accountsInScope, isClient, readable, requireProcess, requireStaff } from '../../platform/src/index.js';
import { guardedPort } from '../../platform/src/subgraph/guardedPort.js';
import type { PsaBillingStatus } from './psaBillingStatusPort.js';
import { DELIVERY_OPERATIONS, type PsaDelivery } from './psaDeliveryPort.js';
import type { PsaSystem, PsaWrites } from './psaPort.js';

export function psaFor(caller: Caller, psa: PsaSystem): PsaSystem {
  if (!isClient(caller)) return psa;
  const staffOnly = <T>(what: string, read: () => Promise<T>): Promise<T> => {
    requireStaff(caller, what);
    return read();
  };
  return {
    projectsById: async (ids) => readable(caller, await psa.projectsById(ids), (project) => project.accountId),
    searchProjects: (search, page) => psa.searchProjects({ ...search, accountIds: accountsInScope(caller, search.accountId) ?? null }, page),
    // A project's manager and consultants are shown on it (their rates are withheld by field authorization).
    resourcesById: (ids) => psa.resourcesById(ids),
    searchResources: (search, page) => staffOnly('The consultant directory', () => psa.searchResources(search, page)),
    resourcesMatching: (search, limit) => staffOnly('The consultant directory', () => psa.resourcesMatching(search, limit)),
    // Reached only through a project the caller may read.
    milestonesByProjectId: (ids) => psa.milestonesByProjectId(ids),
    resourceRequestsByProjectId: (ids) => psa.resourceRequestsByProjectId(ids),
    assignmentsByProjectId: (ids) => psa.assignmentsByProjectId(ids),
    assignmentsByRequestId: (ids) => psa.assignmentsByRequestId(ids),
    timeTotalsByProjectId: (ids) => psa.timeTotalsByProjectId(ids),
    assignmentsByResourceId: (ids) => staffOnly('A consultant’s assignments', () => psa.assignmentsByResourceId(ids)),
    approvedTimeByPeriod: (query) => staffOnly('Utilization', () => psa.approvedTimeByPeriod(query)),
  };
}

export function psaWritesFor(caller: Caller, writes: PsaWrites): PsaWrites {
  return {
    createProject: async (project) => {
      requireProcess(caller, 'Creating a PSA project');
      return writes.createProject(project);
    },
    createResourceRequests: async (projectId, requests) => {
      requireProcess(caller, 'Opening staffing requests');
      return writes.createResourceRequests(projectId, requests);
    },
    cancelResourceRequests: async (projectId) => {
      requireProcess(caller, 'Cancelling staffing requests');
      return writes.cancelResourceRequests(projectId);
    },
    deleteProject: async (projectId) => {
      requireProcess(caller, 'Deleting a PSA project');
      return writes.deleteProject(projectId);
    },
    confirmAssignment: async (assignmentId) => {
      requireStaff(caller, 'Confirming an assignment');
      return writes.confirmAssignment(assignmentId);
    },
  };
}

/**
 * Timesheets, expenses and milestone approvals are the firm's own delivery records: staff read and approve them (the
 * schema also asks `psa:write` for the approvals); a client user does neither.
 */
export function psaDeliveryFor(caller: Caller, delivery: PsaDelivery): PsaDelivery {
  return isClient(caller) ? guardedPort(delivery, DELIVERY_OPERATIONS, (what) => requireStaff(caller, what)) : delivery;
}

/**
 * What billing reported back is written by the process layer alone. It is read through a project (or its
 * milestones) the caller may read, so the reads need no narrowing here; which of its fields a client user sees is
 * the schema's and the resolvers' to say (unbilled work in progress is the firm's own).
 */
export function psaBillingStatusFor(caller: Caller, billingStatus: PsaBillingStatus): PsaBillingStatus {
  return {
    projectBillingStatusByProjectId: (ids) => billingStatus.projectBillingStatusByProjectId(ids),
    milestoneInvoiceByMilestoneId: (ids) => billingStatus.milestoneInvoiceByMilestoneId(ids),
    recordProjectBillingStatus: async (update) => {
      requireProcess(caller, 'Recording a project’s billing status');
      return billingStatus.recordProjectBillingStatus(update);
    },
    recordMilestoneInvoice: async (update) => {
      requireProcess(caller, 'Recording a milestone’s invoice');
      return billingStatus.recordMilestoneInvoice(update);
    },
  };
}
