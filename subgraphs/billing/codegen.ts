/**
 * How GraphQL Code Generator types this subgraph's resolvers (the repository's `codegen.ts` runs it): the
 * context every resolver gets, and the record each schema type is resolved from (paths from `src/generated/`).
 */
import type { SubgraphCodegen } from '../platform/codegen/subgraphCodegen.js';

export const billingCodegen: SubgraphCodegen = {
  contextType: '../billingLoaders.js#BillingContext',
  mappers: {

  },
};
