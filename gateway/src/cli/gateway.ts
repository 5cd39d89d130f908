/**
 * Entry point of the gateway process: reads its configuration, listens, and drains on SIGTERM or SIGINT.
 *
 * `--workers N` (or `--workers auto`, one per available core) runs N gateway processes with node:cluster, sharing
 * the one port: the primary only forks, restarts a worker that dies, and relays SIGTERM/SIGINT so that every
 * worker drains. Each worker is a whole gateway with its own subgraph connections, caches, in-flight
 * deduplication, subscriptions and `/metrics` counters (a scrape sees the worker that answered it).
 * @default 1 (no cluster: this process serves)
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import '../disableApolloTelemetry.js';
import { ConfigError } from '../../../subgraphs/platform/src/config.js';
import { LogCode } from '../../../subgraphs/platform/src/logging/logCodes.js';
import { type Logger, createLogger } from '../../../subgraphs/platform/src/logging/logger.js';
import { loadLoggingConfig } from '../../../subgraphs/platform/src/logging/loggingConfig.js';
import { loadGatewayConfig } from '../gatewayConfig.js';
import { PrincipalSigner } from '../../../subgraphs/platform/src/security/principalTokens.js';
import { createGatewayServer } from '../gatewayServer.js';
import { startTracing, stopTracing } from '../../../subgraphs/platform/src/telemetry/index.js';

const MAX_WORKERS = 64;

function readWorkers(argv: readonly string[]): number {
  const index = argv.findIndex((arg) => arg === '--workers' || arg.startsWith('--workers='));
  if (index < 0) return 1;
  const raw = argv[index]!.includes('=') ? argv[index]!.slice('--workers='.length) : argv[index + 1];
  if (raw === 'auto') return availableParallelism();
  const workers = Number(raw);
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new ConfigError(`--workers ${raw ?? ''}: expected a whole number from 1 to ${MAX_WORKERS}, or auto (one per available core).`);
  }
  return workers;
}

let workers: number;
// Until the log level is read, what goes wrong is logged at the default level.
let logger: Logger = createLogger('gateway', { level: 'info' });
try {
  logger = createLogger('gateway', loadLoggingConfig()).child(cluster.isWorker ? { worker: cluster.worker?.id } : {});
  workers = readWorkers(process.argv.slice(2));
  // Validate the settings once, in the primary, so a typo fails with one message and no worker is forked.
  loadGatewayConfig();
  startTracing('gateway');
} catch (error) {
  logger.fatal({ code: LogCode.START_FAILED }, `failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

if (workers > 1 && cluster.isPrimary) await runPrimary(workers);
else await runGateway();

async function runGateway(): Promise<void> {
  let server: ReturnType<typeof createGatewayServer>;
  try {
    // The gateway's own key (PSGRAPH_SIGNING_KEY) signs the principal each subgraph request states.
    const signer = await PrincipalSigner.fromEnv();
    server = createGatewayServer(loadGatewayConfig(), { logger, ...(signer ? { signer } : {}) });
    const url = await server.listen();
    if (cluster.isWorker) process.send?.({ ready: url });
    else logger.info({ url }, `ready at ${url}`);
  } catch (error) {
    // A configuration error is its message alone; anything else, with its stack.
    if (error instanceof ConfigError) logger.fatal({ code: LogCode.START_FAILED }, `failed to start: ${error.message}`);
    else logger.fatal({ err: error, code: LogCode.START_FAILED }, 'failed to start');
    process.exit(1);
  }
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, `${signal}: draining requests in flight`);
      server
        .stop()
        // Last: the spans of the requests just drained are exported before the process exits.
        .then(() => stopTracing())
        .then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error, code: LogCode.STOP_FAILED }, 'error while stopping');
            process.exit(1);
          },
        );
    });
  }
}

async function runPrimary(count: number): Promise<void> {
  let stopping = false;
  let ready = 0;
  let restarts = 0;
  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (message: { ready?: string }) => {
      if (message.ready && ++ready === count) logger.info({ url: message.ready, workers: count }, `ready at ${message.ready} (${count} workers)`);
    });
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    // A worker that dies is replaced, but a gateway that cannot start is not restarted forever.
    if (ready < count || ++restarts > count * 5) {
      logger.fatal({ code: LogCode.START_FAILED, worker_pid: worker.process.pid, exit: code ?? signal }, `worker ${worker.process.pid} exited; stopping`);
      process.exit(1);
    }
    logger.error({ worker_pid: worker.process.pid, exit: code ?? signal }, `worker ${worker.process.pid} exited; starting another`);
    ready--;
    fork();
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, `${signal}: draining every worker`);
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    });
  }
  for (let i = 0; i < count; i++) fork();
}
