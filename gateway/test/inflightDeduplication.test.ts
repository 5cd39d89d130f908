import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { InflightRequests, sharedResultStringifier } from '../src/inflightDeduplication.js';
import { SubgraphDataSource } from '../src/subgraphDataSource.js';

/** A subgraph behind a fake pooled client: answers each request with the store's state when the request arrived. */
function fakeSubgraph() {
  let state = 'before';
  const sent: Array<{ body: string; authorization?: string }> = [];
  const releases: Array<() => void> = [];
  const agent = {
    async request(options: { body: string; headers: Record<string, string> }) {
      const seen = state;
      const { query } = JSON.parse(options.body) as { query: string };
      sent.push({ body: options.body, ...(options.headers['authorization'] ? { authorization: options.headers['authorization'] } : {}) });
      if (query.startsWith('mutation')) state = 'after';
      else await new Promise<void>((resolve) => releases.push(resolve));
      const answer = query.startsWith('mutation') ? { data: { write: true } } : { data: { state: seen } };
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: { text: async () => JSON.stringify(answer) } };
    },
  };
  return {
    agent: agent as unknown as Agent,
    sent,
    /** Lets every query waiting at the subgraph answer. */
    release: () => releases.splice(0).forEach((release) => release()),
  };
}

const call = (source: SubgraphDataSource, query: string, authorization?: string) =>
  source.process({
    kind: 'incoming operation',
    request: { query, variables: {} },
    context: {},
    incomingRequestContext: { request: { http: { headers: new Map(authorization ? [['authorization', authorization]] : []) } } },
  } as unknown as GraphQLDataSourceProcessOptions);

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('identical subgraph queries in flight', () => {
  const build = () => {
    const subgraph = fakeSubgraph();
    const source = new SubgraphDataSource({
      name: 'billing',
      url: 'http://127.0.0.1:1/graphql',
      timeoutMs: 5_000,
      agent: subgraph.agent,
      forwardHeaders: ['authorization'],
      inflight: new InflightRequests(),
    });
    return { subgraph, source };
  };

  it('are sent once, and every caller gets the answer', async () => {
    const { subgraph, source } = build();
    const first = call(source, '{ state }');
    await tick();
    const second = call(source, '{ state }');
    await tick();
    subgraph.release();
    expect(await first).toEqual({ data: { state: 'before' } });
    expect(await second).toEqual({ data: { state: 'before' } });
    expect(subgraph.sent).toHaveLength(1);
  });

  it('give every caller its own copy of the answer (the plan executor writes into what it receives)', async () => {
    const { subgraph, source } = build();
    const first = call(source, '{ state }');
    const second = call(source, '{ state }');
    await tick();
    const third = call(source, '{ state }');
    await tick();
    subgraph.release();
    const answers = (await Promise.all([first, second, third])) as Array<{ data: { state: string } }>;
    answers[0]!.data.state = 'written by the first caller';
    expect(answers[1]).toEqual({ data: { state: 'before' } });
    expect(answers[2]).toEqual({ data: { state: 'before' } });
    expect(subgraph.sent).toHaveLength(1);
  });

  it('are never shared between callers with different credentials', async () => {
    const { subgraph, source } = build();
    const alice = call(source, '{ state }', 'Bearer alice');
    const bob = call(source, '{ state }', 'Bearer bob');
    await tick();
    await tick();
    subgraph.release();
    await Promise.all([alice, bob]);
    expect(subgraph.sent.map((request) => request.authorization).sort()).toEqual(['Bearer alice', 'Bearer bob']);
  });

  it('are not joined after a mutation: a query sent after a write never gets an answer read before it', async () => {
    const { subgraph, source } = build();
    const before = call(source, '{ state }');
    await tick();
    expect(await call(source, 'mutation { write }')).toEqual({ data: { write: true } });
    const after = call(source, '{ state }');
    await tick();
    subgraph.release();
    expect(await before).toEqual({ data: { state: 'before' } });
    expect(await after).toEqual({ data: { state: 'after' } });
    expect(subgraph.sent).toHaveLength(3);
  });
});

describe('closing what is in flight', () => {
  it('lets requests in flight finish for those already waiting, and turns newcomers away', async () => {
    const requests = new InflightRequests();
    let answer!: (value: string) => void;
    const leader = requests.lead('k', new Promise<string>((resolve) => (answer = resolve)));
    const joined = requests.join<string>('k');
    expect(joined).toBeDefined();
    requests.closeAll();
    expect(requests.join('k')).toBeUndefined();
    answer('done');
    expect(await leader).toBe('done');
    expect(await joined).toBe('done');
  });

  it('gives joiners a snapshot taken before the leader writes into the answer, and closes the entry as it settles', async () => {
    const requests = new InflightRequests();
    let answer!: (value: { good: { id: string } | null }) => void;
    const copy = (value: { good: { id: string } | null }) => structuredClone(value);
    const leader = requests.lead('k', new Promise<{ good: { id: string } | null }>((resolve) => (answer = resolve)), copy).then((value) => {
      // The leader's execution goes on writing into what it fetched.
      value.good = null;
      return value;
    });
    const joined = requests.join<{ good: { id: string } | null }>('k')!;
    answer({ good: { id: 'p1' } });
    expect(await leader).toEqual({ good: null });
    expect(await joined).toEqual({ good: { id: 'p1' } });
    expect(requests.join('k')).toBeUndefined();
    // Nobody joined: no snapshot is taken, the leader has the answer itself.
    const alone = { good: { id: 'p2' } };
    let copies = 0;
    expect(await requests.lead('solo', Promise.resolve(alone), (value) => (copies++, value))).toBe(alone);
    expect(copies).toBe(0);
  });
});

describe('serializing a shared response', () => {
  it("writes Apollo Server's bytes, once per shared result, and never reuses them for another result", () => {
    const stringify = sharedResultStringifier();
    const data = { project: { id: 'p1', name: 'Atlas' } };
    let reads = 0;
    const counted = {
      get project() {
        reads++;
        return data.project;
      },
    };
    const first = stringify({ data: counted });
    expect(first).toBe(`${JSON.stringify({ data })}\n`);
    // A follower answered with the same result (a new envelope around the same data): the text is reused.
    expect(stringify({ data: counted })).toBe(first);
    expect(reads).toBe(1);
    // Other errors beside the same data, or other data: serialized afresh.
    const errors = [{ message: 'partial' }];
    expect(stringify({ data: counted, errors })).toBe(`${JSON.stringify({ data, errors })}\n`);
    expect(stringify({ data: { project: { id: 'p2' } } })).toBe(`${JSON.stringify({ data: { project: { id: 'p2' } } })}\n`);
    expect(stringify({ errors })).toBe(`${JSON.stringify({ errors })}\n`);
  });
});
