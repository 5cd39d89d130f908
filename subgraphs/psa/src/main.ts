/** Entry point of the PSA subgraph process: reads its configuration and listens. */
import { loadSubgraphConfig } from '../../shared/src/index.js';
import { runSubgraphProcess } from '../../shared/src/runSubgraphProcess.js';
import { createPsaSubgraph } from './psaSubgraph.js';

await runSubgraphProcess('psa', () => loadSubgraphConfig('psa'), createPsaSubgraph);
