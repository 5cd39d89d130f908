/**
 * The `main` of every subgraph process: build, listen, print where, and on SIGTERM or SIGINT stop taking
 * requests, finish those in flight and exit. A configuration error exits with its message, not a stack trace.
 */
import { ConfigError, type SubgraphConfig } from '../config.js';
import { type EventBus, loadEventBusConfig, openEventBus } from '../events/index.js';
import { startTracing, stopTracing } from '../telemetry/index.js';
import { LogCode } from '../logging/logCodes.js';
import { type Logger, createLogger } from '../logging/logger.js';
import { loadLoggingConfig } from '../logging/loggingConfig.js';
import type { SubgraphService } from './subgraphService.js';

export async function runSubgraphProcess<Config extends SubgraphConfig>(
  name: string,
  config: Config | (() => Config),
  build: (config: Config) => SubgraphService | Promise<SubgraphService>,
  options: { readonly onStopped?: () => Promise<void> } = {},
): Promise<void> {
  let service: SubgraphService;
  let resolved: Config;
  let logger: Logger = createLogger(name, { level: 'info' });
  try {
    // The log level is a setting like the others: a wrong one stops the service, logged at the default level.
    logger = createLogger(name, loadLoggingConfig());
    resolved = typeof config === 'function' ? config() : config;
    // Before the service is built, so that everything it starts (relays, consumers) runs with tracing set up.
    startTracing(name);
    const started = Date.now();
    service = await build(resolved);
    const url = await service.listen(resolved.port, resolved.host);
    logger.info({ url, startup_ms: Date.now() - started }, `ready at ${url}`);
  } catch (error) {
    // A configuration error is its message alone; anything else, with its stack.
    if (error instanceof ConfigError) logger.fatal({ code: LogCode.START_FAILED }, `failed to start: ${error.message}`);
    else logger.fatal({ err: error, code: LogCode.START_FAILED }, 'failed to start');
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${signal}: draining`);
    service
      .stop()
      .then(() => options.onStopped?.())
      // Last: the spans of the requests just drained are exported before the process exits.
      .then(() => stopTracing())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error, code: LogCode.STOP_FAILED }, 'error while stopping');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * `runSubgraphProcess` for a subgraph that publishes or streams business events: opens the event bus the
 * environment names (Redis with REDIS_URL, else the embedded bus in the data folder) and closes it last.
 */
export async function runSubgraphProcessWithEventBus<Config extends SubgraphConfig>(
  name: string,
  config: () => Config,
  build: (config: Config, bus: EventBus) => SubgraphService,
): Promise<void> {
  let bus: EventBus | undefined;
  await runSubgraphProcess(
    name,
    config,
    async (resolved) => {
      bus = await openEventBus(loadEventBusConfig());
      return build(resolved, bus);
    },
    { onStopped: async () => bus?.close() },
  );
}
