import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

const shared = {
  // Native SQLite and real sockets: separate processes keep each file's servers and stores apart.
  pool: 'forks' as const,
  testTimeout: 30_000,
  hookTimeout: 120_000,
  env: { APOLLO_TELEMETRY_DISABLED: '1' },
};

export default defineConfig({
  resolve: {
    // Node resolves 'graphql' to its CommonJS build (no "exports" field); Vite would pick the "module" build for
    // our sources, and graphql-js refuses a schema built by one copy in the functions of the other. Use the one
    // Node (and so @apollo/gateway, Apollo Server and graphql-ws) uses.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    passWithNoTests: false,
    projects: [
      {
        extends: true,
        test: {
          ...shared,
          name: 'unit',
          include: ['subgraphs/*/test/**/*.test.ts', 'gateway/test/**/*.test.ts', 'supergraph/test/**/*.test.ts', 'docs/**/*.test.ts'],
        },
      },
      {
        // End-to-end suites run the whole stack over real HTTP; the sandboxes are seeded once for all of them.
        extends: true,
        test: { ...shared, name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: ['test/support/globalSetup.ts'] },
      },
    ],
  },
});
