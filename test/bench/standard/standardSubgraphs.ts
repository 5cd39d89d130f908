/**
 * The four subgraphs of the field's standard federation gateway benchmark (graphql-hive/graphql-gateways-benchmark:
 * accounts, inventory, products, reviews), written here in Node over the SDL and records the benchmark publishes
 * (kept in `./data/`, with their source and licence). They answer exactly as the benchmark's own subgraphs do,
 * including their quirks, so that `TestQuery` gives the response the benchmark checks:
 *
 * - every review's `author` is user 1 with username "urigo" (provided by reviews);
 * - every user's `reviews`, resolved by reviews, are the first two reviews;
 * - inventory resolves a product from its own row, which has no price or weight, so `shippingEstimate` is null.
 *
 * One process serves all four on `/accounts`, `/inventory`, `/products` and `/reviews`, as the benchmark does, and
 * counts the requests each receives (`GET /stats`). Parsed and validated documents are cached by text. The
 * responses are pure functions of the request body, so they may be memoized (`memoize`): the benchmark's subgraphs
 * are Rust servers that cost next to nothing, and here the subgraphs share a core with the load generator, which
 * must not become what is measured.
 */
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { type DocumentNode, type GraphQLSchema, execute, parse, validate } from 'graphql';

export interface StandardRecords {
  readonly users: ReadonlyArray<{ id: string; name: string; username: string; birthday: number }>;
  readonly products: ReadonlyArray<{ upc: string; name: string; price: number; weight: number }>;
  readonly inventory: ReadonlyArray<{ upc: string; inStock: boolean }>;
  readonly reviews: ReadonlyArray<{ id: string; body: string; upc: string }>;
}

export const STANDARD_SUBGRAPHS = ['accounts', 'inventory', 'products', 'reviews'] as const;
export type StandardSubgraph = (typeof STANDARD_SUBGRAPHS)[number];

export interface StandardBenchData {
  readonly dir: string;
  readonly records: StandardRecords;
  readonly sdl: Readonly<Record<StandardSubgraph, string>>;
  /** The supergraph with every subgraph at `http://127.0.0.1:4300/<name>`. */
  readonly supergraph: string;
  /** The benchmark's request body: `{ query }` with `TestQuery`. */
  readonly requestBody: string;
}

export function loadStandardBenchData(dir: string): StandardBenchData {
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const sdl = Object.fromEntries(STANDARD_SUBGRAPHS.map((name) => [name, read(`subgraph-sdl/${name}.graphql`)])) as Record<StandardSubgraph, string>;
  return {
    dir,
    records: JSON.parse(read('data.json')) as StandardRecords,
    sdl,
    supergraph: read('supergraph.local.graphql'),
    requestBody: read('query.json').trim(),
  };
}

/** The supergraph with its subgraphs at `baseUrl` (e.g. `http://127.0.0.1:43121`). */
export function standardSupergraphAt(data: StandardBenchData, baseUrl: string): string {
  return data.supergraph.replace(/url: "http:\/\/[^"/]+\/(accounts|inventory|products|reviews)"/g, (_match, name: string) => `url: "${baseUrl}/${name}"`);
}

type Representation = Record<string, unknown> & { __typename: string };

function buildSchemas(data: StandardBenchData): Record<StandardSubgraph, GraphQLSchema> {
  const { users, products, inventory, reviews } = data.records;
  const author = () => ({ id: '1', username: 'urigo', reviews: reviews.slice(0, 2) });
  return {
    accounts: buildSubgraphSchema({
      typeDefs: parse(data.sdl.accounts),
      resolvers: {
        Query: { me: () => users[0], user: (_: unknown, { id }: { id: string }) => users.find((user) => user.id === id), users: () => users },
        User: { __resolveReference: (ref: Representation) => users.find((user) => user.id === ref['id']) },
      } satisfies GraphQLResolverMap<unknown>,
    }),
    inventory: buildSubgraphSchema({
      typeDefs: parse(data.sdl.inventory),
      resolvers: {
        Product: {
          // The benchmark's inventory resolves the product from its own row only: price and weight are unknown.
          __resolveReference: (ref: Representation) => {
            const row = inventory.find((item) => item.upc === ref['upc']);
            return row ? { upc: row.upc, inStock: row.inStock, price: null, weight: null } : null;
          },
          shippingEstimate: (product: { price: number | null; weight: number | null }) => {
            if (product.price === null) return null;
            if (product.price > 1000) return 0;
            return product.weight === null ? null : Math.trunc(product.weight / 2);
          },
        },
      } satisfies GraphQLResolverMap<unknown>,
    }),
    products: buildSubgraphSchema({
      typeDefs: parse(data.sdl.products),
      resolvers: {
        Query: { topProducts: (_: unknown, { first }: { first?: number | null }) => products.slice(0, first ?? 5) },
        Product: { __resolveReference: (ref: Representation) => products.find((product) => product.upc === ref['upc']) },
      } satisfies GraphQLResolverMap<unknown>,
    }),
    reviews: buildSubgraphSchema({
      typeDefs: parse(data.sdl.reviews),
      resolvers: {
        Review: {
          __resolveReference: (ref: Representation) => reviews.find((review) => review.id === ref['id']),
          product: (review: { upc: string }) => ({ upc: review.upc }),
          author,
        },
        User: { __resolveReference: (ref: Representation) => ({ id: ref['id'], username: 'user', reviews: reviews.slice(0, 2) }) },
        Product: {
          __resolveReference: (ref: Representation) => ({ upc: ref['upc'] }),
          reviews: (product: { upc: string }) => reviews.filter((review) => review.upc === product.upc),
        },
      } satisfies GraphQLResolverMap<unknown>,
    }),
  };
}

