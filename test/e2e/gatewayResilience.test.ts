import { type Server, createServer } from 'node:http';
import { type Server as NetServer, type Socket, createServer as createNetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics } from '../../subgraphs/platform/src/index.js';
import { type Stack, startStack } from '../support/stack.js';

/** Sum of every sample of a metric (all label sets). */
async function metricTotal(url: string, name: string): Promise<number> {
  const samples = parseMetrics(await (await fetch(url)).text());
  let total = 0;
  for (const [key, value] of samples) if (key === name || key.startsWith(`${name}{`)) total += value;
  return total;
}

describe('a subgraph that is down', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('yields the other subgraphs data plus an error naming the subgraph', async () => {
    await stack.subgraphs.billing.service.stop();
    const { status, body } = await stack.query(`{ projects(first: 3) { totalCount nodes { id name opportunity { name } invoiceSummary { invoiceCount } } } }`);
    expect(status).toBe(200);
    expect(body.data.projects.totalCount).toBeGreaterThanOrEqual(1200);
    expect(body.data.projects.nodes).toHaveLength(3);
    for (const project of body.data.projects.nodes) {
      expect(project.name).toEqual(expect.any(String));
      expect(project.opportunity.name).toEqual(expect.any(String));
      expect(project.invoiceSummary).toBeNull();
    }
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'billing' });
    expect(body.errors![0]!.message).toMatch(/^Subgraph "billing" could not be reached \(ECONNREFUSED\)\.$/);
  });

  it('turns readiness to 503 naming the subgraph, while liveness stays 200', async () => {
    const ready = await fetch(`${stack.baseUrl}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'degraded', subgraphs: { crm: 'up', psa: 'up', erp: 'up', billing: 'down' } });
    expect((await fetch(`${stack.baseUrl}/health`)).status).toBe(200);
  });
});

describe('a subgraph that hangs', () => {
  let stack: Stack;
  let hung: NetServer;
  const sockets = new Set<Socket>();
  const timeoutMs = 400;

  beforeAll(async () => {
    // Accepts connections and reads requests but never answers: the gateway's deadline must end the fetch.
    hung = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const port = (hung.address() as { port: number }).port;
    stack = await startStack({ gateway: { subgraphTimeoutMs: timeoutMs }, subgraphUrlOverrides: { billing: `http://127.0.0.1:${port}/graphql` } });
  });
  afterAll(async () => {
    await stack.stop();
    for (const socket of sockets) socket.destroy();
    hung.close();
  });

  it('times out within the configured bound with SUBGRAPH_TIMEOUT, keeping the rest of the data', async () => {
    const started = performance.now();
    const { status, body } = await stack.query(`{ projects(first: 2) { nodes { name invoiceSummary { invoiceCount } } } }`);
    const elapsed = performance.now() - started;
    expect(status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs);
    expect(elapsed).toBeLessThan(timeoutMs + 1_500);
    expect(body.data.projects.nodes.map((p: { name: string }) => typeof p.name)).toEqual(['string', 'string']);
    expect(body.data.projects.nodes[0].invoiceSummary).toBeNull();
    expect(body.errors![0]).toMatchObject({
      message: `Subgraph "billing" did not answer within ${timeoutMs} ms.`,
      extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'billing', timeoutMs },
    });
  });
});

