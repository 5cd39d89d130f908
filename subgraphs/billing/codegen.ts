/**
 * How GraphQL Code Generator types this subgraph's resolvers (the repository's `codegen.ts` runs it): the
 * context every resolver gets, and the record each schema type is resolved from (paths from `src/generated/`).
 */
import { PLATFORM, type SubgraphCodegen } from '../platform/codegen/subgraphCodegen.js';

export const billingCodegen: SubgraphCodegen = {
  contextType: '../billingLoaders.js#BillingContext',
  mappers: {
    Invoice: '../billingPort.js#BillingInvoice',
    Payment: '../billingPort.js#BillingPayment',
    InvoiceLine: '../billingLoaders.js#InvoiceLineView',
    CreditNote: '../billingPort.js#BillingCreditNote',
    CreditNoteLine: '../billingLoaders.js#CreditNoteLineView',
    InvoiceSummary: '../billingPort.js#InvoiceSummaryRecord',
    Receivable: '../billingPort.js#ReceivableRecord',
    Project: `${PLATFORM}#EntityReference`,
    Account: `${PLATFORM}#EntityReference`,
  },
};