export interface StandardSubgraphsOptions {
  /**
   * Memoize each response by its request body (the subgraphs are pure).
   * @default true
   */
  readonly memoize?: boolean;
}

export interface StandardSubgraphsServer {
  readonly server: Server;
  /** Requests received per subgraph since start. */
  readonly requests: Record<StandardSubgraph, number>;
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

const MEMO_LIMIT = 10_000;
const DOCUMENT_LIMIT = 1_000;

export function createStandardSubgraphs(data: StandardBenchData, options: StandardSubgraphsOptions = {}): StandardSubgraphsServer {
  const schemas = buildSchemas(data);
  const memoize = options.memoize ?? true;
  const requests = Object.fromEntries(STANDARD_SUBGRAPHS.map((name) => [name, 0])) as Record<StandardSubgraph, number>;
  const documents = new Map<string, DocumentNode | readonly unknown[]>();
  const memo = new Map<string, string>();

  const answer = async (name: StandardSubgraph, body: string): Promise<{ status: number; body: string }> => {
    let request: { query?: unknown; variables?: Record<string, unknown> | null; operationName?: string | null };
    try {
      request = JSON.parse(body) as typeof request;
    } catch {
      return { status: 400, body: JSON.stringify({ errors: [{ message: 'Request body is not valid JSON.' }] }) };
    }
    if (typeof request.query !== 'string') return { status: 400, body: JSON.stringify({ errors: [{ message: 'No query.' }] }) };
    const key = `${name}\u0000${request.query}`;
    let document = documents.get(key);
    if (!document) {
      try {
        const parsed = parse(request.query);
        const errors = validate(schemas[name], parsed);
        document = errors.length > 0 ? errors.map((error) => error.toJSON()) : parsed;
      } catch (error) {
        document = [{ message: (error as Error).message }];
      }
      if (documents.size >= DOCUMENT_LIMIT) documents.clear();
      documents.set(key, document);
    }
    if (Array.isArray(document)) return { status: 400, body: JSON.stringify({ errors: document }) };
    const result = await execute({
      schema: schemas[name],
      document: document as DocumentNode,
      variableValues: request.variables ?? undefined,
      operationName: request.operationName ?? undefined,
    });
    return { status: 200, body: JSON.stringify(result) };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!.slice(1);
    if (req.method === 'GET' && path === 'stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requests }));
      return;
    }
    if (req.method === 'GET' && path === 'health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      return;
    }
    if (req.method !== 'POST' || !(STANDARD_SUBGRAPHS as readonly string[]).includes(path)) {
      res.writeHead(404).end();
      return;
    }
    const name = path as StandardSubgraph;
    requests[name]++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const memoKey = `${name}\u0000${body}`;
      const memoized = memoize ? memo.get(memoKey) : undefined;
      if (memoized !== undefined) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(memoized) }).end(memoized);
        return;
      }
      answer(name, body).then(
        (response) => {
          if (memoize && response.status === 200) {
            if (memo.size >= MEMO_LIMIT) memo.clear();
            memo.set(memoKey, response.body);
          }
          res.writeHead(response.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(response.body) }).end(response.body);
        },
        (error: unknown) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: String(error) }] })),
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  return {
    server,
    requests,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve(`http://${host}:${(server.address() as AddressInfo).port}`));
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The response `TestQuery` must get, computed from the records and the rules above (not from any gateway), as
 * the benchmark's k6 script checks it.
 */
export function expectedTestQueryResponse(records: StandardRecords): unknown {
  const product = (upc: string) => {
    const row = records.products.find((p) => p.upc === upc)!;
    const stock = records.inventory.find((i) => i.upc === upc)!;
    return { inStock: stock.inStock, name: row.name, price: row.price, shippingEstimate: null, upc, weight: row.weight };
  };
  const review = (r: { id: string; body: string }) => ({ id: r.id, body: r.body });
  const user1 = records.users.find((u) => u.id === '1')!;
  const firstTwo = records.reviews.slice(0, 2);
  const authorView = () => ({
    id: user1.id,
    username: 'urigo',
    name: user1.name,
    reviews: firstTwo.map((r) => ({ ...review(r), product: product(r.upc) })),
  });
  const reviewsOf = (upc: string) => records.reviews.filter((r) => r.upc === upc);
  return {
    data: {
      users: records.users.map((user) => ({
        id: user.id,
        username: user.username,
        name: user.name,
        reviews: firstTwo.map((r) => ({
          ...review(r),
          product: { ...product(r.upc), reviews: reviewsOf(r.upc).map((inner) => ({ ...review(inner), author: authorView() })) },
        })),
      })),
      topProducts: records.products
        .slice(0, 5)
        .map((p) => ({ ...product(p.upc), reviews: reviewsOf(p.upc).map((r) => ({ ...review(r), author: authorView() })) })),
    },
  };
}
