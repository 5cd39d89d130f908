import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { buildSchema, graphql } from 'graphql';
import type { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { SubgraphDataSource } from '../src/subgraphDataSource.js';

const schema = buildSchema('type Query { a: String b: String c: String }');
const rootValue = { a: 'A', b: 'B', c: 'C' };

/** A subgraph behind a fake pooled client that really executes what it receives, and answers when released. */
function heldSubgraph() {
  const sent: string[] = [];
  const releases: Array<() => void> = [];
  const agent = {
    async request(options: { body: string }) {
      const { query, variables } = JSON.parse(options.body) as { query: string; variables?: Record<string, unknown> };
      sent.push(query);
      await new Promise<void>((resolve) => releases.push(resolve));
      const answer = await graphql({ schema, source: query, rootValue, variableValues: variables ?? {} });
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: { text: async () => JSON.stringify(answer) } };
    },
  };
  return { agent: agent as unknown as Agent, sent, release: () => releases.splice(0).forEach((release) => release()) };
}

/** A fetch of one client request (each call its own client request, as separate clients would be). */
const fetchFrom = (source: SubgraphDataSource, query: string) =>
  source.process({
    kind: 'incoming operation',
    request: { query, variables: {} },
    context: {},
    incomingRequestContext: { request: { http: { headers: new Map() } } },
  } as unknown as GraphQLDataSourceProcessOptions);

const tick = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One client's fetch; a turn later, while it is in flight, a second client's; two turns later a third's. */
async function threeClients(source: SubgraphDataSource) {
  const fetches = [fetchFrom(source, '{ a }')];
  await tick();
  fetches.push(fetchFrom(source, '{ b }'));
  await tick();
  await tick();
  fetches.push(fetchFrom(source, '{ c }'));
  return fetches;
}

const ANSWERS = [{ data: { a: 'A' } }, { data: { b: 'B' } }, { data: { c: 'C' } }];

describe('batching fetches to a busy subgraph', () => {
  const build = (busyBatchWindowMs: number) => {
    const subgraph = heldSubgraph();
    const source = new SubgraphDataSource({
      name: 'billing',
      url: 'http://127.0.0.1:1/graphql',
      timeoutMs: 5_000,
      agent: subgraph.agent,
      forwardHeaders: [],
      busyBatchWindowMs,
    });
    return { subgraph, source };
  };

  it('sends to an idle subgraph after one event-loop turn, without waiting for the window', async () => {
    const { subgraph, source } = build(1_000);
    const first = fetchFrom(source, '{ a }');
    await tick();
    expect(subgraph.sent).toHaveLength(1);
    subgraph.release();
    expect(await first).toEqual({ data: { a: 'A' } });
  });

  it('while the subgraph is busy, lets fetches of different clients within the window travel in one request', async () => {
    const { subgraph, source } = build(30);
    const fetches = await threeClients(source);
    expect(subgraph.sent).toHaveLength(1);
    await sleep(60);
    expect(subgraph.sent).toHaveLength(2);
    expect(subgraph.sent[1]).toMatch(/\bb\b[\s\S]*\bc\b/);
    subgraph.release();
    await sleep(10);
    subgraph.release();
    expect(await Promise.all(fetches)).toEqual(ANSWERS);
  });

  it('without a window, sends each turn its own request even while the subgraph is busy', async () => {
    const { subgraph, source } = build(0);
    const fetches = await threeClients(source);
    await tick();
    await tick();
    expect(subgraph.sent).toHaveLength(3);
    subgraph.release();
    expect(await Promise.all(fetches)).toEqual(ANSWERS);
  });
});
