/**
 * How GraphQL Code Generator types this subgraph's resolvers (the repository's `codegen.ts` runs it): the
 * context every resolver gets, and the record each schema type is resolved from (paths from `src/generated/`).
 */
import { PLATFORM, type SubgraphCodegen } from '../platform/codegen/subgraphCodegen.js';

export const psaCodegen: SubgraphCodegen = {
  contextType: '../psaLoaders.js#PsaContext',
  mappers: {
    Project: '../psaPort.js#PsaProject',
    Resource: '../psaPort.js#PsaResource',
    Role: '../psaPort.js#PsaRole',
    Milestone: '../psaPort.js#PsaMilestone',
    ResourceRequest: '../psaPort.js#PsaResourceRequest',
    Assignment: '../psaPort.js#PsaAssignment',
    Timesheet: '../psaDeliveryPort.js#PsaTimesheet',
    TimeEntry: '../psaDeliveryPort.js#PsaTimeEntry',
    Expense: '../psaDeliveryPort.js#PsaExpense',
    ProjectBillingStatus: '../psaBillingStatusPort.js#ProjectBillingStatus',
    MilestoneInvoice: '../psaBillingStatusPort.js#MilestoneInvoice',
    Account: `${PLATFORM}#EntityReference`,
    Invoice: `${PLATFORM}#EntityReference`,
  },
};
