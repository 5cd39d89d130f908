/**
 * Starts psgraph for end-to-end tests: the four system subgraphs (built in-process, listening on free ports,
 * over sandbox stores seeded once per test run), the activation subgraph calling them, and the gateway in front
 * of them all, talking real HTTP.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../gateway/src/disableApolloTelemetry.js';
import { DEFAULT_SUPERGRAPH_PATH, type GatewayConfig, loadGatewayConfig } from '../../gateway/src/gatewayConfig.js';
import { type GatewayServer, createGatewayServer } from '../../gateway/src/gatewayServer.js';
import { createBillingSubgraph } from '../../subgraphs/billing/src/billingSubgraph.js';
import { createCrmSubgraph } from '../../subgraphs/crm/src/crmSubgraph.js';
import { createErpSubgraph } from '../../subgraphs/erp/src/erpSubgraph.js';
import { createPsaSubgraph } from '../../subgraphs/psa/src/psaSubgraph.js';
import type { ActivationConfig } from '../../subgraphs/activation/src/activationConfig.js';
import { type ActivationSubgraph, createActivationSubgraph } from '../../subgraphs/activation/src/activationSubgraph.js';
import { type EventBus, InMemoryEventBus } from '../../subgraphs/platform/src/events/index.js';
import type { SubgraphService, SystemAdapter, SystemName } from '../../subgraphs/platform/src/index.js';
import { createLogger } from '../../subgraphs/platform/src/logging/index.js';
import type { SandboxSubgraphOptions } from '../../subgraphs/sandboxes/src/index.js';
import { type PrincipalKeys, generatePrincipalKeys } from '../../subgraphs/platform/src/security/generatePrincipalKeys.js';
import { PrincipalSigner, type PrincipalVerificationOptions } from '../../subgraphs/platform/src/security/principalTokens.js';
import { E2E_WORLD, seededDataDir } from './seededData.js';

export const SYSTEMS = ['crm', 'psa', 'erp', 'billing'] as const satisfies readonly SystemName[];
export type StackSystem = (typeof SYSTEMS)[number];

/** A system's adapter, opened afresh each time the stack builds its subgraph (e.g. a vendor's over its wire server). */
export type AdapterFactory = () => SystemAdapter<any>;

type Builder = (config: SandboxSubgraphOptions, bus: EventBus, adapter?: AdapterFactory) => SubgraphService;

const BUILDERS: Record<StackSystem, Builder> = {
  crm: (config, bus, adapter) => createCrmSubgraph({ ...config, bus }, adapter?.()),
  psa: (config, bus, adapter) => createPsaSubgraph({ ...config, bus }, adapter?.()),
  erp: (config, _bus, adapter) => createErpSubgraph(config, adapter?.()),
  billing: (config, bus, adapter) => createBillingSubgraph(config, { bus, ...(adapter ? { adapter: adapter() } : {}) }),
};

/**
 * The activation subgraph of a stack: its own store in the stack's private data folder (or a fresh one), so
 * suites never share runs; quick retries, since the systems are local.
 */
function buildActivation(dataDir: string, urls: ActivationConfig['systemUrls'], bus: EventBus, security: StackSecurity | undefined): ActivationSubgraph {
  const config: ActivationConfig = {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    production: false,
    ...(security ? { principals: security.principals } : {}),
    systemUrls: urls,
    callTimeoutMs: 5_000,
    retry: { initialDelayMs: 20, maxDelayMs: 500, maxAttempts: 6, maxCompensationAttempts: 3 },
    leaseMs: 5_000,
    maxConcurrentRuns: 16,
    awaitMs: 5_000,
    faults: null,
  };
  return createActivationSubgraph(config, {
    bus,
    logger: createLogger('activation', { level: 'silent' }),
    ...(security ? { signer: security.activationSigner } : {}),
  });
}

/** Signed principals, as in production: the gateway's and activation's own keys, every subgraph requiring a principal. */
interface StackSecurity {
  readonly principals: PrincipalVerificationOptions;
  readonly gatewaySigner: PrincipalSigner;
  readonly activationSigner: PrincipalSigner;
  /** The private keys, for tests that sign as the gateway or the process would (or forge). */
  readonly keys: PrincipalKeys;
}

async function stackSecurity(): Promise<StackSecurity> {
  const keys = await generatePrincipalKeys();
  return {
    principals: { keys: keys.publicKeys, required: true, processSigners: ['activation'] },
    gatewaySigner: await PrincipalSigner.fromJwk(keys.gateway),
    activationSigner: await PrincipalSigner.fromJwk(keys.activation),
    keys,
  };
}

export interface RunningSubgraph {
  readonly service: SubgraphService;
  readonly url: string;
}

export interface Stack {
  readonly gatewayUrl: string;
  readonly baseUrl: string;
  readonly gateway: GatewayServer;
  readonly subgraphs: Record<StackSystem, RunningSubgraph>;
  /** The activation subgraph (the process API), over this stack's system subgraphs. */
  readonly activation: RunningSubgraph & { readonly service: ActivationSubgraph };
  /** The supergraph file this gateway watches (a private copy: tests may replace it). */
  readonly supergraphPath: string;
  readonly dataDir: string;
  readonly bus: EventBus;
  /** The principal keys, when the stack runs with signed principals. */
  readonly principalKeys?: PrincipalKeys;
  /** Stops a subgraph and starts a fresh one on the same port (an upstream that drops and comes back). */
  restartSubgraph(name: StackSystem, downtimeMs?: number): Promise<void>;
  stopSubgraph(name: StackSystem): Promise<void>;
  /** Starts a stopped subgraph again on its former port. */
  startSubgraph(name: StackSystem): Promise<void>;
  /** POSTs a GraphQL request to the gateway. */
  query: QueryFunction;
  /** Another gateway over the same subgraphs, with other settings (stopped with the stack). */
  startGateway(overrides: Partial<GatewayConfig>): Promise<{ readonly url: string; readonly server: GatewayServer; readonly query: QueryFunction }>;
  stop(): Promise<void>;
}

