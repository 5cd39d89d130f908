/**
 * Builds the CRM subgraph service (schema + resolvers over a CRM adapter: the sandbox or Salesforce), without
 * listening; this is the one place that picks the adapter. The CRM's business events (`opportunity.closed_won`,
 * `opportunity.reopened`) are relayed to the event bus for as long as it runs.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { type EventBus, InMemoryEventBus } from '../../platform/src/events/index.js';
import { type SubgraphService, createLogger, createSubgraphService, logLines, mergeResolverMaps } from '../../platform/src/index.js';
import { type SandboxSubgraphOptions, sandboxAdapter } from '../../sandboxes/src/index.js';
import { crmFor, crmWritesFor } from './crmAccess.js';
import type { CrmAdapter, CrmSystem, CrmWrites } from './crmPort.js';
import { type CrmContext, createCrmLoaders } from './crmLoaders.js';
import { crmMutationResolvers } from './crmMutations.js';
import { crmResolvers } from './crmResolvers.js';
import type { CrmSystemConfig } from './crmConfig.js';
import { openSalesforceCrm } from './salesforce/salesforceAdapter.js';
import { openSandboxCrm } from './sandbox/sandboxCrm.js';

export const crmTypeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface CrmSubgraphOptions extends SandboxSubgraphOptions {
  /** Where the CRM's business events go. @default a process-local bus, closed with the service */
  readonly bus?: EventBus;
}

export interface CrmSubgraph extends SubgraphService {
  readonly crm: CrmSystem & CrmWrites;
  readonly adapter: CrmAdapter;
  readonly bus: EventBus;
  /** Resolves once every event committed so far is on the bus (tests wait on it). */
  flushEvents(): Promise<void>;
}

/** The adapter the configuration names (`PSGRAPH_CRM_SYSTEM`), its own store in the data folder. */
export function openCrmAdapter(config: CrmSystemConfig, options: Pick<SandboxSubgraphOptions, 'dataDir' | 'world'>): CrmAdapter {
  switch (config.system) {
    case 'sandbox':
      return sandboxCrmAdapter(options);
    case 'salesforce':
      return openSalesforceCrm(config.salesforce, { dataDir: options.dataDir, log: logLines(createLogger('crm').child({ system: 'Salesforce' }), 'warn') });
  }
}

/** The CRM sandbox in the data folder, as an adapter. */
export function sandboxCrmAdapter(options: Pick<SandboxSubgraphOptions, 'dataDir' | 'world'>): CrmAdapter {
  const sandbox = openSandboxCrm(options.dataDir, options.world);
  return sandboxAdapter(sandbox, sandbox.store);
}

export function createCrmSubgraph(options: CrmSubgraphOptions, adapter: CrmAdapter = sandboxCrmAdapter(options)): CrmSubgraph {
  const crm = adapter.port;
  const bus = options.bus ?? new InMemoryEventBus();
  const relay = adapter.relayEvents(bus);
  const service = createSubgraphService<CrmContext>({
    name: 'crm',
    typeDefs: crmTypeDefs,
    resolvers: mergeResolverMaps(crmResolvers, crmMutationResolvers),
    // Each request sees the CRM as its caller may (row-level access).
    context: (caller) => {
      const visible = crmFor(caller, crm);
      return { caller, crm: visible, writes: crmWritesFor(caller, crm), loaders: createCrmLoaders(visible) };
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
  return Object.assign(service, { crm, adapter, bus, flushEvents: () => relay.flush() });
}
