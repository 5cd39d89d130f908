/**
 * The ERP as one caller may see it (row-level access, enforced here where the data lives): a client user reads
 * the financial records of its own accounts only — customers by their CRM account, and a project's contract,
 * billing schedule and ledger only when the project's customer is one of them — never the firm-wide report; every
 * ERP write is the activation process's own.
 */
import { type Caller, isClient, readable, requireProcess, requireStaff } from '../../platform/src/index.js';
import type { ErpSystem, ErpWrites } from './erpPort.js';
import { guardedPort } from '../../platform/src/subgraph/guardedPort.js';
import { type ErpPostings, POSTINGS_OPERATIONS } from './erpPostingsPort.js';

export function erpFor(caller: Caller, erp: ErpSystem): ErpSystem {
  if (!isClient(caller) || caller.accountIds === null) return erp;
  const accountIds = [...caller.accountIds];
  // The caller's ERP customers, looked up once per request (the scoped view lives as long as the request).
  let customers: Promise<ReadonlySet<number>> | undefined;
  const ownCustomers = () => (customers ??= erp.customersByAccountId(accountIds).then((found) => new Set([...found.values()].map((customer) => customer.id))));
  const ownJobs = async (projectIds: readonly string[]) => {
    const [jobs, allowed] = await Promise.all([erp.jobsByProjectId(projectIds), ownCustomers()]);
    return new Map([...jobs].filter(([, job]) => allowed.has(job.customerId)));
  };
  const ofOwnProjects = async <V>(projectIds: readonly string[], read: (ids: readonly string[]) => Promise<Map<string, V>>) => {
    const jobs = await ownJobs(projectIds);
    return read(projectIds.filter((id) => jobs.has(id)));
  };
  return {
    legalEntities: () => erp.legalEntities(),
    legalEntitiesById: (ids) => erp.legalEntitiesById(ids),
    customersByAccountId: async (ids) => readable(caller, await erp.customersByAccountId(ids), (customer) => customer.externalId),
    jobsByProjectId: ownJobs,
    rateCardsById: (ids) => erp.rateCardsById(ids),
    rateCardsBySubsidiaryId: (ids) => erp.rateCardsBySubsidiaryId(ids),
    rateCardLinesByRateCardId: (ids) => erp.rateCardLinesByRateCardId(ids),
    billingSchedulesByProjectId: (ids) => ofOwnProjects(ids, (own) => erp.billingSchedulesByProjectId(own)),
    // Reached only through a schedule the caller may read.
    billingScheduleLinesByScheduleId: (ids) => erp.billingScheduleLinesByScheduleId(ids),
    ledgerTotalsByProjectId: (ids) => ofOwnProjects(ids, (own) => erp.ledgerTotalsByProjectId(own)),
    billingReport: async (query) => {
      requireStaff(caller, 'The billed-vs-unbilled report');
      return erp.billingReport(query);
    },
  };
}

export function erpWritesFor(caller: Caller, writes: ErpWrites): ErpWrites {
  const processOnly = (what: string) => requireProcess(caller, what);
  return {
    upsertCustomer: async (upsert) => {
      processOnly('Writing an ERP customer');
      return writes.upsertCustomer(upsert);
    },
    upsertJob: async (upsert) => {
      processOnly('Writing an ERP project');
      return writes.upsertJob(upsert);
    },
    upsertBillingSchedule: async (upsert) => {
      processOnly('Writing a billing schedule');
      return writes.upsertBillingSchedule(upsert);
    },
    deleteBillingSchedule: async (projectId) => {
      processOnly('Deleting a billing schedule');
      return writes.deleteBillingSchedule(projectId);
    },
    deleteJob: async (projectId) => {
      processOnly('Deleting an ERP project');
      return writes.deleteJob(projectId);
    },
  };
}

/**
 * Delivery postings are the posting process's: it alone reads the terms it checks against and writes postings and
 * reversals, under its own identity, as it alone makes the activation saga's writes.
 */
export function erpPostingsFor(caller: Caller, postings: ErpPostings): ErpPostings {
  return guardedPort(postings, POSTINGS_OPERATIONS, (what) => requireProcess(caller, what));
}
