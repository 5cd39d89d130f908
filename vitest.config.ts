import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['subgraphs/*/test/**/*.test.ts', 'gateway/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    // Native SQLite and real sockets: separate processes keep each file's servers and stores apart.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    passWithNoTests: false,
    env: { APOLLO_TELEMETRY_DISABLED: '1' },
  },
});
