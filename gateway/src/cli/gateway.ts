/** Entry point of the gateway process: reads its configuration, listens, and drains on SIGTERM or SIGINT. */
import '../disableApolloTelemetry.js';
import { ConfigError } from '../../../subgraphs/shared/src/index.js';
import { loadGatewayConfig } from '../gatewayConfig.js';
import { createGatewayServer } from '../gatewayServer.js';

let server: ReturnType<typeof createGatewayServer>;
try {
  const config = loadGatewayConfig();
  server = createGatewayServer(config);
  const url = await server.listen();
  console.log(`[gateway] ready at ${url}`);
} catch (error) {
  console.error(`[gateway] failed to start: ${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
}

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`[gateway] ${signal}: draining requests in flight`);
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('[gateway] error while stopping', error);
        process.exit(1);
      },
    );
  });
}
