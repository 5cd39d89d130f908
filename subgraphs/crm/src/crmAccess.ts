/**
 * The CRM as one caller may see it (row-level access, enforced here where the data lives): a client user reads
 * only its own accounts and their deals — by ID, in searches, in hierarchies and through entity references — and
 * writes nothing; corrections are for staff; the project link and the billing status are the process layer's own
 * writes.
 */
import { type Caller, accountsInScope, isClient, readable, readableLists, requireProcess, requireStaff } from '../../platform/src/index.js';
import type { CrmSystem, CrmWrites } from './crmPort.js';

export function crmFor(caller: Caller, crm: CrmSystem): CrmSystem {
  if (!isClient(caller)) return crm;
  return {
    accountsById: async (ids) => readable(caller, await crm.accountsById(ids), (account) => account.id),
    childAccountsByParentId: async (ids) => readableLists(caller, await crm.childAccountsByParentId(ids), (account) => account.id),
    ancestorsByAccountId: async (ids) => readableLists(caller, await crm.ancestorsByAccountId(ids), (account) => account.id),
    searchAccounts: (search, page) => crm.searchAccounts({ ...search, ids: accountsInScope(caller) ?? null }, page),
    opportunitiesById: async (ids) => readable(caller, await crm.opportunitiesById(ids), (opportunity) => opportunity.accountId),
    opportunitiesByAccountId: async (ids) => readableLists(caller, await crm.opportunitiesByAccountId(ids), (opportunity) => opportunity.accountId),
    opportunitiesByProjectId: async (ids) => readable(caller, await crm.opportunitiesByProjectId(ids), (opportunity) => opportunity.accountId),
    searchOpportunities: (search, page) => crm.searchOpportunities({ ...search, accountIds: accountsInScope(caller, search.accountId) ?? null }, page),
    // Reached only through a deal the caller may read.
    lineItemsByOpportunityId: (ids) => crm.lineItemsByOpportunityId(ids),
    usersById: (ids) => crm.usersById(ids),
    accountBillingStatusByAccountId: async (ids) => readable(caller, await crm.accountBillingStatusByAccountId(ids), (status) => status.accountId),
  };
}

export function crmWritesFor(caller: Caller, writes: CrmWrites): CrmWrites {
  return {
    setOpportunityStage: async (id, stage) => {
      requireStaff(caller, 'Changing a deal’s stage');
      return writes.setOpportunityStage(id, stage);
    },
    setOpportunityPoNumber: async (id, poNumber) => {
      requireStaff(caller, 'Correcting a deal');
      return writes.setOpportunityPoNumber(id, poNumber);
    },
    setAccountTaxId: async (id, taxId) => {
      requireStaff(caller, 'Correcting an account');
      return writes.setAccountTaxId(id, taxId);
    },
    linkProject: async (link) => {
      requireProcess(caller, 'Linking a deal to its project');
      return writes.linkProject(link);
    },
    unlinkProject: async (id, projectId) => {
      requireProcess(caller, 'Unlinking a deal from its project');
      return writes.unlinkProject(id, projectId);
    },
    recordAccountBillingStatus: async (update) => {
      requireProcess(caller, 'Recording an account’s billing status');
      return writes.recordAccountBillingStatus(update);
    },
  };
}
