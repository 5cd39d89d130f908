/**
 * Builds the PSA subgraph service (schema + resolvers over a PSA adapter: the sandbox or Kantata), without
 * listening; this is the one place that picks the adapter. The PSA's business events (`resource_request.created`,
 * `assignment.confirmed`) are relayed to the event bus for as long as it runs.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { type EventBus, InMemoryEventBus } from '../../platform/src/events/index.js';
import { type SubgraphService, createLogger, createSubgraphService, logLines, mergeResolverMaps } from '../../platform/src/index.js';
import { type SandboxSubgraphOptions, sandboxAdapter } from '../../sandboxes/src/index.js';
import { openKantataPsa } from './kantata/kantataAdapter.js';
import type { PsaSystemConfig } from './psaConfig.js';
import { type PsaContext, createPsaLoaders } from './psaLoaders.js';
import { psaMutationResolvers } from './psaMutations.js';
import { psaBillingStatusFor, psaDeliveryFor, psaFor, psaWritesFor } from './psaAccess.js';
import type { PsaAdapter, PsaPort } from './psaPort.js';
import { psaBillingStatusResolvers } from './psaBillingStatusResolvers.js';
import { psaDeliveryResolvers } from './psaDeliveryResolvers.js';
import { psaResolvers } from './psaResolvers.js';
import { psaSubscriptionResolvers } from './psaSubscriptions.js';
import { openSandboxPsa } from './sandbox/sandboxPsa.js';

export const psaTypeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface PsaSubgraphOptions extends SandboxSubgraphOptions {
  /** Where the PSA's business events go. @default a process-local bus, closed with the service */
  readonly bus?: EventBus;
}

export interface PsaSubgraph extends SubgraphService {
  readonly psa: PsaPort;
  readonly adapter: PsaAdapter;
  readonly bus: EventBus;
  /** Resolves once every event committed so far is on the bus (tests wait on it). */
  flushEvents(): Promise<void>;
}

/** The adapter the configuration names (`PSGRAPH_PSA_SYSTEM`), its own store in the data folder. */
export function openPsaAdapter(config: PsaSystemConfig, options: Pick<SandboxSubgraphOptions, 'dataDir' | 'world'>): PsaAdapter {
  switch (config.system) {
    case 'sandbox':
      return sandboxPsaAdapter(options);
    case 'kantata':
      return openKantataPsa(config.kantata, { dataDir: options.dataDir, log: logLines(createLogger('psa').child({ system: 'Kantata' }), 'warn') });
  }
}

/** The PSA sandbox in the data folder, as an adapter. */
export function sandboxPsaAdapter(options: Pick<SandboxSubgraphOptions, 'dataDir' | 'world'>): PsaAdapter {
  const sandbox = openSandboxPsa(options.dataDir, options.world);
  return sandboxAdapter(sandbox, sandbox.store);
}

export function createPsaSubgraph(options: PsaSubgraphOptions, adapter: PsaAdapter = sandboxPsaAdapter(options)): PsaSubgraph {
  const psa = adapter.port;
  const bus = options.bus ?? new InMemoryEventBus();
  const relay = adapter.relayEvents(bus);
  const service = createSubgraphService<PsaContext>({
    name: 'psa',
    typeDefs: psaTypeDefs,
    resolvers: mergeResolverMaps(psaResolvers, psaMutationResolvers, psaDeliveryResolvers, psaBillingStatusResolvers, psaSubscriptionResolvers(bus)),
    // Each request sees the PSA as its caller may (row-level access).
    context: (caller) => {
      const visible = psaFor(caller, psa);
      const delivery = psaDeliveryFor(caller, psa.delivery);
      const billingStatus = psaBillingStatusFor(caller, psa.billingStatus);
      return {
        caller,
        psa: visible,
        writes: psaWritesFor(caller, psa),
        delivery,
        billingStatus,
        loaders: createPsaLoaders(visible, delivery, billingStatus),
      };
    },
    ...(options.principals ? { principals: options.principals } : {}),
    instrument: (metrics) => adapter.instrument(metrics),
    ...(adapter.routes ? { routes: adapter.routes } : {}),
    close: async () => {
      await relay.stop();
      await adapter.close();
      if (!options.bus) await bus.close();
    },
    production: options.production,
  });
  return Object.assign(service, { psa, adapter, bus, flushEvents: () => relay.flush() });
}
