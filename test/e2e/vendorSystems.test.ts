/**
 * psgraph over the vendors' APIs instead of its sandboxes, end to end through the gateway: every system subgraph
 * switched to its vendor adapter, each vendor a local server that speaks its API (`test/wire/`) over the same
 * world the sandboxes are seeded from. The unified project view and the portfolio page answer exactly as over the
 * sandboxes; a page of 50 projects costs each vendor as many API calls as a page of 5; a deal won in the CRM is
 * activated across the vendors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics } from '../../subgraphs/platform/src/index.js';
import type { CrmSubgraph } from '../../subgraphs/crm/src/crmSubgraph.js';
import type { PsaSubgraph } from '../../subgraphs/psa/src/psaSubgraph.js';
import { PORTFOLIO_QUERY, PROJECT_QUERY } from '../support/queries.js';
import { type Stack, startStack } from '../support/stack.js';
import { collect, eventually, wsClient } from '../support/subscriptions.js';
import { type VendorSystems, startVendorSystems } from '../support/vendorSystems.js';

describe('psgraph over the vendor systems', () => {
  let vendors: VendorSystems;
  let sandboxes: Stack;
  let stack: Stack;
  beforeAll(async () => {
    vendors = await startVendorSystems();
    sandboxes = await startStack();
    stack = await startStack({ adapters: vendors.adapters, privateData: true });
    // The Kantata replica's first fill (a listing of every record) happens here, not in the first test's query.
    await (stack.subgraphs.psa.service as unknown as PsaSubgraph).flushEvents();
    vendors.connectWebhooks(stack.subgraphs.billing.url);
  });
  afterAll(async () => {
    await stack?.stop();
    await sandboxes?.stop();
    await vendors?.stop();
  });

  it('answers the unified project view and the portfolio page exactly as over the sandboxes', async () => {
    const page = await sandboxes.query(PORTFOLIO_QUERY, { first: 20, filter: { status: ['ACTIVE'] } });
    expect(page.body.errors).toBeUndefined();
    expect(await stack.query(PORTFOLIO_QUERY, { first: 20, filter: { status: ['ACTIVE'] } })).toEqual(page);
    for (const project of page.body.data.projects.nodes.slice(0, 3)) {
      const expected = await sandboxes.query(PROJECT_QUERY, { id: project.id });
      expect(expected.body.errors).toBeUndefined();
      expect(await stack.query(PROJECT_QUERY, { id: project.id })).toEqual(expected);
    }
  });

  it('costs each vendor as many API calls for a page of 50 projects as for a page of 5', async () => {
    const callsFor = async (first: number) => {
      const before = vendors.apiRequests();
      const { body } = await stack.query(PORTFOLIO_QUERY, { first, filter: { status: ['ACTIVE'] } });
      expect(body.errors).toBeUndefined();
      expect(body.data.projects.nodes).toHaveLength(first);
      const after = vendors.apiRequests();
      const calls: Record<string, number> = Object.fromEntries(
        Object.entries(after).map(([system, count]) => [system, count! - before[system as keyof typeof before]!]),
      );
      // Salesforce has no recursive query: an account's hierarchy costs one call per level of parents, however
      // many accounts are on the page. A larger page may reach a deeper hierarchy; that is not a call per project.
      const depth = Math.max(...body.data.projects.nodes.map((project: { account: { hierarchy: unknown[] } }) => project.account.hierarchy.length));
      return { ...calls, crm: calls['crm']! - (depth - 1) } as Record<string, number>;
    };
    const five = await callsFor(5);
    const fifty = await callsFor(50);
    expect(fifty).toEqual(five);
    // Billing answers from its replica of Stripe (kept by webhooks): a page costs Stripe nothing.
    const { billing, ...others } = five;
    expect(billing).toBe(0);
    for (const calls of Object.values(others)) expect(calls).toBeGreaterThan(0);
  });

  it('reports the vendor API calls it makes on each subgraph’s /metrics', async () => {
    for (const [system, vendor] of [
      ['crm', 'Salesforce'],
      ['psa', 'Kantata'],
      ['erp', 'NetSuite'],
      ['billing', 'Stripe'],
    ] as const) {
      const metrics = parseMetrics(await (await fetch(stack.subgraphs[system].url.replace(/\/graphql$/, '/metrics'))).text());
      const calls = [...metrics.entries()].filter(([name]) => name.startsWith(`psgraph_vendor_api_calls_total{system="${vendor}"`));
      expect(calls.length, vendor).toBeGreaterThan(0);
      expect(
        calls.reduce((sum, [, count]) => sum + count, 0),
        vendor,
      ).toBeGreaterThan(0);
    }
  });

  it('activates a deal won in Salesforce, linking the project back onto the opportunity there', async () => {
    const awaiting = await sandboxes.query(
      `{ opportunities(first: 100, filter: { awaitingActivation: true }) { nodes { id poRequired poNumber account { id taxId } } } }`,
    );
    const won = awaiting.body.data.opportunities.nodes.map((opportunity: { id: string }) => opportunity.id);
    // A deal not yet won in Salesforce, with what activation needs (tax ID, PO where required): win it there.
    const candidates = await stack.query(
      `{ opportunities(first: 100, filter: { isWon: false, isClosed: false }) { nodes { id poRequired poNumber account { taxId creditStatus } } } }`,
    );
    const deal = candidates.body.data.opportunities.nodes.find(
      (opportunity: { id: string; poRequired: boolean; poNumber: string | null; account: { taxId: string | null; creditStatus: string } }) =>
        !won.includes(opportunity.id) &&
        opportunity.account.taxId !== null &&
        opportunity.account.creditStatus === 'GOOD' &&
        (!opportunity.poRequired || opportunity.poNumber),
    );
    expect(deal).toBeDefined();
    vendors.salesforce.update('Opportunity', deal.id, { StageName: 'Closed Won' });
    // Polled now rather than at the next interval: the CRM sees the deal won and tells the activation process.
    await (stack.subgraphs.crm.service as unknown as CrmSubgraph).flushEvents();

    const runs = `query($id: ID!) { activationRuns(first: 5, filter: { opportunityId: $id }) { nodes { status projectId } } }`;
    let run: { status: string; projectId: string } | undefined;
    for (let waited = 0; waited < 30_000 && run?.status !== 'ACTIVE'; waited += 200) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      run = (await stack.query(runs, { id: deal.id })).body.data?.activationRuns.nodes[0];
    }
    expect(run?.status).toBe('ACTIVE');
    const opportunity = vendors.salesforce.db.prepare('SELECT Project_Id__c AS projectId FROM Opportunity WHERE Id = ?').get(deal.id) as { projectId: string };
    expect(opportunity.projectId).toBe(run!.projectId);
  });

  it('pushes an invoice paid in Stripe to a subscriber of the gateway, hydrated from every vendor', async () => {
    const open = await stack.query(`{ invoices(first: 1, filter: { status: [OPEN] }) { nodes { id project { id } } } }`);
    const invoice = open.body.data.invoices.nodes[0];
    const client = wsClient(stack.gatewayUrl);
    try {
      const subscription = collect(
        client,
        `subscription($projectId: ID!) { invoiceStatusChanged(projectId: $projectId) {
          previousStatus status invoice { id status amountRemaining { amount } project { id name account { name } } }
        } }`,
        { projectId: invoice.project.id },
      );
      await eventually(() => stack.subgraphs.billing.service.activeSubscriptions() > 0, 5_000, 'the upstream subscription');
      // Paid by the firm's billing team in the Stripe Dashboard: Stripe's webhook tells the billing subgraph.
      vendors.stripe.account.pay(invoice.id, { paid_out_of_band: 'true' });
      const [event] = await subscription.waitFor(1);
      expect(event!.errors).toBeUndefined();
      const sandboxView = await sandboxes.query(`query($id: ID!) { project(id: $id) { id name account { name } } }`, { id: invoice.project.id });
      expect(event!.data.invoiceStatusChanged).toEqual({
        previousStatus: 'OPEN',
        status: 'PAID',
        invoice: { id: invoice.id, status: 'PAID', amountRemaining: { amount: '0.00' }, project: sandboxView.body.data.project },
      });
      subscription.unsubscribe();
    } finally {
      await client.dispose();
    }
  });
});
