/** Where the benchmark finds the repository, the standard benchmark's data and its own installed gateways. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, 'results');

/**
 * The standard benchmark's SDL, records and request body: `PSGRAPH_BENCH_DATA`, else the copy kept in this
 * repository (`test/bench/standard/data/`, with its source and licence).
 */
export function standardBenchDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['PSGRAPH_BENCH_DATA'] ? resolve(env['PSGRAPH_BENCH_DATA']) : join(BENCH_DIR, 'standard', 'data');
  if (!existsSync(join(dir, 'data.json'))) throw new Error(`The standard benchmark's data is not at ${dir}: set PSGRAPH_BENCH_DATA to its folder.`);
  return dir;
}
