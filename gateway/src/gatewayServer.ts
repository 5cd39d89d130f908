/**
 * Builds psgraph's gateway: @apollo/gateway on Apollo Server 5 over plain node:http, serving the static
 * supergraph file (reloaded on change) at `/graphql` and each audience's filtered supergraph at its own path
 * (`graphEndpoint.ts`), with identity and rate limits before anything else, pooled keep-alive subgraph
 * connections and fetch deadlines, error codes and masking, `/health`, `/ready`, `/metrics`, an offline GraphQL
 * IDE per endpoint, and a graceful stop. Building is separate from listening: tests start gateways on free ports.
 */
import './disableApolloTelemetry.js';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApolloGateway } from '@apollo/gateway';
import type { ApolloServer, BaseContext } from '@apollo/server';
import type { Agent } from 'undici';
import type { WebSocket } from 'ws';
import { ErrorCode } from '../../contracts/errorCodes.js';
// The platform's modules one by one, not its index: the gateway must not load the subgraphs' SQLite and Redis code.
import { type HttpHandler, sendJson, sendJsonError } from '../../subgraphs/platform/src/http/graphqlHttpHandler.js';
import { closeGracefully, createHttpServer, listen } from '../../subgraphs/platform/src/http/httpServer.js';
import { LogCode } from '../../subgraphs/platform/src/logging/logCodes.js';
import { type Logger, createLogger } from '../../subgraphs/platform/src/logging/logger.js';
import { Metrics } from '../../subgraphs/platform/src/metrics.js';
import { OperationNames, UNREAD_OPERATION, createRequestMetrics } from '../../subgraphs/platform/src/requestMetrics.js';
import type { PrincipalSigner } from '../../subgraphs/platform/src/security/principalTokens.js';
import type { PsgraphExecutor } from './execution/gatewayExecutor.js';
import type { GatewayConfig } from './gatewayConfig.js';
import { type EndpointContext, type GraphEndpoint, createGraphEndpoint } from './graphEndpoint.js';
import { Identity } from './guards/identity.js';
import { PrincipalForwarding } from './guards/principalForwarding.js';
import { RateLimits } from './guards/rateLimits.js';
import { ideAssetHandlers } from './ide/idePage.js';
import { consoleRoutes } from './console/consoleRoute.js';
import { InflightRequests } from './inflightDeduplication.js';
import { createSubgraphAgent } from './subgraphDataSource.js';
import type { SubscriptionBridge } from './subscriptions/subscriptionBridge.js';
import type { SubscriptionServer } from './subscriptions/subscriptionServer.js';
import { UpstreamSubscriptions } from './subscriptions/upstreamSubscriptions.js';
import type { SupergraphFileStatus } from './supergraphFile.js';

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
  /** Every endpoint by name: `graphql` (the whole API) and each audience served. */
  readonly endpoints: ReadonlyMap<string, GraphEndpoint>;
  /** Loads the supergraph, starts Apollo Server and listens; resolves with the GraphQL endpoint URL. */
  listen(): Promise<string>;
  /** Refuses new requests, lets those in flight finish (up to the drain timeout), then releases everything. */
  stop(): Promise<void>;
}

export interface GatewayServerOptions {
  /** Where the gateway logs (a line per request at debug, reloads, failures). @default createLogger('gateway') (PSGRAPH_LOG_LEVEL) */
  readonly logger?: Logger;
  /** Signs the principal each subgraph request states (`PSGRAPH_SIGNING_KEY`). @default none: development */
  readonly signer?: PrincipalSigner;
}

