/** Entry point of the billing subgraph process: reads its configuration and listens. */
import { loadSubgraphConfig } from '../../shared/src/index.js';
import { runSubgraphProcess } from '../../shared/src/runSubgraphProcess.js';
import { createBillingSubgraph } from './billingSubgraph.js';

await runSubgraphProcess('billing', () => loadSubgraphConfig('billing'), createBillingSubgraph);
