/**
 * The `main` of every subgraph process: build, listen, print where, and on SIGTERM or SIGINT stop taking
 * requests, finish those in flight and exit. A configuration error exits with its message, not a stack trace.
 */
import { ConfigError, type SubgraphConfig } from './config.js';
import type { SubgraphService } from './subgraphService.js';

export async function runSubgraphProcess(
  name: string,
  config: SubgraphConfig | (() => SubgraphConfig),
  build: (config: SubgraphConfig) => SubgraphService,
): Promise<void> {
  let service: SubgraphService;
  let resolved: SubgraphConfig;
  try {
    resolved = typeof config === 'function' ? config() : config;
    const started = Date.now();
    service = build(resolved);
    const url = await service.listen(resolved.port, resolved.host);
    console.log(`[${name}] ready at ${url} (${Date.now() - started} ms)`);
  } catch (error) {
    console.error(`[${name}] failed to start: ${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[${name}] ${signal}: draining`);
    service.stop().then(
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
