import { buildSchema, execute, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { isMergeable, mergeOperations, splitResponse } from '../src/operationMerging.js';

const schema = buildSchema(`
  type Query { project(id: ID!): Project  account(id: ID!): Account }
  type Project { id: ID! name: String! }
  type Account { id: ID! name: String! broken: String }
`);
const rootValue = {
  project: ({ id }: { id: string }) => ({ id, name: `Project ${id}` }),
  account: ({ id }: { id: string }) => ({
    id,
    name: `Account ${id}`,
    broken: () => {
      throw new Error(`broken ${id}`);
    },
  }),
};

describe('merging the operations of one plan level', () => {
  const members = [
    { query: 'query A($id: ID!) { project(id: $id) { ...P } } fragment P on Project { id name }', variables: { id: 'p1' }, operationName: 'A' },
    { query: 'query B($id: ID!) { account(id: $id) { id name broken } }', variables: { id: 'a1' }, operationName: 'B' },
    { query: 'query C($id: ID!) { x: project(id: $id) { ...P } } fragment P on Project { name }', variables: { id: 'p2' } },
  ];

  it('yields one valid operation whose split results equal each operation run alone', async () => {
    const merged = mergeOperations(members);
    const together = await execute({ schema, rootValue, document: parse(merged.query), variableValues: merged.variables });
    const parts = splitResponse(JSON.parse(JSON.stringify(together)), members.length);
    for (const [i, member] of members.entries()) {
      const alone = await execute({ schema, rootValue, document: parse(member.query), variableValues: member.variables, operationName: member.operationName });
      const expected = JSON.parse(JSON.stringify(alone));
      for (const error of expected.errors ?? []) delete error.locations;
      expect(parts[i]).toEqual(expected);
    }
  });

  it('gives each member only its own errors, with paths as if it ran alone', () => {
    const parts = splitResponse(
      { data: { _0_project: { id: 'p1' }, _1_account: { id: 'a1', broken: null } }, errors: [{ message: 'broken a1', path: ['_1_account', 'broken'] }] },
      2,
    );
    expect(parts[0]).toEqual({ data: { project: { id: 'p1' } } });
    expect(parts[1]).toEqual({ data: { account: { id: 'a1', broken: null } }, errors: [{ message: 'broken a1', path: ['account', 'broken'] }] });
  });

  it('gives an error that names no field to every member', () => {
    const parts = splitResponse({ data: null, errors: [{ message: 'subgraph says no' }] }, 2);
    expect(parts).toEqual([
      { data: null, errors: [{ message: 'subgraph says no' }] },
      { data: null, errors: [{ message: 'subgraph says no' }] },
    ]);
  });

  it('never merges mutations or documents it cannot read', () => {
    expect(isMergeable({ query: 'mutation { x }' })).toBe(false);
    expect(isMergeable({ query: '{ project(id: "1") { id ' })).toBe(false);
    expect(isMergeable({ query: 'query A { a } query B { b }' })).toBe(false);
    expect(isMergeable({ query: 'query A { a } query B { b }', operationName: 'B' })).toBe(true);
  });
});
