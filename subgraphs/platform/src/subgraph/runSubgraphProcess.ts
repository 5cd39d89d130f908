/**
 * The `main` of every subgraph process: build, listen, print where, and on SIGTERM or SIGINT stop taking
 * requests, finish those in flight and exit. A configuration error exits with its message, not a stack trace.
 */
import { ConfigError, type SubgraphConfig } from '../config.js';
import { type EventBus, loadEventBusConfig, openEventBus } from '../events/index.js';
import { startTracing, stopTracing } from '../telemetry/index.js';
import type { SubgraphService } from './subgraphService.js';

export async function runSubgraphProcess<Config extends SubgraphConfig>(
  name: string,
  config: Config | (() => Config),
  build: (config: Config) => SubgraphService | Promise<SubgraphService>,
  options: { readonly onStopped?: () => Promise<void> } = {},
): Promise<void> {
  let service: SubgraphService;
  let resolved: Config;
  try {
    resolved = typeof config === 'function' ? config() : config;
    // Before the service is built, so that everything it starts (relays, consumers) runs with tracing set up.
    startTracing(name);
    const started = Date.now();
    service = await build(resolved);
    const url = await service.listen(resolved.port, resolved.host);
    console.log(`[${name}] ready at ${url} (${Date.now() - started} ms)`);
  } catch (error) {
    console.error(
      `[${name}] failed to start: ${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[${name}] ${signal}: draining`);
    service
      .stop()
      .then(() => options.onStopped?.())
      // Last: the spans of the requests just drained are exported before the process exits.
      .then(() => stopTracing())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(`[${name}] error while stopping`, error);
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
