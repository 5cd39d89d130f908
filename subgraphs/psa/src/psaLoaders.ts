/**
 * The PSA subgraph's per-request DataLoaders: every entity reference and every list field reaches the PSA
 * through one of these, so a page of 50 projects costs one lookup per field, not 50.
 */
import { type Caller, listLoader, recordLoader } from '../../platform/src/index.js';
import type { PsaBillingStatus } from './psaBillingStatusPort.js';
import type { PsaDelivery } from './psaDeliveryPort.js';
import type { PsaSystem, PsaWrites } from './psaPort.js';

export function createPsaLoaders(psa: PsaSystem, delivery: PsaDelivery, billingStatus: PsaBillingStatus) {
  return {
    timesheetById: recordLoader((ids: readonly string[]) => delivery.timesheetsById(ids)),
    timeEntriesByTimesheetId: listLoader((ids: readonly string[]) => delivery.timeEntriesByTimesheetId(ids)),
    projectById: recordLoader((ids: readonly string[]) => psa.projectsById(ids)),
    resourceById: recordLoader((ids: readonly string[]) => psa.resourcesById(ids)),
    milestonesByProjectId: listLoader((ids: readonly string[]) => psa.milestonesByProjectId(ids)),
    resourceRequestsByProjectId: listLoader((ids: readonly string[]) => psa.resourceRequestsByProjectId(ids)),
    assignmentsByProjectId: listLoader((ids: readonly string[]) => psa.assignmentsByProjectId(ids)),
    assignmentsByResourceId: listLoader((ids: readonly string[]) => psa.assignmentsByResourceId(ids)),
    assignmentByRequestId: recordLoader((ids: readonly string[]) => psa.assignmentsByRequestId(ids)),
    timeTotalsByProjectId: recordLoader((ids: readonly string[]) => psa.timeTotalsByProjectId(ids)),
    billingStatusByProjectId: recordLoader((ids: readonly string[]) => billingStatus.projectBillingStatusByProjectId(ids)),
    invoiceByMilestoneId: recordLoader((ids: readonly string[]) => billingStatus.milestoneInvoiceByMilestoneId(ids)),
  };
}

export type PsaLoaders = ReturnType<typeof createPsaLoaders>;

/** What every PSA resolver gets: the system to read, the writes mutations make, and this request's loaders. */
export interface PsaContext {
  /** Who the request acts for; `psa` and `writes` are already scoped to what it may do. */
  readonly caller: Caller;
  readonly psa: PsaSystem;
  readonly writes: PsaWrites;
  /** Timesheets, expenses and milestone approvals (staff only). */
  readonly delivery: PsaDelivery;
  /** What billing reported back (written by the process layer alone). */
  readonly billingStatus: PsaBillingStatus;
  /** Not readonly: a subscription keeps one context for its lifetime and gives each event fresh loaders. */
  loaders: PsaLoaders;
}
