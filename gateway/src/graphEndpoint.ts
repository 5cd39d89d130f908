/**
 * One GraphQL endpoint of the gateway: a supergraph file (the whole API at `/graphql`, or an audience's filtered
 * one at its own path), served by its own @apollo/gateway and Apollo Server — its own schema, introspection, IDE,
 * plans and subscriptions — with the request guards in their order: trusted documents, parsing with a token
 * limit, validation with depth and alias limits, operation resolution, field authorization, demand control. What
 * endpoints share (the subgraph connections, in-flight deduplication, upstream subscriptions, identity, rate
 * limits, metrics) comes from the gateway server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type BaseContext } from '@apollo/server';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import type { Agent } from 'undici';
import { WebSocketServer } from 'ws';
import { ErrorCode } from '../../contracts/errorCodes.js';
import { type HttpHandler, graphqlHttpHandler, sendJsonError } from '../../subgraphs/platform/src/http/graphqlHttpHandler.js';
import { type Logger, logLines } from '../../subgraphs/platform/src/logging/logger.js';
import { requestLogPlugin } from '../../subgraphs/platform/src/logging/requestLogPlugin.js';
import type { Metrics } from '../../subgraphs/platform/src/metrics.js';
import { SpanKind, contextFromHeaders, graphqlTracingPlugin, tracingOn, withSpan } from '../../subgraphs/platform/src/telemetry/index.js';
import { type RequestMetrics, requestMetricsPlugin } from '../../subgraphs/platform/src/requestMetrics.js';
import { PsgraphExecutor } from './execution/gatewayExecutor.js';
import { createErrorFormatter } from './formatGatewayError.js';
import type { GatewayConfig } from './gatewayConfig.js';
import { CostModel, type DemandControlOptions, demandControlPlugin } from './guards/demandControl.js';
import { type AuthorizationDecision, FieldAuthorization, fieldAuthorizationPlugin, withFieldAuthorization } from './guards/fieldAuthorization.js';
import type { Identification, Principal } from './guards/identity.js';
import { operationResolutionPlugin } from './guards/operationResolution.js';
import type { PrincipalForwarding } from './guards/principalForwarding.js';
import { type TrustedDocumentMode, TrustedDocuments } from './guards/trustedDocuments.js';
import { idePage } from './ide/idePage.js';
import { type InflightRequests, inboundDeduplicationPlugin, sharedResultStringifier } from './inflightDeduplication.js';
import { maxAliasesRule, maxDepthRule } from './queryLimits.js';
import { SubgraphDataSource } from './subgraphDataSource.js';
import { SubscriptionBridge } from './subscriptions/subscriptionBridge.js';
import { type SubscriptionServer, attachSubscriptionServer } from './subscriptions/subscriptionServer.js';
import type { UpstreamSubscriptions } from './subscriptions/upstreamSubscriptions.js';
import { type SupergraphFileStatus, supergraphFromFile } from './supergraphFile.js';

/** What one endpoint serves, and how. */
export interface EndpointSpec {
  /** `graphql` for the whole API, else the audience's name. */
  readonly name: string;
  /** The HTTP and WebSocket path, e.g. `/graphql`, `/portal/graphql`. */
  readonly path: string;
  readonly supergraphPath: string;
  readonly trustedDocuments: TrustedDocumentMode;
  readonly demandControl: DemandControlOptions;
  /** Whether client users (principals limited to accounts) may use it; staff always may. */
  readonly clientUsers: boolean;
  /** The query the IDE opens with. */
  readonly firstQuery?: string;
}

/** What every endpoint of one gateway shares. */
export interface EndpointContext {
  readonly config: GatewayConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly counters: {
    readonly fetch: (labels: Record<string, string>) => void;
    readonly fetchDuration: (labels: Record<string, string>, seconds: number) => void;
    readonly operations: (labels: Record<string, string>, value: number) => void;
    readonly request: () => void;
    readonly shared: () => void;
    readonly unauthorized: (labels: Record<string, string>, value: number) => void;
    readonly cost: (labels: Record<string, string>, value: number) => void;
    readonly refused: (labels: Record<string, string>) => void;
    readonly subscriptionEvent: () => void;
    readonly droppedEvent: () => void;
  };
  /** Request durations by operation and outcome, errors by code. */
  readonly requestMetrics: RequestMetrics;
  readonly agent: Agent;
  readonly inflight: InflightRequests | undefined;
  /** Subgraph name → the URL the gateway sends its fetches to (one data source per subgraph, for every endpoint). */
  readonly subgraphUrls: Map<string, string>;
  readonly dataSources: Map<string, SubgraphDataSource>;
  readonly principalForwarding: PrincipalForwarding;
  readonly upstreams: UpstreamSubscriptions;
  readonly identify: (authorization: string | undefined) => Promise<Identification>;
}

