/**
 * psgraph's executor for incoming operations, in place of @apollo/gateway's own: the same query planner (the
 * gateway's, for the loaded supergraph), and psgraph's plan execution and result shaping.
 *
 * For each distinct operation (query hash and operation name) the plan, the operation as the planner sees it and
 * its compiled result shape are kept together in a bounded cache, so that a repeated operation costs only its
 * fetches and one walk over the data. @apollo/gateway caches the plan but hashes the query again and rebuilds the
 * operation from the document on every request — most of its cost per request besides the fetches.
 *
 * `PSGRAPH_EXECUTOR=apollo` puts @apollo/gateway's executor back (for comparison, or should a difference show).
 */
import type { ApolloGateway, GraphQLDataSource } from '@apollo/gateway';
import { type Operation, type Schema, operationFromDocument } from '@apollo/federation-internals';
import { type QueryPlan, type QueryPlanner, prettyFormatQueryPlan } from '@apollo/query-planner';
import type { GatewayExecutionResult, GatewayExecutor, GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  OperationTypeNode,
  type SelectionNode,
  type VariableDefinitionNode,
  executeSync,
  getVariableValues,
  visit,
} from 'graphql';
import { tracingOn, withSpan } from '../../../subgraphs/platform/src/telemetry/index.js';
import { type AuthorizationDecision, unauthorizedErrors } from '../guards/fieldAuthorization.js';
import { SupergraphTypes, executePlanNode } from './queryPlanExecution.js';
import { type CompiledShape, TypeRelations, compileShape, shapeResponse } from './responseShaping.js';

/** What the gateway has loaded: read from @apollo/gateway (pinned to 2.14.4) after each load or reload. */
export interface LoadedSupergraph {
  readonly planner: QueryPlanner;
  /** The API schema as the planner sees it. */
  readonly apiSchema: Schema;
  /** The supergraph schema (with every subgraph's types), for type checks on entities. */
  readonly supergraphSchema: GraphQLSchema;
  /** The planner's safety checks the gateway was told to skip (APOLLO_DISABLE_SECURITY_… variables). */
  readonly planOptions: { recursiveSelectionsLimitDisabled: boolean; nonLocalSelectionsLimitDisabled: boolean };
}

/**
 * The loaded supergraph's planner and schemas. @apollo/gateway builds them on every load and keeps them in fields
 * it does not expose; reading them (rather than building a second planner) keeps one copy in memory. The fields
 * are checked, so that an upgrade that renames them fails at start-up, not on a request.
 */
export function readLoadedSupergraph(gateway: ApolloGateway): LoadedSupergraph {
  const internals = gateway as unknown as {
    queryPlanner?: QueryPlanner;
    apiSchema?: Schema;
    supergraphSchema?: GraphQLSchema;
    recursiveSelectionsLimitDisabled?: boolean;
    nonLocalSelectionsLimitDisabled?: boolean;
  };
  const { queryPlanner, apiSchema, supergraphSchema } = internals;
  if (!queryPlanner || !apiSchema || !supergraphSchema) {
    throw new Error('@apollo/gateway did not expose its query planner and schemas where psgraph reads them (is @apollo/gateway 2.14.4 installed?).');
  }
  return {
    planner: queryPlanner,
    apiSchema,
    supergraphSchema,
    planOptions: {
      recursiveSelectionsLimitDisabled: internals.recursiveSelectionsLimitDisabled === true,
      nonLocalSelectionsLimitDisabled: internals.nonLocalSelectionsLimitDisabled === true,
    },
  };
}

interface PreparedOperation {
  readonly operation: Operation;
  readonly plan: QueryPlan;
  readonly shape: CompiledShape;
  /** The client document's variable definitions, for introspection fields that use variables. */
  readonly variableDefinitions: readonly VariableDefinitionNode[];
}

interface Generation {
  readonly loaded: LoadedSupergraph;
  readonly shapeTypes: TypeRelations;
  readonly supergraphTypes: SupergraphTypes;
  readonly prepared: Map<string, PreparedOperation>;
}

