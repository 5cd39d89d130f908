/** Entry point of the CRM subgraph process: reads its configuration and listens. */
import { loadSubgraphConfig } from '../../shared/src/index.js';
import { runSubgraphProcess } from '../../shared/src/runSubgraphProcess.js';
import { createCrmSubgraph } from './crmSubgraph.js';

await runSubgraphProcess('crm', () => loadSubgraphConfig('crm'), createCrmSubgraph);
