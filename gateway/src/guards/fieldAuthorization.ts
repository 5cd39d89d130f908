/**
 * Field and type authorization, declared in the subgraph schemas, with Apollo Router's semantics:
 *
 * - `@psgraphAuthenticated`: the principal must be authenticated (not anonymous);
 * - `@psgraphRequiresScopes(scopes: [[String!]!]!)`: the principal holds every scope of at least one inner list
 *   (AND inside a list, OR across lists);
 * - `@psgraphPolicy(policies: [[String!]!]!)`: the same over policies. A policy is met by a built-in rule
 *   (`staff`: not limited to client accounts; `client`: limited to accounts) or by a role of the same name.
 *
 * A requirement on a type applies to every field returning that type; on an interface field, the requirements
 * of the same field on every implementation apply too. Several directives on one element must all be met.
 *
 * Router's own `@authenticated`/`@requiresScopes`/`@policy` are `for: SECURITY` features, which @apollo/gateway
 * refuses to load (UNSUPPORTED_LINKED_FEATURE). psgraph's are linked from `https://psgraph.dev/access/v1.0` and
 * kept in the supergraph with `@composeDirective`, so the supergraph composes, loads, and carries them here.
 *
 * Unauthorized fields are removed from the operation before planning — a fetch left with nothing is never sent —
 * and each gets `null` and an error UNAUTHORIZED_FIELD_OR_TYPE at its path (`@` stands for every item of a list).
 * A selection left empty is removed with its field, which is then `null` too. The modes: `filter` (that),
 * `reject` (the whole request is refused when any field is unauthorized) and `dry_run` (the operation runs whole;
 * the errors only report what `filter` would withhold).
 *
 * Stage: operation (after validation, before planning); the filtered document is cached per operation and per
 * set of rights, so that a repeated operation costs one map lookup.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import {
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  type GraphQLType,
  type InlineFragmentNode,
  Kind,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  getNamedType,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  parse,
  valueFromASTUntyped,
} from 'graphql';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { ConfigError } from '../../../subgraphs/platform/src/config.js';
import type { Principal } from './identity.js';

export type AuthorizationMode = 'filter' | 'reject' | 'dry_run';

export interface AuthorizationOptions {
  /** `filter` nulls unauthorized fields, `reject` refuses the request, `dry_run` only reports. @default filter (PSGRAPH_AUTHORIZATION_MODE) */
  readonly mode: AuthorizationMode;
}

export function loadAuthorizationOptions(env: NodeJS.ProcessEnv): AuthorizationOptions {
  const mode = env['PSGRAPH_AUTHORIZATION_MODE'] || 'filter';
  if (mode !== 'filter' && mode !== 'reject' && mode !== 'dry_run') {
    throw new ConfigError(`PSGRAPH_AUTHORIZATION_MODE=${mode}: expected filter, reject or dry_run.`);
  }
  return { mode };
}

/** Alternatives (OR) of conjunctions (AND): one directive's `scopes` or `policies`. */
type Alternatives = readonly (readonly string[])[];

/** What one schema element requires; every listed directive must be met. */
interface Requirement {
  readonly authenticated: boolean;
  readonly scopes: readonly Alternatives[];
  readonly policies: readonly Alternatives[];
}

const NO_REQUIREMENT: Requirement = { authenticated: false, scopes: [], policies: [] };

/** The psgraph access directives of a supergraph, by type and by field. */
export class AccessRules {
  private constructor(
    private readonly types: ReadonlyMap<string, Requirement>,
    private readonly fields: ReadonlyMap<string, Requirement>,
  ) {}

  static readonly EMPTY = new AccessRules(new Map(), new Map());

  static fromSupergraphSdl(sdl: string): AccessRules {
    const types = new Map<string, Requirement>();
    const fields = new Map<string, Requirement>();
    for (const definition of parse(sdl).definitions) {
      if (!('name' in definition) || !definition.name || !('directives' in definition)) continue;
      const typeName = definition.name.value;
      const own = requirementOf(definition.directives);
      if (own) types.set(typeName, merge(types.get(typeName), own));
      if (!('fields' in definition) || !definition.fields) continue;
      for (const field of definition.fields) {
        const requirement = requirementOf(field.directives);
        const key = `${typeName}.${field.name.value}`;
        if (requirement) fields.set(key, merge(fields.get(key), requirement));
      }
    }
    return new AccessRules(types, fields);
  }

