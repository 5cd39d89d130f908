/** Entry point of the billing subgraph process: reads its configuration, opens the event bus and listens. */
import { loadSubgraphConfig } from '../../shared/src/index.js';
import { runSubgraphProcessWithEventBus } from '../../shared/src/runSubgraphProcess.js';
import { createBillingSubgraph } from './billingSubgraph.js';

await runSubgraphProcessWithEventBus('billing', () => loadSubgraphConfig('billing'), (config, bus) => createBillingSubgraph(config, { bus }));
