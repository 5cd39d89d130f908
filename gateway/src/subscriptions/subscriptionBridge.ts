/**
 * Federated subscriptions on @apollo/gateway, which plans subscriptions but refuses to execute them. As Apollo
 * Router does it: the query planner splits a subscription into a `primary` fetch (the subgraph that owns the
 * Subscription field, opened over graphql-ws and passed through) and `rest` (the entity fetches that hydrate
 * fields from other subgraphs). For every event, the gateway's own `executeQueryPlan` runs [primary, rest]
 * with the primary fetch answered by the event, so any field of the supergraph can be selected, with the
 * gateway's own merging, flattening and result shaping.
 *
 * Each client subscription has a bounded queue between the upstream and its hydration (drop-oldest when full),
 * and every subscription ends with SUBSCRIPTION_SCHEMA_RELOAD when the supergraph is reloaded, because its plan
 * belongs to the schema it was made for.
 */
import { type ApolloGateway, type GraphQLDataSource, type ServiceMap, buildOperationContext, executeQueryPlan } from '@apollo/gateway';
import { type Schema, operationFromDocument } from '@apollo/federation-internals';
import type { FetchNode, PlanNode, QueryPlan, QueryPlanner } from '@apollo/query-planner';
import { HeaderMap } from '@apollo/server';
import {
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  getVariableValues,
  print,
} from 'graphql';
import { BoundedQueue } from '../../../subgraphs/platform/src/boundedQueue.js';
import type { Logger } from '../../../subgraphs/platform/src/logging/logger.js';
import { readLoadedSupergraph } from '../execution/gatewayExecutor.js';
import { type AuthorizationDecision, nullAtPaths, unauthorizedErrors } from '../guards/fieldAuthorization.js';
import type { Principal } from '../guards/identity.js';
import type { UpstreamEvent, UpstreamSubscriptions } from './upstreamSubscriptions.js';

/** What the gateway knows of a subscribing client (built in graphql-ws `onConnect`/`context`). */
export interface SubscriptionClientContext {
  /** The client's Authorization value, forwarded to subgraphs on every fetch of its subscription. */
  readonly authorization?: string | undefined;
  /** Who subscribed (identity), for authorization of each event's hydration. */
  readonly principal?: Principal;
  /** The fields withheld from this subscriber (the document is already without them): null with an error in every event. */
  readonly withheld?: AuthorizationDecision;
}

export interface SubscriptionBridgeOptions {
  readonly gateway: ApolloGateway;
  /** The gateway's data sources by subgraph name (filled as the gateway builds them). */
  readonly dataSources: ReadonlyMap<string, GraphQLDataSource>;
  /** Subgraph name → GraphQL endpoint URL. */
  readonly subgraphUrls: ReadonlyMap<string, string>;
  readonly upstreams: UpstreamSubscriptions;
  /** The `psgraph-principal` header for a subscriber (its upstream connection states who it is). */
  readonly principalHeader?: (principal: Principal | undefined) => Promise<string | undefined>;
  /** Events a client may fall behind by; past it the oldest waiting event is dropped. @default 128 */
  readonly queueCapacity?: number;
  readonly onEvent?: () => void;
  readonly onDrop?: () => void;
  readonly log?: (message: string) => void;
  /** What Apollo's request pipeline logs while hydrating an event (the gateway's logger). @default console */
  readonly logger?: Logger;
}

interface PlanningState {
  readonly planner: QueryPlanner;
  readonly supergraphSchema: GraphQLSchema;
  readonly apiSchema: Schema;
  readonly apiGraphQLSchema: GraphQLSchema;
}

type QueueItem = { readonly event: UpstreamEvent } | { readonly end: { message: string; code: string } | undefined };

export const SUBSCRIPTION_SCHEMA_RELOAD = 'SUBSCRIPTION_SCHEMA_RELOAD';

export class SubscriptionBridge {
  private state: PlanningState | undefined;
  private readonly active = new Set<ClientSubscription>();
  /**
   * Hydrations of one upstream event, by what determines their result (document, variables, caller): clients
   * sharing an upstream with the same subscription and credentials are hydrated once per event, not once each.
   * Keyed weakly by the event, so it lives exactly as long as some client still holds the event.
   */
  readonly hydrations = new WeakMap<UpstreamEvent, Map<string, Promise<ExecutionResult>>>();

