/**
 * Runs a query plan: walks its Sequence / Parallel / Flatten / Condition / Fetch nodes, sends each fetch through
 * the subgraph's data source, and merges what comes back into one data tree that result shaping then trims to
 * the client's selection.
 *
 * The semantics are @apollo/gateway's (the differential test holds psgraph to identical responses): entity
 * representations built from each fetch's `requires` selection, input and output rewrites, a subgraph error's
 * path translated to the client's, errors tagged with the subgraph's name. What differs is cost: each fetch's
 * `requires` selection is compiled once per cached plan into a representation builder, type checks are
 * memoised per supergraph, and no tracing objects are built for every node of every request.
 */
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import type { GraphQLDataSource } from '@apollo/gateway';
import { ERRORS, type VariableDefinitions, errorCodeDef } from '@apollo/federation-internals';
import { type FetchDataRewrite, type FetchNode, type PlanNode, type QueryPlanSelectionNode, evaluateCondition } from '@apollo/query-planner';
import { GraphQLError, type GraphQLSchema, isAbstractType, isInterfaceType, isObjectType } from 'graphql';
import { tracingOn, withSpan } from '../../../subgraphs/platform/src/telemetry/index.js';

type ResponsePath = (string | number)[];
type Data = Record<string, unknown>;

/** Where a node executes: the objects at a path of the result, and the whole result (for error paths). */
interface Cursor {
  readonly path: ResponsePath;
  readonly data: unknown;
  readonly fullResult: Data;
}

export interface PlanExecution {
  readonly requestContext: GatewayGraphQLRequestContext;
  readonly dataSource: (serviceName: string) => GraphQLDataSource | undefined;
  readonly variableDefinitions: VariableDefinitions;
  readonly supergraph: SupergraphTypes;
  /** Errors collected while executing, in the order they arose. */
  readonly errors: (GraphQLError | Error)[];
}

/** `isObjectOfType` questions against the supergraph schema, memoised: asked for every entity of every fetch. */
export class SupergraphTypes {
  private readonly answers = new Map<string, boolean>();
  private readonly builders = new WeakMap<FetchNode, RepresentationBuilder>();

  constructor(readonly schema: GraphQLSchema) {}

  /** Is `object` (by its `__typename`) of type `typeCondition` or one of its implementations or members? */
  isObjectOfType(object: Data, typeCondition: string, whenTypenameMissing = false): boolean {
    const typename = object['__typename'];
    if (!typename) return whenTypenameMissing;
    if (typename === typeCondition) return true;
    const key = `${typeCondition}\u0000${String(typename)}`;
    let answer = this.answers.get(key);
    if (answer === undefined) {
      const type = this.schema.getType(String(typename));
      const condition = this.schema.getType(typeCondition);
      // Only pairs of types the schema has are remembered: names from subgraph data must not grow the cache.
      if (type === undefined || condition === undefined) return false;
      answer = isAbstractType(condition) && (isObjectType(type) || isInterfaceType(type)) && this.schema.isSubType(condition, type);
      this.answers.set(key, answer);
    }
    return answer;
  }

  /** The representation builder of a fetch's `requires` selection, compiled on first use. */
  representationBuilder(fetch: FetchNode): RepresentationBuilder {
    let builder = this.builders.get(fetch);
    if (!builder) {
      builder = compileRequires(this, fetch.requires ?? []);
      this.builders.set(fetch, builder);
    }
    return builder;
  }
}

