/**
 * Builds the billing subgraph service (schema + resolvers + sandbox), without listening.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import type { EventBus } from '../../platform/src/events/index.js';
import { type SubgraphService, createSubgraphService, mergeResolverMaps } from '../../platform/src/index.js';
import type { SandboxSubgraphOptions } from '../../sandboxes/src/index.js';
import type { BillingSystem } from './billingPort.js';
import { type BillingContext, createBillingLoaders } from './billingLoaders.js';
import { billingMutationResolvers } from './billingMutationsAndSubscriptions.js';
import { billingResolvers } from './billingResolvers.js';
import { openSandboxBilling } from './sandbox/sandboxBilling.js';

export const billingTypeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface BillingSubgraph extends SubgraphService {
  readonly billing: BillingSystem;
}

export interface BillingSubgraphOptions {
  /** The billing system; the SQLite sandbox in the data folder by default. */
  readonly billing?: BillingSystem;
  /** Where billing's business events go and subscriptions read them; without one, no events are published. */
  readonly bus?: EventBus;
}

export function createBillingSubgraph(config: SandboxSubgraphOptions, options: BillingSubgraphOptions = {}): BillingSubgraph {
  const billing = options.billing ?? openSandboxBilling(config.dataDir, config.world);
  const bus = options.bus;
  const events = bus ? billing.publishEventsTo(bus) : undefined;
  const service = createSubgraphService<BillingContext>({
    name: 'billing',
    typeDefs: billingTypeDefs,
    resolvers: mergeResolverMaps(billingResolvers, billingMutationResolvers),
    context: () => {
      const today = billing.today();
      return { billing, today, loaders: createBillingLoaders(billing, today), ...(bus ? { bus } : {}), ...(events ? { events } : {}) };
    },
    statementCount: () => billing.statementCount,
    close: async () => {
      await events?.stop();
      billing.close();
    },
    production: config.production,
  });
  return Object.assign(service, { billing });
}
