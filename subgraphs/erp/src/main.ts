/** Entry point of the ERP subgraph process: reads its configuration (which ERP, `PSGRAPH_ERP_SYSTEM`) and listens. */
import { loadSubgraphConfig } from '../../platform/src/index.js';
import { loadWorldOptions } from '../../sandboxes/src/index.js';
import { runSubgraphProcess } from '../../platform/src/subgraph/runSubgraphProcess.js';
import { loadErpSystemConfig } from './erpConfig.js';
import { createErpSubgraph, openErpAdapter } from './erpSubgraph.js';

await runSubgraphProcess(
  'erp',
  () => ({ ...loadSubgraphConfig('erp'), world: loadWorldOptions(), erp: loadErpSystemConfig() }),
  (config) => createErpSubgraph(config, openErpAdapter(config.erp, config)),
);
