import { readFileSync } from 'node:fs';
import { type DefinitionNode, parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';

const definitionsByName = (path: string): Map<string, string> =>
  new Map(
    parse(readFileSync(new URL(path, import.meta.url), 'utf8'))
      .definitions.filter((definition): definition is DefinitionNode & { name: { value: string } } => 'name' in definition && definition.name !== undefined)
      .map((definition) => [definition.name.value, print(definition)]),
  );

describe("the activation subgraph's schema", () => {
  it('repeats the common types of platform/common.graphql exactly', () => {
    const own = definitionsByName('../schema.graphql');
    for (const [name, definition] of definitionsByName('../../platform/common.graphql')) expect(own.get(name), name).toBe(definition);
  });
});
