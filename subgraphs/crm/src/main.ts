/** Entry point of the CRM subgraph process: reads its configuration, opens the event bus and listens. */
import { loadSubgraphConfig } from '../../shared/src/index.js';
import { runSubgraphProcessWithEventBus } from '../../shared/src/runSubgraphProcess.js';
import { createCrmSubgraph } from './crmSubgraph.js';

await runSubgraphProcessWithEventBus('crm', () => loadSubgraphConfig('crm'), (config, bus) => createCrmSubgraph({ ...config, bus }));