  get isEmpty(): boolean {
    return this.types.size === 0 && this.fields.size === 0;
  }

  typeRequirement(typeName: string): Requirement | undefined {
    return this.types.get(typeName);
  }

  fieldRequirement(typeName: string, fieldName: string): Requirement | undefined {
    return this.fields.get(`${typeName}.${fieldName}`);
  }
}

function requirementOf(directives: readonly DirectiveNode[] | undefined): Requirement | undefined {
  let requirement: Requirement | undefined;
  for (const directive of directives ?? []) {
    const name = directive.name.value;
    if (name === 'psgraphAuthenticated') requirement = merge(requirement, { ...NO_REQUIREMENT, authenticated: true });
    else if (name === 'psgraphRequiresScopes') requirement = merge(requirement, { ...NO_REQUIREMENT, scopes: [listArgument(directive, 'scopes')] });
    else if (name === 'psgraphPolicy') requirement = merge(requirement, { ...NO_REQUIREMENT, policies: [listArgument(directive, 'policies')] });
  }
  return requirement;
}

function listArgument(directive: DirectiveNode, name: string): Alternatives {
  const argument = directive.arguments?.find((candidate) => candidate.name.value === name);
  const value = argument ? valueFromASTUntyped(argument.value) : [];
  return Array.isArray(value) ? value.map((inner) => (Array.isArray(inner) ? inner.map(String) : [String(inner)])) : [];
}

function merge(a: Requirement | undefined, b: Requirement | undefined): Requirement {
  if (!a) return b ?? NO_REQUIREMENT;
  if (!b) return a;
  return { authenticated: a.authenticated || b.authenticated, scopes: [...a.scopes, ...b.scopes], policies: [...a.policies, ...b.policies] };
}

/** What a principal may see, with a key that is equal for principals whose rights are equal (for caches). */
export class Rights {
  /** Every right: nothing is ever withheld. */
  static readonly ALL = new Rights(null);

  readonly key: string;
  private readonly policies: ReadonlySet<string>;

  constructor(private readonly principal: Principal | null) {
    if (!principal || principal.unrestricted) {
      this.key = 'all';
      this.policies = new Set();
    } else {
      const policies = new Set(principal.roles);
      policies.add(principal.accountIds === null ? 'staff' : 'client');
      this.policies = policies;
      // Rights are the scopes and the policies met (authentication is implied: an anonymous principal has neither).
      this.key = `${principal.subject === 'anonymous' ? 'anon' : 'auth'}|${[...principal.scopes].sort().join(' ')}|${[...policies].sort().join(' ')}`;
    }
  }

  allows(requirement: Requirement | undefined): boolean {
    if (!requirement || this.key === 'all') return true;
    const principal = this.principal!;
    if (requirement.authenticated && principal.subject === 'anonymous') return false;
    const meets = (held: ReadonlySet<string>) => (alternatives: Alternatives) => alternatives.some((all) => all.every((item) => held.has(item)));
    return requirement.scopes.every(meets(principal.scopes)) && requirement.policies.every(meets(this.policies));
  }
}

const rightsByPrincipal = new WeakMap<Principal, Rights>();

/** The rights of a principal, computed once per principal object. */
export function rightsOf(principal: Principal | undefined): Rights {
  if (!principal || principal.unrestricted) return Rights.ALL;
  let rights = rightsByPrincipal.get(principal);
  if (!rights) rightsByPrincipal.set(principal, (rights = new Rights(principal)));
  return rights;
}

/** A response path; `@` stands for every item of a list. */
export type ResponsePath = readonly string[];

