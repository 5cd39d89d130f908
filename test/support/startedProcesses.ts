/**
 * psgraph as `npm start` runs it — the gateway and each subgraph as its own process — over a private copy of the
 * seeded stores, on free ports, with extra environment (tracing, log level). For the tests that need what only
 * separate processes show: each service exporting its own spans, writing its own log lines, serving its own
 * /metrics.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningProcess, freePort, runTypeScript } from './processes.js';
import { seededDataDir } from './seededData.js';
import { type QueryFunction, queryFunction } from './stack.js';

export const STARTED_SERVICES = ['gateway', 'crm', 'psa', 'erp', 'billing', 'activation'] as const;
export type StartedService = (typeof STARTED_SERVICES)[number];

export interface StartedProcesses {
  /** The gateway's origin, e.g. http://127.0.0.1:4123. */
  readonly origin: string;
  /** Runs an operation against the gateway's /graphql. */
  readonly query: QueryFunction;
  /** Each service's origin (its /graphql, /metrics and /health are below it). */
  readonly origins: Readonly<Record<StartedService, string>>;
  /** The copy of the seeded stores the processes write to. */
  readonly dataDir: string;
  /** Everything the launcher and its children printed so far (non-TTY: one JSON log line per line). */
  output(): string;
  /** Resolves with the output once `pattern` appears in it (a log line), rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Stops every process (Ctrl-C, as a person would) and removes the data. */
  stop(): Promise<void>;
}

export async function startProcesses(env: NodeJS.ProcessEnv = {}): Promise<StartedProcesses> {
  const dataDir = mkdtempSync(join(tmpdir(), 'psgraph-processes-'));
  const seeded = seededDataDir();
  for (const file of readdirSync(seeded)) if (file.endsWith('.db')) copyFileSync(join(seeded, file), join(dataDir, file));
  const ports = {} as Record<StartedService, number>;
  for (const service of STARTED_SERVICES) ports[service] = await freePort();
  const launcher: RunningProcess = runTypeScript('gateway/src/cli/start.ts', {
    PSGRAPH_DATA_DIR: dataDir,
    ...Object.fromEntries(STARTED_SERVICES.map((service) => [`PSGRAPH_${service.toUpperCase()}_PORT`, String(ports[service])])),
    ...env,
  });
  try {
    await launcher.waitFor(/Press Ctrl-C to stop\./, 150_000);
  } catch (error) {
    launcher.child.kill('SIGINT');
    await launcher.exited;
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const origins = Object.fromEntries(STARTED_SERVICES.map((service) => [service, `http://127.0.0.1:${ports[service]}`])) as Record<StartedService, string>;
  return {
    origin: origins.gateway,
    query: queryFunction(`${origins.gateway}/graphql`),
    origins,
    dataDir,
    output: () => launcher.output(),
    waitFor: (pattern, timeoutMs) => launcher.waitFor(pattern, timeoutMs),
    async stop() {
      launcher.child.kill('SIGINT');
      await launcher.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
