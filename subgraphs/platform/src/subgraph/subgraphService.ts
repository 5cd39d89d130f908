/**
 * Builds a system subgraph as a service: its schema, its Apollo Server, and an HTTP server with `/graphql`,
 * `/health` and `/metrics`. Building is separate from listening, so tests start services on free ports.
 */
import type { IncomingMessage, Server } from 'node:http';
import { ApolloServer, type BaseContext } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type HttpHandler, graphqlHttpHandler, sendJson, sendJsonError } from '../http/graphqlHttpHandler.js';
import { closeGracefully, createHttpServer, listen } from '../http/httpServer.js';
import { LogCode } from '../logging/logCodes.js';
import { type Logger, createLogger } from '../logging/logger.js';
import { requestLogPlugin } from '../logging/requestLogPlugin.js';
import { Metrics } from '../metrics.js';
import { createRequestMetrics, requestMetricsPlugin } from '../requestMetrics.js';
import { type Caller, DEVELOPMENT_CALLER } from '../security/caller.js';
import { PRINCIPAL_HEADER, type PrincipalVerificationOptions, PrincipalVerifier } from '../security/principalTokens.js';
import { SpanKind, contextFromHeaders, graphqlTracingPlugin, tracingOn, withSpan } from '../telemetry/index.js';
import { mergeResolverMaps } from './resolverMaps.js';
import { scalarResolvers } from './scalars.js';

export interface SubgraphServiceOptions<TContext extends BaseContext> {
  readonly name: string;
  readonly typeDefs: DocumentNode;
  /**
   * The subgraph's resolvers, typed by the subgraph from its schema (GraphQL Code Generator); handed to
   * @apollo/subgraph, whose own map type is looser, here and only here.
   */
  readonly resolvers: object;
  /** Builds a fresh context (and fresh DataLoaders) for each request, for the caller it acts for. */
  readonly context: (caller: Caller) => TContext;
  /** How callers are verified (`psgraph-principal`). @default no keys, none required: every caller is the developer */
  readonly principals?: PrincipalVerificationOptions;
  /** Registers what the system adapter counts on this service's /metrics. */
  readonly instrument?: (metrics: Metrics) => void;
  /** Further HTTP endpoints (a vendor's webhooks), beside /graphql, /health and /metrics. */
  readonly routes?: Readonly<Record<string, HttpHandler>>;
  /** Releases the system adapter (stops its event relay, closes the store) when the service stops. */
  readonly close: () => void | Promise<void>;
  readonly production: boolean;
  /** @default 1 MiB */
  readonly maxBodyBytes?: number;
  /** Largest WebSocket frame accepted on the subscription endpoint. @default 64 KiB */
  readonly maxWebSocketPayloadBytes?: number;
  /** Where the service logs (a line per request at debug, unexpected errors). @default createLogger(name) */
  readonly logger?: Logger;
}

export interface SubgraphService {
  readonly name: string;
  readonly schema: GraphQLSchema;
  readonly apollo: ApolloServer<BaseContext>;
  readonly httpServer: Server;
  readonly metrics: Metrics;
  /** Subscriptions currently open on this subgraph's graphql-ws endpoint. */
  readonly activeSubscriptions: () => number;
  /** A fresh per-request context, as the HTTP handler builds one (tests run operations with it). */
  readonly createContext: (caller?: Caller) => BaseContext;
  /** Starts Apollo Server and listens; resolves with the GraphQL endpoint URL. */
  listen(port: number, host: string): Promise<string>;
  /** Stops listening after requests in flight finish, then closes the store. */
  stop(): Promise<void>;
}

