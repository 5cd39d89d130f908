/**
 * Builds psgraph's gateway: @apollo/gateway on Apollo Server 5 over plain node:http, serving the static
 * supergraph file (reloaded on change), with pooled keep-alive subgraph connections and fetch deadlines, query
 * limits, error codes and masking, `/health`, `/ready`, `/metrics`, an offline GraphQL IDE, and a graceful stop.
 * Building is separate from listening: tests start gateways on free ports.
 */
import './disableApolloTelemetry.js';
import type { IncomingMessage, Server } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type BaseContext } from '@apollo/server';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import type { Agent } from 'undici';
import { ErrorCode } from '../../contracts/errorCodes.js';
// The platform's modules one by one, not its index: the gateway must not load the subgraphs' SQLite and Redis code.
import { graphqlHttpHandler, sendJson, sendJsonError } from '../../subgraphs/platform/src/http/graphqlHttpHandler.js';
import { closeGracefully, createHttpServer, listen } from '../../subgraphs/platform/src/http/httpServer.js';
import { Metrics } from '../../subgraphs/platform/src/metrics.js';
import type { PrincipalSigner } from '../../subgraphs/platform/src/security/principalTokens.js';
import { PsgraphExecutor } from './execution/gatewayExecutor.js';
import { createErrorFormatter } from './formatGatewayError.js';
import type { GatewayConfig } from './gatewayConfig.js';
import { CostModel, demandControlPlugin } from './guards/demandControl.js';
import { type AuthorizationDecision, FieldAuthorization, fieldAuthorizationPlugin, withFieldAuthorization } from './guards/fieldAuthorization.js';
import { Identity, type Principal } from './guards/identity.js';
import { operationResolutionPlugin } from './guards/operationResolution.js';
import { RateLimits } from './guards/rateLimits.js';
import { PrincipalForwarding } from './guards/principalForwarding.js';
import { TrustedDocuments } from './guards/trustedDocuments.js';
import { ideHandlers } from './ide/idePage.js';
import { InflightRequests, inboundDeduplicationPlugin, sharedResultStringifier } from './inflightDeduplication.js';
import { maxAliasesRule, maxDepthRule } from './queryLimits.js';
import { SubgraphDataSource, createSubgraphAgent } from './subgraphDataSource.js';
import { SubscriptionBridge } from './subscriptions/subscriptionBridge.js';
import { type SubscriptionServer, attachSubscriptionServer } from './subscriptions/subscriptionServer.js';
import { UpstreamSubscriptions } from './subscriptions/upstreamSubscriptions.js';
import { type SupergraphFileStatus, supergraphFromFile } from './supergraphFile.js';

export interface GatewayServer {
  readonly gateway: ApolloGateway;
  readonly apollo: ApolloServer<BaseContext>;
  /** psgraph's executor, unless PSGRAPH_EXECUTOR=apollo left @apollo/gateway's in place. */
  readonly executor: PsgraphExecutor | undefined;
  readonly httpServer: Server;
  readonly metrics: Metrics;
  readonly supergraph: SupergraphFileStatus;
  /** Subgraph name → the URL the gateway sends its fetches to. */
  readonly subgraphUrls: ReadonlyMap<string, string>;
  readonly subscriptions: { readonly bridge: SubscriptionBridge; readonly upstreams: UpstreamSubscriptions; readonly server: SubscriptionServer };
  /** Loads the supergraph, starts Apollo Server and listens; resolves with the GraphQL endpoint URL. */
  listen(): Promise<string>;
  /** Refuses new requests, lets those in flight finish (up to the drain timeout), then releases everything. */
  stop(): Promise<void>;
}

export interface GatewayServerOptions {
  readonly log?: (message: string) => void;
  /** Signs the principal each subgraph request states (`PSGRAPH_SIGNING_KEY`). @default none: development */
  readonly signer?: PrincipalSigner;
}

