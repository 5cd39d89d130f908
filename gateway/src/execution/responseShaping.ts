/**
 * Result shaping: turns the data merged from every subgraph fetch into the response the client asked for — only
 * the fields it selected, in its order and under its aliases, with `@skip`/`@include` applied, `__typename`
 * answered, leaf values checked, and a null in a non-null position bubbling up to the nearest nullable parent
 * with an error.
 *
 * The rules are those of @apollo/gateway's own post-processing (psgraph's responses must stay identical to plain
 * @apollo/gateway's: test/e2e/differential.test.ts), but the work is split in two: the operation is compiled once,
 * when its plan is cached, into plain arrays with every type looked up and every directive read; each request then
 * only walks its data. @apollo/gateway instead rebuilds the operation from the document and consults the schema
 * for every field of every object on every request.
 */
import {
  ERRORS,
  type FieldSelection,
  type FragmentSelection,
  type NamedType,
  type Operation,
  type Schema,
  type SelectionSet,
  type Type,
  Variable,
  isCompositeType,
  isCustomScalarType,
  isEnumType,
  isObjectType,
  isSubtype,
} from '@apollo/federation-internals';
import type { GraphQLError, SelectionNode } from 'graphql';

/** A `@skip(if:)`/`@include(if:)` argument: a literal, or the variable holding it. */
type DirectiveArgument = boolean | string;

/** How a field's declared type is completed, outermost wrapper first. */
type CompiledType =
  | { readonly kind: 'nonNull'; readonly ofType: CompiledType }
  | { readonly kind: 'list'; readonly ofType: CompiledType }
  | { readonly kind: 'composite'; readonly name: string }
  | { readonly kind: 'leaf'; readonly name: string; readonly isValid: (value: unknown) => boolean };

interface CompiledField {
  readonly kind: 'field';
  readonly responseName: string;
  readonly role: 'value' | 'typename' | 'introspection';
  readonly skip: DirectiveArgument | undefined;
  readonly include: DirectiveArgument | undefined;
  /** For 'value' fields. */
  readonly type: CompiledType | undefined;
  readonly selectionSet: CompiledSelectionSet | undefined;
  /** For 'introspection' fields: the selection, with its fragments expanded, to run against the API schema. */
  readonly introspection: SelectionNode | undefined;
}

interface CompiledFragment {
  readonly kind: 'fragment';
  readonly skip: DirectiveArgument | undefined;
  readonly include: DirectiveArgument | undefined;
  readonly typeCondition: string | undefined;
  readonly selectionSet: CompiledSelectionSet;
}

type CompiledSelectionSet = readonly (CompiledField | CompiledFragment)[];

/** An operation compiled for shaping, valid as long as the schema it was compiled against. */
export interface CompiledShape {
  readonly rootTypeName: string;
  readonly selectionSet: CompiledSelectionSet;
  /** Default values of the operation's variables, under the request's own. */
  readonly defaultedVariables: Readonly<Record<string, unknown>>;
  readonly types: TypeRelations;
}

/** Type questions asked while shaping, answered from the schema once and then from memory. */
export class TypeRelations {
  private readonly subtype = new Map<string, boolean>();
  private readonly kinds = new Map<string, 'object' | 'abstract' | 'leaf' | 'unknown'>();

  constructor(private readonly schema: Schema) {}

  /** What the schema has under `typeName`. */
  kindOf(typeName: string): 'object' | 'abstract' | 'leaf' | 'unknown' {
    let kind = this.kinds.get(typeName);
    if (kind === undefined) {
      const type = this.schema.type(typeName);
      if (type === undefined) return 'unknown'; // not remembered: names from subgraph data must not grow the cache
      kind = isObjectType(type) ? 'object' : isCompositeType(type) ? 'abstract' : 'leaf';
      this.kinds.set(typeName, kind);
    }
    return kind;
  }

  /** Does a fragment on `condition` apply to an object of (or a position of) type `typeName`? False for unknown types. */
  applies(condition: string, typeName: string): boolean {
    const key = `${condition}\u0000${typeName}`;
    let answer = this.subtype.get(key);
    if (answer === undefined) {
      const conditionType = this.schema.type(condition);
      const type = this.schema.type(typeName);
      if (conditionType === undefined || type === undefined) return false; // not remembered, as above
      answer = isSubtype(conditionType, type);
      this.subtype.set(key, answer);
    }
    return answer;
  }
}

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