/** Builds an entity's representation from the data merged so far; null when a required field is missing. */
type RepresentationBuilder = (source: unknown) => Data | null;

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function isPlainObject(value: unknown): value is Data {
  return value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Makes `key` an own property before it is written, so that a key such as `__proto__` never reaches a prototype. */
function defineOwn(object: Data, key: string): void {
  if (!hasOwn(object, key) && key in object) Object.defineProperty(object, key, { configurable: true, enumerable: true, value: undefined, writable: true });
}

function compileRequires(types: SupergraphTypes, selections: readonly QueryPlanSelectionNode[]): RepresentationBuilder {
  const steps = selections.map((selection): ((source: Data, result: Data) => boolean) => {
    if (selection.kind === 'Field') {
      const responseName = selection.alias ?? selection.name;
      const sub = selection.selections ? compileRequires(types, selection.selections) : undefined;
      return (source, result) => {
        if (!hasOwn(source, responseName) || source[responseName] === undefined) return false;
        const value = source[responseName];
        result[responseName] = Array.isArray(value) ? (sub ? value.map(sub) : value) : sub ? sub(value) : value;
        return true;
      };
    }
    const typeCondition = selection.typeCondition;
    if (!typeCondition) return () => true;
    const sub = compileRequires(types, selection.selections);
    return (source, result) => {
      if (types.isObjectOfType(source, typeCondition)) deepMerge(result, sub(source));
      return true;
    };
  });
  return (source) => {
    if (source === null) return null;
    const result = Object.create(null) as Data;
    for (const step of steps) if (!step(source as Data, result)) return null;
    return result;
  };
}

/** Merges `source` into `target` in place: objects key by key, lists of the same length element by element. */
export function deepMerge(target: Data, source: unknown): Data {
  if (source === undefined || source === null) return target;
  const from = source as Data;
  for (const key of Object.keys(from)) {
    const value = from[key];
    if (value === undefined) continue;
    defineOwn(target, key);
    const existing = target[key];
    if (existing && isPlainObject(value)) {
      deepMerge(existing as Data, value);
    } else if (Array.isArray(value) && Array.isArray(existing) && value.length === existing.length) {
      for (let i = 0; i < value.length; i++) {
        if (isPlainObject(existing[i]) && isPlainObject(value[i])) deepMerge(existing[i] as Data, value[i]);
        else existing[i] = value[i];
      }
    } else {
      target[key] = value;
    }
  }
  return target;
}

function applyRewrites(types: SupergraphTypes, rewrites: readonly FetchDataRewrite[] | undefined, value: unknown): void {
  if (!rewrites) return;
  for (const rewrite of rewrites) {
    if (rewrite.path.length === 0) continue;
    const parent = rewrite.path.slice(0, -1);
    const last = rewrite.path[rewrite.path.length - 1]!;
    if (last.startsWith('... on ')) throw new Error(`Unexpected fragment as last element of ${String(rewrite.path)}`);
    const apply =
      rewrite.kind === 'ValueSetter'
        ? (object: Data) => {
            defineOwn(object, last);
            object[last] = rewrite.setValueTo;
          }
        : (object: Data) => {
            const atPath = hasOwn(object, last) ? object[last] : undefined;
            if (atPath) {
              defineOwn(object, rewrite.renameKeyTo);
              object[rewrite.renameKeyTo] = atPath;
              object[last] = undefined;
            }
          };
    applyAtPath(types, parent, 0, value, apply);
  }
}

function applyAtPath(types: SupergraphTypes, path: readonly string[], at: number, value: unknown, apply: (object: Data) => void): void {
  if (Array.isArray(value)) {
    for (const element of value) applyAtPath(types, path, at, element, apply);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (at === path.length) {
    apply(value as Data);
    return;
  }
  const element = path[at]!;
  if (element.startsWith('... on ')) {
    if (types.isObjectOfType(value as Data, element.slice('... on '.length), true)) applyAtPath(types, path, at + 1, value, apply);
  } else {
    applyAtPath(types, path, at + 1, hasOwn(value, element) ? (value as Data)[element] : undefined, apply);
  }
}

/**
 * The values at `path` below `value`, lists (`@`) flattened into one array: undefined or null when nothing is
 * there, the value itself when the path holds no `@`.
 */
function flattenAtPath(value: unknown, path: readonly (string | number)[]): unknown {
  if (!path.includes('@')) return walk(value, path, 0, undefined);
  const found: unknown[] = [];
  walk(value, path, 0, found);
  return found;
}

/** Follows `path` from `at`; with `found`, pushes every value reached at its end (and returns nothing useful). */
function walk(value: unknown, path: readonly (string | number)[], at: number, found: unknown[] | undefined): unknown {
  for (; at < path.length; at++) {
    if (value === undefined || value === null) return value;
    const element = path[at];
    if (element === '@') {
      for (const item of value as unknown[]) walk(item, path, at + 1, found);
      return undefined;
    }
    if (typeof element !== 'string') throw new Error(`Unexpected ${typeof element} found in path`);
    if (Array.isArray(value)) throw new Error(`Unexpected array in result for path element ${element}`);
    value = hasOwn(value as object, element) ? (value as Data)[element] : undefined;
  }
  // The end of the path: an '@' before it collects; a list here is one element of the result, as flatMap would
  // spread it.
  if (found) {
    if (Array.isArray(value)) for (const item of value) found.push(item);
    else found.push(value);
  }
  return value;
}

export async function executePlanNode(execution: PlanExecution, node: PlanNode, cursor: Cursor | undefined): Promise<void> {
  if (!cursor) return;
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executePlanNode(execution, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => executePlanNode(execution, child, cursor)));
      return;
    case 'Flatten': {
      const data = flattenAtPath(cursor.data, node.path);
      await executePlanNode(execution, node.node, data ? { path: cursor.path.concat(node.path), data, fullResult: cursor.fullResult } : undefined);
      return;
    }
    case 'Fetch':
      try {
        await (tracingOn()
          ? withSpan('fetch', { 'subgraph.name': node.serviceName }, () => executeFetch(execution, node, cursor))
          : executeFetch(execution, node, cursor));
      } catch (error) {
        execution.errors.push(error as Error);
      }
      return;
    case 'Condition': {
      const condition = evaluateCondition(node, execution.variableDefinitions, execution.requestContext.request.variables);
      const branch = condition ? node.ifClause : node.elseClause;
      if (branch) await executePlanNode(execution, branch, cursor);
      return;
    }
    case 'Defer':
      throw new Error('@defer support is not available in the gateway');
  }
}