export function createGatewayServer(config: GatewayConfig, options: GatewayServerOptions = {}): GatewayServer {
  const log = options.log ?? ((message: string) => console.log(`[gateway] ${message}`));
  const metrics = new Metrics();
  const countFetch = metrics.counter('psgraph_subgraph_fetches_total', 'HTTP requests the gateway sent to each subgraph, by outcome.');
  const countOperations = metrics.counter('psgraph_subgraph_operations_total', 'Query-plan fetches to each subgraph (several may share one HTTP request).');
  const countRequest = metrics.counter('psgraph_gateway_requests_total', 'GraphQL requests the gateway received.');
  const countShared = metrics.counter(
    'psgraph_gateway_requests_shared_total',
    'GraphQL requests answered with the response of an identical request in flight.',
  );
  const agent: Agent = createSubgraphAgent(config.subgraphConnections);
  const principalForwarding = new PrincipalForwarding(options.signer);
  const statePrincipal = (context: unknown) => principalForwarding.forRequest((context as { principal?: Principal } | undefined)?.principal);
  const inflight = config.deduplicateInflight ? new InflightRequests() : undefined;
  const subgraphUrls = new Map<string, string>();
  const dataSources = new Map<string, SubgraphDataSource>();
  const supergraph = supergraphFromFile({ path: config.supergraphPath, log });
  metrics.gauge('psgraph_supergraph_reloads_total', 'Times the supergraph file was reloaded since start.', () => supergraph.status.reloads);
  metrics.gauge('process_resident_memory_bytes', 'Resident memory of the gateway process.', () => process.memoryUsage.rss());
  metrics.gauge('nodejs_heap_used_bytes', 'V8 heap in use.', () => process.memoryUsage().heapUsed);
  metrics.gauge('nodejs_heap_total_bytes', 'V8 heap reserved.', () => process.memoryUsage().heapTotal);
  metrics.gauge(
    'nodejs_external_memory_bytes',
    'Memory held outside the V8 heap by JavaScript objects (buffers included).',
    () => process.memoryUsage().external,
  );

  const gateway = new ApolloGateway({
    supergraphSdl: supergraph.hook,
    buildService: ({ name, url }) => {
      const target = config.subgraphUrls[name] ?? url;
      if (!target) throw new Error(`Subgraph "${name}" has no URL: set PSGRAPH_${name.toUpperCase()}_URL.`);
      subgraphUrls.set(name, target);
      const dataSource = new SubgraphDataSource({
        name,
        url: target,
        timeoutMs: config.subgraphTimeoutMs,
        agent,
        forwardHeaders: config.forwardHeaders,
        principal: statePrincipal,
        mergeOperations: config.mergeSubgraphOperations,
        busyBatchWindowMs: config.busyBatchWindowMs,
        ...(inflight ? { inflight } : {}),
        onFetch: (subgraph, outcome, operations) => {
          countFetch({ subgraph, outcome });
          countOperations({ subgraph }, operations);
        },
      });
      dataSources.set(name, dataSource);
      return dataSource;
    },
  });

  // Registered before Apollo Server loads the gateway, as every onSchemaLoadOrUpdate listener must be.
  let costModel = CostModel.EMPTY;
  const fieldAuthorization = new FieldAuthorization(config.authorization);
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
    costModel = CostModel.fromSupergraphSdl(coreSupergraphSdl);
    fieldAuthorization.load(coreSupergraphSdl);
  });
  // What field authorization withheld from each request, for the executor (keyed by the request's context object).
  const authorizationDecisions = new WeakMap<object, AuthorizationDecision>();
  const countUnauthorized = metrics.counter('psgraph_unauthorized_fields_total', 'Fields withheld from (or, in reject mode, refused to) callers, by mode.');
  const countCost = metrics.counter('psgraph_operation_cost_total', 'Summed cost of operations: estimated before planning, actual by response shape.');
  const countRefused = metrics.counter('psgraph_operations_refused_total', 'Operations refused before planning, by reason.');
  const executor =
    config.executor === 'psgraph'
      ? new PsgraphExecutor({ gateway, dataSource: (name) => dataSources.get(name), authorization: (context) => authorizationDecisions.get(context) })
      : undefined;

  const countSubscriptionEvent = metrics.counter('psgraph_subscription_events_total', 'Subscription events delivered to clients (after hydration).');
  const countDroppedEvent = metrics.counter('psgraph_subscription_events_dropped_total', "Subscription events dropped because a client's queue was full.");
  const upstreams = new UpstreamSubscriptions({ deduplicate: config.deduplicateSubscriptions });
  const bridge = new SubscriptionBridge({
    gateway,
    dataSources,
    subgraphUrls,
    upstreams,
    principalHeader: (principal) => principalForwarding.forRequest(principal),
    queueCapacity: config.subscriptionQueueCapacity,
    onEvent: () => {
      countSubscriptionEvent();
      // An event tells its subscribers of a write: what they query next must not join reads begun before it.
      inflight?.closeAllOncePerTick();
    },
    onDrop: () => countDroppedEvent(),
    log,
  });
  metrics.gauge('psgraph_subscriptions_active', 'Client subscriptions open on this gateway.', () => bridge.activeCount);
  metrics.gauge(
    'psgraph_subscription_upstreams',
    'Subscriptions open towards subgraphs (shared by identical client subscriptions).',
    () => upstreams.stats().upstreams,
  );
  const identity = new Identity(config.identity);
  const rateLimits = new RateLimits(config.rateLimits);
  const trustedDocuments = TrustedDocuments.fromManifests(config.trustedDocuments, config.trustedDocumentManifests, log);
  // The principal of each HTTP request, from the HTTP stage (identity) to the context its GraphQL operation runs in.
  const principals = new WeakMap<IncomingMessage, Principal>();

  const apollo = new ApolloServer<BaseContext>({
    gateway: executor ? executor.asGateway() : withFieldAuthorization(gateway, authorizationDecisions),
    formatError: createErrorFormatter(config.production),
    includeStacktraceInErrorResponses: !config.production,
    introspection: config.introspection,
    parseOptions: { maxTokens: config.maxTokens },
    // Automatic persisted queries would let a client register any document: not where documents are trusted.
    ...(config.trustedDocuments === 'off' ? {} : { persistedQueries: false as const }),
    validationRules: [maxDepthRule(config.maxDepth), maxAliasesRule(config.maxAliases)],
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    ...(inflight ? { stringifyResult: sharedResultStringifier() } : {}),
    plugins: [
      // Nothing is reported to Apollo and no landing page is fetched from a CDN: the IDE is served locally.
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      { requestDidStart: async () => void countRequest() },
      operationResolutionPlugin(),
      fieldAuthorizationPlugin({
        authorization: fieldAuthorization,
        principal: (context) => (context as { principal?: Principal }).principal,
        decisions: authorizationDecisions,
        record: (fields, mode) => countUnauthorized({ mode }, fields),
      }),
      demandControlPlugin({
        options: config.demandControl,
        model: () => costModel,
        roles: (context) => (context as { principal?: Principal }).principal?.roles ?? new Set(),
        record: (estimated, actual) => {
          countCost({ measure: 'estimated' }, estimated);
          if (actual === undefined) countRefused({ reason: 'cost' });
          else countCost({ measure: 'actual' }, actual);
        },
      }),
      ...(inflight
        ? [
            inboundDeduplicationPlugin({
              requests: inflight,
              forwardHeaders: [...new Set(['authorization', ...config.forwardHeaders])],
              maxWaitMs: config.subgraphTimeoutMs,
              onShared: () => countShared(),
            }),
          ]
        : []),
    ],
  });

  let draining = false;
  const graphql = graphqlHttpHandler({
    server: apollo,
    context: (request) => ({ principal: principals.get(request) }),
    maxBodyBytes: config.maxBodyBytes,
    prepareBody: (body) => trustedDocuments.resolve(body),
  });
  const ide = ideHandlers('/graphql');
  const readiness = createReadinessProbe(agent, subgraphUrls);

  const httpServer = createHttpServer({
    ...ide,
    '/graphql': async (request, response) => {
      if (draining) {
        response.setHeader('connection', 'close');
        sendJsonError(response, 503, ErrorCode.SERVICE_UNAVAILABLE, 'The gateway is shutting down.');
        return;
      }
      // A browser opening the endpoint gets the IDE, as with Apollo's landing page, but served locally.
      if (request.method === 'GET' && !(request.url ?? '').includes('?') && (request.headers.accept ?? '').includes('text/html')) {
        return ide['/']!(request, response);
      }
      const identified = await identity.identify(request.headers.authorization);
      if ('refused' in identified) {
        response.setHeader('www-authenticate', 'Bearer error="invalid_token"');
        sendJsonError(response, 401, ErrorCode.UNAUTHENTICATED, identified.refused);
        return;
      }
      const retryAfter = rateLimits.take(identified.principal);
      if (retryAfter !== undefined) {
        countRefused({ reason: 'rate_limit' });
        response.setHeader('retry-after', String(retryAfter));
        sendJsonError(response, 429, ErrorCode.RATE_LIMITED, `Too many requests: retry after ${retryAfter} s.`);
        return;
      }
      principals.set(request, identified.principal);
      return graphql(request, response);
    },
    '/health': async (_request, response) => sendJson(response, 200, { status: 'ok' }),
    '/ready': async (_request, response) => {
      if (draining) return sendJson(response, 503, { status: 'draining' });
      if (!supergraph.status.loadedAt) return sendJson(response, 503, { status: 'loading' });
      const subgraphs = await readiness();
      const ready = Object.values(subgraphs).every((state) => state === 'up');
      sendJson(response, ready ? 200 : 503, {
        status: ready ? 'ready' : 'degraded',
        supergraph: { loadedAt: supergraph.status.loadedAt.toISOString(), reloads: supergraph.status.reloads, lastError: supergraph.status.lastError },
        subgraphs,
      });
    },
    '/metrics': async (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end(metrics.render());
    },
  });

  const subscriptionServer = attachSubscriptionServer({
    httpServer,
    path: '/graphql',
    schema: () => gateway.schema,
    bridge,
    identify: (authorization) => identity.identify(authorization),
    prepareRequest: (payload) => trustedDocuments.resolve(payload),
    authorize: (query, schema, document, operation, principal) => fieldAuthorization.decide(query, schema, document, operation, principal),
    validationRules: [maxDepthRule(config.maxDepth), maxAliasesRule(config.maxAliases)],
    maxTokens: config.maxTokens,
    formatError: createErrorFormatter(config.production),
    maxPayloadBytes: config.wsMaxPayloadBytes,
    keepAliveMs: config.wsKeepAliveMs,
    connectionInitWaitTimeoutMs: config.wsConnectionInitTimeoutMs,
  });

  let started = false;
  return {
    gateway,
    apollo,
    executor,
    httpServer,
    metrics,
    supergraph: supergraph.status,
    subgraphUrls,
    subscriptions: { bridge, upstreams, server: subscriptionServer },
    async listen() {
      await apollo.start();
      started = true;
      return `${await listen(httpServer, config.port, config.host)}/graphql`;
    },
    async stop() {
      draining = true;
      bridge.endAll({ message: 'The gateway is shutting down; subscribe again.', code: ErrorCode.SERVICE_UNAVAILABLE });
      await subscriptionServer.close();
      await upstreams.close();
      await closeGracefully(httpServer, config.drainTimeoutMs);
      if (started) await apollo.stop();
      await agent.close();
    },
  };
}

type SubgraphState = 'up' | 'down';

/** Checks every subgraph's `/health`, at most once a second whatever the probe rate. */
function createReadinessProbe(agent: Agent, subgraphUrls: ReadonlyMap<string, string>): () => Promise<Record<string, SubgraphState>> {
  let cached: { at: number; result: Promise<Record<string, SubgraphState>> } | undefined;
  const check = async (): Promise<Record<string, SubgraphState>> => {
    const entries = await Promise.all(
      [...subgraphUrls].map(async ([name, url]): Promise<[string, SubgraphState]> => {
        try {
          const response = await agent.request({ origin: new URL(url).origin, path: '/health', method: 'GET', signal: AbortSignal.timeout(1_000) });
          await response.body.dump();
          return [name, response.statusCode === 200 ? 'up' : 'down'];
        } catch {
          return [name, 'down'];
        }
      }),
    );
    return Object.fromEntries(entries);
  };
  return () => {
    if (!cached || Date.now() - cached.at > 1_000) cached = { at: Date.now(), result: check() };
    return cached.result;
  };
}
