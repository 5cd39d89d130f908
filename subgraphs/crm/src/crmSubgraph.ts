/**
 * Builds the CRM subgraph service (schema + resolvers + sandbox), without listening. The CRM's business events
 * (`opportunity.closed_won`, `opportunity.reopened`) are relayed to the event bus for as long as it runs.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { type EventBus, InMemoryEventBus } from '../../platform/src/events/index.js';
import { type SubgraphService, createSubgraphService, mergeResolverMaps } from '../../platform/src/index.js';
import type { SandboxSubgraphOptions } from '../../sandboxes/src/index.js';
import type { CrmSystem, CrmWrites } from './crmPort.js';
import { type CrmContext, createCrmLoaders } from './crmLoaders.js';
import { crmMutationResolvers } from './crmMutations.js';
import { crmResolvers } from './crmResolvers.js';
import { openSandboxCrm } from './sandbox/sandboxCrm.js';

export const crmTypeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface CrmSubgraphOptions extends SandboxSubgraphOptions {
  /** Where the CRM's business events go. @default a process-local bus, closed with the service */
  readonly bus?: EventBus;
}

export interface CrmSubgraph extends SubgraphService {
  readonly crm: CrmSystem & CrmWrites;
  readonly bus: EventBus;
  /** Resolves once every event committed so far is on the bus (tests wait on it). */
  flushEvents(): Promise<void>;
}

export function createCrmSubgraph(options: CrmSubgraphOptions, crm: CrmSystem & CrmWrites = openSandboxCrm(options.dataDir, options.world)): CrmSubgraph {
  const bus = options.bus ?? new InMemoryEventBus();
  const relay = crm.relayEvents(bus);
  const service = createSubgraphService<CrmContext>({
    name: 'crm',
    typeDefs: crmTypeDefs,
    resolvers: mergeResolverMaps(crmResolvers, crmMutationResolvers),
    context: () => ({ crm, writes: crm, loaders: createCrmLoaders(crm) }),
    statementCount: () => crm.statementCount,
    close: async () => {
      await relay.stop();
      if (!options.bus) await bus.close();
      crm.close();
    },
    production: options.production,
  });
  return Object.assign(service, { crm, bus, flushEvents: () => relay.flush() });
}