async function executeFetch(execution: PlanExecution, fetch: FetchNode, cursor: Cursor): Promise<void> {
  const service = execution.dataSource(fetch.serviceName);
  if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
  const entities: Data[] = Array.isArray(cursor.data)
    ? (cursor.data as Data[]).filter((entity) => entity !== null && entity !== undefined)
    : [cursor.data as Data];
  if (entities.length < 1) return;
  const variables = Object.create(null) as Data;
  const provided = execution.requestContext.request.variables;
  if (fetch.variableUsages && provided) {
    for (const name of fetch.variableUsages) if (hasOwn(provided, name) && provided[name] !== undefined) variables[name] = provided[name];
  }
  const types = execution.supergraph;
  if (!fetch.requires) {
    const received = await send(execution, service, fetch, cursor, variables);
    if (received) applyRewrites(types, fetch.outputRewrites, received);
    for (const entity of entities) deepMerge(entity, received);
    return;
  }
  const build = types.representationBuilder(fetch);
  const representations: Data[] = [];
  const representationToEntity: number[] = [];
  for (let i = 0; i < entities.length; i++) {
    const representation = build(entities[i]);
    if (representation && representation['__typename']) {
      applyRewrites(types, fetch.inputRewrites, representation);
      representations.push(representation);
      representationToEntity.push(i);
    }
  }
  if (representations.length < 1) return;
  if ('representations' in variables) throw new Error('Variables cannot contain key "representations"');
  variables['representations'] = representations;
  const received = await send(execution, service, fetch, cursor, variables);
  if (!received) return;
  const receivedEntities = received['_entities'];
  if (!Array.isArray(receivedEntities)) throw new Error('Expected "data._entities" in response to be an array');
  if (receivedEntities.length !== representations.length) throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  for (let i = 0; i < receivedEntities.length; i++) {
    const receivedEntity = receivedEntities[i] as Data | null;
    const existing = entities[representationToEntity[i]!]!;
    if (receivedEntity && !receivedEntity['__typename']) receivedEntity['__typename'] = existing['__typename'];
    applyRewrites(types, fetch.outputRewrites, receivedEntity);
    deepMerge(existing, receivedEntity);
  }
}

