/**
 * The baseline contender: plain `@apollo/gateway` with its defaults (its own RemoteGraphQLDataSource, no header
 * forwarding, no merging) on Apollo Server's standalone server, serving the supergraph at `SUPERGRAPH_PATH` on
 * `PORT` — as the standard benchmark runs it, in one process. With FORWARD_AUTHORIZATION=1 (the
 * unique-authorization workload) its data sources pass the client's `authorization` header on, the documented
 * `willSendRequest` way.
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

class ForwardingDataSource extends RemoteGraphQLDataSource {
  override willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource['willSendRequest']>>[0]) {
    const authorization = (context as { authorization?: string }).authorization;
    if (authorization) request.http?.headers.set('authorization', authorization);
  }
}

const forward = process.env['FORWARD_AUTHORIZATION'] === '1';
const supergraphSdl = readFileSync(process.env['SUPERGRAPH_PATH']!, 'utf8');
const gateway = new ApolloGateway({ supergraphSdl, ...(forward ? { buildService: ({ url }) => new ForwardingDataSource({ url }) } : {}) });
// (Typed loosely: type-checked from the repository root, the two packages may see different copies of graphql's types.)
const server = new ApolloServer({ gateway: gateway as never });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env['PORT'] ?? 4000), host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`[apollo-gateway] ready at ${url}`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void server.stop().then(() => process.exit(0)));