export function createSubgraphService<TContext extends BaseContext>(options: SubgraphServiceOptions<TContext>): SubgraphService {
  const schema = buildSubgraphSchema([
    { typeDefs: options.typeDefs, resolvers: mergeResolverMaps<object>(scalarResolvers, options.resolvers) as GraphQLResolverMap<unknown> },
  ]);
  const metrics = new Metrics({ defaultMetrics: true });
  const logger = options.logger ?? createLogger(options.name);
  const countRequest = metrics.counter('psgraph_graphql_requests_total', 'GraphQL requests served by this subgraph.', []);
  const requestMetrics = createRequestMetrics(metrics, {
    durationName: 'psgraph_graphql_request_duration_seconds',
    durationHelp: 'GraphQL requests served by this subgraph, by operation name and outcome (success, error, refused).',
  });
  options.instrument?.(metrics);

  const apollo = new ApolloServer<TContext>({
    schema,
    includeStacktraceInErrorResponses: !options.production,
    plugins: [
      // Nothing is reported anywhere and nothing is loaded from a CDN: psgraph never phones home.
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      // No field declares @cacheControl, and the gateway ignores a subgraph's cache-control header; left on, the
      // plugin wraps every resolver of every request to compute a policy nobody reads.
      ApolloServerPluginCacheControlDisabled(),
      { requestDidStart: async () => void countRequest() },
      // Only when tracing is on at start (runSubgraphProcess starts it first): off, not even an empty hook per request.
      ...(tracingOn() ? [graphqlTracingPlugin({ nameByOperationType: true })] : []),
      requestMetricsPlugin(requestMetrics),
      requestLogPlugin(logger),
    ],
  });
  const verifier = new PrincipalVerifier(options.principals ?? { required: false, processSigners: ['activation'] });
  // The verified caller of each HTTP request, from the HTTP stage to the context its operation runs in.
  const callers = new WeakMap<IncomingMessage, Caller>();
  const graphql = graphqlHttpHandler({
    server: apollo,
    context: (request) => options.context(callers.get(request) ?? DEVELOPMENT_CALLER),
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
  });
  const countRefused = metrics.counter('psgraph_principal_refused_total', 'Requests refused for want of a valid principal token.', []);
  const serveGraphql: HttpHandler = async (request, response) => {
    const identified = await verifier.identify(request.headers[PRINCIPAL_HEADER]);
    if ('refused' in identified) {
      countRefused();
      sendJsonError(response, 401, ErrorCode.UNAUTHENTICATED, identified.refused);
      return;
    }
    callers.set(request, identified.caller);
    return graphql(request, response);
  };
  const httpServer = createHttpServer(
    {
      ...options.routes,
      // The server span continues the caller's trace (the gateway's subgraph_request, the activation saga's step);
      // renamed to the operation type once it is known.
      '/graphql': (request, response) =>
        tracingOn()
          ? withSpan('GraphQL Operation', { 'psgraph.subgraph': options.name }, () => serveGraphql(request, response), {
              kind: SpanKind.SERVER,
              parent: contextFromHeaders(request.headers),
            })
          : serveGraphql(request, response),
      '/health': async (_request, response) => sendJson(response, 200, { status: 'ok', service: options.name }),
      '/metrics': async (_request, response) => {
        const text = await metrics.render();
        response.writeHead(200, { 'content-type': metrics.contentType });
        response.end(text);
      },
    },
    (error, requestId) => logger.error({ err: error, code: LogCode.UNHANDLED_REQUEST_ERROR, request_id: requestId }, 'request failed with an unexpected error'),
  );

  // A subgraph that declares Subscription fields serves them over graphql-ws on its /graphql path, where the
  // gateway's subscription bridge connects.
  let webSockets: { server: WebSocketServer; dispose: () => Promise<void> | void } | undefined;
  let activeSubscriptions = 0;
  metrics.gauge('psgraph_subscriptions_active', 'Subscriptions open on this subgraph (the gateway is its client).', () => activeSubscriptions);
  if (schema.getSubscriptionType()) {
    const server = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: options.maxWebSocketPayloadBytes ?? 64 * 1024 });
    const cleanup = useServer<Record<string, unknown> | undefined, { caller?: Caller }>(
      {
        schema,
        // The gateway states the subscriber's principal in the connection parameters; refused: 4403.
        onConnect: async (ctx) => {
          const identified = await verifier.identify(ctx.connectionParams?.[PRINCIPAL_HEADER] as string | undefined);
          if ('refused' in identified) {
            countRefused();
            return false;
          }
          ctx.extra.caller = identified.caller;
          return true;
        },
        context: (ctx) => options.context(ctx.extra.caller ?? DEVELOPMENT_CALLER),
        onSubscribe: () => void activeSubscriptions++,
        onComplete: () => void activeSubscriptions--,
      },
      server,
    );
    webSockets = { server, dispose: () => cleanup.dispose() };
  }

  let started = false;
  return {
    name: options.name,
    schema,
    apollo: apollo as unknown as ApolloServer<BaseContext>,
    httpServer,
    metrics,
    createContext: (caller = DEVELOPMENT_CALLER) => options.context(caller),
    activeSubscriptions: () => activeSubscriptions,
    async listen(port, host) {
      await apollo.start();
      started = true;
      return `${await listen(httpServer, port, host)}/graphql`;
    },
    async stop() {
      try {
        if (webSockets) {
          await webSockets.dispose();
          for (const client of webSockets.server.clients) client.terminate();
        }
        await closeGracefully(httpServer, 5_000);
        // A service built only to seed its store (or to run operations in a test) was never started.
        if (started) await apollo.stop();
      } finally {
        await options.close();
      }
    },
  };
}
