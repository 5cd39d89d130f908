/**
 * Validation rules that reject abusive documents before any subgraph is called: selection depth and alias
 * count. @apollo/gateway has neither (Apollo Router's are licensed), so psgraph brings its own.
 */
import { type ASTVisitor, type FragmentDefinitionNode, GraphQLError, Kind, type SelectionSetNode, type ValidationContext, type ValidationRule } from 'graphql';
import { ErrorCode } from '../../contracts/errorCodes.js';

/** Rejects a document whose selections nest deeper than `maxDepth` (fragments are followed, once each). */
export function maxDepthRule(maxDepth: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const depthOf = (selectionSet: SelectionSetNode | undefined, visiting: Set<string>): number => {
      if (!selectionSet) return 0;
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          if (selection.name.value.startsWith('__')) continue;
          deepest = Math.max(deepest, selection.selectionSet ? 1 + depthOf(selection.selectionSet, visiting) : 1);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection.selectionSet, visiting));
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          // A fragment cycle is reported by graphql-js's own NoFragmentCycles rule; don't loop on it here.
          if (!fragment || visiting.has(name)) continue;
          visiting.add(name);
          deepest = Math.max(deepest, depthOf(fragment.selectionSet, visiting));
          visiting.delete(name);
        }
        if (deepest > maxDepth) return deepest;
      }
      return deepest;
    };
    return {
      OperationDefinition(operation) {
        const depth = depthOf(operation.selectionSet, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`Query depth ${depth} exceeds the limit of ${maxDepth}.`, {
              nodes: [operation],
              extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, limit: 'maxDepth', maximum: maxDepth },
            }),
          );
        }
      },
    };
  };
}

/** Rejects a document with more than `maxAliases` aliased fields (alias flooding multiplies subgraph work). */
export function maxAliasesRule(maxAliases: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    let aliases = 0;
    let reported = false;
    return {
      Field(field) {
        if (!field.alias) return;
        aliases++;
        if (aliases > maxAliases && !reported) {
          reported = true;
          context.reportError(
            new GraphQLError(`The document has more than ${maxAliases} aliases.`, {
              nodes: [field],
              extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, limit: 'maxAliases', maximum: maxAliases },
            }),
          );
        }
      },
    };
  };
}