/** What authorization decided for one operation and one set of rights. */
export interface AuthorizationDecision {
  /** The operation to plan: the client's own when nothing was withheld. */
  readonly document: DocumentNode;
  /** Where unauthorized fields were removed (each gets `null` and an error). */
  readonly unauthorizedPaths: readonly ResponsePath[];
  /** Nothing authorized was left to run: no subgraph is called. */
  readonly nothingLeft: boolean;
  readonly rightsKey: string;
  /** Dry run: the client's operation runs whole; the paths are only reported. */
  readonly dryRun?: boolean;
}

/** The response key of the placeholder selection an operation left empty is given (so that it stays valid). */
export const EMPTY_OPERATION_KEY = '__psgraph_nothing_authorized';

/** Removes from `operation` what `rights` do not allow. */
export function authorizeOperation(
  schema: GraphQLSchema,
  rules: AccessRules,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  rights: Rights,
): AuthorizationDecision {
  const unchanged: AuthorizationDecision = { document, unauthorizedPaths: [], nothingLeft: false, rightsKey: rights.key };
  if (rights.key === 'all' || rules.isEmpty) return unchanged;
  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (!root) return unchanged;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);

  const removed: ResponsePath[] = [];
  const allowsType = (type: GraphQLNamedType) => rights.allows(rules.typeRequirement(type.name));
  const allowsField = (parent: GraphQLCompositeType, name: string, returnType: GraphQLNamedType) => {
    if (!rights.allows(rules.fieldRequirement(parent.name, name)) || !allowsType(returnType)) return false;
    if (!isAbstractType(parent)) return true;
    // A field asked of an interface requires what the same field of each implementation requires.
    return schema.getPossibleTypes(parent).every((possible) => rights.allows(rules.fieldRequirement(possible.name, name)));
  };

  /** The selection set with what is not allowed removed; the same node when nothing was; null when nothing is left. */
  const filterSet = (parent: GraphQLCompositeType, set: SelectionSetNode, path: ResponsePath, visiting: ReadonlySet<string>): SelectionSetNode | null => {
    let changed = false;
    const kept: SelectionNode[] = [];
    for (const selection of set.selections) {
      const filtered = filterSelection(parent, selection, path, visiting);
      if (filtered !== selection) changed = true;
      if (filtered) kept.push(filtered);
    }
    if (!changed) return set;
    return kept.length > 0 ? { ...set, selections: kept } : null;
  };

  const filterSelection = (parent: GraphQLCompositeType, selection: SelectionNode, path: ResponsePath, visiting: ReadonlySet<string>): SelectionNode | null => {
    if (selection.kind === Kind.FIELD) return filterField(parent, selection, path, visiting);
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
      if (!condition || !isCompositeType(condition)) return selection;
      if (!allowsType(condition)) {
        removed.push(path);
        return null;
      }
      const inner = filterSet(condition, selection.selectionSet, path, visiting);
      return inner === selection.selectionSet ? selection : inner && { ...selection, selectionSet: inner };
    }
    const fragment = fragments.get(selection.name.value);
    if (!fragment || visiting.has(fragment.name.value)) return selection;
    const condition = schema.getType(fragment.typeCondition.name.value);
    if (!condition || !isCompositeType(condition)) return selection;
    if (!allowsType(condition)) {
      removed.push(path);
      return null;
    }
    const inner = filterSet(condition, fragment.selectionSet, path, new Set([...visiting, fragment.name.value]));
    if (inner === fragment.selectionSet) return selection;
    if (!inner) return null;
    // The fragment lost fields here: inlined, so that the fragment stays whole wherever else it is spread.
    const inlined: InlineFragmentNode = {
      kind: Kind.INLINE_FRAGMENT,
      typeCondition: fragment.typeCondition,
      directives: selection.directives ?? [],
      selectionSet: inner,
    };
    return inlined;
  };

  const filterField = (parent: GraphQLCompositeType, field: FieldNode, path: ResponsePath, visiting: ReadonlySet<string>): FieldNode | null => {
    const name = field.name.value;
    if (name.startsWith('__')) return field;
    const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
    if (!definition) return field;
    const fieldPath = [...path, field.alias?.value ?? name];
    const returnType = getNamedType(definition.type);
    if (!allowsField(parent, name, returnType)) {
      removed.push(fieldPath);
      return null;
    }
    if (!field.selectionSet || !isCompositeType(returnType)) return field;
    const inner = filterSet(returnType, field.selectionSet, [...fieldPath, ...listMarkers(definition.type)], visiting);
    return inner === field.selectionSet ? field : inner && { ...field, selectionSet: inner };
  };

  const selectionSet = filterSet(root, operation.selectionSet, [], new Set());
  if (selectionSet === operation.selectionSet) return unchanged;
  const nothingLeft = selectionSet === null;
  const placeholder: FieldNode = { kind: Kind.FIELD, alias: { kind: Kind.NAME, value: EMPTY_OPERATION_KEY }, name: { kind: Kind.NAME, value: '__typename' } };
  const filteredOperation: OperationDefinitionNode = { ...operation, selectionSet: selectionSet ?? { kind: Kind.SELECTION_SET, selections: [placeholder] } };
  return {
    document: { ...document, definitions: document.definitions.map((definition) => (definition === operation ? filteredOperation : definition)) },
    unauthorizedPaths: removed,
    nothingLeft,
    rightsKey: rights.key,
  };
}

