/**
 * Builds the billing subgraph service (schema + resolvers over a billing adapter: the sandbox or Stripe), without
 * listening; this is the one place that picks the adapter.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import type { EventBus } from '../../platform/src/events/index.js';
import { type SubgraphService, createLogger, createSubgraphService, logLines, mergeResolverMaps } from '../../platform/src/index.js';
import { type SandboxSubgraphOptions, sandboxAdapter } from '../../sandboxes/src/index.js';
import type { BillingSystemConfig } from './billingConfig.js';
import type { BillingAdapter, BillingSystem } from './billingPort.js';
import { billingFor } from './billingAccess.js';
import { type BillingContext, createBillingLoaders } from './billingLoaders.js';
import { billingMutationResolvers } from './billingMutationsAndSubscriptions.js';
import { billingResolvers } from './billingResolvers.js';
import { type SandboxBilling, openSandboxBilling } from './sandbox/sandboxBilling.js';
import { openStripeBilling } from './stripe/stripeAdapter.js';

export const billingTypeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface BillingSubgraph extends SubgraphService {
  readonly billing: BillingSystem;
  readonly adapter: BillingAdapter;
}

export interface BillingSubgraphOptions {
  /** The billing system; the SQLite sandbox in the data folder by default. */
  readonly adapter?: BillingAdapter;
  /** Where billing's business events go and subscriptions read them; without one, no events are published. */
  readonly bus?: EventBus;
}

/** The adapter the configuration names (`PSGRAPH_BILLING_SYSTEM`), its own store in the data folder. */
export function openBillingAdapter(config: BillingSystemConfig, options: Pick<SandboxSubgraphOptions, 'dataDir' | 'world'>): BillingAdapter {
  switch (config.system) {
    case 'sandbox':
      return sandboxBillingAdapter(options);
    case 'stripe':
      return openStripeBilling(config.stripe, { dataDir: options.dataDir, log: logLines(createLogger('billing').child({ system: 'Stripe' }), 'warn') });
  }
}

/** The billing sandbox in the data folder (or one already open, e.g. on a test's clock), as an adapter. */
export function sandboxBillingAdapter(
  config: Pick<SandboxSubgraphOptions, 'dataDir' | 'world'>,
  sandbox: SandboxBilling = openSandboxBilling(config.dataDir, config.world),
): BillingAdapter {
  return sandboxAdapter(sandbox, sandbox.store);
}

export function createBillingSubgraph(config: SandboxSubgraphOptions, options: BillingSubgraphOptions = {}): BillingSubgraph {
  const adapter = options.adapter ?? sandboxBillingAdapter(config);
  const billing = adapter.port;
  const bus = options.bus;
  const events = bus ? adapter.relayEvents(bus) : undefined;
  const service = createSubgraphService<BillingContext>({
    name: 'billing',
    typeDefs: billingTypeDefs,
    resolvers: mergeResolverMaps(billingResolvers, billingMutationResolvers),
    // Each request sees billing as its caller may (row-level access).
    context: (caller) => {
      const visible = billingFor(caller, billing);
      const today = visible.today();
      return { caller, billing: visible, today, loaders: createBillingLoaders(visible, today), ...(bus ? { bus } : {}), ...(events ? { events } : {}) };
    },
    ...(config.principals ? { principals: config.principals } : {}),
    instrument: (metrics) => adapter.instrument(metrics),
    ...(adapter.routes ? { routes: adapter.routes } : {}),
    close: async () => {
      await events?.stop();
      await adapter.close();
    },
    production: config.production,
  });
  return Object.assign(service, { billing, adapter });
}
