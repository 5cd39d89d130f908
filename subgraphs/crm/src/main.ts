/** Entry point of the CRM subgraph process: reads its configuration, opens the event bus and listens. */
import { loadSubgraphConfig } from '../../platform/src/index.js';
import { loadWorldOptions } from '../../sandboxes/src/index.js';
import { runSubgraphProcessWithEventBus } from '../../platform/src/subgraph/runSubgraphProcess.js';
import { createCrmSubgraph } from './crmSubgraph.js';

await runSubgraphProcessWithEventBus(
  'crm',
  () => ({ ...loadSubgraphConfig('crm'), world: loadWorldOptions() }),
  (config, bus) => createCrmSubgraph({ ...config, bus }),
);
