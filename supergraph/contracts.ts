/**
 * Audience variants (Apollo's "contracts"): a filtered API schema per audience, from `@tag` include and exclude
 * lists, built offline from the supergraph by `npm run compose` into `supergraph/audiences/<name>.graphql`. As in
 * GraphOS, exclusion is done with `@inaccessible` in a copy of the supergraph — the routing stays whole (excluded
 * fields still join entities and satisfy `@requires`), only the API schema loses them — with the contracts' rules:
 *
 * 1. a tag on an object or interface type counts as a tag on each of its fields;
 * 2. with an empty include list every element is kept unless it carries an excluded tag;
 * 3. with a non-empty include list, every object/interface field and union is dropped unless it carries an
 *    included tag (enum values, input fields and arguments are dropped only by an excluded tag);
 * 4. an element with both an included and an excluded tag is excluded; including and excluding one tag is an error;
 * 5. an object or interface type left with no field is removed (a field still returning it is an error: tag it or
 *    exclude it too), and a union left with no member;
 * 6. optionally, every type no longer reachable from a root operation type is hidden, unless it carries an
 *    included tag.
 *
 * The audience's file (`contracts/audiences/<name>.json`, read by `contracts/audiences.ts`) also says how the
 * gateway serves it: its path, who may use it, which documents it runs and its maximum cost.
 */
import { Supergraph } from '@apollo/federation-internals';
import {
  type ArgumentNode,
  type ConstDirectiveNode,
  type DefinitionNode,
  type DirectiveNode,
  type DocumentNode,
  type EnumValueDefinitionNode,
  type FieldDefinitionNode,
  type InputValueDefinitionNode,
  Kind,
  type NamedTypeNode,
  type TypeNode,
  parse,
  print,
} from 'graphql';
import type { AudienceDefinition } from '../contracts/audiences.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends ReadonlyArray<infer U> ? U[] : T[K] };

const INACCESSIBLE: ConstDirectiveNode = { kind: Kind.DIRECTIVE, name: { kind: Kind.NAME, value: 'inaccessible' } };
const isSpecType = (name: string) => /^(join|link|core|tag|inaccessible|cost|access)__/.test(name) || name.startsWith('__');
const BUILT_IN_SCALARS = new Set(['String', 'Int', 'Float', 'Boolean', 'ID']);

function tagsOf(directives: readonly (ConstDirectiveNode | DirectiveNode)[] | undefined): string[] {
  const tags: string[] = [];
  for (const directive of directives ?? []) {
    if (directive.name.value !== 'tag') continue;
    const name = directive.arguments?.find((argument: ArgumentNode) => argument.name.value === 'name')?.value;
    if (name?.kind === Kind.STRING) tags.push(name.value);
  }
  return tags;
}

function namedType(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type);
}

function hide<T extends { directives?: readonly ConstDirectiveNode[] | undefined }>(node: T): T {
  if (node.directives?.some((directive) => directive.name.value === 'inaccessible')) return node;
  return { ...node, directives: [...(node.directives ?? []), INACCESSIBLE] };
}

const isHidden = (node: { directives?: readonly ConstDirectiveNode[] | undefined }) =>
  node.directives?.some((directive) => directive.name.value === 'inaccessible') ?? false;