/** One `@` per list level of a field's type. */
function listMarkers(type: GraphQLType): string[] {
  const markers: string[] = [];
  let current = isNonNullType(type) ? type.ofType : type;
  while (isListType(current)) {
    markers.push('@');
    current = isNonNullType(current.ofType) ? current.ofType.ofType : current.ofType;
  }
  return markers;
}

export function unauthorizedErrors(decision: AuthorizationDecision): GraphQLError[] {
  const dryRun = decision.dryRun === true;
  return decision.unauthorizedPaths.map(
    (path) =>
      new GraphQLError(dryRun ? 'Unauthorized field or type (dry run: returned anyway)' : 'Unauthorized field or type', {
        path: [...path],
        extensions: { code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE, ...(dryRun ? { dryRun: true } : {}) },
      }),
  );
}

/**
 * Sets `null` at each path in `data` (a response of the filtered operation), for executors that shape the
 * response from the filtered operation (@apollo/gateway's): the removed fields come back as null.
 */
export function nullAtPaths(data: Record<string, unknown> | null | undefined, paths: readonly ResponsePath[]): void {
  if (!data) return;
  const place = (value: unknown, path: ResponsePath, index: number): void => {
    if (value === null || typeof value !== 'object') return;
    const segment = path[index]!;
    if (segment === '@') {
      if (Array.isArray(value)) for (const item of value) place(item, path, index + 1);
      return;
    }
    const record = value as Record<string, unknown>;
    if (index === path.length - 1) {
      if (!(segment in record)) record[segment] = null;
      return;
    }
    // A parent missing here was removed because nothing authorized was left under it: it is null itself.
    if (!(segment in record)) {
      record[segment] = null;
      return;
    }
    place(record[segment], path, index + 1);
  };
  for (const path of paths) if (path.length > 0) place(data, path, 0);
  delete data[EMPTY_OPERATION_KEY];
}

/**
 * The gateway's field authorization: the access rules of the supergraph in service, the mode, and the decisions
 * made so far, by operation and set of rights (bounded; least recently used evicted).
 */
export class FieldAuthorization {
  private rules = AccessRules.EMPTY;
  private readonly decisions = new Map<string, AuthorizationDecision>();

  constructor(
    readonly options: AuthorizationOptions,
    private readonly capacity = 2_000,
  ) {}

  /** Called on every supergraph load: the rules change, so every decision is made again. */
  load(supergraphSdl: string): void {
    this.rules = AccessRules.fromSupergraphSdl(supergraphSdl);
    this.decisions.clear();
  }

