/**
 * The ERP subgraph's per-request DataLoaders: every entity reference and every child field reaches the ERP
 * through one of these, so a page of 50 projects costs one lookup per field, not 50.
 */
import { type Caller, listLoader, recordLoader } from '../../platform/src/index.js';
import type { ErpSystem, ErpWrites } from './erpPort.js';
import type { ErpPostings } from './erpPostingsPort.js';

export function createErpLoaders(erp: ErpSystem) {
  return {
    legalEntityById: recordLoader((ids: readonly number[]) => erp.legalEntitiesById(ids)),
    customerByAccountId: recordLoader((ids: readonly string[]) => erp.customersByAccountId(ids)),
    jobByProjectId: recordLoader((ids: readonly string[]) => erp.jobsByProjectId(ids)),
    rateCardById: recordLoader((ids: readonly number[]) => erp.rateCardsById(ids)),
    rateCardBySubsidiaryId: recordLoader((ids: readonly number[]) => erp.rateCardsBySubsidiaryId(ids)),
    rateCardLinesByRateCardId: listLoader((ids: readonly number[]) => erp.rateCardLinesByRateCardId(ids)),
    billingScheduleByProjectId: recordLoader((ids: readonly string[]) => erp.billingSchedulesByProjectId(ids)),
    billingScheduleLinesByScheduleId: listLoader((ids: readonly number[]) => erp.billingScheduleLinesByScheduleId(ids)),
    ledgerTotalsByProjectId: recordLoader((ids: readonly string[]) => erp.ledgerTotalsByProjectId(ids)),
  };
}

export type ErpLoaders = ReturnType<typeof createErpLoaders>;

/** What every ERP resolver gets: the system to read, the writes mutations make, and this request's loaders. */
export interface ErpContext {
  /** Who the request acts for; `erp` and `writes` are already scoped to what it may do. */
  readonly caller: Caller;
  readonly erp: ErpSystem;
  readonly writes: ErpWrites;
  /** Delivery postings: the posting process's (its own identity only). */
  readonly postings: ErpPostings;
  readonly loaders: ErpLoaders;
}
