// Hive Gateway with its defaults: an empty configuration, so that no configuration file elsewhere is picked up.
// With FORWARD_AUTHORIZATION=1 (the unique-authorization workload), the one change: the client's `authorization`
// header goes on to every subgraph, as it must wherever subgraphs authorize — and as psgraph does by default.
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig(
  process.env.FORWARD_AUTHORIZATION === '1'
    ? { propagateHeaders: { fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }) } }
    : {},
);