export interface PsgraphExecutorOptions {
  readonly gateway: ApolloGateway;
  /** The data source of each subgraph, by name (those the gateway built). */
  readonly dataSource: (serviceName: string) => GraphQLDataSource | undefined;
  /** Distinct operations kept prepared (least recently used evicted). @default 1000 */
  readonly maxPreparedOperations?: number;
  /** What field authorization decided for a request (by its context object), if it withheld anything. */
  readonly authorization?: (context: object) => AuthorizationDecision | undefined;
}

export class PsgraphExecutor {
  private generation: Generation | undefined;
  private readonly maxPrepared: number;
  /**
   * As @apollo/gateway (on unless NODE_ENV=production): a request with an `Apollo-Query-Plan-Experimental` header
   * gets its query plan in `extensions.__queryPlanExperimental` — for integration engineers debugging a plan.
   */
  private readonly exposeQueryPlan: boolean;

  constructor(private readonly options: PsgraphExecutorOptions) {
    this.maxPrepared = options.maxPreparedOperations ?? 1000;
    this.exposeQueryPlan =
      (options.gateway as unknown as { config?: { __exposeQueryPlanExperimental?: boolean } }).config?.__exposeQueryPlanExperimental === true;
    // Registered before the gateway loads; every load and reload starts a new generation with an empty cache.
    options.gateway.onSchemaLoadOrUpdate(() => {
      const loaded = readLoadedSupergraph(options.gateway);
      this.generation = {
        loaded,
        shapeTypes: new TypeRelations(loaded.apiSchema),
        supergraphTypes: new SupergraphTypes(loaded.supergraphSchema),
        prepared: new Map(),
      };
    });
  }

  /** Requests whose operation was prepared already (plan and shape reused), and those that prepared it: for /metrics. */
  planCacheHits = 0;
  planCacheMisses = 0;

  /** Operations currently prepared. */
  get preparedCount(): number {
    return this.generation?.prepared.size ?? 0;
  }

  readonly execute: GatewayExecutor = async (requestContext) => {
    const generation = this.generation;
    if (!generation) throw new Error('The gateway has no supergraph loaded yet.');
    const { request, document, operation: definition } = requestContext;
    if (definition.variableDefinitions && definition.variableDefinitions.length > 0) {
      const { errors } = getVariableValues(requestContext.schema, definition.variableDefinitions, request.variables ?? {});
      if (errors) return { errors };
    }
    const decision = this.options.authorization?.(requestContext.context);
    const prepare = () => this.prepare(generation, requestContext.queryHash, request.operationName, document, definition, decision);
    const prepared = tracingOn() ? withSpan('query_planning', undefined, prepare) : prepare();
    const response = await (tracingOn()
      ? withSpan('execution', undefined, () => run(generation, prepared, requestContext, this.options.dataSource))
      : run(generation, prepared, requestContext, this.options.dataSource));
    if (decision) response.errors = [...unauthorizedErrors(decision), ...(response.errors ?? [])];
    const headers = request.http?.headers;
    if (this.exposeQueryPlan && headers?.get('Apollo-Query-Plan-Experimental')) {
      const format = headers.has('Apollo-Query-Plan-Experimental-Format') ? headers.get('Apollo-Query-Plan-Experimental-Format') : 'prettified';
      const printed = prepared.plan.node ? prettyFormatQueryPlan(prepared.plan) : null;
      // Replaces any other extension, as @apollo/gateway does.
      response.extensions = { __queryPlanExperimental: format === 'prettified' ? printed || true : format === 'internal' ? prepared.plan : true };
    }
    return response;
  };

