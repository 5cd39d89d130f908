/**
 * The gateway's graphql-ws endpoint: the same `/graphql` path and port as HTTP. graphql-ws enforces the
 * protocol (4408 no init in time, 4429 second init, 4401 subscribe before ack, 4409 duplicate id, 4400
 * malformed message, 4403 when `onConnect` refuses), `ws` enforces `maxPayload` (1009), and keep-alive pings
 * detect dead peers. Apollo Server's plugins do not run here, so authentication, validation and the query
 * limits are applied in `onConnect`/`onSubscribe`, and errors are formatted (and masked) in `onNext`.
 */
import type { IncomingMessage } from 'node:http';
import {
  type ExecutionResult,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type DocumentNode,
  type OperationDefinitionNode,
  type ValidationRule,
  parse,
  specifiedRules,
  validate,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocketServer } from 'ws';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import type { AuthorizationDecision } from '../guards/fieldAuthorization.js';
import type { Identification, Principal } from '../guards/identity.js';
import type { SubscriptionBridge, SubscriptionClientContext } from './subscriptionBridge.js';

export interface SubscriptionServerOptions {
  /** The endpoint's WebSocket server (the gateway routes each upgrade to it by path; it enforces `maxPayload`). */
  readonly webSocketServer: WebSocketServer;
  readonly schema: () => GraphQLSchema | undefined;
  readonly bridge: SubscriptionBridge;
  /** Who the caller is (closes 4403 when refused); the connection ends (4403) when the credentials expire. */
  readonly identify: (authorization: string | undefined) => Promise<Identification>;
  readonly validationRules: readonly ValidationRule[];
  /** Puts the document a trusted document's ID stands for in place, or refuses the subscription (trusted documents). */
  readonly prepareRequest?: (payload: Record<string, unknown>) => { body: Record<string, unknown> } | { refused: { code: string; message: string } };
  /**
   * Field authorization of the subscription for its subscriber: what is withheld (undefined: nothing); throws a
   * GraphQLError to refuse the subscription (reject mode).
   */
  readonly authorize?: (
    query: string,
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    principal: Principal | undefined,
  ) => AuthorizationDecision | undefined;
  /** Most lexical tokens a subscription document may have. */
  readonly maxTokens: number;
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Ping interval; a peer that does not answer is terminated. */
  readonly keepAliveMs: number;
  /** Time allowed between connecting and `connection_init` (then 4408). */
  readonly connectionInitWaitTimeoutMs: number;
}

export interface SubscriptionServer {
  readonly webSocketServer: WebSocketServer;
  /** Open WebSocket connections. */
  readonly connections: () => number;
  close(): Promise<void>;
}

export function attachSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { webSocketServer } = options;
  const format = (errors: readonly GraphQLError[] | undefined) => errors?.map((error) => options.formatError(error.toJSON(), error));
  const cleanup = useServer<Record<string, unknown> | undefined, { authorization?: string | undefined; principal?: Principal; expiry?: NodeJS.Timeout }>(
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const raw = params['authorization'] ?? params['Authorization'] ?? headerOf(ctx.extra.request, 'authorization');
        const authorization = typeof raw === 'string' ? raw : undefined;
        const identified = await options.identify(authorization);
        if ('refused' in identified) return false;
        ctx.extra.authorization = authorization;
        ctx.extra.principal = identified.principal;
        // Credentials that expire end the connection, and so its subscriptions, with graphql-ws's "Forbidden".
        const expiresAt = identified.principal.expiresAt;
        if (expiresAt !== null) {
          const socket = ctx.extra.socket;
          ctx.extra.expiry = setTimeout(() => socket.close(4403, 'Forbidden'), Math.max(0, expiresAt - Date.now()));
          ctx.extra.expiry.unref();
          socket.once('close', () => clearTimeout(ctx.extra.expiry));
        }
        return true;
      },
      onSubscribe: (ctx, _id, received) => {
        let payload = received;
        if (options.prepareRequest) {
          const prepared = options.prepareRequest(received as unknown as Record<string, unknown>);
          if ('refused' in prepared) return [new GraphQLError(prepared.refused.message, { extensions: { code: prepared.refused.code } })];
          payload = prepared.body as unknown as typeof received;
        }
        const schema = options.schema();
        if (!schema) return [new GraphQLError('The gateway has no supergraph loaded yet.', { extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } })];
        let document;
        try {
          document = parse(payload.query, { maxTokens: options.maxTokens });
        } catch (error) {
          const message = (error as Error).message;
          const code = /Document contains more (?:than|that) \d+ tokens/.test(message) ? ErrorCode.QUERY_TOO_COMPLEX : ErrorCode.GRAPHQL_PARSE_FAILED;
          return [new GraphQLError(message, { extensions: { code } })];
        }
        const errors = validate(schema, document, [...specifiedRules, ...options.validationRules]);
        if (errors.length > 0) {
          return errors.map(
            (error) =>
              new GraphQLError(error.message, {
                nodes: error.nodes,
                extensions: { code: error.extensions['code'] ?? ErrorCode.GRAPHQL_VALIDATION_FAILED, ...error.extensions },
              }),
          );
        }
        const operation = document.definitions.find(
          (d) => d.kind === 'OperationDefinition' && (payload.operationName == null || d.name?.value === payload.operationName),
        );
        if (!operation || operation.kind !== 'OperationDefinition' || operation.operation !== 'subscription') {
          return [
            new GraphQLError('Only subscriptions are served over WebSocket; send queries and mutations over HTTP.', {
              extensions: { code: ErrorCode.BAD_REQUEST },
            }),
          ];
        }
        let withheld: AuthorizationDecision | undefined;
        try {
          withheld = options.authorize?.(payload.query, schema, document, operation, ctx.extra.principal);
        } catch (error) {
          return [error as GraphQLError];
        }
        if (withheld?.nothingLeft) {
          return [new GraphQLError('The caller may not subscribe to this field.', { extensions: { code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE } })];
        }
        const contextValue: SubscriptionClientContext = {
          authorization: ctx.extra.authorization,
          ...(ctx.extra.principal ? { principal: ctx.extra.principal } : {}),
          ...(withheld ? { withheld } : {}),
        };
        // The subscription is planned without what the subscriber may not see; each event then gets nulls and errors there.
        return {
          schema,
          document: withheld?.document ?? document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? {},
          contextValue,
        };
      },
      subscribe: (args) => options.bridge.subscribe(args),
      onNext: (_ctx, _id, _payload, _args, result: ExecutionResult) => {
        const errors = format(result.errors);
        return { ...(result.data !== undefined ? { data: result.data } : {}), ...(errors ? { errors } : {}) };
      },
      onError: (_ctx, _id, _payload, errors) => format(errors),
    },
    webSocketServer,
    options.keepAliveMs,
  );
  return {
    webSocketServer,
    connections: () => webSocketServer.clients.size,
    async close() {
      await cleanup.dispose();
      for (const socket of webSocketServer.clients) socket.close(1001, 'Going away');
      await new Promise<void>((resolve) => webSocketServer.close(() => resolve()));
      for (const socket of webSocketServer.clients) socket.terminate();
    },
  };
}

function headerOf(request: IncomingMessage | undefined, name: string): string | undefined {
  const value = request?.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
