/**
 * Entry point of the activation subgraph process: reads its configuration, opens the event bus (embedded by
 * default, Redis with REDIS_URL) on which CRM's opportunity events arrive, and listens.
 */
import { PrincipalSigner } from '../../platform/src/security/principalTokens.js';
import { runSubgraphProcessWithEventBus } from '../../platform/src/subgraph/runSubgraphProcess.js';
import { type ActivationConfig, loadActivationConfig } from './activationConfig.js';
import { createActivationSubgraph } from './activationSubgraph.js';

// runSubgraphProcessWithEventBus hands back the configuration it loaded, which is loadActivationConfig's.
// The process layer's own key (PSGRAPH_SIGNING_KEY): the system subgraphs let only it make the saga's writes.
const signer = await PrincipalSigner.fromEnv();
await runSubgraphProcessWithEventBus('activation', loadActivationConfig, (config, bus) =>
  createActivationSubgraph(config as ActivationConfig, { bus, ...(signer ? { signer } : {}) }),
);
