/** Where the benchmark finds the repository, its shared data and its own installed gateways. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, 'results');

/**
 * The standard benchmark's SDL, records and request body: `PSGRAPH_BENCH_DATA`, else
 * `shared/bench-data/graphql-gateways-benchmark` beside the repository.
 */
export function standardBenchDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['PSGRAPH_BENCH_DATA'] ? resolve(env['PSGRAPH_BENCH_DATA']) : resolve(REPO_ROOT, '..', 'shared', 'bench-data', 'graphql-gateways-benchmark');
  if (!existsSync(join(dir, 'data.json'))) throw new Error(`The standard benchmark's data is not at ${dir}: set PSGRAPH_BENCH_DATA to its folder.`);
  return dir;
}
