/** Entry point of the billing subgraph process: reads its configuration, opens the event bus and listens. */
import { loadSubgraphConfig } from '../../platform/src/index.js';
import { loadWorldOptions } from '../../sandboxes/src/index.js';
import { runSubgraphProcessWithEventBus } from '../../platform/src/subgraph/runSubgraphProcess.js';
import { createBillingSubgraph } from './billingSubgraph.js';

await runSubgraphProcessWithEventBus(
  'billing',
  () => ({ ...loadSubgraphConfig('billing'), world: loadWorldOptions() }),
  (config, bus) => createBillingSubgraph(config, { bus }),
);