  private prepare(
    generation: Generation,
    queryHash: string,
    operationName: string | undefined,
    document: DocumentNode,
    definition: OperationDefinitionNode,
    decision: AuthorizationDecision | undefined,
  ): PreparedOperation {
    // An operation with fields withheld is planned without them: prepared apart, per set of rights.
    const filtered = decision && decision.document !== document ? decision : undefined;
    const key = `${queryHash}\u0000${operationName ?? ''}${filtered ? `\u0000${filtered.rightsKey}` : ''}`;
    const cache = generation.prepared;
    const cached = cache.get(key);
    if (cached) {
      this.planCacheHits++;
      // Least recently used first: a hit moves to the back.
      cache.delete(key);
      cache.set(key, cached);
      return cached;
    }
    this.planCacheMisses++;
    const named = operationName ? { operationName } : {};
    const operation = operationFromDocument(generation.loaded.apiSchema, document, named);
    const planned = filtered ? operationFromDocument(generation.loaded.apiSchema, filtered.document, named) : operation;
    const prepared: PreparedOperation = {
      operation: planned,
      // Nothing authorized left: no plan, so no fetch; the response is shaped to nulls.
      plan: filtered?.nothingLeft ? { kind: 'QueryPlan' } : generation.loaded.planner.buildQueryPlan(planned, generation.loaded.planOptions),
      // Shaped by the client's own operation: a withheld field is null where the client asked for it.
      shape: compileShape(operation, generation.shapeTypes),
      variableDefinitions: definition.variableDefinitions ?? [],
    };
    cache.set(key, prepared);
    if (cache.size > this.maxPrepared) cache.delete(cache.keys().next().value!);
    return prepared;
  }

  /** The executor as a gateway for Apollo Server: @apollo/gateway loads and reloads; psgraph executes. */
  asGateway(): GatewayInterface {
    const { gateway } = this.options;
    return {
      onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
      load: async (options) => {
        await gateway.load(options);
        return { executor: this.execute };
      },
      stop: () => gateway.stop(),
    };
  }
}

async function run(
  generation: Generation,
  prepared: PreparedOperation,
  requestContext: GatewayGraphQLRequestContext,
  dataSource: (serviceName: string) => GraphQLDataSource | undefined,
): Promise<GatewayExecutionResult> {
  const errors: (GraphQLError | Error)[] = [];
  const merged = Object.create(null) as Record<string, unknown>;
  const root = prepared.plan.node;
  if (root?.kind === 'Subscription') throw new Error('Execution of subscriptions not supported by gateway');
  if (root) {
    await executePlanNode(
      { requestContext, dataSource, variableDefinitions: prepared.operation.variableDefinitions, supergraph: generation.supergraphTypes, errors },
      root,
      { path: [], data: merged, fullResult: merged },
    );
  }
  const variables = requestContext.request.variables;
  let shaped: ReturnType<typeof shapeResponse>;
  try {
    shaped = shapeResponse(prepared.shape, merged, variables, (selection) =>
      introspect(requestContext.schema, selection, prepared.variableDefinitions, variables),
    );
  } catch (error) {
    if (error instanceof GraphQLError) return { errors: [error] };
    return { errors: [new GraphQLError((error as Error).message, { originalError: error as Error })] };
  }
  // As @apollo/gateway: errors found while shaping are reported (as `valueCompletion`) only when no fetch failed.
  if (errors.length === 0) return shaped.errors.length > 0 ? { extensions: { valueCompletion: shaped.errors }, data: shaped.data } : { data: shaped.data };
  return { errors: errors as GraphQLError[], data: shaped.data };
}

/** Answers one `__schema` / `__type` field from the API schema, with the variables it uses. */
function introspect(
  schema: GraphQLSchema,
  selection: SelectionNode,
  definitions: readonly VariableDefinitionNode[],
  variables: Record<string, unknown> | undefined,
): unknown {
  const used = new Set<string>();
  visit(selection, { Variable: (node) => void used.add(node.name.value) });
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: OperationTypeNode.QUERY,
        variableDefinitions: definitions.filter((definition) => used.has(definition.variable.name.value)),
        selectionSet: { kind: Kind.SELECTION_SET, selections: [selection] },
      },
    ],
  };
  const { data, errors } = executeSync({ schema, document, rootValue: {}, variableValues: variables ?? null });
  if ((errors && errors.length > 0) || !data)
    throw new Error(`Introspection query for ${JSON.stringify(selection)} should not have failed but got ${JSON.stringify(errors)}`);
  const field = selection as { alias?: { value: string }; name: { value: string } };
  return Object.prototype.hasOwnProperty.call(data, field.alias?.value ?? field.name.value) ? data[field.alias?.value ?? field.name.value] : undefined;
}
