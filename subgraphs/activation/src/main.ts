/**
 * Entry point of the activation subgraph process: reads its configuration, opens the event bus (embedded by
 * default, Redis with REDIS_URL) on which CRM's opportunity events arrive, and listens.
 */
import { runSubgraphProcessWithEventBus } from '../../platform/src/subgraph/runSubgraphProcess.js';
import { type ActivationConfig, loadActivationConfig } from './activationConfig.js';
import { createActivationSubgraph } from './activationSubgraph.js';

// runSubgraphProcessWithEventBus hands back the configuration it loaded, which is loadActivationConfig's.
await runSubgraphProcessWithEventBus('activation', loadActivationConfig, (config, bus) => createActivationSubgraph(config as ActivationConfig, { bus }));
