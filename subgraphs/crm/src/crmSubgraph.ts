/**
 * Builds the CRM subgraph service (schema + resolvers + sandbox), without listening.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { type SubgraphConfig, type SubgraphService, createSubgraphService } from '../../shared/src/index.js';
import type { CrmSystem } from './crmPort.js';
import { type CrmContext, createCrmLoaders } from './crmLoaders.js';
import { crmResolvers } from './crmResolvers.js';
import { openSandboxCrm } from './sandbox/sandboxCrm.js';

export const crmTypeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface CrmSubgraph extends SubgraphService {
  readonly crm: CrmSystem;
}

export function createCrmSubgraph(config: Pick<SubgraphConfig, 'dataDir' | 'world' | 'production'>, crm: CrmSystem = openSandboxCrm(config.dataDir, config.world)): CrmSubgraph {
  const service = createSubgraphService<CrmContext>({
    name: 'crm',
    typeDefs: crmTypeDefs,
    resolvers: crmResolvers as never,
    context: () => ({ crm, loaders: createCrmLoaders(crm) }),
    statementCount: () => crm.statementCount,
    close: () => crm.close(),
    production: config.production,
  });
  return Object.assign(service, { crm });
}
