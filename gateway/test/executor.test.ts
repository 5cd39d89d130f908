/**
 * psgraph's executor against @apollo/gateway's, response for response, on a supergraph built for the corners of
 * federation that psgraph's own subgraphs do not reach: interfaces and unions, `@requires`, an
 * `@interfaceObject` (input and output rewrites), `@skip`/`@include` with defaults, a field selected twice through
 * fragments, introspection, subgraph errors inside entity fetches, and subgraphs that answer with data breaking
 * the schema (null in a non-null position, an unknown enum value or `__typename`, a string for an Int).
 *
 * Both gateways run the same plans over the same in-process subgraphs (each call answers with fresh objects, so
 * neither gateway sees what the other merged); only who executes differs.
 */
import { composeServices } from '@apollo/composition';
import { ApolloGateway, type GraphQLDataSource, LocalGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PsgraphExecutor } from '../src/execution/gatewayExecutor.js';

const catalogSdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
  type Query {
    products: [Product!]!
    maybeProducts: [Product]
    search(term: String!): [SearchResult!]!
    node(id: ID!): Node
    media: [Media]
  }
  interface Node { id: ID! }
  type Product implements Node @key(fields: "id") { id: ID! name: String! price: Int! kind: Kind weight: Float tags: [[String!]] }
  type Category implements Node @key(fields: "id") { id: ID! title: String! }
  union SearchResult = Product | Category
  enum Kind { BOOK FILM }
  interface Media @key(fields: "id") { id: ID! title: String }
  type Book implements Media @key(fields: "id") { id: ID! title: String pages: Int }
  type Film implements Media @key(fields: "id") { id: ID! title: String minutes: Int }
`;

const reviewsSdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@interfaceObject"])
  type Product @key(fields: "id") {
    id: ID!
    price: Int! @external
    weight: Float @external
    reviews: [Review!]!
    shipping: Int @requires(fields: "price weight")
  }
  type Review { id: ID! stars: Int! body: String author: String }
  type Media @key(fields: "id") @interfaceObject { id: ID! rating: Int }
`;

type Row = Record<string, unknown>;
const products: Row[] = [
  { id: 'p1', name: 'Atlas', price: 12, kind: 'BOOK', weight: 1.5, tags: [['a', 'b'], ['c']] },
  { id: 'p2', name: 'Brick', price: 30, kind: 'FILM', weight: null, tags: null },
  { id: 'p3', name: 'Cable', price: 7, kind: null, weight: 0.25, tags: [[]] },
];
const categories: Row[] = [{ id: 'c1', title: 'Maps' }];
const media: Row[] = [
  { id: 'm1', title: 'Dune', pages: 412, type: 'Book' },
  { id: 'm2', title: 'Alien', minutes: 117, type: 'Film' },
];
const byId = (rows: Row[], id: unknown) => rows.find((row) => row['id'] === id) ?? null;

const catalog = buildSubgraphSchema({
  typeDefs: parse(catalogSdl),
  resolvers: {
    Query: {
      products: () => products,
      maybeProducts: () => products,
      search: () => [products[0], categories[0], products[2]],
      node: (_: unknown, { id }: { id: string }) => byId(products, id) ?? byId(categories, id),
      media: () => media,
    },
    Node: { __resolveType: (row: Row) => ('title' in row ? 'Category' : 'Product') },
    SearchResult: { __resolveType: (row: Row) => ('title' in row ? 'Category' : 'Product') },
    Media: { __resolveType: (row: Row) => row['type'], __resolveReference: (ref: Row) => byId(media, ref['id']) },
    Product: { __resolveReference: (ref: Row) => byId(products, ref['id']) },
    Book: { __resolveReference: (ref: Row) => byId(media, ref['id']) },
    Film: { __resolveReference: (ref: Row) => byId(media, ref['id']) },
  } as never,
});

const reviews = buildSubgraphSchema({
  typeDefs: parse(reviewsSdl),
  resolvers: {
    Product: {
      __resolveReference: (ref: Row) => ref,
      reviews: (product: Row) => {
        if (product['id'] === 'p2') throw new GraphQLError('Reviews of p2 are unavailable.', { extensions: { code: 'REVIEWS_UNAVAILABLE' } });
        return [
          { id: `${String(product['id'])}-r1`, stars: 4, body: 'Good', author: 'ann' },
          { id: `${String(product['id'])}-r2`, stars: 2, body: null, author: null },
        ];
      },
      shipping: (product: Row) => (product['weight'] === null ? null : Math.round(Number(product['price']) * Number(product['weight']))),
    },
    Media: { __resolveReference: (ref: Row) => ref, rating: (row: Row) => (row['id'] === 'm1' ? 5 : 3) },
  } as never,
});

