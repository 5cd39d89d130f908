/**
 * The sandbox stores shared by the end-to-end tests: seeded once per test run (by the global setup) at the
 * default volume, then opened read-mostly by every suite.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { inject } from 'vitest';
import { DEFAULT_WORLD_OPTIONS, type WorldOptions } from '../../subgraphs/sandboxes/src/world/world.js';

/** The default world, so that the end-to-end tests see what a user sees after `npm start`. */
export const E2E_WORLD: WorldOptions = DEFAULT_WORLD_OPTIONS;

declare module 'vitest' {
  export interface ProvidedContext {
    e2eDataDir: string;
  }
}

export function seededDataDir(): string {
  const dir = inject('e2eDataDir');
  if (!dir || !existsSync(join(dir, 'crm.db')))
    throw new Error('The end-to-end stores are not seeded: run the tests through vitest (test/support/globalSetup.ts).');
  return dir;
}

export function e2eDataDirFor(runId: string): string {
  return join(tmpdir(), `psgraph-e2e-${runId}`);
}
