/**
 * How GraphQL Code Generator types this subgraph's resolvers (the repository's `codegen.ts` runs it): the
 * context every resolver gets, and the record each schema type is resolved from (paths from `src/generated/`).
 */
import { PLATFORM, type SubgraphCodegen } from '../platform/codegen/subgraphCodegen.js';

export const erpCodegen: SubgraphCodegen = {
  contextType: '../erpLoaders.js#ErpContext',
  mappers: {
    BilledVsUnbilledRow: '../erpPort.js#BillingReportRow',
    LegalEntity: '../erpPort.js#ErpLegalEntity',
    Contract: '../erpPort.js#ErpJob',
    RateCard: '../erpPort.js#ErpRateCard',
    RateCardLine: '../erpPort.js#ErpRateCardLine',
    BillingSchedule: '../erpPort.js#ErpBillingSchedule',
    BillingScheduleLine: '../erpPort.js#ErpBillingScheduleLine',
    ProjectFinancials: '../erpPort.js#ErpLedgerTotals',
    // Entities other subgraphs own: this one knows them by key and loads its own fields lazily from it.
    Account: `${PLATFORM}#EntityReference`,
    Project: `${PLATFORM}#EntityReference`,
  },
};
