/**
 * Runs the standard benchmark's four subgraphs in one process: `PORT` (default 4300), `HOST` (default
 * 127.0.0.1), `PSGRAPH_BENCH_DATA` (default `./data/`, the copy kept in this
 * repository), `PSGRAPH_BENCH_MEMOIZE=false` to compute every response.
 */
import { standardBenchDataDir } from '../benchPaths.js';
import { createStandardSubgraphs, loadStandardBenchData } from './standardSubgraphs.js';

const subgraphs = createStandardSubgraphs(loadStandardBenchData(standardBenchDataDir()), { memoize: process.env['PSGRAPH_BENCH_MEMOIZE'] !== 'false' });
const url = await subgraphs.listen(Number(process.env['PORT'] ?? 4300), process.env['HOST'] ?? '127.0.0.1');
console.log(`[standard-subgraphs] ready at ${url}`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void subgraphs.close().then(() => process.exit(0)));
