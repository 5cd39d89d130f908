/** Entry point of the activation subgraph process: reads its configuration and listens. */
import { runSubgraphProcess } from '../../shared/src/runSubgraphProcess.js';
import { type ActivationConfig, loadActivationConfig } from './activationConfig.js';
import { createActivationSubgraph } from './activationSubgraph.js';

// runSubgraphProcess hands back the configuration it loaded, which is loadActivationConfig's.
await runSubgraphProcess('activation', loadActivationConfig, (config) => createActivationSubgraph(config as ActivationConfig));
