/**
 * Builds the billing subgraph service (schema + resolvers + sandbox), without listening.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { type SubgraphConfig, type SubgraphService, createSubgraphService } from '../../shared/src/index.js';
import type { BillingSystem } from './billingPort.js';
import { type BillingContext, createBillingLoaders } from './billingLoaders.js';
import { billingResolvers } from './billingResolvers.js';
import { openSandboxBilling } from './sandbox/sandboxBilling.js';

export const billingTypeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface BillingSubgraph extends SubgraphService {
  readonly billing: BillingSystem;
}

export function createBillingSubgraph(
  config: Pick<SubgraphConfig, 'dataDir' | 'world' | 'production'>,
  billing: BillingSystem = openSandboxBilling(config.dataDir, config.world),
): BillingSubgraph {
  const service = createSubgraphService<BillingContext>({
    name: 'billing',
    typeDefs: billingTypeDefs,
    resolvers: billingResolvers as never,
    context: () => {
      const today = billing.today();
      return { billing, today, loaders: createBillingLoaders(billing, today) };
    },
    statementCount: () => billing.statementCount,
    close: () => billing.close(),
    production: config.production,
  });
  return Object.assign(service, { billing });
}