function leafCheck(schema: Schema, type: NamedType): (value: unknown) => boolean {
  if (isCustomScalarType(type)) return () => true;
  if (isEnumType(type)) return (value) => typeof value === 'string' && type.value(value) !== undefined;
  switch (type.name) {
    case 'Boolean':
      return (value) => typeof value === 'boolean';
    case 'Int':
    case 'ID':
      // An ID may come as a string or as an integer; an Int only as an integer.
      return type === schema.idType()
        ? (value) => typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value) && INTEGER.test(String(value)))
        : (value) => typeof value === 'number' && Number.isFinite(value) && INTEGER.test(String(value));
    case 'Float':
      return (value) => typeof value === 'number' && Number.isFinite(value);
    default:
      // String
      return (value) => typeof value === 'string';
  }
}

function compileType(schema: Schema, type: Type): CompiledType {
  switch (type.kind) {
    case 'NonNullType':
      return { kind: 'nonNull', ofType: compileType(schema, type.ofType) };
    case 'ListType':
      return { kind: 'list', ofType: compileType(schema, type.ofType) };
    default:
      return isCompositeType(type) ? { kind: 'composite', name: type.name } : { kind: 'leaf', name: type.name, isValid: leafCheck(schema, type as NamedType) };
  }
}

function directiveArgument(element: FieldSelection['element'] | FragmentSelection['element'], name: 'skip' | 'include'): DirectiveArgument | undefined {
  const schema = element.schema();
  const definition = name === 'skip' ? schema.skipDirective() : schema.includeDirective();
  const applied = element.appliedDirectivesOf(definition)[0];
  if (!applied) return undefined;
  const value: unknown = applied.arguments().if;
  return value instanceof Variable ? value.name : (value as boolean);
}

function compileSelectionSet(schema: Schema, selectionSet: SelectionSet): CompiledSelectionSet {
  return selectionSet.selections().map((selection): CompiledField | CompiledFragment => {
    if (selection.kind === 'FieldSelection') {
      const field = selection.element;
      const role = field.definition.isSchemaIntrospectionField() ? 'introspection' : field.name === '__typename' ? 'typename' : 'value';
      return {
        kind: 'field',
        responseName: field.responseName(),
        role,
        skip: directiveArgument(field, 'skip'),
        include: directiveArgument(field, 'include'),
        type: role === 'value' ? compileType(schema, field.definition.type!) : undefined,
        selectionSet: role === 'value' && selection.selectionSet ? compileSelectionSet(schema, selection.selectionSet) : undefined,
        introspection: role === 'introspection' ? selection.expandFragments().toSelectionNode() : undefined,
      };
    }
    const fragment = selection.element;
    return {
      kind: 'fragment',
      skip: directiveArgument(fragment, 'skip'),
      include: directiveArgument(fragment, 'include'),
      typeCondition: fragment.typeCondition?.name,
      selectionSet: compileSelectionSet(schema, selection.selectionSet),
    };
  });
}

export function compileShape(operation: Operation, types: TypeRelations): CompiledShape {
  const schema = operation.schema();
  return {
    rootTypeName: schema.schemaDefinition.rootType(operation.rootKind)!.name,
    selectionSet: compileSelectionSet(schema, operation.selectionSet),
    defaultedVariables: operation.collectDefaultedVariableValues(),
    types,
  };
}

/** Runs an introspection field (`__schema`, `__type`) against the API schema. */
export type IntrospectionRunner = (selection: SelectionNode) => unknown;

interface ShapingRun {
  readonly types: TypeRelations;
  readonly variables: Record<string, unknown>;
  readonly errors: GraphQLError[];
  readonly introspect: IntrospectionRunner;
}

const OK = 0;
const NULL_BUBBLE_UP = 1;

interface Completed {
  updated: unknown;
  isInvalid?: boolean;
  hasErrors?: boolean;
}

function invariant(condition: unknown, message: () => string): asserts condition {
  if (!condition) throw new Error(message());
}

