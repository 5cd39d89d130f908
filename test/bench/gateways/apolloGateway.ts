/**
 * The baseline contender: plain `@apollo/gateway` with its defaults (its own RemoteGraphQLDataSource, no header
 * forwarding, no merging) on Apollo Server's standalone server, serving the supergraph at `SUPERGRAPH_PATH` on
 * `PORT` — as the standard benchmark runs it, in one process.
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const supergraphSdl = readFileSync(process.env['SUPERGRAPH_PATH']!, 'utf8');
// (Typed loosely: type-checked from the repository root, the two packages may see different copies of graphql's types.)
const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }) as never });
const { url } = await startStandaloneServer(server, { listen: { port: Number(process.env['PORT'] ?? 4000), host: '127.0.0.1' } });
console.log(`[apollo-gateway] ready at ${url}`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void server.stop().then(() => process.exit(0)));