export interface GraphEndpoint {
  readonly spec: EndpointSpec;
  readonly gateway: ApolloGateway;
  readonly apollo: ApolloServer<BaseContext>;
  /** psgraph's executor, unless PSGRAPH_EXECUTOR=apollo left @apollo/gateway's in place. */
  readonly executor: PsgraphExecutor | undefined;
  readonly supergraph: SupergraphFileStatus;
  readonly bridge: SubscriptionBridge;
  readonly subscriptionServer: SubscriptionServer;
  /** Its WebSocket server (no HTTP server of its own: the gateway routes upgrades by path). */
  readonly webSocketServer: WebSocketServer;
  /** Serves one GraphQL request over HTTP for an identified principal. */
  handle(request: IncomingMessage, response: ServerResponse, principal: Principal): Promise<void>;
  /** The IDE page for this endpoint (GET from a browser). */
  readonly ide: HttpHandler;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A client user on an endpoint not open to client users. */
export function refusesClientUser(spec: EndpointSpec, principal: Principal): boolean {
  return !spec.clientUsers && principal.accountIds !== null && !principal.unrestricted;
}

export function createGraphEndpoint(spec: EndpointSpec, shared: EndpointContext): GraphEndpoint {
  const { config, counters } = shared;
  const logger = spec.name === 'graphql' ? shared.log : shared.log.child({ endpoint: spec.name });
  const log = logLines(logger, 'warn');
  const supergraph = supergraphFromFile({ path: spec.supergraphPath, log: logger });
  const statePrincipal = (context: unknown) => shared.principalForwarding.forRequest((context as { principal?: Principal } | undefined)?.principal);

  const gateway = new ApolloGateway({
    logger,
    supergraphSdl: supergraph.hook,
    buildService: ({ name, url }) => {
      const existing = shared.dataSources.get(name);
      if (existing) return existing;
      const target = config.subgraphUrls[name] ?? url;
      if (!target) throw new Error(`Subgraph "${name}" has no URL: set PSGRAPH_${name.toUpperCase()}_URL.`);
      shared.subgraphUrls.set(name, target);
      const dataSource = new SubgraphDataSource({
        name,
        url: target,
        timeoutMs: config.subgraphTimeoutMs,
        agent: shared.agent,
        forwardHeaders: config.forwardHeaders,
        principal: statePrincipal,
        mergeOperations: config.mergeSubgraphOperations,
        busyBatchWindowMs: config.busyBatchWindowMs,
        ...(shared.inflight ? { inflight: shared.inflight } : {}),
        onFetch: (subgraph, outcome, operations, seconds) => {
          counters.fetch({ subgraph, outcome });
          counters.fetchDuration({ subgraph, outcome }, seconds);
          counters.operations({ subgraph }, operations);
        },
      });
      shared.dataSources.set(name, dataSource);
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
  const executor =
    config.executor === 'psgraph'
      ? new PsgraphExecutor({ gateway, dataSource: (name) => shared.dataSources.get(name), authorization: (context) => authorizationDecisions.get(context) })
      : undefined;

  const bridge = new SubscriptionBridge({
    gateway,
    dataSources: shared.dataSources,
    subgraphUrls: shared.subgraphUrls,
    upstreams: shared.upstreams,
    principalHeader: (principal) => shared.principalForwarding.forRequest(principal),
    queueCapacity: config.subscriptionQueueCapacity,
    onEvent: () => {
      counters.subscriptionEvent();
      // An event tells its subscribers of a write: what they query next must not join reads begun before it.
      shared.inflight?.closeAllOncePerTick();
    },
    onDrop: () => counters.droppedEvent(),
    log,
    logger,
  });
  const trustedDocuments = TrustedDocuments.fromManifests(spec.trustedDocuments, config.trustedDocumentManifests, {
    log,
    allowIntrospection: config.introspection,
    // /graphql's mode is set by its operator, who must give a manifest; an audience's comes with its definition.
    required: spec.name === 'graphql',
  });
  shared.requestMetrics.operationNames.addKnown(trustedDocuments.operationNames);
  // The principal of each HTTP request, from the HTTP stage (identity) to the context its GraphQL operation runs in.
  const principals = new WeakMap<IncomingMessage, Principal>();

  const apollo = new ApolloServer<BaseContext>({
    gateway: executor ? executor.asGateway() : withFieldAuthorization(gateway, authorizationDecisions),
    logger,
    formatError: createErrorFormatter(config.production),
    includeStacktraceInErrorResponses: !config.production,
    introspection: config.introspection,
    parseOptions: { maxTokens: config.maxTokens },
    // Automatic persisted queries would let a client register any document: not where documents are trusted.
    ...(spec.trustedDocuments === 'off' ? {} : { persistedQueries: false as const }),
    validationRules: [maxDepthRule(config.maxDepth), maxAliasesRule(config.maxAliases)],
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    ...(shared.inflight ? { stringifyResult: sharedResultStringifier() } : {}),
    plugins: [
      // Nothing is reported to Apollo and no landing page is fetched from a CDN: the IDE is served locally.
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      requestLogPlugin(logger),
      { requestDidStart: async () => void counters.request() },
      // Only when tracing is on at start (the process starts it first): off, not even an empty hook per request.
      ...(tracingOn() ? [graphqlTracingPlugin({ nameByOperationType: false })] : []),
      requestMetricsPlugin(shared.requestMetrics),
      operationResolutionPlugin(),
      fieldAuthorizationPlugin({
        authorization: fieldAuthorization,
        principal: (context) => (context as { principal?: Principal }).principal,
        decisions: authorizationDecisions,
        record: (fields, mode) => counters.unauthorized({ mode }, fields),
      }),
      demandControlPlugin({
        options: spec.demandControl,
        model: () => costModel,
        roles: (context) => (context as { principal?: Principal }).principal?.roles ?? new Set(),
        record: (estimated, actual) => {
          counters.cost({ measure: 'estimated' }, estimated);
          if (actual === undefined) counters.refused({ reason: 'cost' });
          else counters.cost({ measure: 'actual' }, actual);
        },
      }),
      ...(shared.inflight
        ? [
            inboundDeduplicationPlugin({
              requests: shared.inflight,
              forwardHeaders: [...new Set(['authorization', ...config.forwardHeaders])],
              maxWaitMs: config.subgraphTimeoutMs,
              onShared: () => counters.shared(),
            }),
          ]
        : []),
    ],
  });

  const graphql = graphqlHttpHandler({
    server: apollo,
    context: (request) => ({ principal: principals.get(request) }),
    maxBodyBytes: config.maxBodyBytes,
    prepareBody: (body) => {
      const resolved = trustedDocuments.resolve(body);
      if ('refused' in resolved) shared.requestMetrics.countError(resolved.refused.code);
      return resolved;
    },
  });
  const html = Buffer.from(idePage(spec.path, spec.firstQuery));
  const webSocketServer = new WebSocketServer({ noServer: true, maxPayload: config.wsMaxPayloadBytes });
  const subscriptionServer = attachSubscriptionServer({
    webSocketServer,
    schema: () => gateway.schema,
    bridge,
    identify: async (authorization) => {
      const identified = await shared.identify(authorization);
      return 'principal' in identified && refusesClientUser(spec, identified.principal) ? { refused: 'Client users subscribe on their portal.' } : identified;
    },
    prepareRequest: (payload) => trustedDocuments.resolve(payload),
    authorize: (query, schema, document, operation, principal) => fieldAuthorization.decide(query, schema, document, operation, principal),
    validationRules: [maxDepthRule(config.maxDepth), maxAliasesRule(config.maxAliases)],
    maxTokens: config.maxTokens,
    formatError: createErrorFormatter(config.production),
    keepAliveMs: config.wsKeepAliveMs,
    connectionInitWaitTimeoutMs: config.wsConnectionInitTimeoutMs,
  });

  return {
    spec,
    gateway,
    apollo,
    executor,
    supergraph: supergraph.status,
    bridge,
    subscriptionServer,
    webSocketServer,
    async handle(request, response, principal) {
      if (refusesClientUser(spec, principal)) {
        counters.refused({ reason: 'audience' });
        shared.requestMetrics.countError(ErrorCode.FORBIDDEN);
        sendJsonError(response, 403, ErrorCode.FORBIDDEN, `${spec.path} is not open to client users: use the client portal's endpoint.`);
        return;
      }
      principals.set(request, principal);
      if (!tracingOn()) return graphql(request, response);
      // The operation's span, named as Apollo Router names it; a client's traceparent makes it part of the client's trace.
      return withSpan('supergraph', { 'psgraph.endpoint': spec.path }, () => graphql(request, response), {
        kind: SpanKind.SERVER,
        parent: contextFromHeaders(request.headers),
      });
    },
    ide: async (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': html.length });
      response.end(html);
    },
    start: () => apollo.start(),
    async stop() {
      bridge.endAll({ message: 'The gateway is shutting down; subscribe again.', code: ErrorCode.SERVICE_UNAVAILABLE });
      await subscriptionServer.close();
    },
  };
}