function isSkipped(selection: CompiledField | CompiledFragment, variables: Record<string, unknown>): boolean {
  const { skip, include } = selection;
  if (skip !== undefined && directiveValue('skip', skip, variables)) return true;
  return include !== undefined && !directiveValue('include', include, variables);
}

function directiveValue(directive: 'skip' | 'include', argument: DirectiveArgument, variables: Record<string, unknown>): boolean {
  if (typeof argument === 'boolean') return argument;
  const value = variables[argument];
  invariant(typeof value === 'boolean', () => `Unexpected value ${String(value)} for variable $${argument} of @${directive}(if: $${argument})`);
  return value;
}

function own(object: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, key) ? (object as Record<string, unknown>)[key] : undefined;
}

function describeLast(path: readonly (string | number)[], typeName: string, parentTypeName: string): string {
  const element = path[path.length - 1];
  return typeof element === 'string' ? `field ${parentTypeName}.${element}` : `array element of type ${typeName} at index ${String(element)}`;
}

function typeNameOf(type: CompiledType): string {
  switch (type.kind) {
    case 'nonNull':
      return `${typeNameOf(type.ofType)}!`;
    case 'list':
      return `[${typeNameOf(type.ofType)}]`;
    default:
      return type.name;
  }
}

function applySelectionSet(
  run: ShapingRun,
  input: Record<string, unknown>,
  selectionSet: CompiledSelectionSet,
  output: Record<string, unknown>,
  path: (string | number)[],
  parentTypeName: string,
): number {
  for (const selection of selectionSet) {
    if ((selection.skip !== undefined || selection.include !== undefined) && isSkipped(selection, run.variables)) continue;
    if (selection.kind === 'field') {
      const { responseName } = selection;
      const outputValue = output[responseName];
      if (selection.role === 'introspection') {
        if (outputValue === undefined) output[responseName] = run.introspect(selection.introspection!);
        continue;
      }
      let inputValue = own(input, responseName) ?? null;
      if (selection.role === 'typename') {
        if (outputValue === undefined) {
          if (inputValue === null && responseName !== '__typename') inputValue = input['__typename'] ?? null;
          // A __typename the schema knows names the object; otherwise the position's type does.
          const typeName = typeof inputValue === 'string' && run.types.kindOf(inputValue) !== 'unknown' ? inputValue : parentTypeName;
          if (run.types.kindOf(typeName) !== 'object') return NULL_BUBBLE_UP;
          output[responseName] = typeName;
        }
        continue;
      }
      path.push(responseName);
      const completed = completeValue(run, outputValue, selection.type!, inputValue, selection.selectionSet, path, parentTypeName);
      output[responseName] = completed.updated;
      path.pop();
      if (completed.isInvalid) return NULL_BUBBLE_UP;
    } else {
      const typename = input['__typename'];
      invariant(!typename || typeof typename === 'string', () => `Got unexpected value for __typename: ${String(typename)}`);
      const condition = selection.typeCondition;
      const applies = condition === undefined || run.types.applies(condition, typename ? (typename as string) : parentTypeName);
      if (applies && applySelectionSet(run, input, selection.selectionSet, output, path, condition ?? parentTypeName) === NULL_BUBBLE_UP) return NULL_BUBBLE_UP;
    }
  }
  return OK;
}

