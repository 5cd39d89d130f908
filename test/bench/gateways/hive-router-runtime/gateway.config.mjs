// Hive Gateway with its Rust query planner (@graphql-hive/router-runtime), otherwise its defaults. A .mjs file:
// the contenders' packages are installed only under test/bench, never type-checked with psgraph.
import { defineConfig } from '@graphql-hive/gateway';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';

export const gatewayConfig = defineConfig({ unifiedGraphHandler });
