/**
 * The CRM subgraph's per-request DataLoaders: every entity reference and every list field reaches the CRM
 * through one of these, so a page of 50 projects costs one lookup per field, not 50.
 */
import { type Caller, listLoader, recordLoader } from '../../platform/src/index.js';
import type { CrmSystem, CrmWrites } from './crmPort.js';

export function createCrmLoaders(crm: CrmSystem) {
  return {
    accountById: recordLoader((ids: readonly string[]) => crm.accountsById(ids)),
    childAccountsByParentId: listLoader((ids: readonly string[]) => crm.childAccountsByParentId(ids)),
    ancestorsByAccountId: listLoader((ids: readonly string[]) => crm.ancestorsByAccountId(ids)),
    opportunityById: recordLoader((ids: readonly string[]) => crm.opportunitiesById(ids)),
    opportunitiesByAccountId: listLoader((ids: readonly string[]) => crm.opportunitiesByAccountId(ids)),
    opportunityByProjectId: recordLoader((ids: readonly string[]) => crm.opportunitiesByProjectId(ids)),
    lineItemsByOpportunityId: listLoader((ids: readonly string[]) => crm.lineItemsByOpportunityId(ids)),
    userById: recordLoader((ids: readonly string[]) => crm.usersById(ids)),
    billingStatusByAccountId: recordLoader((ids: readonly string[]) => crm.accountBillingStatusByAccountId(ids)),
  };
}

export type CrmLoaders = ReturnType<typeof createCrmLoaders>;

/** What every CRM resolver gets: the system to read, the writes mutations make, and this request's loaders. */
export interface CrmContext {
  /** Who the request acts for; `crm` and `writes` are already scoped to what it may do. */
  readonly caller: Caller;
  readonly crm: CrmSystem;
  readonly writes: CrmWrites;
  readonly loaders: CrmLoaders;
}
