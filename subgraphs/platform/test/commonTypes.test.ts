import { readFileSync } from 'node:fs';
import { type DefinitionNode, parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';

const definitionsByName = (path: string): Map<string, string> => {
  const document = parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
  return new Map(
    document.definitions
      .filter((definition): definition is DefinitionNode & { name: { value: string } } => 'name' in definition && definition.name !== undefined)
      .map((definition) => [definition.name.value, print(definition)]),
  );
};

describe('the types every subgraph declares', () => {
  const common = definitionsByName('../common.graphql');

  for (const system of ['crm', 'psa', 'erp', 'billing']) {
    it(`are identical in ${system}'s schema.graphql and platform/common.graphql`, () => {
      const own = definitionsByName(`../../${system}/schema.graphql`);
      for (const [name, definition] of common) expect(own.get(name), `${system}: ${name}`).toBe(definition);
    });
  }
});
