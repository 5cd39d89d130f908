/**
 * Demand control: a static cost for every operation before any fetch, by Apollo's demand-control algorithm, and
 * a maximum per audience or role. A request over its maximum is refused with COST_ESTIMATED_TOO_EXPENSIVE and the
 * estimate in `extensions.cost`; nothing reaches a subgraph. The cost actually incurred (by response shape: an
 * object is 1 plus its children, a list the sum of its items) is measured and exported beside the estimate.
 *
 * The algorithm (Apollo Router's static estimate, applied to the operation on the supergraph's API schema):
 * - an operation costs 10 for a mutation, 0 for a query or subscription, plus its selections;
 * - a field costs `instances × (type cost + selection cost) + argument cost`, where the type cost is the field's
 *   (or its type's) `@cost(weight:)`, else 1 for an object, interface or union and 0 for a scalar or enum;
 *   `__typename` and fields excluded by `@skip`/`@include` cost 0;
 * - `instances` is 1 for a non-list field; for a list, the size a parent's `@listSize(sizedFields:)` passes down,
 *   else the field's `@listSize`: the largest of its slicing arguments' values (`first`, variables resolved), else
 *   its `assumedSize`, else the default list size;
 * - an input object argument costs 1 plus its fields; scalars and lists of scalars cost 0.
 * The directives are declared in the subgraph schemas (`@cost`, `@listSize`, Federation 2.9) and kept in the
 * supergraph, where `CostModel` reads them.
 *
 * Stage: operation (after validation, before planning).
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  type DirectiveNode,
  GraphQLError,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type GraphQLType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
  getNamedType,
  isCompositeType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  parse,
  valueFromASTUntyped,
} from 'graphql';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { ConfigError, readNumber } from '../../../subgraphs/platform/src/config.js';

interface ListSize {
  readonly assumedSize?: number;
  readonly slicingArguments: readonly string[];
  readonly sizedFields: readonly string[];
  readonly requireOneSlicingArgument: boolean;
}

/** The `@cost` and `@listSize` of a supergraph, by type and field. */
export class CostModel {
  private constructor(
    private readonly fieldWeights: ReadonlyMap<string, number>,
    private readonly typeWeights: ReadonlyMap<string, number>,
    private readonly listSizes: ReadonlyMap<string, ListSize>,
  ) {}

  static readonly EMPTY = new CostModel(new Map(), new Map(), new Map());

  /** Reads the directives from a supergraph's SDL (as composition keeps them: `@cost`, `@listSize`). */
  static fromSupergraphSdl(sdl: string): CostModel {
    const fieldWeights = new Map<string, number>();
    const typeWeights = new Map<string, number>();
    const listSizes = new Map<string, ListSize>();
    const isNamed = (directive: DirectiveNode, name: string) => directive.name.value === name || directive.name.value === `federation__${name}`;
    for (const definition of parse(sdl).definitions) {
      if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
      const typeName = definition.name.value;
      for (const directive of definition.directives ?? []) {
        if (isNamed(directive, 'cost')) typeWeights.set(typeName, Number(argumentOf(directive, 'weight') ?? 1));
      }
      for (const field of definition.fields ?? []) {
        const key = `${typeName}.${field.name.value}`;
        for (const directive of field.directives ?? []) {
          if (isNamed(directive, 'cost')) fieldWeights.set(key, Number(argumentOf(directive, 'weight') ?? 1));
          if (isNamed(directive, 'listSize')) {
            const assumedSize = argumentOf(directive, 'assumedSize');
            listSizes.set(key, {
              ...(assumedSize === undefined || assumedSize === null ? {} : { assumedSize: Number(assumedSize) }),
              slicingArguments: (argumentOf(directive, 'slicingArguments') as string[] | undefined) ?? [],
              sizedFields: (argumentOf(directive, 'sizedFields') as string[] | undefined) ?? [],
              requireOneSlicingArgument: (argumentOf(directive, 'requireOneSlicingArgument') as boolean | undefined) ?? true,
            });
          }
        }
      }
    }
    return new CostModel(fieldWeights, typeWeights, listSizes);
  }

