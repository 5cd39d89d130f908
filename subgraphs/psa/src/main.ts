/** Entry point of the PSA subgraph process: reads its configuration, opens the event bus and listens. */
import { loadSubgraphConfig } from '../../shared/src/index.js';
import { runSubgraphProcessWithEventBus } from '../../shared/src/runSubgraphProcess.js';
import { createPsaSubgraph } from './psaSubgraph.js';

await runSubgraphProcessWithEventBus('psa', () => loadSubgraphConfig('psa'), (config, bus) => createPsaSubgraph({ ...config, bus }));