  /**
   * What `principal` may run of `operation`: undefined when nothing is withheld. In reject mode, a withheld field
   * throws UNAUTHORIZED_FIELD_OR_TYPE (HTTP 403) instead; in dry run the client's operation is kept.
   * `operationKey` identifies the document (its hash, or its text).
   */
  decide(
    operationKey: string,
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    principal: Principal | undefined,
  ): AuthorizationDecision | undefined {
    const rights = rightsOf(principal);
    if (rights.key === 'all' || this.rules.isEmpty) return undefined;
    const key = `${operationKey}\u0000${operation.name?.value ?? ''}\u0000${rights.key}`;
    let decision = this.decisions.get(key);
    if (decision) {
      this.decisions.delete(key);
    } else {
      decision = authorizeOperation(schema, this.rules, document, operation, rights);
      if (this.decisions.size >= this.capacity) this.decisions.delete(this.decisions.keys().next().value!);
    }
    this.decisions.set(key, decision);
    if (decision.unauthorizedPaths.length === 0) return undefined;
    if (this.options.mode === 'reject') {
      throw new GraphQLError(`The operation asks for fields the caller may not see: ${decision.unauthorizedPaths.map((path) => path.join('.')).join(', ')}.`, {
        extensions: { code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE, unauthorizedPaths: decision.unauthorizedPaths, http: { status: 403 } },
      });
    }
    return this.options.mode === 'dry_run' ? { ...decision, document, nothingLeft: false, dryRun: true } : decision;
  }
}

export interface FieldAuthorizationPluginOptions {
  readonly authorization: FieldAuthorization;
  readonly principal: (context: BaseContext) => Principal | undefined;
  /** Where the executor finds each request's decision (keyed by the request's context object). */
  readonly decisions: WeakMap<object, AuthorizationDecision>;
  /** Counts withheld fields (refused ones in reject mode). */
  readonly record?: (unauthorizedFields: number, mode: AuthorizationMode) => void;
}

/** The Apollo Server plugin that decides, per operation, what the principal may see — before planning. */
export function fieldAuthorizationPlugin(plugin: FieldAuthorizationPluginOptions): ApolloServerPlugin<BaseContext> {
  const { authorization } = plugin;
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, queryHash, contextValue }) {
          if (!operation) return;
          let decision: AuthorizationDecision | undefined;
          try {
            decision = authorization.decide(queryHash, schema, document, operation, plugin.principal(contextValue));
          } catch (error) {
            const paths = (error as GraphQLError).extensions?.['unauthorizedPaths'];
            plugin.record?.(Array.isArray(paths) ? paths.length : 1, authorization.options.mode);
            throw error;
          }
          if (!decision) return;
          plugin.record?.(decision.unauthorizedPaths.length, authorization.options.mode);
          plugin.decisions.set(contextValue, decision);
        },
      };
    },
  };
}

/**
 * @apollo/gateway's executor (PSGRAPH_EXECUTOR=apollo) with field authorization: it plans and shapes the filtered
 * operation (its plan cache keyed apart per set of rights), and the withheld fields are then set to null.
 */
export function withFieldAuthorization(gateway: GatewayInterface, decisions: WeakMap<object, AuthorizationDecision>): GatewayInterface {
  return {
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
    load: async (options) => {
      const { executor } = await gateway.load(options);
      if (!executor) return { executor };
      const authorized: GatewayExecutor = async (requestContext) => {
        const decision = decisions.get(requestContext.context);
        if (!decision) return executor(requestContext);
        if (decision.document === requestContext.document) {
          const result = await executor(requestContext);
          return { ...result, errors: [...unauthorizedErrors(decision), ...(result.errors ?? [])] };
        }
        const operation = decision.document.definitions.find(
          (definition): definition is OperationDefinitionNode =>
            definition.kind === Kind.OPERATION_DEFINITION && definition.name?.value === requestContext.operation.name?.value,
        )!;
        const result = await executor({
          ...requestContext,
          document: decision.document,
          operation,
          queryHash: `${requestContext.queryHash}:${decision.rightsKey}`,
        });
        const data = result.data ? { ...result.data } : result.data;
        nullAtPaths(data, decision.unauthorizedPaths);
        return { ...result, data, errors: [...unauthorizedErrors(decision), ...(result.errors ?? [])] };
      };
      return { executor: authorized };
    },
  };
}