export type QueryFunction = <T = any>(
  query: string,
  variables?: Record<string, unknown>,
  headers?: Record<string, string>,
) => Promise<{ status: number; body: { data?: T; errors?: GraphQLErrorBody[] } }>;

/** POSTs GraphQL requests to `url`. */
export function queryFunction(url: string): QueryFunction {
  return async (query, variables = {}, headers = {}) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, body: (await response.json()) as never };
  };
}

export interface GraphQLErrorBody {
  message: string;
  path?: Array<string | number>;
  extensions?: Record<string, any>;
}

export interface StackOptions {
  /** Gateway settings to override (e.g. a short subgraph timeout). */
  readonly gateway?: Partial<GatewayConfig>;
  /** Subgraph URLs to use instead of the in-process subgraph (fault injection). */
  readonly subgraphUrlOverrides?: Partial<Record<StackSystem, string>>;
  /** Production mode (masked errors) for the gateway. */
  readonly production?: boolean;
  /** Work on a private copy of the seeded stores (for suites that write). @default false */
  readonly privateData?: boolean;
  /** The event bus the subgraphs share. @default a new in-memory bus */
  readonly bus?: EventBus;
  /** Systems to run over another adapter than their sandbox (a vendor's, over its wire server). */
  readonly adapters?: Partial<Record<StackSystem, AdapterFactory>>;
  /** Signed principals as in production: every subgraph refuses a request without one. @default false (development) */
  readonly signedPrincipals?: boolean;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const seeded = seededDataDir();
  let dataDir = seeded;
  let privateDir: string | undefined;
  if (options.privateData) {
    privateDir = dataDir = mkdtempSync(join(tmpdir(), 'psgraph-data-'));
    for (const file of readdirSync(seeded)) if (file.endsWith('.db')) copyFileSync(join(seeded, file), join(dataDir, file));
  }
  const bus = options.bus ?? new InMemoryEventBus();
  const security = options.signedPrincipals ? await stackSecurity() : undefined;
  const build = (name: StackSystem) =>
    BUILDERS[name]({ dataDir, world: E2E_WORLD, production: false, ...(security ? { principals: security.principals } : {}) }, bus, options.adapters?.[name]);
  const subgraphs = {} as Record<StackSystem, RunningSubgraph>;
  const stopSubgraph = async (name: StackSystem) => subgraphs[name].service.stop();
  const startSubgraph = async (name: StackSystem) => {
    const port = Number(new URL(subgraphs[name].url).port);
    const service = build(name);
    subgraphs[name] = { service, url: await service.listen(port, '127.0.0.1') };
  };
  for (const name of SYSTEMS) {
    const service = build(name);
    subgraphs[name] = { service, url: await service.listen(0, '127.0.0.1') };
  }
  const workDir = mkdtempSync(join(tmpdir(), 'psgraph-gateway-'));
  const activationService = buildActivation(
    privateDir ?? workDir,
    { crm: subgraphs.crm.url, erp: subgraphs.erp.url, psa: subgraphs.psa.url, billing: subgraphs.billing.url },
    bus,
    security,
  );
  const activation = { service: activationService, url: await activationService.listen(0, '127.0.0.1') };
  const supergraphPath = join(workDir, 'supergraph.graphql');
  copyFileSync(DEFAULT_SUPERGRAPH_PATH, supergraphPath);
  const subgraphUrls: Record<string, string> = {};
  for (const name of SYSTEMS) subgraphUrls[name] = options.subgraphUrlOverrides?.[name] ?? subgraphs[name].url;
  subgraphUrls['activation'] = activation.url;
  const config: GatewayConfig = {
    ...loadGatewayConfig({}),
    // The audiences' endpoints only where a suite asks for them: each is a gateway of its own to load.
    audiences: [],
    port: 0,
    supergraphPath,
    subgraphUrls,
    production: options.production ?? false,
    ...options.gateway,
  };
  const gateway = createGatewayServer(config, {
    logger: createLogger('gateway', { level: 'silent' }),
    ...(security ? { signer: security.gatewaySigner } : {}),
  });
  const gatewayUrl = await gateway.listen();
  const extraGateways: GatewayServer[] = [];
  const baseUrl = gatewayUrl.replace(/\/graphql$/, '');
  return {
    gatewayUrl,
    baseUrl,
    gateway,
    subgraphs,
    activation,
    supergraphPath,
    dataDir,
    bus,
    ...(security ? { principalKeys: security.keys } : {}),
    async restartSubgraph(name, downtimeMs = 0) {
      await stopSubgraph(name);
      if (downtimeMs > 0) await new Promise((resolve) => setTimeout(resolve, downtimeMs));
      await startSubgraph(name);
    },
    stopSubgraph,
    startSubgraph,
    query: queryFunction(gatewayUrl),
    async startGateway(overrides) {
      const server = createGatewayServer(
        { ...config, ...overrides },
        { logger: createLogger('gateway', { level: 'silent' }), ...(security ? { signer: security.gatewaySigner } : {}) },
      );
      extraGateways.push(server);
      const url = await server.listen();
      return { url, server, query: queryFunction(url) };
    },
    async stop() {
      for (const extra of extraGateways) await extra.stop();
      await gateway.stop();
      await activation.service.stop().catch(() => {});
      for (const name of SYSTEMS) await subgraphs[name].service.stop().catch(() => {});
      rmSync(workDir, { recursive: true, force: true });
      if (!options.bus) await bus.close();
      if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    },
  };
}
