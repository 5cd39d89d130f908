import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCrmSubgraph } from '../../subgraphs/crm/src/crmSubgraph.js';
import { createErpSubgraph } from '../../subgraphs/erp/src/erpSubgraph.js';
import { createPsaSubgraph } from '../../subgraphs/psa/src/psaSubgraph.js';
import { type SubgraphService, parseMetrics } from '../../subgraphs/platform/src/index.js';
import { type RunningProcess, freePort, runTypeScript } from '../support/processes.js';
import { type RedisServer, startRedisServer } from '../support/redisServer.js';
import { E2E_WORLD, seededDataDir } from '../support/seededData.js';
import { type CollectedSubscription, collect, eventually, wsClient } from '../support/subscriptions.js';

const SUBSCRIPTION = `subscription ($a: ID) { invoiceStatusChanged(accountId: $a) { eventId status invoice { id project { name } } } }`;

describe('scale-out over Redis: two gateways, two billing replicas', () => {
  let redis: RedisServer;
  let dataDir: string;
  const inProcess: SubgraphService[] = [];
  const processes: RunningProcess[] = [];
  const billingPorts: number[] = [];
  const gatewayUrls: string[] = [];
  const clients: Client[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    dataDir = mkdtempSync(join(tmpdir(), 'psgraph-scale-'));
    for (const file of readdirSync(seededDataDir())) if (file.endsWith('.db')) copyFileSync(join(seededDataDir(), file), join(dataDir, file));
    const urls: Record<string, string> = {};
    for (const [name, build] of [
      ['crm', () => createCrmSubgraph({ dataDir, world: E2E_WORLD, production: false })],
      ['psa', () => createPsaSubgraph({ dataDir, world: E2E_WORLD, production: false })],
      ['erp', () => createErpSubgraph({ dataDir, world: E2E_WORLD, production: false })],
    ] as const) {
      const service = build();
      inProcess.push(service);
      urls[name] = await service.listen(0, '127.0.0.1');
    }
    // Each billing replica is its own process on the shared store, publishing and streaming through Redis.
    for (let replica = 0; replica < 2; replica++) {
      const port = await freePort();
      billingPorts.push(port);
      const billing = runTypeScript('subgraphs/billing/src/main.ts', { PSGRAPH_DATA_DIR: dataDir, PSGRAPH_BILLING_PORT: String(port), REDIS_URL: redis.url });
      processes.push(billing);
      await billing.waitFor(/"service":"billing"[^\n]*ready at/, 60_000);
    }
    // Each gateway process talks to its own billing replica, as behind two load-balancer routes.
    for (let replica = 0; replica < 2; replica++) {
      const port = await freePort();
      const gateway = runTypeScript('gateway/src/cli/gateway.ts', {
        PSGRAPH_GATEWAY_PORT: String(port),
        PSGRAPH_CRM_URL: urls['crm']!,
        PSGRAPH_PSA_URL: urls['psa']!,
        PSGRAPH_ERP_URL: urls['erp']!,
        PSGRAPH_BILLING_URL: `http://127.0.0.1:${billingPorts[replica]}/graphql`,
      });
      processes.push(gateway);
      await gateway.waitFor(/"service":"gateway"[^\n]*ready at/, 60_000);
      gatewayUrls.push(`http://127.0.0.1:${port}/graphql`);
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    for (const running of processes) running.child.kill('SIGTERM');
    await Promise.all(processes.map((running) => running.exited));
    for (const service of inProcess) await service.stop();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const mutate = async (gateway: number, query: string, variables: Record<string, unknown>) => {
    const response = await fetch(gatewayUrls[gateway]!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: unknown };
    expect(body.errors).toBeUndefined();
    return body.data;
  };
  const billingSubscriptions = async (replica: number) =>
    parseMetrics(await (await fetch(`http://127.0.0.1:${billingPorts[replica]}/metrics`)).text()).get('psgraph_subscriptions_active') ?? 0;

  it('delivers one paid invoice exactly once to a client on each gateway, and loses nothing published after Redis restarts', async () => {
    // An account with two open invoices: one is paid before Redis restarts, the other changes twice after.
    const open = (await mutate(0, `{ invoices(first: 100, filter: { status: [OPEN] }) { nodes { id account { id } } } }`, {})).invoices.nodes as Array<{
      id: string;
      account: { id: string };
    }>;
    const byAccount = new Map<string, string[]>();
    for (const invoice of open) byAccount.set(invoice.account.id, [...(byAccount.get(invoice.account.id) ?? []), invoice.id]);
    const [accountId, [paidBefore, changedAfter]] = [...byAccount].find(([, ids]) => ids.length >= 2)! as [string, string[]];

    const subscriptions: CollectedSubscription[] = gatewayUrls.map((url) => {
      const client = wsClient(url);
      clients.push(client);
      return collect(client, SUBSCRIPTION, { a: accountId });
    });
    await eventually(async () => (await billingSubscriptions(0)) === 1 && (await billingSubscriptions(1)) === 1, 15_000, 'both upstream subscriptions');

    await mutate(0, `mutation ($id: ID!) { recordPayment(invoiceId: $id) { status } }`, { id: paidBefore });
    for (const subscription of subscriptions) await subscription.waitFor(1, 15_000);
    // Give a duplicate every chance to arrive before asserting there is none.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const subscription of subscriptions) {
      expect(subscription.results).toHaveLength(1);
      expect(subscription.results[0]!.data.invoiceStatusChanged).toMatchObject({
        status: 'PAID',
        invoice: { id: paidBefore, project: { name: expect.any(String) } },
      });
    }
    expect(subscriptions[0]!.results[0]!.data.invoiceStatusChanged.eventId).toBe(subscriptions[1]!.results[0]!.data.invoiceStatusChanged.eventId);

    // Redis dies (kill -9) and comes back from its append-only file; the replicas reconnect on their own.
    await redis.restart();
    await mutate(1, `mutation ($id: ID!) { markInvoiceUncollectible(id: $id) { status } }`, { id: changedAfter });
    await mutate(0, `mutation ($id: ID!) { voidInvoice(id: $id) { status } }`, { id: changedAfter });
    for (const subscription of subscriptions) await subscription.waitFor(3, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const subscription of subscriptions) {
      const statuses = subscription.results.map((result) => result.data.invoiceStatusChanged.status);
      // Exactly these three, once each. The two changes after the restart were made through different billing
      // replicas, whose relays publish independently: across replicas, arrival order is not promised.
      expect(statuses).toHaveLength(3);
      expect(statuses[0]).toBe('PAID');
      expect(new Set(statuses.slice(1))).toEqual(new Set(['UNCOLLECTIBLE', 'VOID']));
    }
  }, 90_000);
});