/** Rewrites a subgraph's answer before the gateway sees it: a subgraph breaking its own schema. */
type Tamper = (serviceName: string, data: Row) => void;
let tamper: Tamper | undefined;

function dataSource(name: string, schema: typeof catalog): GraphQLDataSource {
  const local = new LocalGraphQLDataSource(schema);
  return {
    async process(options) {
      const response = await local.process(options);
      // A fresh copy per call: each gateway merges into the objects it is given.
      const copy = JSON.parse(JSON.stringify(response)) as { data?: Row };
      if (tamper && copy.data) tamper(name, copy.data);
      return copy as never;
    },
  };
}

const schemas = { catalog, reviews } as const;

interface Gateways {
  apollo: ApolloServer;
  psgraph: ApolloServer;
  executor: PsgraphExecutor;
}

async function startGateways(): Promise<Gateways> {
  const composed = composeServices([
    { name: 'catalog', typeDefs: parse(catalogSdl), url: 'http://catalog.invalid/graphql' },
    { name: 'reviews', typeDefs: parse(reviewsSdl), url: 'http://reviews.invalid/graphql' },
  ]);
  if (composed.errors) throw new Error(composed.errors.map((error) => error.message).join('\n'));
  const build = () =>
    new ApolloGateway({ supergraphSdl: composed.supergraphSdl, buildService: ({ name }) => dataSource(name, schemas[name as keyof typeof schemas]) });
  const apollo = new ApolloServer({ gateway: build(), includeStacktraceInErrorResponses: false });
  const psgraphGateway = build();
  const dataSources = new Map<string, GraphQLDataSource>(Object.entries(schemas).map(([name, schema]) => [name, dataSource(name, schema)]));
  const executor = new PsgraphExecutor({ gateway: psgraphGateway, dataSource: (name) => dataSources.get(name) });
  const psgraph = new ApolloServer({ gateway: executor.asGateway(), includeStacktraceInErrorResponses: false });
  await Promise.all([apollo.start(), psgraph.start()]);
  return { apollo, psgraph, executor };
}