  weight(typeName: string, fieldName: string, returnType: GraphQLNamedType): number {
    return this.fieldWeights.get(`${typeName}.${fieldName}`) ?? this.typeWeights.get(returnType.name) ?? (isCompositeType(returnType) ? 1 : 0);
  }

  listSize(typeName: string, fieldName: string): ListSize | undefined {
    return this.listSizes.get(`${typeName}.${fieldName}`);
  }
}

function argumentOf(directive: DirectiveNode, name: string): unknown {
  const argument = directive.arguments?.find((candidate) => candidate.name.value === name);
  return argument ? valueFromASTUntyped(argument.value) : undefined;
}

export interface CostEstimateOptions {
  /** Items assumed in a list the directives say nothing about. */
  readonly defaultListSize: number;
}

/** The static cost of the operation `operationName` of `document`, with its variables. */
export function estimateCost(
  schema: GraphQLSchema,
  model: CostModel,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  options: CostEstimateOptions,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (!root) return 0;

  const included = (directives: readonly DirectiveNode[] | undefined) => {
    for (const directive of directives ?? []) {
      if (directive.name.value !== 'skip' && directive.name.value !== 'include') continue;
      const argument = directive.arguments?.find((candidate) => candidate.name.value === 'if');
      const condition = argument ? valueFromASTUntyped(argument.value, variables) : undefined;
      if (directive.name.value === 'skip' && condition === true) return false;
      if (directive.name.value === 'include' && condition === false) return false;
    }
    return true;
  };

  const selectionCost = (type: GraphQLNamedType, selectionSet: SelectionSetNode, sized: ReadonlyMap<string, number>, visiting: Set<string>): number => {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (!included(selection.directives)) continue;
      if (selection.kind === Kind.FIELD) {
        cost += fieldCost(type, selection, sized, visiting);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) ?? type) : type;
        cost += selectionCost(condition, selection.selectionSet, sized, visiting);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || visiting.has(fragment.name.value)) continue;
        visiting.add(fragment.name.value);
        cost += selectionCost(schema.getType(fragment.typeCondition.name.value) ?? type, fragment.selectionSet, sized, visiting);
        visiting.delete(fragment.name.value);
      }
    }
    return cost;
  };

  const fieldCost = (parent: GraphQLNamedType, node: FieldNode, sized: ReadonlyMap<string, number>, visiting: Set<string>): number => {
    if (node.name.value.startsWith('__')) return 0;
    const definition = fieldOf(parent, node.name.value);
    if (!definition) return 0;
    const named = getNamedType(definition.type);
    const list = listSizeOf(parent.name, node, definition, sized);
    const childSized = new Map<string, number>();
    const directive = model.listSize(parent.name, node.name.value);
    if (directive && list.expected !== undefined) for (const field of directive.sizedFields) childSized.set(field.split(/\s/)[0]!, list.expected);
    const children = node.selectionSet ? selectionCost(named, node.selectionSet, childSized, visiting) : 0;
    const instances = isList(definition.type) ? (sized.get(node.name.value) ?? list.expected ?? options.defaultListSize) : 1;
    return instances * (model.weight(parent.name, node.name.value, named) + children) + argumentsCost(definition, node);
  };

  const listSizeOf = (typeName: string, node: FieldNode, definition: GraphQLField<unknown, unknown>, sized: ReadonlyMap<string, number>) => {
    const directive = model.listSize(typeName, node.name.value);
    if (!directive) return { expected: sized.get(node.name.value) };
    const values: number[] = [];
    for (const name of directive.slicingArguments) {
      const value = argumentValue(node, definition, name.split('.'), variables);
      if (typeof value === 'number') values.push(value);
      else if (Array.isArray(value)) values.push(value.length);
    }
    return { expected: values.length > 0 ? Math.max(...values) : directive.assumedSize };
  };

  const argumentsCost = (definition: GraphQLField<unknown, unknown>, node: FieldNode): number => {
    let cost = 0;
    for (const argument of node.arguments ?? []) {
      const declared = definition.args.find((candidate) => candidate.name === argument.name.value);
      if (declared) cost += inputCost(declared.type, argument.value);
    }
    return cost;
  };

  const inputCost = (type: GraphQLType, value: ValueNode): number => {
    if (value.kind === Kind.NULL) return 0;
    const unwrapped = isNonNullType(type) ? type.ofType : type;
    if (isListType(unwrapped)) return value.kind === Kind.LIST ? value.values.reduce((sum, item) => sum + inputCost(unwrapped.ofType, item), 0) : 0;
    if (isInputObjectType(unwrapped)) {
      if (value.kind !== Kind.OBJECT) return 1;
      return (
        1 +
        value.fields.reduce(
          (sum, field) => sum + (unwrapped.getFields()[field.name.value] ? inputCost(unwrapped.getFields()[field.name.value]!.type, field.value) : 0),
          0,
        )
      );
    }
    return 0;
  };

  return (operation.operation === 'mutation' ? 10 : 0) + selectionCost(root, operation.selectionSet, new Map(), new Set());
}

