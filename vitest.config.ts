import { defineConfig } from 'vitest/config';

const shared = {
  // Native SQLite and real sockets: separate processes keep each file's servers and stores apart.
  pool: 'forks' as const,
  testTimeout: 30_000,
  hookTimeout: 120_000,
  env: { APOLLO_TELEMETRY_DISABLED: '1' },
};

export default defineConfig({
  test: {
    passWithNoTests: false,
    projects: [
      {
        test: { ...shared, name: 'unit', include: ['subgraphs/*/test/**/*.test.ts', 'gateway/test/**/*.test.ts', 'supergraph/test/**/*.test.ts'] },
      },
      {
        // End-to-end suites run the whole stack over real HTTP; the sandboxes are seeded once for all of them.
        test: { ...shared, name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: ['test/support/globalSetup.ts'] },
      },
    ],
  },
});
