/**
 * Entry point of the billing subgraph process: reads its configuration (which billing system,
 * `PSGRAPH_BILLING_SYSTEM`), opens the event bus and listens.
 */
import { loadSubgraphConfig } from '../../platform/src/index.js';
import { loadWorldOptions } from '../../sandboxes/src/index.js';
import { runSubgraphProcessWithEventBus } from '../../platform/src/subgraph/runSubgraphProcess.js';
import { loadBillingSystemConfig } from './billingConfig.js';
import { createBillingSubgraph, openBillingAdapter } from './billingSubgraph.js';

await runSubgraphProcessWithEventBus(
  'billing',
  () => ({ ...loadSubgraphConfig('billing'), world: loadWorldOptions(), billing: loadBillingSystemConfig() }),
  (config, bus) => createBillingSubgraph(config, { bus, adapter: openBillingAdapter(config.billing, config) }),
);