async function answer(server: ApolloServer, query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<unknown> {
  const http = headers ? { http: { method: 'POST', headers: new HeaderMap(Object.entries(headers)), search: '', body: {} } } : {};
  const response = await server.executeOperation({ query, ...(variables ? { variables } : {}), ...http });
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  return { status: response.http.status ?? 200, ...JSON.parse(JSON.stringify(response.body.singleResult)) };
}

const CASES: ReadonlyArray<{ name: string; query: string; variables?: Record<string, unknown>; tamper?: Tamper }> = [
  {
    name: 'union members with type conditions',
    query: `{ search(term: "a") { __typename ... on Product { id name reviews { stars } } ... on Category { title } } }`,
  },
  {
    name: 'interface field and fragments on it',
    query: `{ node(id: "p1") { id t: __typename ... on Product { name shipping } ... on Node { id } } other: node(id: "c1") { ... on Category { title } } }`,
  },
  { name: '@interfaceObject rewrites', query: `{ media { __typename id title rating ... on Book { pages } ... on Film { minutes rating } } }` },
  { name: '@requires', query: `{ products { id shipping weight } }` },
  {
    name: '@skip and @include with defaults, literals and fragments',
    query: `query ($a: Boolean = false, $b: Boolean!) { products { id name @include(if: $a) ... @skip(if: $b) { price } ... on Product @include(if: true) { kind } tags @skip(if: false) } }`,
    variables: { b: false },
  },
  {
    name: 'a field selected twice through fragments',
    query: `{ products { id reviews { stars } ... on Product { reviews { body author } id } ...More } } fragment More on Product { reviews { id stars } name }`,
  },
  { name: 'an error inside an entity fetch, with its path', query: `{ products { id name reviews { id stars } } }` },
  { name: 'an error inside an entity fetch under a nullable list', query: `{ maybeProducts { id reviews { id } } }` },
  {
    name: 'introspection beside data',
    query: `{ __typename __schema { queryType { name } } __type(name: "Product") { name fields { name } } products { id } }`,
  },
  { name: 'introspection with a variable', query: `query ($t: String!) { __type(name: $t) { kind name } }`, variables: { t: 'SearchResult' } },
  { name: 'variables that do not match their types', query: `query ($term: String!) { search(term: $term) { __typename } }`, variables: { term: 5 } },
  { name: 'a missing required variable', query: `query ($term: String!) { search(term: $term) { __typename } }` },
  {
    name: 'null in a non-null field bubbles to the nearest nullable parent',
    query: `{ maybeProducts { id name } }`,
    tamper: (service, data) => {
      if (service === 'catalog') (data['maybeProducts'] as Row[])[1]!['name'] = null;
    },
  },
  {
    name: 'null in a non-null field bubbles up to data',
    query: `{ products { id name } }`,
    tamper: (service, data) => {
      if (service === 'catalog') (data['products'] as Row[])[0]!['name'] = null;
    },
  },
  {
    name: 'an unknown enum value and a string for an Int',
    query: `{ maybeProducts { id kind price } }`,
    tamper: (service, data) => {
      if (service !== 'catalog') return;
      (data['maybeProducts'] as Row[])[0]!['kind'] = 'VINYL';
      (data['maybeProducts'] as Row[])[2]!['price'] = '7';
    },
  },
  {
    name: 'an unknown __typename',
    query: `{ search(term: "a") { __typename ... on Category { title } } node(id: "p1") { id } }`,
    tamper: (service, data) => {
      if (service === 'catalog' && data['search']) (data['search'] as Row[])[1]!['__typename'] = 'Nope';
    },
  },
  {
    name: 'a null entity and a null in an entity fetch',
    query: `{ products { id reviews { stars } } }`,
    tamper: (service, data) => {
      if (service !== 'reviews') return;
      const entities = data['_entities'] as Row[];
      entities[0] = null as never;
      (entities[2]!['reviews'] as Row[])[0]!['stars'] = null;
    },
  },
  {
    name: "@skip on a root field with its variable set to null (the plan's condition refuses it)",
    query: `query ($x: Boolean = false) { products { id } more: products @skip(if: $x) { name } }`,
    variables: { x: null },
  },
  { name: 'deep nesting across both subgraphs', query: `{ search(term: "x") { ... on Product { id reviews { id author } shipping } } media { id rating } }` },
];

describe("psgraph's executor answers exactly as @apollo/gateway's", () => {
  let gateways: Gateways;
  beforeAll(async () => {
    gateways = await startGateways();
  });
  afterAll(async () => {
    await Promise.all([gateways?.apollo.stop(), gateways?.psgraph.stop()]);
  });

  for (const testCase of CASES) {
    it(testCase.name, async () => {
      tamper = testCase.tamper;
      try {
        const expected = await answer(gateways.apollo, testCase.query, testCase.variables);
        const actual = await answer(gateways.psgraph, testCase.query, testCase.variables);
        expect(actual).toEqual(expected);
        // Field order too: a response lists fields in the order the client selected them.
        expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
        // The case must reach what it is about: data or errors, not an empty answer.
        expect(JSON.stringify(expected)).toMatch(/"data"|"errors"/);
      } finally {
        tamper = undefined;
      }
    });
  }

  it('returns the query plan when asked (outside production), printed or as the plan itself, as @apollo/gateway does', async () => {
    const query = `{ products { id shipping reviews { stars } } }`;
    for (const format of ['prettified', 'internal']) {
      const headers = { 'apollo-query-plan-experimental': '1', 'apollo-query-plan-experimental-format': format };
      const expected = await answer(gateways.apollo, query, undefined, headers);
      expect(JSON.stringify(expected)).toContain('__queryPlanExperimental');
      expect(JSON.stringify(await answer(gateways.psgraph, query, undefined, headers))).toBe(JSON.stringify(expected));
    }
  });

  it('prepares each distinct operation once and reuses it', async () => {
    const query = `{ products { name id } }`;
    const before = gateways.executor.preparedCount;
    await answer(gateways.psgraph, query);
    const afterFirst = gateways.executor.preparedCount;
    await answer(gateways.psgraph, query);
    expect(afterFirst).toBe(before + 1);
    expect(gateways.executor.preparedCount).toBe(afterFirst);
  });
});
