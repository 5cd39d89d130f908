/**
 * Builds the PSA subgraph service (schema + resolvers + sandbox), without listening. The PSA's business events
 * (`resource_request.created`, `assignment.confirmed`) are relayed to the event bus for as long as it runs.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { type EventBus, InMemoryEventBus } from '../../platform/src/events/index.js';
import { type SubgraphService, createSubgraphService, mergeResolverMaps } from '../../platform/src/index.js';
import type { SandboxSubgraphOptions } from '../../sandboxes/src/index.js';
import { type PsaContext, createPsaLoaders } from './psaLoaders.js';
import { psaMutationResolvers } from './psaMutations.js';
import type { PsaSystem, PsaWrites } from './psaPort.js';
import { psaResolvers } from './psaResolvers.js';
import { psaSubscriptionResolvers } from './psaSubscriptions.js';
import { openSandboxPsa } from './sandbox/sandboxPsa.js';

export const psaTypeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface PsaSubgraphOptions extends SandboxSubgraphOptions {
  /** Where the PSA's business events go. @default a process-local bus, closed with the service */
  readonly bus?: EventBus;
}

export interface PsaSubgraph extends SubgraphService {
  readonly psa: PsaSystem & PsaWrites;
  readonly bus: EventBus;
  /** Resolves once every event committed so far is on the bus (tests wait on it). */
  flushEvents(): Promise<void>;
}

export function createPsaSubgraph(options: PsaSubgraphOptions, psa: PsaSystem & PsaWrites = openSandboxPsa(options.dataDir, options.world)): PsaSubgraph {
  const bus = options.bus ?? new InMemoryEventBus();
  const relay = psa.relayEvents(bus);
  const service = createSubgraphService<PsaContext>({
    name: 'psa',
    typeDefs: psaTypeDefs,
    resolvers: mergeResolverMaps(psaResolvers, psaMutationResolvers, psaSubscriptionResolvers(bus)),
    context: () => ({ psa, writes: psa, loaders: createPsaLoaders(psa) }),
    statementCount: () => psa.statementCount,
    close: async () => {
      await relay.stop();
      if (!options.bus) await bus.close();
      psa.close();
    },
    production: options.production,
  });
  return Object.assign(service, { psa, bus, flushEvents: () => relay.flush() });
}
