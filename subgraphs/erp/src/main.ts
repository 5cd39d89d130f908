/** Entry point of the ERP subgraph process: reads its configuration and listens. */
import { loadSubgraphConfig } from '../../shared/src/index.js';
import { runSubgraphProcess } from '../../shared/src/runSubgraphProcess.js';
import { createErpSubgraph } from './erpSubgraph.js';

await runSubgraphProcess('erp', () => loadSubgraphConfig('erp'), createErpSubgraph);