function completeValue(
  run: ShapingRun,
  outputValue: unknown,
  type: CompiledType,
  inputValue: unknown,
  selectionSet: CompiledSelectionSet | undefined,
  path: (string | number)[],
  parentTypeName: string,
): Completed {
  invariant(inputValue !== undefined, () => 'Should not pass undefined for `inputValue` to this method');
  if (outputValue === null || (outputValue !== undefined && !selectionSet)) return { updated: outputValue };
  switch (type.kind) {
    case 'nonNull': {
      const inner = completeValue(run, outputValue, type.ofType, inputValue, selectionSet, path, parentTypeName);
      if (inner.updated === null) {
        if (!inner.hasErrors) {
          run.errors.push(
            ERRORS.INVALID_GRAPHQL.err(`Cannot return null for non-nullable ${describeLast(path, typeNameOf(type.ofType), parentTypeName)}.`, {
              path: Array.from(path),
            }),
          );
        }
        return { updated: null, isInvalid: true, hasErrors: true };
      }
      return { updated: inner.updated };
    }
    case 'list': {
      if (inputValue === null) return { updated: null };
      invariant(Array.isArray(inputValue), () => `Invalid non-list value ${String(inputValue)} returned by subgraph for list type ${typeNameOf(type)}`);
      invariant(
        outputValue === undefined || Array.isArray(outputValue),
        () => `Invalid non-list value ${String(outputValue)} returned by subgraph for list type ${typeNameOf(type)}`,
      );
      const outputList = outputValue as unknown[] | undefined;
      invariant(
        outputList === undefined || inputValue.length === outputList.length,
        () => `[${String(inputValue)}].length (${inputValue.length}) !== [${String(outputList)}].length (${outputList!.length})`,
      );
      let shouldNullify = false;
      let hasErrors = false;
      const updated = new Array<unknown>(inputValue.length);
      for (let i = 0; i < inputValue.length; i++) {
        path.push(i);
        const element = completeValue(
          run,
          outputList === undefined ? undefined : outputList[i],
          type.ofType,
          inputValue[i],
          selectionSet,
          path,
          parentTypeName,
        );
        path.pop();
        if (element.isInvalid) shouldNullify = true;
        if (element.hasErrors) hasErrors = true;
        updated[i] = element.updated;
      }
      return { updated: shouldNullify ? null : updated, hasErrors };
    }
    case 'composite': {
      if (inputValue === null) return { updated: null };
      invariant(selectionSet, () => `Invalid empty selection set for composite type ${type.name}`);
      invariant(typeof inputValue === 'object', () => `Invalid non-object value ${String(inputValue)} returned by subgraph for composite type ${type.name}`);
      invariant(
        outputValue === undefined || typeof outputValue === 'object',
        () => `Invalid non-object value ${String(inputValue)} returned by subgraph for composite type ${type.name}`,
      );
      const input = inputValue as Record<string, unknown>;
      const inputTypename = input['__typename'];
      invariant(
        inputTypename === undefined || typeof inputTypename === 'string',
        () => `Invalid non-string value ${String(inputTypename)} for __typename at ${path.join(',')}`,
      );
      let objectTypeName = type.name;
      if (inputTypename) {
        const kind = run.types.kindOf(inputTypename);
        if (kind === 'unknown' || kind === 'leaf') {
          run.errors.push(
            ERRORS.INVALID_GRAPHQL.err(`Invalid __typename found for object at ${describeLast(path, type.name, parentTypeName)}.`, { path: Array.from(path) }),
          );
          return { updated: null, hasErrors: true };
        }
        objectTypeName = inputTypename;
      }
      const output = (outputValue ?? Object.create(null)) as Record<string, unknown>;
      const result = applySelectionSet(run, input, selectionSet, output, path, objectTypeName);
      const hasErrors = result === NULL_BUBBLE_UP;
      return { updated: hasErrors ? null : output, hasErrors };
    }
    case 'leaf': {
      if (inputValue === null) return { updated: null };
      invariant(outputValue === undefined, () => `Excepted output to be undefined but got ${type.name} for type ${type.name}`);
      const valid = type.isValid(inputValue);
      if (!valid)
        run.errors.push(ERRORS.INVALID_GRAPHQL.err(`Invalid value found for ${describeLast(path, type.name, parentTypeName)}.`, { path: Array.from(path) }));
      return { updated: valid ? inputValue : null, hasErrors: !valid };
    }
  }
}

/**
 * Shapes `input` (the merged subgraph data) into the client's response. Throws on data that breaks the plan's
 * own invariants (a list where an object was expected, say); the executor reports those as the request's error.
 */
export function shapeResponse(
  shape: CompiledShape,
  input: Record<string, unknown>,
  variables: Record<string, unknown> | undefined,
  introspect: IntrospectionRunner,
): { data: Record<string, unknown> | null; errors: GraphQLError[] } {
  const run: ShapingRun = {
    types: shape.types,
    variables: { __proto__: null, ...shape.defaultedVariables, ...variables } as Record<string, unknown>,
    errors: [],
    introspect,
  };
  const data = Object.create(null) as Record<string, unknown>;
  const result = applySelectionSet(run, input, shape.selectionSet, data, [], shape.rootTypeName);
  return { data: result === NULL_BUBBLE_UP ? null : data, errors: run.errors };
}
