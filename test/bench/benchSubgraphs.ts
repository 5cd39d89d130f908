/** The subgraphs the benchmark's gateways run over: psgraph's own (workloads a–c) and the standard benchmark's (d, d′). */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { BENCH_DIR, REPO_ROOT, standardBenchDataDir } from './benchPaths.js';
import { type BenchProcess, freePort, startProcess, waitUntil } from './processes.js';
import { expectedTestQueryResponse, loadStandardBenchData, standardSupergraphAt } from './standard/standardSubgraphs.js';

/** What the subgraph starters need from the run: its set of live processes (stopped on exit), its log and CPU plan. */
export interface BenchHost {
  readonly running: Set<BenchProcess>;
  readonly log: (message: string) => void;
  /** The CPU list the subgraphs are pinned to; undefined on a machine too small to pin. */
  readonly othersCpu: string | undefined;
  /** Further environment of psgraph's subgraphs (the principal keys they verify with). */
  readonly psgraphSubgraphEnv?: NodeJS.ProcessEnv;
}

const PSGRAPH_SYSTEMS = ['crm', 'psa', 'erp', 'billing'] as const;

export interface Subgraphs {
  readonly supergraph: string;
  readonly standard?: { requestBody: string; expected: unknown };
  /** Requests all the subgraphs have received since they started. */
  requestCount(): Promise<number>;
  stop(): Promise<void>;
}

/** psgraph's four system subgraphs as processes, over sandboxes seeded once into `$TMPDIR/psgraph-bench-data`. */
export async function startPsgraphSubgraphs(host: BenchHost): Promise<Subgraphs> {
  const { running, log, othersCpu } = host;
  const dataDir = join(tmpdir(), 'psgraph-bench-data');
  const ports = Object.fromEntries(await Promise.all(PSGRAPH_SYSTEMS.map(async (name) => [name, await freePort()] as const))) as Record<
    (typeof PSGRAPH_SYSTEMS)[number],
    number
  >;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    NODE_ENV: 'production',
    APOLLO_TELEMETRY_DISABLED: '1',
    PSGRAPH_HOST: '127.0.0.1',
    PSGRAPH_DATA_DIR: dataDir,
    ...host.psgraphSubgraphEnv,
  };
  for (const name of PSGRAPH_SYSTEMS) env[`PSGRAPH_${name.toUpperCase()}_PORT`] = String(ports[name]);
  log(`starting psgraph's four subgraphs (data in ${dataDir}; the first run seeds it)`);
  const processes = PSGRAPH_SYSTEMS.map((name) =>
    startProcess({
      name,
      command: process.execPath,
      args: ['--import', 'tsx', `subgraphs/${name}/src/main.ts`],
      cwd: REPO_ROOT,
      env,
      ...(othersCpu === undefined ? {} : { cpu: 0 }),
    }),
  );
  for (const p of processes) running.add(p);
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    for (const p of processes) running.delete(p);
  };
  try {
    await Promise.all(
      processes.map((p, i) =>
        waitUntil(
          p,
          async () => (await (await request(`http://127.0.0.1:${ports[PSGRAPH_SYSTEMS[i]!]}/health`, { headersTimeout: 2_000 })).body.text()).includes('ok'),
          300_000,
        ),
      ),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const closedPort = await freePort();
  const supergraph = readFileSync(join(REPO_ROOT, 'supergraph', 'supergraph.graphql'), 'utf8').replace(
    /@join__graph\(name: "(\w+)", url: "[^"]*"\)/g,
    // Workloads never reach activation: it points at a closed port, never at a service someone else runs.
    (_match, name: string) =>
      `@join__graph(name: "${name}", url: "http://127.0.0.1:${name in ports ? ports[name as keyof typeof ports] : closedPort}/graphql")`,
  );
  return {
    supergraph,
    async requestCount() {
      const counts = await Promise.all(
        PSGRAPH_SYSTEMS.map(async (name) => {
          const text = await (await request(`http://127.0.0.1:${ports[name]}/metrics`)).body.text();
          return Number(/^psgraph_graphql_requests_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
        }),
      );
      return counts.reduce((a, b) => a + b, 0);
    },
    stop,
  };
}

/** The standard benchmark's four subgraphs (psgraph's Node implementation), in one process. */
export async function startStandardSubgraphs(host: BenchHost): Promise<Subgraphs> {
  const { running, othersCpu } = host;
  const data = loadStandardBenchData(standardBenchDataDir());
  const port = await freePort();
  const subgraphs = startProcess({
    name: 'standard-subgraphs',
    command: process.execPath,
    args: ['--import', 'tsx', join(BENCH_DIR, 'standard', 'main.ts')],
    cwd: BENCH_DIR,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', PSGRAPH_BENCH_DATA: data.dir },
    ...(othersCpu === undefined ? {} : { cpu: 0 }),
  });
  running.add(subgraphs);
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await subgraphs.stop();
    running.delete(subgraphs);
  };
  try {
    await waitUntil(subgraphs, async () => (await request(`${base}/health`)).statusCode === 200, 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    supergraph: standardSupergraphAt(data, base),
    standard: { requestBody: data.requestBody, expected: expectedTestQueryResponse(data.records) },
    async requestCount() {
      const { requests } = (await (await request(`${base}/stats`)).body.json()) as { requests: Record<string, number> };
      return Object.values(requests).reduce((a, b) => a + b, 0);
    },
    stop,
  };
}
