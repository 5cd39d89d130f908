import { type OperationDefinitionNode, buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CostModel, actualCost, estimateCost, loadDemandControlOptions, maxCostFor } from '../src/guards/demandControl.js';

/** A small graph with the cost directives as composition keeps them in a supergraph. */
const SDL = `
directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
type Query {
  projects(first: Int = 20, filter: ProjectFilter): ProjectConnection! @listSize(slicingArguments: ["first"], sizedFields: ["nodes"])
  regions: [String!]!
  project(id: ID!): Project
  report(months: [String!]!): [ReportRow!]! @listSize(slicingArguments: ["months"])
}
type Mutation { closeProject(id: ID!): Project }
input ProjectFilter { status: [String!] region: String }
type ProjectConnection { totalCount: Int! nodes: [Project!]! }
type Project {
  id: ID!
  name: String!
  margin: Int @cost(weight: 5)
  assignments: [Assignment!]! @listSize(assumedSize: 4)
  invoices: [Invoice!]!
}
type Assignment { id: ID! resource: Resource! }
type Resource @cost(weight: 3) { id: ID! name: String! }
type Invoice { id: ID! }
type ReportRow { month: String! total: Int! }
`;

const schema = buildSchema(SDL);
const model = CostModel.fromSupergraphSdl(SDL);
const cost = (query: string, variables: Record<string, unknown> = {}, defaultListSize = 10) => {
  const document = parse(query);
  const operation = document.definitions.find((definition) => definition.kind === 'OperationDefinition') as OperationDefinitionNode;
  return estimateCost(schema, model, document, operation, variables, { defaultListSize });
};

describe("demand control's static cost (Apollo's algorithm)", () => {
  it('sizes a connection by its slicing argument and passes the size to the sized field', () => {
    // connection 1 + 50 × (project 1 + name 0)
    expect(cost('{ projects(first: 50) { totalCount nodes { name } } }')).toBe(1 + 50);
    // the argument's default (20) when it is not given
    expect(cost('{ projects { nodes { id } } }')).toBe(1 + 20);
    // a variable is resolved
    expect(cost('query($n: Int) { projects(first: $n) { nodes { id } } }', { n: 7 })).toBe(1 + 7);
  });

  it('uses assumedSize, then the default list size, for lists nothing slices', () => {
    // project 1 + assignments 4 × (1 + resource weight 3) + invoices 10 × 1
    expect(cost('{ project(id: "p") { assignments { resource { name } } invoices { id } } }')).toBe(1 + 4 * (1 + 3) + 10);
    expect(cost('{ project(id: "p") { invoices { id } } }', {}, 25)).toBe(1 + 25);
  });

  it('counts @cost weights on fields and types, a list slicing argument by its length, and scalars as free', () => {
    expect(cost('{ project(id: "p") { margin } }')).toBe(1 + 5);
    expect(cost('{ report(months: ["2026-01", "2026-02", "2026-03"]) { month total } }')).toBe(3);
    expect(cost('{ regions }')).toBe(0);
  });

  it('adds 10 for a mutation, 1 per input object, nothing for __typename or what @skip/@include leave out', () => {
    expect(cost('mutation { closeProject(id: "p") { id } }')).toBe(10 + 1);
    expect(cost('{ projects(first: 2, filter: { status: ["ACTIVE"] }) { nodes { id } } }')).toBe(1 + 2 + 1);
    expect(cost('query($skip: Boolean!) { project(id: "p") { __typename margin @skip(if: $skip) } }', { skip: true })).toBe(1);
    expect(cost('{ project(id: "p") { margin @include(if: false) } }')).toBe(1);
  });

  it('follows fragments, once each', () => {
    expect(cost('{ project(id: "p") { ...F } } fragment F on Project { margin assignments { id } }')).toBe(1 + 5 + 4);
  });

  it('scales with aliases: ten copies of a list cost ten times one', () => {
    const one = cost('{ a0: projects(first: 100) { nodes { assignments { resource { name } } invoices { id } } } }');
    const ten = cost(
      `{ ${Array.from({ length: 10 }, (_, i) => `a${i}: projects(first: 100) { nodes { assignments { resource { name } } invoices { id } } }`).join(' ')} }`,
    );
    expect(ten).toBe(10 * one);
  });

  it('measures the actual cost by response shape', () => {
    // projects 1 + project a 1 + its invoice 1 + project b 1; the root is not counted, as in the estimate
    expect(
      actualCost({
        projects: {
          totalCount: 2,
          nodes: [
            { id: 'a', invoices: [{ id: 'i' }] },
            { id: 'b', invoices: [] },
          ],
        },
      }),
    ).toBe(4);
  });

  it('applies the smallest maximum among the principal’s roles, else the default', () => {
    const options = loadDemandControlOptions({ PSGRAPH_COST_MAX: '1000', PSGRAPH_COST_MAX_BY_ROLE: 'reporting:60000,client:500' });
    expect(maxCostFor(options, new Set())).toBe(1000);
    expect(maxCostFor(options, new Set(['reporting']))).toBe(60000);
    expect(maxCostFor(options, new Set(['reporting', 'client']))).toBe(500);
    expect(() => loadDemandControlOptions({ PSGRAPH_COST_MAX_BY_ROLE: 'reporting' })).toThrow('is not role:maximum');
  });
});
