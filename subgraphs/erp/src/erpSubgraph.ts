/**
 * Builds the ERP subgraph service (schema + resolvers + sandbox), without listening.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { type SubgraphService, createSubgraphService, mergeResolverMaps } from '../../platform/src/index.js';
import type { SandboxSubgraphOptions } from '../../sandboxes/src/index.js';
import type { ErpSystem, ErpWrites } from './erpPort.js';
import { type ErpContext, createErpLoaders } from './erpLoaders.js';
import { erpMutationResolvers } from './erpMutations.js';
import { erpResolvers } from './erpResolvers.js';
import { openSandboxErp } from './sandbox/sandboxErp.js';

export const erpTypeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface ErpSubgraph extends SubgraphService {
  readonly erp: ErpSystem & ErpWrites;
}

/** Takes the ERP as a port so that tests, and later a NetSuite adapter, can stand in for the sandbox. */
export function createErpSubgraph(config: SandboxSubgraphOptions, erp: ErpSystem & ErpWrites = openSandboxErp(config.dataDir, config.world)): ErpSubgraph {
  const service = createSubgraphService<ErpContext>({
    name: 'erp',
    typeDefs: erpTypeDefs,
    resolvers: mergeResolverMaps(erpResolvers, erpMutationResolvers),
    context: () => ({ erp, writes: erp, loaders: createErpLoaders(erp) }),
    statementCount: () => erp.statementCount,
    close: () => erp.close(),
    production: config.production,
  });
  return Object.assign(service, { erp });
}
