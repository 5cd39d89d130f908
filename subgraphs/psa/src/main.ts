/** Entry point of the PSA subgraph process: reads its configuration, opens the event bus and listens. */
import { loadSubgraphConfig } from '../../platform/src/index.js';
import { loadWorldOptions } from '../../sandboxes/src/index.js';
import { runSubgraphProcessWithEventBus } from '../../platform/src/subgraph/runSubgraphProcess.js';
import { createPsaSubgraph } from './psaSubgraph.js';

await runSubgraphProcessWithEventBus(
  'psa',
  () => ({ ...loadSubgraphConfig('psa'), world: loadWorldOptions() }),
  (config, bus) => createPsaSubgraph({ ...config, bus }),
);
