/**
 * `npm start`: runs psgraph on its embedded default — the four system subgraphs over SQLite sandboxes in the
 * data folder, and the gateway — each as its own process, as they would run in production. Prints the gateway
 * URL and a first query once everything answers; Ctrl-C stops everything gracefully.
 *
 * Each service logs JSON lines; the launcher relays them as they are (for `jq` or a log shipper), or, when its
 * own output is a terminal, as readable lines. Its own messages and the banner are for the person who started it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildGateway } from '../../build.js';
import { ensureConsoleBuilt } from '../../console/buildConsole.js';
import { loadGatewayConfig } from '../gatewayConfig.js';
import { GATEWAY_NODE_FLAGS } from './runtimeFlags.js';
import { loadSubgraphConfig } from '../../../subgraphs/platform/src/config.js';
import { loadLoggingConfig } from '../../../subgraphs/platform/src/logging/loggingConfig.js';
import { readableLogLine } from '../../../subgraphs/platform/src/logging/readableLine.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const SERVICES = [
  { name: 'crm', entry: 'subgraphs/crm/src/main.ts' },
  { name: 'psa', entry: 'subgraphs/psa/src/main.ts' },
  { name: 'erp', entry: 'subgraphs/erp/src/main.ts' },
  { name: 'billing', entry: 'subgraphs/billing/src/main.ts' },
  { name: 'activation', entry: 'subgraphs/activation/src/main.ts' },
] as const;

const startedAt = Date.now();
const children = new Map<string, ChildProcess>();
let shuttingDown = false;

// Validate every setting up front so a typo fails here with one clear message, not in a child process.
const subgraphConfigs = SERVICES.map((service) => loadSubgraphConfig(service.name));
const gatewayConfig = loadGatewayConfig();
loadLoggingConfig();
const readable = process.stdout.isTTY === true;
const env: NodeJS.ProcessEnv = { ...process.env, APOLLO_TELEMETRY_DISABLED: '1', PSGRAPH_DATA_DIR: subgraphConfigs[0]!.dataDir };
for (const [i, service] of SERVICES.entries()) {
  const config = subgraphConfigs[i]!;
  const url = `http://${config.host}:${config.port}/graphql`;
  env[`PSGRAPH_${service.name.toUpperCase()}_URL`] ??= url;
}

/** Starts `node <args>` as the service `name`; resolves once it prints "ready at". */
function run(name: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.set(name, child);
    let ready = false;
    const relay = (stream: NodeJS.ReadableStream, write: (line: string) => void) => {
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          // A JSON line names its service; anything else a child prints (a crash's stack) is prefixed with it.
          if (line.startsWith('{')) write(readable ? readableLogLine(line) : line);
          else write(line.startsWith('[') ? line : `[${name}] ${line}`);
          if (!ready && line.includes('ready at')) {
            ready = true;
            resolve();
          }
        }
      });
    };
    relay(child.stdout!, (line) => console.log(line));
    relay(child.stderr!, (line) => console.error(line));
    child.on('exit', (code, signal) => {
      children.delete(name);
      if (!ready) reject(new Error(`${name} exited before it was ready (code ${code ?? signal})`));
      else if (!shuttingDown) {
        console.error(`[psgraph] ${name} stopped unexpectedly (code ${code ?? signal}); stopping everything.`);
        void shutdown(1);
      }
    });
  });
}

async function shutdown(exitCode: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  const exits = [...children.values()].map((child) => new Promise((resolve) => child.once('exit', resolve)));
  // The gateway drains first so no request is cut off by a subgraph going away under it.
  children.get('gateway')?.kill('SIGTERM');
  await Promise.race([new Promise((resolve) => children.get('gateway')?.once('exit', resolve) ?? resolve(undefined)), delay(12_000)]);
  for (const child of children.values()) child.kill('SIGTERM');
  await Promise.race([Promise.all(exits), delay(10_000)]);
  for (const child of children.values()) child.kill('SIGKILL');
  process.exit(exitCode);
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  console.log(`[psgraph] starting the embedded default (data in ${subgraphConfigs[0]!.dataDir}; first start seeds the sandboxes)`);
  // The gateway serves the committed supergraph and needs no subgraph to start, so it starts alongside them;
  // everything is announced once every service answers.
  // The gateway runs from its bundle (built now, in well under a second), as in production; subgraphs through tsx.
  const gatewayBundle = await buildGateway();
  // The console is rebuilt only when its sources changed since the last build (a few seconds when it is).
  await ensureConsoleBuilt();
  await Promise.all([
    ...SERVICES.map((service) => run(service.name, ['--import', 'tsx', service.entry])),
    run('gateway', [...GATEWAY_NODE_FLAGS, gatewayBundle]),
  ]);
} catch (error) {
  console.error(`[psgraph] ${(error as Error).message}`);
  await shutdown(1);
}

const gatewayUrl = `http://${gatewayConfig.host}:${gatewayConfig.port}`;
console.log(`
psgraph is running (started in ${((Date.now() - startedAt) / 1000).toFixed(1)} s).

  Gateway   ${gatewayUrl}/graphql      (open it in a browser for the GraphQL IDE)
  Console   ${gatewayUrl}/console      (the operations console: health, exceptions, dead letters, runs)
  Health    ${gatewayUrl}/health   ${gatewayUrl}/ready   ${gatewayUrl}/metrics
  Subgraphs ${SERVICES.map((service, i) => `${service.name} :${subgraphConfigs[i]!.port}`).join('  ')}
  Events    ${process.env['REDIS_URL'] ? 'Redis (REDIS_URL)' : `embedded log in ${subgraphConfigs[0]!.dataDir}/events.db`}

A first query to try — the first page of the portfolio, across all four systems:

  curl -s ${gatewayUrl}/graphql -H 'content-type: application/json' \\
    -d '{"query":"{ projects(first: 3) { totalCount nodes { name status opportunity { amount { amount currency } } invoiceSummary { outstanding { amount } } } } }"}'

Press Ctrl-C to stop.`);
