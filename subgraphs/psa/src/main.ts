/**
 * Entry point of the PSA subgraph process: reads its configuration (which PSA, `PSGRAPH_PSA_SYSTEM`), opens the
 * event bus and listens.
 */
import { loadSubgraphConfig } from '../../platform/src/index.js';
import { runSubgraphProcessWithEventBus } from '../../platform/src/subgraph/runSubgraphProcess.js';
import { loadWorldOptions } from '../../sandboxes/src/index.js';
import { loadPsaSystemConfig } from './psaConfig.js';
import { createPsaSubgraph, openPsaAdapter } from './psaSubgraph.js';

await runSubgraphProcessWithEventBus(
  'psa',
  () => ({ ...loadSubgraphConfig('psa'), world: loadWorldOptions(), psa: loadPsaSystemConfig() }),
  (config, bus) => createPsaSubgraph({ ...config, bus }, openPsaAdapter(config.psa, config)),
);