export function createGatewayServer(config: GatewayConfig, options: GatewayServerOptions = {}): GatewayServer {
  const log = options.logger ?? createLogger('gateway');
  const metrics = new Metrics({ defaultMetrics: true });
  const counters: EndpointContext['counters'] = {
    fetch: metrics.counter('psgraph_subgraph_fetches_total', 'HTTP requests the gateway sent to each subgraph, by outcome.', ['subgraph', 'outcome']),
    fetchDuration: metrics.histogram(
      'psgraph_subgraph_fetch_duration_seconds',
      'Duration of the HTTP requests the gateway sent to each subgraph, by outcome (ok or the error code).',
      ['subgraph', 'outcome'],
    ),
    operations: metrics.counter('psgraph_subgraph_operations_total', 'Query-plan fetches to each subgraph (several may share one HTTP request).', ['subgraph']),
    request: metrics.counter('psgraph_gateway_requests_total', 'GraphQL requests the gateway received.', []),
    shared: metrics.counter('psgraph_gateway_requests_shared_total', 'GraphQL requests answered with the response of an identical request in flight.', []),
    unauthorized: metrics.counter('psgraph_unauthorized_fields_total', 'Fields withheld from (or, in reject mode, refused to) callers, by mode.', ['mode']),
    cost: metrics.counter('psgraph_operation_cost_total', 'Summed cost of operations: estimated before planning, actual by response shape.', ['measure']),
    refused: metrics.counter('psgraph_operations_refused_total', 'Operations refused before planning, by reason.', ['reason']),
    subscriptionEvent: metrics.counter('psgraph_subscription_events_total', 'Subscription events delivered to clients (after hydration).', []),
    droppedEvent: metrics.counter('psgraph_subscription_events_dropped_total', "Subscription events dropped because a client's queue was full.", []),
  };
  const requestMetrics = createRequestMetrics(metrics, {
    durationName: 'psgraph_gateway_request_duration_seconds',
    durationHelp: 'GraphQL requests the gateway answered, by operation name and outcome (success, error, refused).',
    operationNames: new OperationNames({ maxSeen: config.metricsOperationNames }),
  });
  /** Answers a request refused before its body was read, and records it as refused. */
  const refuse = (response: ServerResponse, startedAt: number, status: number, code: ErrorCode, message: string) => {
    sendJsonError(response, status, code, message);
    requestMetrics.countError(code);
    requestMetrics.observe(UNREAD_OPERATION, 'refused', (performance.now() - startedAt) / 1000);
  };
  const agent: Agent = createSubgraphAgent(config.subgraphConnections);
  const identity = new Identity(config.identity);
  const rateLimits = new RateLimits(config.rateLimits);
  const shared: EndpointContext = {
    config,
    log,
    metrics,
    counters,
    requestMetrics,
    agent,
    inflight: config.deduplicateInflight ? new InflightRequests() : undefined,
    subgraphUrls: new Map(),
    dataSources: new Map(),
    principalForwarding: new PrincipalForwarding(options.signer),
    upstreams: new UpstreamSubscriptions({ deduplicate: config.deduplicateSubscriptions }),
    identify: (authorization) => identity.identify(authorization),
  };
  // The whole API at /graphql, then each audience at its own path, each with its own supergraph and schema.
  const main = createGraphEndpoint(
    {
      name: 'graphql',
      path: '/graphql',
      supergraphPath: config.supergraphPath,
      trustedDocuments: config.trustedDocuments,
      demandControl: config.demandControl,
      clientUsers: config.clientUsersOnGraphql,
    },
    shared,
  );
  const endpoints = [
    main,
    ...config.audiences.map((audience) =>
      createGraphEndpoint(
        {
          name: audience.name,
          path: audience.path,
          supergraphPath: audience.supergraphPath,
          trustedDocuments: audience.trustedDocuments ?? config.trustedDocuments,
          demandControl: audience.maxCost === undefined ? config.demandControl : { ...config.demandControl, maxCost: audience.maxCost },
          clientUsers: audience.clientUsers,
          ...(audience.firstQuery ? { firstQuery: audience.firstQuery } : {}),
        },
        shared,
      ),
    ),
  ];
  const byPath = new Map(endpoints.map((endpoint) => [endpoint.spec.path, endpoint]));

  metrics.gauge('psgraph_supergraph_reloads_total', 'Times the supergraph file was reloaded since start.', () => main.supergraph.reloads);
  // Kept on each executor as plain numbers (the hot path), read at scrape time.
  metrics.counterFrom('psgraph_query_plan_cache_hits_total', 'Requests whose operation was planned already (plan and result shape reused).', ['endpoint'], () =>
    endpoints.flatMap((endpoint) => (endpoint.executor ? [{ labels: { endpoint: endpoint.spec.name }, value: endpoint.executor.planCacheHits }] : [])),
  );
  metrics.counterFrom('psgraph_query_plan_cache_misses_total', 'Requests whose operation had to be planned.', ['endpoint'], () =>
    endpoints.flatMap((endpoint) => (endpoint.executor ? [{ labels: { endpoint: endpoint.spec.name }, value: endpoint.executor.planCacheMisses }] : [])),
  );
  metrics.labelledGauge('psgraph_query_plan_cache_size', 'Operations kept planned, by endpoint.', ['endpoint'], () =>
    endpoints.flatMap((endpoint) => (endpoint.executor ? [{ labels: { endpoint: endpoint.spec.name }, value: endpoint.executor.preparedCount }] : [])),
  );
  metrics.gauge('psgraph_subscriptions_active', 'Client subscriptions open on this gateway.', () =>
    endpoints.reduce((sum, endpoint) => sum + endpoint.bridge.activeCount, 0),
  );
  metrics.gauge(
    'psgraph_subscription_upstreams',
    'Subscriptions open towards subgraphs (shared by identical client subscriptions).',
    () => shared.upstreams.stats().upstreams,
  );

  let draining = false;
  const readiness = createReadinessProbe(agent, shared.subgraphUrls);
  const graphqlRoute = (endpoint: GraphEndpoint): HttpHandler => {
    return async (request, response) => {
      const startedAt = performance.now();
      if (draining) {
        response.setHeader('connection', 'close');
        refuse(response, startedAt, 503, ErrorCode.SERVICE_UNAVAILABLE, 'The gateway is shutting down.');
        return;
      }
      // A browser opening the endpoint gets the IDE, as with Apollo's landing page, but served locally.
      if (request.method === 'GET' && !(request.url ?? '').includes('?') && (request.headers.accept ?? '').includes('text/html')) {
        return endpoint.ide(request, response);
      }
      const identified = await identity.identify(request.headers.authorization);
      if ('refused' in identified) {
        response.setHeader('www-authenticate', 'Bearer error="invalid_token"');
        refuse(response, startedAt, 401, ErrorCode.UNAUTHENTICATED, identified.refused);
        return;
      }
      const retryAfter = rateLimits.take(identified.principal);
      if (retryAfter !== undefined) {
        counters.refused({ reason: 'rate_limit' });
        response.setHeader('retry-after', String(retryAfter));
        refuse(response, startedAt, 429, ErrorCode.RATE_LIMITED, `Too many requests: retry after ${retryAfter} s.`);
        return;
      }
      return endpoint.handle(request, response, identified.principal);
    };
  };

  const httpServer = createHttpServer(
    {
      ...ideAssetHandlers(),
      '/': main.ide,
      ...consoleRoutes(),
      ...Object.fromEntries(endpoints.map((endpoint) => [endpoint.spec.path, graphqlRoute(endpoint)])),
      '/health': async (_request, response) => sendJson(response, 200, { status: 'ok' }),
      '/ready': async (_request, response) => {
        if (draining) return sendJson(response, 503, { status: 'draining' });
        if (endpoints.some((endpoint) => !endpoint.supergraph.loadedAt)) return sendJson(response, 503, { status: 'loading' });
        const subgraphs = await readiness();
        const ready = Object.values(subgraphs).every((state) => state === 'up');
        const status = (endpoint: GraphEndpoint) => ({
          loadedAt: endpoint.supergraph.loadedAt!.toISOString(),
          reloads: endpoint.supergraph.reloads,
          lastError: endpoint.supergraph.lastError,
        });
        sendJson(response, ready ? 200 : 503, {
          status: ready ? 'ready' : 'degraded',
          supergraph: status(main),
          ...(endpoints.length > 1 ? { audiences: Object.fromEntries(endpoints.slice(1).map((endpoint) => [endpoint.spec.name, status(endpoint)])) } : {}),
          subgraphs,
        });
      },
      '/metrics': async (_request, response) => {
        const text = await metrics.render();
        response.writeHead(200, { 'content-type': metrics.contentType });
        response.end(text);
      },
    },
    (error, requestId) => log.error({ err: error, code: LogCode.UNHANDLED_REQUEST_ERROR, request_id: requestId }, 'request failed with an unexpected error'),
  );
  // graphql-ws on each endpoint's own path: upgrades are routed here (one `ws` server per endpoint, none listening).
  httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const endpoint = byPath.get((request.url ?? '/').split('?')[0]!);
    if (!endpoint || draining) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    endpoint.webSocketServer.handleUpgrade(request, socket, head, (webSocket: WebSocket) => endpoint.webSocketServer.emit('connection', webSocket, request));
  });

  let started = false;
  return {
    gateway: main.gateway,
    apollo: main.apollo,
    executor: main.executor,
    httpServer,
    metrics,
    supergraph: main.supergraph,
    subgraphUrls: shared.subgraphUrls,
    subscriptions: { bridge: main.bridge, upstreams: shared.upstreams, server: main.subscriptionServer },
    endpoints: new Map(endpoints.map((endpoint) => [endpoint.spec.name, endpoint])),
    async listen() {
      await Promise.all(endpoints.map((endpoint) => endpoint.start()));
      started = true;
      return `${await listen(httpServer, config.port, config.host)}/graphql`;
    },
    async stop() {
      draining = true;
      for (const endpoint of endpoints) await endpoint.stop();
      await shared.upstreams.close();
      await closeGracefully(httpServer, config.drainTimeoutMs);
      if (started) for (const endpoint of endpoints) await endpoint.apollo.stop();
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
