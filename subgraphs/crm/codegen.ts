/**
 * How GraphQL Code Generator types this subgraph's resolvers (the repository's `codegen.ts` runs it): the
 * context every resolver gets, and the record each schema type is resolved from (paths from `src/generated/`).
 */
import { PLATFORM, type SubgraphCodegen } from '../platform/codegen/subgraphCodegen.js';

export const crmCodegen: SubgraphCodegen = {
  contextType: '../crmLoaders.js#CrmContext',
  mappers: {
    Account: '../crmPort.js#CrmAccount',
    Opportunity: '../crmPort.js#CrmOpportunity',
    OpportunityLineItem: '../crmPort.js#CrmLineItem',
    User: '../crmPort.js#CrmUser',
    AccountBillingStatus: '../crmPort.js#AccountBillingStatus',
    AccountReceivable: '../crmPort.js#AccountReceivable',
    Project: `${PLATFORM}#EntityReference`,
  },
};