  constructor(private readonly options: SubscriptionBridgeOptions) {
    // Registered before the gateway loads: listeners are not replayed for registrations made after it.
    // The gateway's own planner and schemas for the loaded supergraph: no second copy in memory.
    options.gateway.onSchemaLoadOrUpdate(({ apiSchema }) => {
      const loaded = readLoadedSupergraph(options.gateway);
      const reloaded = this.state !== undefined;
      this.state = { planner: loaded.planner, supergraphSchema: loaded.supergraphSchema, apiSchema: loaded.apiSchema, apiGraphQLSchema: apiSchema };
      if (reloaded) this.endAll({ message: 'The supergraph was reloaded; subscribe again.', code: SUBSCRIPTION_SCHEMA_RELOAD });
    });
  }

  /** Client subscriptions currently open. */
  get activeCount(): number {
    return this.active.size;
  }

  /** Ends every client subscription with `reason` (schema reload, shutdown). */
  endAll(reason: { message: string; code: string }): void {
    for (const subscription of [...this.active]) subscription.end(reason);
  }

  /** graphql-ws `subscribe`: plans the operation and returns the client's event stream. */
  subscribe = (args: ExecutionArgs): AsyncIterableIterator<ExecutionResult> | ExecutionResult => {
    const state = this.state;
    if (!state) return { errors: [new GraphQLError('The gateway has no supergraph loaded yet.', { extensions: { code: 'SERVICE_UNAVAILABLE' } })] };
    const context = (args.contextValue ?? {}) as SubscriptionClientContext;
    const operationName = args.operationName ?? undefined;
    const definition = args.document.definitions.find(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (operationName === undefined || d.name?.value === operationName),
    );
    if (!definition) return { errors: [new GraphQLError('No operation to run.', { extensions: { code: 'BAD_USER_INPUT' } })] };
    // graphql-ws hands over the raw variables; coerce them as the HTTP path does, with the same errors.
    const coerced = getVariableValues(state.apiGraphQLSchema, definition.variableDefinitions ?? [], (args.variableValues ?? {}) as Record<string, unknown>);
    if (coerced.errors)
      return { errors: coerced.errors.map((error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'BAD_USER_INPUT' } })) };

    const operation = operationFromDocument(state.apiSchema, args.document, operationName === undefined ? {} : { operationName });
    const plan = state.planner.buildQueryPlan(operation);
    const node = plan.node;
    let primary: FetchNode;
    let rest: PlanNode | undefined;
    if (node?.kind === 'Subscription') {
      primary = node.primary;
      rest = node.rest;
    } else if (node?.kind === 'Fetch') {
      primary = node;
    } else {
      return { errors: [new GraphQLError('This operation is not a subscription the gateway can run.', { extensions: { code: 'BAD_USER_INPUT' } })] };
    }
    const url = this.options.subgraphUrls.get(primary.serviceName);
    if (!url) return { errors: [new GraphQLError(`Subgraph "${primary.serviceName}" has no URL.`, { extensions: { code: 'SUBGRAPH_UNAVAILABLE' } })] };
    const primaryVariables: Record<string, unknown> = {};
    for (const name of primary.variableUsages ?? []) if (name in coerced.coerced) primaryVariables[name] = coerced.coerced[name];

    const subscription = new ClientSubscription({
      bridge: this,
      state,
      plan: { kind: 'QueryPlan', node: rest ? { kind: 'Sequence', nodes: [primary, rest] } : primary },
      primary,
      args,
      variables: coerced.coerced,
      context,
      queueCapacity: this.options.queueCapacity ?? 128,
    });
    subscription.detachUpstream = this.options.upstreams.attach(
      {
        serviceName: primary.serviceName,
        url,
        query: primary.operation,
        operationName: primary.operationName ?? undefined,
        variables: primaryVariables,
        authorization: context.authorization,
        principal: () => this.options.principalHeader?.(context.principal) ?? Promise.resolve(undefined),
      },
      { next: (event) => subscription.push({ event }), end: (error) => subscription.push({ end: error }) },
    );
    this.active.add(subscription);
    return subscription;
  };

  /** @internal */
  forget(subscription: ClientSubscription): void {
    this.active.delete(subscription);
  }

  /** @internal */
  get bridgeOptions(): SubscriptionBridgeOptions {
    return this.options;
  }
}

interface ClientSubscriptionInit {
  readonly bridge: SubscriptionBridge;
  readonly state: PlanningState;
  readonly plan: QueryPlan;
  readonly primary: FetchNode;
  readonly args: ExecutionArgs;
  readonly variables: Record<string, unknown>;
  readonly context: SubscriptionClientContext;
  readonly queueCapacity: number;
}

/**
 * One client's subscription: an async iterator (not an async generator, whose `return()` would wait for a
 * pending `next()` — so a client that leaves while no event comes would never be released).
 */
class ClientSubscription implements AsyncIterableIterator<ExecutionResult> {
  detachUpstream: () => void = () => {};
  private readonly queue: BoundedQueue<QueueItem>;
  private finished = false;
  private readonly operationContext;
  private readonly requestBase;
  private readonly hydrationKey: string;

