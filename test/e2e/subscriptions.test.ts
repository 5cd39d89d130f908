import { readFile, rename, writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { newEvent } from '../../subgraphs/platform/src/events/index.js';
import { parseMetrics } from '../../subgraphs/platform/src/index.js';
import { type Stack, startStack } from '../support/stack.js';
import { collect, eventually, wsClient } from '../support/subscriptions.js';

const INVOICE_STATUS = `
subscription InvoiceStatus($projectId: ID, $accountId: ID) {
  invoiceStatusChanged(projectId: $projectId, accountId: $accountId) {
    eventId previousStatus status changedAt
    invoice {
      id number status total { amount currency }
      project { id name manager { name } opportunity { owner { name } account { name } } }
    }
  }
}`;

interface Invoice {
  id: string;
  status: string;
  project: { id: string };
  account: { id: string };
}

describe('subscriptions through the gateway', () => {
  let stack: Stack;
  const clients: Client[] = [];
  const client = (params: Record<string, unknown> = {}) => {
    const created = wsClient(stack.gatewayUrl, params);
    clients.push(created);
    return created;
  };
  const invoices = async (filter: Record<string, unknown>, first = 5): Promise<Invoice[]> => {
    const { body } = await stack.query(
      `query ($filter: InvoiceFilter, $first: Int) { invoices(filter: $filter, first: $first) { nodes { id status project { id } account { id } } } }`,
      {
        filter,
        first,
      },
    );
    expect(body.errors).toBeUndefined();
    return body.data.invoices.nodes;
  };
  /** The billing subgraph has the upstream subscription open: events published from now on reach it. */
  const upstreamOpen = (count = 1) => eventually(() => stack.subgraphs.billing.service.activeSubscriptions() >= count, 10_000, 'the upstream subscription');

  beforeAll(async () => {
    stack = await startStack({ privateData: true });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => stack.stop());

  it('delivers each invoice status change, hydrated with fields from PSA and CRM', async () => {
    const [draft] = await invoices({ status: ['DRAFT'] }, 1);
    const subscription = collect(client(), INVOICE_STATUS, { projectId: draft!.project.id });
    await upstreamOpen();

    const finalized = await stack.query(`mutation ($id: ID!) { finalizeInvoice(id: $id) { status number } }`, { id: draft!.id });
    expect(finalized.body.errors).toBeUndefined();
    const paid = await stack.query(`mutation ($id: ID!) { recordPayment(invoiceId: $id) { status } }`, { id: draft!.id });
    expect(paid.body.data.recordPayment.status).toBe('PAID');

    const [posted, settled] = await subscription.waitFor(2);
    const project = (
      await stack.query(`query ($id: ID!) { project(id: $id) { name manager { name } opportunity { owner { name } account { name } } } }`, {
        id: draft!.project.id,
      })
    ).body.data.project;
    expect(posted!.errors).toBeUndefined();
    expect(posted!.data.invoiceStatusChanged).toMatchObject({
      previousStatus: 'DRAFT',
      status: 'OPEN',
      invoice: { id: draft!.id, number: finalized.body.data.finalizeInvoice.number, project: { id: draft!.project.id, ...project } },
    });
    expect(settled!.data.invoiceStatusChanged).toMatchObject({ previousStatus: 'OPEN', status: 'PAID', invoice: { id: draft!.id, status: 'PAID' } });
    expect(posted!.data.invoiceStatusChanged.eventId).not.toBe(settled!.data.invoiceStatusChanged.eventId);
  });

  it('refuses a subscription without a filter with the subgraph error code', async () => {
    const subscription = collect(client(), `subscription { invoiceStatusChanged { status } }`);
    expect(await subscription.completed).toEqual({ complete: true });
    expect(subscription.results).toHaveLength(1);
    expect(subscription.results[0]!.errors?.[0]).toMatchObject({
      message: 'invoiceStatusChanged needs projectId or accountId (or both).',
      extensions: { code: 'BAD_USER_INPUT', serviceName: 'billing' },
    });
  });

  it('shares one upstream between identical subscriptions and opens another for different variables', async () => {
    const [open1, open2] = await invoices({ status: ['OPEN'] }, 40).then((list) => {
      const byProject = new Map(list.map((invoice) => [invoice.project.id, invoice]));
      return [...byProject.values()];
    });
    const first = collect(client(), INVOICE_STATUS, { projectId: open1!.project.id });
    const second = collect(client(), INVOICE_STATUS, { projectId: open1!.project.id });
    await eventually(() => stack.gateway.subscriptions.bridge.activeCount === 2);
    expect(stack.gateway.subscriptions.upstreams.stats()).toMatchObject({ upstreams: 1, listeners: 2 });
    const third = collect(client(), INVOICE_STATUS, { projectId: open2!.project.id });
    await eventually(() => stack.gateway.subscriptions.upstreams.stats().upstreams === 2);
    await upstreamOpen(2);

    await stack.query(`mutation ($id: ID!) { markInvoiceUncollectible(id: $id) { status } }`, { id: open1!.id });
    const [a] = await first.waitFor(1);
    const [b] = await second.waitFor(1);
    expect(a!.data.invoiceStatusChanged.status).toBe('UNCOLLECTIBLE');
    expect(b).toEqual(a);
    expect(third.results).toEqual([]);
  });

  it('reconnects an upstream that dropped, and the client keeps its subscription', async () => {
    const [open] = await invoices({ status: ['OPEN'] }, 1);
    const subscription = collect(client(), INVOICE_STATUS, { projectId: open!.project.id });
    await upstreamOpen();
    await stack.restartSubgraph('billing', 300);
    await upstreamOpen();
    await stack.query(`mutation ($id: ID!) { voidInvoice(id: $id) { status } }`, { id: open!.id });
    const [event] = await subscription.waitFor(1, 15_000);
    expect(event!.data.invoiceStatusChanged).toMatchObject({ status: 'VOID', invoice: { id: open!.id } });
  });

  it('delivers an event that cannot be fully hydrated as that event’s error, and the stream goes on', async () => {
    // One open invoice, two status changes: open → uncollectible (PSA down), uncollectible → void (PSA back).
    const [first] = await invoices({ status: ['OPEN'] }, 3).then((list) => list.slice(2));
    const subscription = collect(client(), INVOICE_STATUS, { projectId: first!.project.id });
    await upstreamOpen();

    await stack.stopSubgraph('psa');
    await stack.query(`mutation ($id: ID!) { markInvoiceUncollectible(id: $id) { status } }`, { id: first!.id });
    const [broken] = await subscription.waitFor(1);
    // Project.name is non-null, so PSA's failure nulls the event up to the nearest nullable field: here the
    // whole event, which arrives as data null plus the error naming PSA.
    expect(broken!.data).toBeNull();
    expect(broken!.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'psa' });

    await stack.startSubgraph('psa');
    await stack.query(`mutation ($id: ID!) { voidInvoice(id: $id) { status } }`, { id: first!.id });
    const [, whole] = await subscription.waitFor(2);
    expect(whole!.data.invoiceStatusChanged.status).toBe('VOID');
    expect(whole!.errors).toBeUndefined();
    expect(whole!.data.invoiceStatusChanged.invoice.project.name).toEqual(expect.any(String));
  });

  it('bounds each client’s queue: a client that falls behind loses the oldest events, and the drops are counted', async () => {
    const [open] = await invoices({ status: ['OPEN'] }, 1);
    const subscription = collect(client(), INVOICE_STATUS, { projectId: open!.project.id });
    await upstreamOpen();
    const dropped = async () => parseMetrics(await (await fetch(`${stack.baseUrl}/metrics`)).text()).get('psgraph_subscription_events_dropped_total') ?? 0;
    const droppedBefore = await dropped();
    // 400 events at once: far more than the queue (128) while each hydration waits on PSA and CRM.
    for (let i = 0; i < 400; i++) {
      await stack.bus.publish(
        newEvent('invoice.posted', {
          source: 'billing',
          subject: open!.id,
          data: {
            invoiceId: open!.id,
            projectId: open!.project.id,
            crmAccountId: open!.account.id,
            customerId: 'cus_test',
            previousStatus: 'DRAFT',
            status: 'OPEN',
            changedAt: new Date().toISOString(),
          },
        }),
      );
    }
    await eventually(async () => (await dropped()) > droppedBefore, 15_000, 'dropped events');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const received = subscription.results.length;
    expect(received).toBeLessThan(400);
    expect(received + ((await dropped()) - droppedBefore)).toBeGreaterThan(0);
  });

  it('ends every subscription with SUBSCRIPTION_SCHEMA_RELOAD when the supergraph reloads', async () => {
    const [open] = await invoices({ status: ['OPEN'] }, 1);
    const subscription = collect(client(), INVOICE_STATUS, { projectId: open!.project.id });
    await eventually(() => stack.gateway.subscriptions.bridge.activeCount === 1);
    const sdl = await readFile(stack.supergraphPath, 'utf8');
    await writeFile(`${stack.supergraphPath}.next`, `${sdl}\n# reloaded by the subscription test\n`);
    await rename(`${stack.supergraphPath}.next`, stack.supergraphPath);
    const [ended] = await subscription.waitFor(1);
    expect(ended!.errors?.[0]).toMatchObject({ message: 'The supergraph was reloaded; subscribe again.', extensions: { code: 'SUBSCRIPTION_SCHEMA_RELOAD' } });
    expect(await subscription.completed).toEqual({ complete: true });
    expect(stack.gateway.subscriptions.bridge.activeCount).toBe(0);
  });

  it('releases every upstream subscription, socket and timer when clients go away', async () => {
    await eventually(
      () => stack.gateway.subscriptions.bridge.activeCount === 0 && stack.gateway.subscriptions.upstreams.stats().connections === 0,
      10_000,
      'a quiet gateway',
    );
    const handles = () => {
      const counts: Record<string, number> = {};
      for (const resource of process.getActiveResourcesInfo()) counts[resource] = (counts[resource] ?? 0) + 1;
      return counts;
    };
    const before = handles();
    const list = await invoices({ status: ['OPEN'] }, 10);
    const many = list.map((invoice) => collect(client(), INVOICE_STATUS, { projectId: invoice.project.id }));
    await eventually(
      () =>
        stack.gateway.subscriptions.upstreams.stats().connections === 1 &&
        stack.subgraphs.billing.service.activeSubscriptions() === new Set(list.map((i) => i.project.id)).size,
    );
    expect(handles()['TCPSocketWrap'] ?? 0).toBeGreaterThan(before['TCPSocketWrap'] ?? 0);

    for (const subscription of many) subscription.unsubscribe();
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await eventually(() => stack.gateway.subscriptions.bridge.activeCount === 0, 5_000, 'client subscriptions released');
    await eventually(() => stack.gateway.subscriptions.upstreams.stats().upstreams === 0, 5_000, 'upstream subscriptions released');
    await eventually(() => stack.subgraphs.billing.service.activeSubscriptions() === 0, 5_000, 'subgraph subscriptions released');
    await eventually(() => (handles()['TCPSocketWrap'] ?? 0) <= (before['TCPSocketWrap'] ?? 0) + 2, 10_000, 'sockets closed');
    await eventually(() => (handles()['Timeout'] ?? 0) <= (before['Timeout'] ?? 0) + 2, 10_000, 'timers cleared');
  });
});

describe('staffing subscriptions through the gateway', () => {
  let stack: Stack;
  let client: Client;
  beforeAll(async () => {
    stack = await startStack({ privateData: true });
    client = wsClient(stack.gatewayUrl);
  });
  afterAll(async () => {
    await client.dispose();
    await stack.stop();
  });

  it('delivers an assignment confirmed in PSA, hydrated with the project’s CRM opportunity', async () => {
    const { body } = await stack.query(`{ projects(first: 100, filter: { status: [PLANNED] }) { nodes { id assignments { id status } } } }`);
    const project = (body.data.projects.nodes as Array<{ id: string; assignments: Array<{ id: string; status: string }> }>).find((p) =>
      p.assignments.some((a) => a.status === 'TENTATIVE'),
    )!;
    const tentative = project.assignments.find((a) => a.status === 'TENTATIVE')!;
    const subscription = collect(
      client,
      `subscription ($p: ID!) { assignmentChanged(projectId: $p) { eventId change status assignment { id status resource { name } project { id name opportunity { owner { name } } } } } }`,
      { p: project.id },
    );
    await eventually(() => stack.subgraphs.psa.service.activeSubscriptions() === 1, 10_000, 'the upstream subscription');
    const confirmed = await stack.query(`mutation ($id: ID!) { confirmAssignment(assignmentId: $id) { status } }`, { id: tentative.id });
    expect(confirmed.body.data.confirmAssignment.status).toBe('CONFIRMED');
    const [event] = await subscription.waitFor(1);
    expect(event!.errors).toBeUndefined();
    expect(event!.data.assignmentChanged).toMatchObject({
      change: 'assignment.confirmed',
      status: 'CONFIRMED',
      assignment: { id: tentative.id, status: 'CONFIRMED', project: { id: project.id, opportunity: { owner: { name: expect.any(String) } } } },
    });
  });
});

describe('activation progress subscriptions through the gateway', () => {
  let stack: Stack;
  let client: Client;
  beforeAll(async () => {
    stack = await startStack({ privateData: true });
    client = wsClient(stack.gatewayUrl);
  });
  afterAll(async () => {
    await client.dispose();
    await stack.stop();
  });

  it('streams every status change of a run, from REQUESTED to ACTIVE, hydrated with the CRM deal', async () => {
    // A won deal awaiting activation whose data validates (tax ID present, PO where required).
    const { body } = await stack.query(
      `{ opportunities(first: 100, filter: { awaitingActivation: true }) { nodes { id poRequired poNumber account { taxId creditStatus } } } }`,
    );
    const deal = (
      body.data.opportunities.nodes as Array<{
        id: string;
        poRequired: boolean;
        poNumber: string | null;
        account: { taxId: string | null; creditStatus: string | null };
      }>
    ).find((o) => o.account.taxId !== null && (!o.poRequired || o.poNumber !== null) && o.account.creditStatus !== 'ON_HOLD')!;
    const subscription = collect(
      client,
      `subscription ($o: ID) { activationUpdated(opportunityId: $o) { eventId previousStatus status run { id opportunity { id name account { name } } } } }`,
      {
        o: deal.id,
      },
    );
    await eventually(() => stack.activation.service.activeSubscriptions() === 1, 10_000, 'the upstream subscription');

    const activated = await stack.query(`mutation ($o: ID!) { activateProject(input: { opportunityId: $o, idempotencyKey: "progress-e2e" }) { id status } }`, {
      o: deal.id,
    });
    expect(activated.body.errors).toBeUndefined();
    await eventually(() => subscription.results.some((r) => r.data?.activationUpdated?.status === 'ACTIVE'), 20_000, 'the ACTIVE update');

    const updates = subscription.results.map((r) => r.data.activationUpdated);
    expect(updates[0]).toMatchObject({ previousStatus: 'REQUESTED', status: 'VALIDATING' });
    for (let i = 1; i < updates.length; i++) expect(updates[i].previousStatus).toBe(updates[i - 1].status);
    expect(updates.map((u: { status: string }) => u.status)).toEqual(['VALIDATING', 'ERP_PROVISIONING', 'PSA_PROVISIONING', 'LINKING', 'ACTIVE']);
    for (const update of updates) {
      expect(update.run).toMatchObject({ id: activated.body.data.activateProject.id, opportunity: { id: deal.id, account: { name: expect.any(String) } } });
    }
    expect(new Set(updates.map((u: { eventId: string }) => u.eventId)).size).toBe(updates.length);
  });
});
