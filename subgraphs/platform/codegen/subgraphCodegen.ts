/** What each subgraph tells GraphQL Code Generator about its resolvers (see the repository's `codegen.ts`). */
export interface SubgraphCodegen {
  /** The context type every resolver of the subgraph gets, as `path#Type` from `src/generated/`. */
  readonly contextType: string;
  /** Schema type name → the record it is resolved from, as `path#Type` from `src/generated/`. */
  readonly mappers: Readonly<Record<string, string>>;
}

/** The platform's index, as a path from a subgraph's `src/generated/` folder. */
export const PLATFORM = '../../../platform/src/index.js';
