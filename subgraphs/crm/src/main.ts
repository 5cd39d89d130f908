/**
 * Entry point of the CRM subgraph process: reads its configuration (which CRM, `PSGRAPH_CRM_SYSTEM`), opens the
 * event bus and listens.
 */
import { loadSubgraphConfig } from '../../platform/src/index.js';
import { runSubgraphProcessWithEventBus } from '../../platform/src/subgraph/runSubgraphProcess.js';
import { loadWorldOptions } from '../../sandboxes/src/index.js';
import { loadCrmSystemConfig } from './crmConfig.js';
import { createCrmSubgraph, openCrmAdapter } from './crmSubgraph.js';

await runSubgraphProcessWithEventBus(
  'crm',
  () => ({ ...loadSubgraphConfig('crm'), world: loadWorldOptions(), crm: loadCrmSystemConfig() }),
  (config, bus) => createCrmSubgraph({ ...config, bus }, openCrmAdapter(config.crm, config)),
);