  constructor(private readonly init: ClientSubscriptionInit) {
    const options = init.bridge.bridgeOptions;
    this.queue = new BoundedQueue<QueueItem>({ capacity: init.queueCapacity, onDrop: () => options.onDrop?.() });
    this.operationContext = buildOperationContext({
      schema: init.state.apiGraphQLSchema,
      operationDocument: init.args.document,
      ...(init.args.operationName ? { operationName: init.args.operationName } : {}),
    });
    const headers = new HeaderMap();
    if (init.context.authorization) headers.set('authorization', init.context.authorization);
    const query = print(init.args.document);
    this.hydrationKey = JSON.stringify([query, init.args.operationName ?? null, init.variables, init.context.authorization ?? null]);
    this.requestBase = {
      request: { query, operationName: init.args.operationName ?? undefined, variables: init.variables, http: { method: 'POST', headers, search: '' } },
      logger: options.logger ?? console,
      schema: init.state.apiGraphQLSchema,
      context: init.context,
      cache: undefined,
      queryHash: '',
      document: init.args.document,
      source: query,
      operationName: init.args.operationName ?? null,
      operation: this.operationContext.operation,
      overallCachePolicy: undefined,
    };
  }

  push(item: QueueItem): void {
    if ('end' in item) {
      // An end is never dropped: it finishes the queue after the events already waiting.
      this.ending = item.end;
      this.queue.end();
      return;
    }
    this.queue.push(item);
  }

  private ending: { message: string; code: string } | undefined | null = null;

  end(reason: { message: string; code: string }): void {
    this.push({ end: reason });
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.finished) return { value: undefined, done: true };
    const item = await this.queue.next();
    if (item.done) {
      const reason = this.ending;
      this.release();
      if (reason) return { value: { errors: [new GraphQLError(reason.message, { extensions: { code: reason.code } })] }, done: false };
      return { value: undefined, done: true };
    }
    const event = (item.value as { event: UpstreamEvent }).event;
    this.init.bridge.bridgeOptions.onEvent?.();
    let shared = this.init.bridge.hydrations.get(event);
    if (!shared) {
      shared = new Map();
      this.init.bridge.hydrations.set(event, shared);
    }
    let hydration = shared.get(this.hydrationKey);
    if (!hydration) {
      hydration = this.hydrate(event);
      shared.set(this.hydrationKey, hydration);
    }
    return { value: await hydration, done: false };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.release();
    await this.queue.return();
    return { value: undefined, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }

  private release(): void {
    if (this.finished) return;
    this.finished = true;
    this.detachUpstream();
    this.init.bridge.forget(this);
  }

  /** Runs [primary, rest] for one event, the primary fetch answered by the event itself. */
  private async hydrate(event: UpstreamEvent): Promise<ExecutionResult> {
    const { dataSources } = this.init.bridge.bridgeOptions;
    const primary = this.init.primary;
    const real = dataSources.get(primary.serviceName);
    const serviceMap: ServiceMap = Object.create(null);
    for (const [name, source] of dataSources) serviceMap[name] = source;
    serviceMap[primary.serviceName] = {
      process: (options) =>
        options.kind === 'incoming operation' && options.request.query === primary.operation ? Promise.resolve(event as never) : real!.process(options),
    };
    try {
      const result = await executeQueryPlan(
        this.init.plan,
        serviceMap,
        // executeFetch records subgraph error paths into `metrics`: it must be a fresh object per event.
        { ...this.requestBase, metrics: {} } as never,
        this.operationContext,
        this.init.state.supergraphSchema,
        this.init.state.apiSchema,
      );
      // Transport failures come back as plain Errors; graphql-ws needs GraphQLErrors.
      const errors = result.errors?.map((error) =>
        error instanceof GraphQLError ? error : new GraphQLError((error as Error).message ?? String(error), { originalError: error as Error }),
      );
      const withheld = this.init.context.withheld;
      if (withheld) {
        const data = (result.data ?? null) as Record<string, unknown> | null;
        nullAtPaths(data, withheld.unauthorizedPaths);
        return { data, errors: [...unauthorizedErrors(withheld), ...(errors ?? [])] };
      }
      return { data: result.data ?? null, ...(errors && errors.length > 0 ? { errors } : {}) };
    } catch (error) {
      // One event that cannot be hydrated is that event's error; the stream goes on.
      return {
        data: null,
        errors: [new GraphQLError(`Could not hydrate the event: ${(error as Error).message}`, { extensions: { code: 'INTERNAL_SERVER_ERROR' } })],
      };
    }
  }
}