function fieldOf(type: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined {
  return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
}

function isList(type: GraphQLType): boolean {
  const unwrapped = isNonNullType(type) ? type.ofType : type;
  return isListType(unwrapped);
}

/** An argument's value (dotted: into input objects), its default applied and variables resolved. */
function argumentValue(node: FieldNode, definition: GraphQLField<unknown, unknown>, path: readonly string[], variables: Record<string, unknown>): unknown {
  const [name, ...rest] = path;
  const given = node.arguments?.find((argument) => argument.name.value === name);
  let value: unknown = given ? valueFromASTUntyped(given.value, variables) : definition.args.find((argument) => argument.name === name)?.defaultValue;
  for (const key of rest) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

/**
 * The cost actually incurred, by response shape: an object is 1 plus its children, a list the sum of its items,
 * a scalar nothing; the root (`data`) itself is not counted, as the estimate does not count the root type.
 */
export function actualCost(data: unknown): number {
  return data !== null && typeof data === 'object' ? shapeCost(data) - 1 : 0;
}

// Runs on every response, so it walks with plain loops: no array per object (Object.values) for the collector.
function shapeCost(value: object): number {
  if (Array.isArray(value)) {
    let sum = 0;
    for (const item of value as unknown[]) if (item !== null && typeof item === 'object') sum += shapeCost(item);
    return sum;
  }
  let sum = 1;
  for (const key in value) {
    const child = (value as Record<string, unknown>)[key];
    if (child !== null && typeof child === 'object') sum += shapeCost(child);
  }
  return sum;
}

export interface DemandControlOptions {
  /** `enforce` refuses operations over their maximum; `measure` only estimates and records; `off` estimates nothing. @default enforce (PSGRAPH_COST_MODE) */
  readonly mode: 'enforce' | 'measure' | 'off';
  /**
   * The largest estimated cost an operation may have: the portfolio page of 100 projects with the whole unified
   * view is about 30,000; ten aliased such pages are refused. @default 50000 (PSGRAPH_COST_MAX)
   */
  readonly maxCost: number;
  /** Larger or smaller maxima for principals with a role, e.g. `reporting:60000,client:5000` (the smallest applies). @default none (PSGRAPH_COST_MAX_BY_ROLE) */
  readonly maxCostByRole: Readonly<Record<string, number>>;
  /** Items assumed in a list whose size nothing declares. @default 10 (PSGRAPH_COST_LIST_SIZE) */
  readonly defaultListSize: number;
}

export function loadDemandControlOptions(env: NodeJS.ProcessEnv): DemandControlOptions {
  const mode = env['PSGRAPH_COST_MODE'] || 'enforce';
  if (mode !== 'enforce' && mode !== 'measure' && mode !== 'off') throw new ConfigError(`PSGRAPH_COST_MODE=${mode}: expected enforce, measure or off.`);
  const byRole: Record<string, number> = {};
  for (const entry of (env['PSGRAPH_COST_MAX_BY_ROLE'] ?? '').split(',').filter((item) => item.trim())) {
    const [role, max] = entry.split(':').map((part) => part.trim());
    if (!role || !max || !/^\d+$/.test(max)) throw new ConfigError(`PSGRAPH_COST_MAX_BY_ROLE: "${entry}" is not role:maximum, e.g. reporting:60000.`);
    byRole[role] = Number(max);
  }
  return {
    mode,
    maxCost: readNumber(env, 'PSGRAPH_COST_MAX', 50_000, 1, 100_000_000),
    maxCostByRole: byRole,
    defaultListSize: readNumber(env, 'PSGRAPH_COST_LIST_SIZE', 10, 1, 10_000),
  };
}

/** The maximum that applies to a principal: the smallest among its roles' maxima, else the default. */
export function maxCostFor(options: DemandControlOptions, roles: ReadonlySet<string>): number {
  const maxima = [...roles].map((role) => options.maxCostByRole[role]).filter((max): max is number => max !== undefined);
  return maxima.length > 0 ? Math.min(...maxima) : options.maxCost;
}

export interface DemandControlPluginOptions {
  readonly options: DemandControlOptions;
  /** The cost model of the supergraph in service (replaced on reload). */
  readonly model: () => CostModel;
  /** The roles of the request's principal. */
  readonly roles: (context: BaseContext) => ReadonlySet<string>;
  /** Records each operation's estimated and actual cost (metrics). */
  readonly record?: (estimated: number, actual: number | undefined) => void;
}

/** The Apollo Server plugin that estimates (and, enforcing, refuses) before planning, and measures after. */
export function demandControlPlugin(plugin: DemandControlPluginOptions): ApolloServerPlugin<BaseContext> {
  if (plugin.options.mode === 'off') return {};
  // Estimates by operation (and its variables, which may size lists), bounded; a new supergraph is a new model.
  const estimates = new Map<string, number>();
  let estimatedWith: CostModel | undefined;
  return {
    async requestDidStart() {
      let estimated: number | undefined;
      return {
        async didResolveOperation({ schema, document, operation, request, contextValue, queryHash }) {
          if (!operation || operation.operation === 'subscription') return;
          const model = plugin.model();
          if (model !== estimatedWith) {
            estimates.clear();
            estimatedWith = model;
          }
          const variables = request.variables ?? {};
          const key = `${queryHash}\u0000${operation.name?.value ?? ''}${operation.variableDefinitions?.length ? `\u0000${JSON.stringify(variables)}` : ''}`;
          estimated = estimates.get(key);
          if (estimated === undefined) {
            estimated = estimateCost(schema, model, document, operation, variables, plugin.options);
            if (estimates.size >= 2_000) estimates.delete(estimates.keys().next().value!);
            estimates.set(key, estimated);
          }
          const max = maxCostFor(plugin.options, plugin.roles(contextValue));
          if (plugin.options.mode === 'enforce' && estimated > max) {
            plugin.record?.(estimated, undefined);
            throw new GraphQLError(`The operation's estimated cost ${estimated} exceeds the maximum of ${max}: ask for fewer items per list or fewer lists.`, {
              extensions: { code: ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE, cost: { estimated, max }, http: { status: 400 } },
            });
          }
        },
        async willSendResponse({ response }) {
          if (estimated === undefined || response.body.kind !== 'single') return;
          plugin.record?.(estimated, actualCost(response.body.singleResult.data));
        },
      };
    },
  };
}
