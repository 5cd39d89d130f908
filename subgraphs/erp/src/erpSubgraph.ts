/**
 * Builds the ERP subgraph service (schema + resolvers over an ERP adapter: the sandbox or NetSuite), without
 * listening. This is the one place that picks the adapter.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { type SubgraphService, createLogger, createSubgraphService, logLines, mergeResolverMaps } from '../../platform/src/index.js';
import { type SandboxSubgraphOptions, sandboxAdapter } from '../../sandboxes/src/index.js';
import { erpFor, erpWritesFor, erpPostingsFor } from './erpAccess.js';
import { erpBillingResolvers } from './erpBillingResolvers.js';
import { erpPostingResolvers } from './erpPostingResolvers.js';
import type { ErpSystemConfig } from './erpConfig.js';
import type { ErpAdapter, ErpPort } from './erpPort.js';
import { type ErpContext, createErpLoaders } from './erpLoaders.js';
import { erpMutationResolvers } from './erpMutations.js';
import { erpResolvers } from './erpResolvers.js';
import { openNetSuiteErp } from './netsuite/netsuiteAdapter.js';
import { openSandboxErp } from './sandbox/sandboxErp.js';

export const erpTypeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface ErpSubgraph extends SubgraphService {
  readonly erp: ErpPort;
  readonly adapter: ErpAdapter;
}

/** The adapter the configuration names (`PSGRAPH_ERP_SYSTEM`); the sandbox keeps its store in the data folder. */
export function openErpAdapter(config: ErpSystemConfig, options: Pick<SandboxSubgraphOptions, 'dataDir' | 'world'>): ErpAdapter {
  switch (config.system) {
    case 'sandbox':
      return sandboxErpAdapter(options);
    case 'netsuite':
      return openNetSuiteErp(config.netsuite, { log: logLines(createLogger('erp').child({ system: 'NetSuite' }), 'warn') });
  }
}

/** The ERP sandbox in the data folder, as an adapter. */
export function sandboxErpAdapter(config: Pick<SandboxSubgraphOptions, 'dataDir' | 'world'>): ErpAdapter {
  const sandbox = openSandboxErp(config.dataDir, config.world);
  return sandboxAdapter(sandbox, sandbox.store);
}

export function createErpSubgraph(config: SandboxSubgraphOptions, adapter: ErpAdapter = sandboxErpAdapter(config)): ErpSubgraph {
  const erp = adapter.port;
  const service = createSubgraphService<ErpContext>({
    name: 'erp',
    typeDefs: erpTypeDefs,
    resolvers: mergeResolverMaps(erpResolvers, erpMutationResolvers, erpPostingResolvers, erpBillingResolvers),
    // Each request sees the ERP as its caller may (row-level access).
    context: (caller) => {
      const visible = erpFor(caller, erp);
      return { caller, erp: visible, writes: erpWritesFor(caller, erp), postings: erpPostingsFor(caller, erp.postings), loaders: createErpLoaders(visible) };
    },
    ...(config.principals ? { principals: config.principals } : {}),
    instrument: (metrics) => adapter.instrument(metrics),
    ...(adapter.routes ? { routes: adapter.routes } : {}),
    close: () => adapter.close(),
    production: config.production,
  });
  return Object.assign(service, { erp, adapter });
}
