/** Entry point of the ERP subgraph process: reads its configuration and listens. */
import { loadSubgraphConfig } from '../../platform/src/index.js';
import { loadWorldOptions } from '../../sandboxes/src/index.js';
import { runSubgraphProcess } from '../../platform/src/subgraph/runSubgraphProcess.js';
import { createErpSubgraph } from './erpSubgraph.js';

await runSubgraphProcess('erp', () => ({ ...loadSubgraphConfig('erp'), world: loadWorldOptions() }), createErpSubgraph);
