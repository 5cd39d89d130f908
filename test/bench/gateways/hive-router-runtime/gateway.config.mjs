// Hive Gateway with its Rust query planner (@graphql-hive/router-runtime), otherwise its defaults. A .mjs file:
// the contenders' packages are installed only under test/bench, never type-checked with psgraph.
// With FORWARD_AUTHORIZATION=1 (the unique-authorization workload), the client's `authorization` header goes on
// to every subgraph, as it must wherever subgraphs authorize — and as psgraph does by default.
import { defineConfig } from '@graphql-hive/gateway';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';

export const gatewayConfig = defineConfig({
  unifiedGraphHandler,
  ...(process.env.FORWARD_AUTHORIZATION === '1'
    ? { propagateHeaders: { fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }) } }
    : {}),
});