/** The supergraph of one audience: the same supergraph, with what the audience must not see made @inaccessible. */
export function contractSupergraph(supergraphSdl: string, audience: Pick<AudienceDefinition, 'name' | 'include' | 'exclude' | 'hideUnreachableTypes'>): string {
  const document = parse(supergraphSdl);
  const include = new Set(audience.include);
  const exclude = new Set(audience.exclude);
  const excluded = (tags: readonly string[]) => tags.some((tag) => exclude.has(tag));
  const keptByInclude = (tags: readonly string[]) => include.size === 0 || tags.some((tag) => include.has(tag));
  const definitions = document.definitions.map((definition) => ({ ...definition }) as Mutable<DefinitionNode>);
  const schema = definitions.find((definition) => definition.kind === Kind.SCHEMA_DEFINITION);
  const roots = new Map<string, string>();
  if (schema?.kind === Kind.SCHEMA_DEFINITION) for (const operation of schema.operationTypes) roots.set(operation.type.name.value, operation.operation);

  // 1–4: fields, unions, enum values, input fields and arguments.
  for (const definition of definitions) {
    if (!('name' in definition) || !definition.name || isSpecType(definition.name.value)) continue;
    const own = tagsOf(definition.directives);
    if (definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.INTERFACE_TYPE_DEFINITION) {
      const fields = (definition.fields ?? []).map((field): FieldDefinitionNode => {
        const tags = [...own, ...tagsOf(field.directives)];
        const filtered: FieldDefinitionNode = {
          ...field,
          arguments: (field.arguments ?? []).map((argument) => (excluded(tagsOf(argument.directives)) ? hide(argument) : argument)),
        };
        return excluded(tags) || !keptByInclude(tags) ? hide(filtered) : filtered;
      });
      Object.assign(definition, { fields });
    } else if (definition.kind === Kind.UNION_TYPE_DEFINITION) {
      if (excluded(own) || !keptByInclude(own)) Object.assign(definition, hide(definition));
    } else if (definition.kind === Kind.ENUM_TYPE_DEFINITION) {
      Object.assign(definition, {
        values: (definition.values ?? []).map((value: EnumValueDefinitionNode) => (excluded(tagsOf(value.directives)) ? hide(value) : value)),
      });
      if (excluded(own)) Object.assign(definition, hide(definition));
    } else if (definition.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION) {
      Object.assign(definition, {
        fields: (definition.fields ?? []).map((field: InputValueDefinitionNode) => (excluded(tagsOf(field.directives)) ? hide(field) : field)),
      });
      if (excluded(own)) Object.assign(definition, hide(definition));
    } else if (definition.kind === Kind.SCALAR_TYPE_DEFINITION) {
      if (excluded(own)) Object.assign(definition, hide(definition));
    }
  }

  // 5: types left empty are removed; a root operation type left empty goes from the schema definition too.
  const byName = new Map<string, Mutable<DefinitionNode>>();
  for (const definition of definitions) if ('name' in definition && definition.name) byName.set(definition.name.value, definition);
  const emptied = new Set<string>();
  for (const definition of definitions) {
    if ((definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.INTERFACE_TYPE_DEFINITION) && !isSpecType(definition.name.value)) {
      if ((definition.fields ?? []).every(isHidden) && !isHidden(definition)) {
        if (roots.get(definition.name.value) === 'query') throw new Error(`audience ${audience.name}: every Query field is excluded`);
        emptied.add(definition.name.value);
        Object.assign(definition, hide(definition));
      }
    }
  }
  if (schema?.kind === Kind.SCHEMA_DEFINITION) {
    Object.assign(schema, { operationTypes: schema.operationTypes.filter((operation) => !emptied.has(operation.type.name.value)) });
  }
  const hiddenType = (name: string) => {
    const definition = byName.get(name);
    return definition !== undefined && 'directives' in definition && isHidden(definition as { directives?: readonly ConstDirectiveNode[] });
  };
  for (const definition of definitions) {
    if ((definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) || isHidden(definition)) continue;
    for (const field of definition.fields ?? []) {
      if (!isHidden(field) && hiddenType(namedType(field.type))) {
        throw new Error(
          `audience ${audience.name}: ${definition.name.value}.${field.name.value} is kept but returns ${namedType(field.type)}, which has nothing left (EMPTY_OBJECT_AND_INTERFACE_MASKING): tag ${namedType(field.type)}'s fields for it, or exclude the field`,
        );
      }
    }
  }

  // 6: hide what is no longer reachable from a root operation type.
  if (audience.hideUnreachableTypes) {
    const reachable = new Set<string>();
    const visit = (name: string) => {
      if (reachable.has(name) || hiddenType(name)) return;
      reachable.add(name);
      const definition = byName.get(name);
      if (!definition) return;
      if (definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.INTERFACE_TYPE_DEFINITION) {
        for (const field of definition.fields ?? []) {
          if (isHidden(field)) continue;
          visit(namedType(field.type));
          for (const argument of field.arguments ?? []) if (!isHidden(argument)) visit(namedType(argument.type));
        }
        // An interface's implementations can be returned wherever it is.
        if (definition.kind === Kind.INTERFACE_TYPE_DEFINITION) {
          for (const other of definitions) {
            if (other.kind === Kind.OBJECT_TYPE_DEFINITION && other.interfaces?.some((candidate: NamedTypeNode) => candidate.name.value === name))
              visit(other.name.value);
          }
        }
      } else if (definition.kind === Kind.UNION_TYPE_DEFINITION) {
        for (const member of definition.types ?? []) visit(member.name.value);
      } else if (definition.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION) {
        for (const field of definition.fields ?? []) if (!isHidden(field)) visit(namedType(field.type));
      }
    };
    for (const root of roots.keys()) if (!emptied.has(root)) visit(root);
    for (const definition of definitions) {
      if (!('name' in definition) || !definition.name || isSpecType(definition.name.value) || BUILT_IN_SCALARS.has(definition.name.value)) continue;
      if (definition.kind === Kind.DIRECTIVE_DEFINITION) continue;
      const name = definition.name.value;
      if (reachable.has(name) || roots.has(name)) continue;
      if (tagsOf((definition as { directives?: readonly ConstDirectiveNode[] }).directives).some((tag) => include.has(tag))) continue;
      Object.assign(definition, hide(definition as { directives?: readonly ConstDirectiveNode[] }));
    }
  }

  const sdl = `${print({ ...document, definitions } as DocumentNode).trimEnd()}\n`;
  // The gateway loads it as it loads the supergraph: an audience that does not make a valid API schema fails here.
  try {
    Supergraph.build(sdl).apiSchema();
  } catch (error) {
    throw new Error(`audience ${audience.name}: the filtered schema is not valid: ${(error as Error).message}`, { cause: error });
  }
  return sdl;
}
