import { type Server, createServer, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGateway } from '../../gateway/build.js';
import { GATEWAY_NODE_FLAGS } from '../../gateway/src/cli/runtimeFlags.js';
import { REPO_ROOT, freePort, runNode, runTypeScript } from '../support/processes.js';
import { type Stack, startStack } from '../support/stack.js';

/** Forwards to `target` after `delayMs`: a slow subgraph, so a request is surely in flight at SIGTERM. */
function delayingProxy(target: string, delayMs: number): Server {
  const url = new URL(target);
  return createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      setTimeout(() => {
        const upstream = httpRequest(
          { host: url.hostname, port: url.port, path: url.pathname, method: incoming.method, headers: incoming.headers },
          (response) => {
            outgoing.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(outgoing);
          },
        );
        upstream.end(Buffer.concat(chunks));
      }, delayMs);
    });
  });
}

describe('the gateway process', () => {
  let stack: Stack;
  let proxy: Server;
  beforeAll(async () => {
    stack = await startStack();
    proxy = delayingProxy(stack.subgraphs.billing.url, 1_000);
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    proxy.close();
    await stack.stop();
  });

  it('runs from its bundle with its Node flags, as `npm start` and `npm run gateway` run it', async () => {
    const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['gateway']).toContain(`node ${GATEWAY_NODE_FLAGS.join(' ')} gateway/dist/gateway.js`);
    const bundle = await buildGateway();
    const port = await freePort();
    const gateway = runNode([...GATEWAY_NODE_FLAGS, bundle], {
      PSGRAPH_GATEWAY_PORT: String(port),
      PSGRAPH_CRM_URL: stack.subgraphs.crm.url,
      PSGRAPH_PSA_URL: stack.subgraphs.psa.url,
      PSGRAPH_ERP_URL: stack.subgraphs.erp.url,
      PSGRAPH_BILLING_URL: stack.subgraphs.billing.url,
    });
    try {
      await gateway.waitFor(/"service":"gateway"[^\n]*ready at/, 60_000);
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ projects(first: 2) { nodes { name invoiceSummary { invoiceCount } } } }' }),
      });
      const body = (await response.json()) as {
        data: { projects: { nodes: Array<{ name: string; invoiceSummary: { invoiceCount: number } }> } };
        errors?: unknown;
      };
      expect(body.errors).toBeUndefined();
      expect(body.data.projects.nodes).toHaveLength(2);
      expect(typeof body.data.projects.nodes[0]!.invoiceSummary.invoiceCount).toBe('number');
    } finally {
      gateway.child.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
    }
  });

  it('finishes requests in flight on SIGTERM, refuses new ones, and exits 0', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PSGRAPH_GATEWAY_PORT: String(port),
      PSGRAPH_CRM_URL: stack.subgraphs.crm.url,
      PSGRAPH_PSA_URL: stack.subgraphs.psa.url,
      PSGRAPH_ERP_URL: stack.subgraphs.erp.url,
      PSGRAPH_BILLING_URL: `http://127.0.0.1:${(proxy.address() as { port: number }).port}/graphql`,
      PSGRAPH_DRAIN_TIMEOUT_MS: '8000',
      APOLLO_TELEMETRY_DISABLED: '',
    };
    const gateway = runTypeScript('gateway/src/cli/gateway.ts', env);
    await gateway.waitFor(/"service":"gateway"[^\n]*ready at/, 60_000);
    const url = `http://127.0.0.1:${port}/graphql`;

    const inFlight = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ projects(first: 2) { nodes { name invoiceSummary { invoiceCount } } } }' }),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as { data: any; errors?: unknown[] } }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    await gateway.waitFor(/SIGTERM: draining/, 5_000);

    const refused = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }).then(
      (response) => response.status,
      () => 'connection refused',
    );
    expect([503, 'connection refused']).toContain(refused);

    const { status, body } = await inFlight;
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.projects.nodes).toHaveLength(2);
    expect(body.data.projects.nodes[0].invoiceSummary.invoiceCount).toEqual(expect.any(Number));
    expect(await gateway.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(8_000);
  });

  it('disables Apollo telemetry itself, whatever the environment says', async () => {
    const probe = runTypeScript('gateway/test/fixtures/printTelemetrySetting.ts', { APOLLO_TELEMETRY_DISABLED: '' });
    expect(await probe.exited).toBe(0);
    expect(probe.output().trim()).toBe('APOLLO_TELEMETRY_DISABLED=1');
  });
});