describe('malformed and oversized requests', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ gateway: { maxBodyBytes: 64 * 1024, maxDepth: 8, maxAliases: 10 } });
  });
  afterAll(() => stack.stop());

  const post = (body: string, contentType = 'application/json') =>
    fetch(stack.gatewayUrl, { method: 'POST', headers: { 'content-type': contentType }, body }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as { errors?: Array<{ message: string; extensions: Record<string, unknown> }> },
    }));

  const deep = (levels: number) => `{ projects(first: 1) { nodes { ${'account { hierarchy { '.repeat(levels)}id${' } }'.repeat(levels)} } } }`;

  const cases: Array<
    [string, () => Promise<{ status: number; body: { errors?: Array<{ message: string; extensions: Record<string, unknown> }> } }>, number, string]
  > = [
    ['a body that is not JSON', () => post('{"query": "{ projects { totalCount } }"'), 400, 'BAD_REQUEST'],
    ['a document that does not parse', () => post(JSON.stringify({ query: '{ projects(first: 1) { totalCount ' })), 400, 'GRAPHQL_PARSE_FAILED'],
    ['a field the supergraph does not have', () => post(JSON.stringify({ query: '{ projects { secretField } }' })), 400, 'GRAPHQL_VALIDATION_FAILED'],
    [
      'a body over the size limit',
      () => post(JSON.stringify({ query: `{ projects(first: 1) { totalCount } } #${'x'.repeat(70 * 1024)}` })),
      413,
      'REQUEST_TOO_LARGE',
    ],
    ['a document nested deeper than the limit', () => post(JSON.stringify({ query: deep(4) })), 400, 'QUERY_TOO_COMPLEX'],
    [
      'a document with more aliases than the limit',
      () => post(JSON.stringify({ query: `{ ${Array.from({ length: 11 }, (_, i) => `a${i}: projects(first: 1) { totalCount }`).join(' ')} }` })),
      400,
      'QUERY_TOO_COMPLEX',
    ],
    [
      'a batch of operations',
      () => post(JSON.stringify([{ query: '{ projects { totalCount } }' }, { query: '{ projects { totalCount } }' }])),
      400,
      'BAD_REQUEST',
    ],
    ['a simple (CSRF-able) text/plain request', () => post(JSON.stringify({ query: '{ projects { totalCount } }' }), 'text/plain'), 400, 'BAD_REQUEST'],
  ];

  for (const [name, send, expectedStatus, expectedCode] of cases) {
    it(`rejects ${name} with ${expectedStatus} ${expectedCode}, and nothing reaches a subgraph`, async () => {
      const fetchesBefore = await metricTotal(`${stack.baseUrl}/metrics`, 'psgraph_subgraph_fetches_total');
      const subgraphRequestsBefore = await Promise.all(
        Object.values(stack.subgraphs).map((s) => metricTotal(s.url.replace(/\/graphql$/, '/metrics'), 'psgraph_graphql_requests_total')),
      );
      const { status, body } = await send();
      expect(status).toBe(expectedStatus);
      expect(body.errors?.[0]?.extensions?.['code'] ?? (status === 400 && expectedCode === 'BAD_REQUEST' ? 'BAD_REQUEST' : undefined)).toBe(expectedCode);
      expect(await metricTotal(`${stack.baseUrl}/metrics`, 'psgraph_subgraph_fetches_total')).toBe(fetchesBefore);
      const subgraphRequestsAfter = await Promise.all(
        Object.values(stack.subgraphs).map((s) => metricTotal(s.url.replace(/\/graphql$/, '/metrics'), 'psgraph_graphql_requests_total')),
      );
      expect(subgraphRequestsAfter).toEqual(subgraphRequestsBefore);
    });
  }

  it('accepts a document just inside the depth and alias limits', async () => {
    const { status, body } = await post(
      JSON.stringify({ query: `{ ${Array.from({ length: 10 }, (_, i) => `a${i}: projects(first: 1) { totalCount }`).join(' ')} }` }),
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
  });
});

describe('errors from a subgraph', () => {
  let fake: Server;
  let development: Stack;
  let production: Stack;
  beforeAll(async () => {
    // A CRM that fails with an internal message no client should ever see.
    fake = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            data: { _entities: [null] },
            errors: [{ message: 'SQLITE_CORRUPT: database disk image is malformed (/var/lib/psgraph/crm.db)', path: ['_entities', 0] }],
          }),
        );
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(fake.address() as { port: number }).port}/graphql`;
    development = await startStack({ subgraphUrlOverrides: { crm: url } });
    production = await startStack({ subgraphUrlOverrides: { crm: url }, production: true });
  });
  afterAll(async () => {
    await development.stop();
    await production.stop();
    fake.close();
  });

  const query = `{ projects(first: 1) { nodes { name opportunity { name } } } }`;

  it('carry serviceName and a stable code', async () => {
    const { body } = await development.query(query);
    expect(body.data.projects.nodes[0].name).toEqual(expect.any(String));
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', serviceName: 'crm' });
  });

  it('are masked as "Unexpected error." in production, keeping code and serviceName', async () => {
    const { body } = await production.query(query);
    expect(body.data.projects.nodes[0].opportunity).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.message).toBe('Unexpected error.');
    expect(body.errors![0]!.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', serviceName: 'crm' });
    expect(JSON.stringify(body)).not.toContain('SQLITE');
  });

  it('keep client-safe messages in production', async () => {
    const { body } = await production.query(`{ project(id: "not-a-project") { name } }`);
    expect(body.errors![0]).toMatchObject({ extensions: { code: 'INVALID_ID', serviceName: 'psa' } });
    expect(body.errors![0]!.message).toContain('invalid ID "not-a-project"');
  });
});
