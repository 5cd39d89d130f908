/**
 * Builds the PSA subgraph service (schema + resolvers + sandbox), without listening.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { type SubgraphConfig, type SubgraphService, createSubgraphService } from '../../shared/src/index.js';
import { type PsaContext, createPsaLoaders } from './psaLoaders.js';
import type { PsaSystem } from './psaPort.js';
import { psaResolvers } from './psaResolvers.js';
import { openSandboxPsa } from './sandbox/sandboxPsa.js';

export const psaTypeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface PsaSubgraph extends SubgraphService {
  readonly psa: PsaSystem;
}

export function createPsaSubgraph(config: Pick<SubgraphConfig, 'dataDir' | 'world' | 'production'>, psa: PsaSystem = openSandboxPsa(config.dataDir, config.world)): PsaSubgraph {
  const service = createSubgraphService<PsaContext>({
    name: 'psa',
    typeDefs: psaTypeDefs,
    resolvers: psaResolvers as never,
    context: () => ({ psa, loaders: createPsaLoaders(psa) }),
    statementCount: () => psa.statementCount,
    close: () => psa.close(),
    production: config.production,
  });
  return Object.assign(service, { psa });
}