async function send(execution: PlanExecution, service: GraphQLDataSource, fetch: FetchNode, cursor: Cursor, variables: Data): Promise<Data | null | undefined> {
  const { requestContext } = execution;
  const response = await service.process({
    kind: 'incoming operation' as never,
    request: { query: fetch.operation, variables, operationName: fetch.operationName },
    incomingRequestContext: requestContext,
    context: requestContext.context,
    document: fetch.operationDocumentNode,
    pathInIncomingRequest: cursor.path,
  } as never);
  if (response.errors) {
    const errorPath = errorPathTranslator(fetch, cursor);
    // All translated before any is recorded: one that cannot be (a malformed path) fails the fetch alone.
    execution.errors.push(...response.errors.map((error) => downstreamServiceError(error, fetch.serviceName, errorPath)));
  }
  return response.data as Data | null | undefined;
}

/**
 * Translates a subgraph error's path to the client's: an entity fetch's `_entities.<i>` becomes the path of the
 * i-th entity in the result (computed only when such an error arrives); a root fetch's path is prefixed by where
 * the fetch ran.
 */
function errorPathTranslator(fetch: FetchNode, cursor: Cursor): (path: readonly (string | number)[] | undefined) => ResponsePath | undefined {
  let hydrated: ResponsePath[] | undefined;
  return (path) => {
    if (fetch.requires && typeof path?.[1] === 'number') {
      if (!hydrated) {
        hydrated = [];
        hydratePaths([], cursor.path, 0, cursor.fullResult, hydrated);
      }
      return [...(hydrated[path[1]] ?? []), ...path.slice(2)];
    }
    return path ? [...cursor.path, ...path] : undefined;
  };
}

function hydratePaths(parent: ResponsePath, path: ResponsePath, at: number, data: unknown, result: ResponsePath[]): void {
  if (data === null || data === undefined) return;
  const head = path[at];
  if (head === undefined) {
    result.push(parent.slice());
  } else if (head === '@') {
    if (!Array.isArray(data)) throw new Error('expected array when encountering `@`');
    data.forEach((value, i) => {
      parent.push(i);
      hydratePaths(parent, path, at + 1, value, result);
      parent.pop();
    });
  } else if (typeof head === 'string') {
    if (Array.isArray(data)) {
      data.forEach((value, i) => {
        parent.push(i);
        hydratePaths(parent, path, at, value, result);
        parent.pop();
      });
    } else if (hasOwn(data as object, head)) {
      parent.push(head);
      hydratePaths(parent, path, at + 1, (data as Data)[head], result);
      parent.pop();
    }
  } else {
    throw new Error(`unknown path part "${String(head)}"`);
  }
}

interface SubgraphError {
  readonly message?: string;
  readonly path?: readonly (string | number)[];
  readonly extensions?: Record<string, unknown>;
}

/** A subgraph's error as the client sees it: its message and extensions, the client's path, `serviceName`. */
function downstreamServiceError(
  original: SubgraphError,
  serviceName: string,
  translatePath: (path: SubgraphError['path']) => ResponsePath | undefined,
): GraphQLError {
  const message = original.message || `Error while fetching subquery from service "${serviceName}"`;
  const { extensions } = original;
  const options = { originalError: original as Error, path: translatePath(original.path), extensions: { ...extensions, serviceName } };
  const code = errorCodeDef(original as GraphQLError);
  if (!code && extensions?.['code']) return new GraphQLError(message, options);
  return (code ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, options);
}
