/**
 * Stripe's webhooks into the billing subgraph: changes made in Stripe itself (the Dashboard, another integration)
 * become the business events the sandbox emits, with the same data; a delivery that is replayed, tampered with,
 * expired, or signed during a secret rotation is treated as Stripe's documentation says it must be; events that
 * arrive out of order never move an invoice backwards; and deliveries missed while psgraph was down arrive with
 * Stripe's retries, once. A smaller world than the conformance suite's: these tests need a few invoices, not volume.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BusEvent, InMemoryEventBus } from '../../platform/src/events/index.js';
import { type EventRelay, formatMinor } from '../../platform/src/index.js';
import { recordEvents } from '../../platform/test/portConformance.js';
import { Secret } from '../../platform/src/vendor/secrets.js';
import { temporaryDataDir } from '../../platform/test/testSupport.js';
import type { StripeObject } from '../../../test/wire/stripe/stripeAccount.js';
import type { StripeWireServer } from '../../../test/wire/stripe/stripeWireServer.js';
import { createBillingSubgraph, openBillingAdapter } from '../src/billingSubgraph.js';
import { STRIPE_WEBHOOK_PATH } from '../src/stripe/stripeWebhooks.js';
import { eventually } from './billingPortConformance.js';
import { type ServedAdapter, WEBHOOK_SECRET, openServedAdapter, startStripeWire, stripeConfig } from './stripeTestSupport.js';

const worldOptions = { scale: 0.25, seed: 7, asOf: '2026-11-01' };

describe('Stripe’s webhooks into the billing subgraph', () => {
  const data = temporaryDataDir('stripe-webhooks');
  const bus = new InMemoryEventBus();
  let wire: StripeWireServer;
  let served: ServedAdapter;
  let relay: EventRelay;
  const taken = new Set<string>();

  /** A psgraph invoice of the account in `status` that no other test has touched. */
  const anInvoice = (status: string): StripeObject => {
    const invoice = [...wire.account.objects.invoice.values()].find(
      (candidate) => candidate['status'] === status && candidate['amount_paid'] === 0 && !taken.has(candidate['id']),
    );
    if (!invoice) throw new Error(`no untouched ${status} invoice`);
    taken.add(invoice['id']);
    return invoice;
  };
  /** A change made in Stripe's Dashboard: a draft given its due date and finalized. */
  const finalizeInStripe = (id: string) => {
    wire.account.updateInvoice(id, { due_date: String(wire.account.now() + 30 * 86_400) });
    return wire.account.finalize(id);
  };
  const payInStripe = (id: string) => wire.account.pay(id, { paid_out_of_band: 'true' });
  const eventOf = (type: string, invoiceId: string) =>
    wire.webhooks.events.findLast((event) => event['type'] === type && event['data'].object.id === invoiceId)!['id'] as string;
  const statusOf = async (id: string) => (await served.adapter.port.invoicesById([id])).get(id)?.status;

  /** The business events `change` leads to, once Stripe's deliveries (and their retries) are done. */
  const eventsOf = async (change: () => unknown | Promise<unknown>, expectedCount: number): Promise<BusEvent[]> => {
    const seen = recordEvents(bus);
    try {
      await change();
      await wire.webhooks.settled();
      await relay.flush();
      await eventually(() => expect(seen.events.length).toBeGreaterThanOrEqual(expectedCount));
      // Anything more would arrive now; nothing more may.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await relay.flush();
      return seen.events as BusEvent[];
    } finally {
      seen.stop();
    }
  };

  /** The endpoint's signing secret psgraph is configured with (rotated by one test). */
  let configuredSecret = WEBHOOK_SECRET;
  const openAdapter = async () => {
    served = await openServedAdapter(wire, `${data.dir}/adapter`, { config: { webhookSecret: new Secret(configuredSecret) } });
    relay = served.adapter.relayEvents(bus);
    wire.setWebhookEndpoint(served.webhookUrl);
    await served.adapter.port.invoicesById([]);
  };
  const closeAdapter = async () => {
    await relay.stop();
    await served.close();
  };

  beforeAll(async () => {
    wire = await startStripeWire(worldOptions, `${data.dir}/wire`);
    await openAdapter();
  });
  afterAll(async () => {
    await closeAdapter();
    await wire?.stop();
    await bus.close();
    data.remove();
  });

  it('turns invoices finalized, written off and paid in Stripe into the events the sandbox emits, with the same data', async () => {
    const draft = anInvoice('draft');
    const events = await eventsOf(() => {
      finalizeInStripe(draft['id']);
      wire.account.markUncollectible(draft['id']);
      payInStripe(draft['id']);
    }, 3);
    expect(events.map((event) => [event.type, event.data['previousStatus'], event.data['status']])).toEqual([
      ['invoice.posted', 'DRAFT', 'OPEN'],
      ['invoice.marked_uncollectible', 'OPEN', 'UNCOLLECTIBLE'],
      ['invoice.paid', 'UNCOLLECTIBLE', 'PAID'],
    ]);
    const customer = wire.account.get('customer', draft['customer']);
    expect(events[2]).toMatchObject({
      subject: draft['id'],
      data: {
        invoiceId: draft['id'],
        projectId: draft['metadata'].psgraph_project_id,
        crmAccountId: customer['metadata'].psgraph_crm_account_id,
        customerId: draft['customer'],
        currency: String(draft['currency']).toUpperCase(),
        totalMinor: draft['total'],
        amountPaidMinor: draft['total'],
      },
    });
    expect(await statusOf(draft['id'])).toBe('PAID');
    expect((await served.adapter.port.paymentsByInvoiceId([draft['id']])).get(draft['id'])).toMatchObject([{ amountMinor: draft['total'] }]);
  });

  it('never moves an invoice backwards when Stripe delivers its events in reverse', async () => {
    const draft = anInvoice('draft');
    wire.webhooks.hold();
    finalizeInStripe(draft['id']);
    payInStripe(draft['id']);
    const events = await eventsOf(() => wire.webhooks.release({ reverse: true }), 2);
    // The first event to arrive already finds the invoice paid: it was posted, then paid.
    expect(events.map((event) => [event.type, event.subject])).toEqual([
      ['invoice.posted', draft['id']],
      ['invoice.paid', draft['id']],
    ]);
    expect(await statusOf(draft['id'])).toBe('PAID');
    expect(wire.webhooks.deliveries.filter((delivery) => delivery.eventId === eventOf('invoice.finalized', draft['id'])).at(-1)?.status).toBe(200);
  });

  it('acts once on an event delivered again, even after a restart', async () => {
    const open = anInvoice('open');
    const events = await eventsOf(() => wire.account.voidInvoice(open['id']), 1);
    expect(events.map((event) => event.type)).toEqual(['invoice.voided']);
    const voided = eventOf('invoice.voided', open['id']);
    const replays = await eventsOf(async () => {
      expect(await wire.webhooks.resend(voided)).toBe(200);
      await closeAdapter();
      await openAdapter();
      expect(await wire.webhooks.resend(voided)).toBe(200);
    }, 0);
    expect(replays).toEqual([]);
  });

  it('refuses a body tampered with, a signature too old or from the future, or a wrong secret, without acting', async () => {
    const draft = anInvoice('draft');
    wire.webhooks.hold();
    finalizeInStripe(draft['id']);
    const finalized = eventOf('invoice.finalized', draft['id']);
    const refused = await eventsOf(async () => {
      expect(await wire.webhooks.resend(finalized, { tamper: (body) => body.replace('"open"', '"paid"') })).toBe(400);
      expect(await wire.webhooks.resend(finalized, { timestampOffsetSeconds: -600 })).toBe(400);
      expect(await wire.webhooks.resend(finalized, { timestampOffsetSeconds: 600 })).toBe(400);
      expect(await wire.webhooks.resend(finalized, { secrets: ['whsec_notTheEndpointsSecret'] })).toBe(400);
    }, 0);
    expect(refused).toEqual([]);
    expect(await statusOf(draft['id'])).toBe('DRAFT');
    // Within the tolerance, the same event is taken.
    const accepted = await eventsOf(() => wire.webhooks.resend(finalized, { timestampOffsetSeconds: -120 }), 1);
    expect(accepted.map((event) => event.type)).toEqual(['invoice.posted']);
    wire.webhooks.release();
    await wire.webhooks.settled();
  });

  it('accepts a signature header with two v1 signatures while the secret is rolled, one made with the current secret', async () => {
    const draft = anInvoice('draft');
    wire.webhooks.hold();
    finalizeInStripe(draft['id']);
    const finalized = eventOf('invoice.finalized', draft['id']);
    const events = await eventsOf(async () => {
      expect(await wire.webhooks.resend(finalized, { secrets: ['whsec_theNewSecretNotYetConfigured', WEBHOOK_SECRET] })).toBe(200);
    }, 1);
    expect(events.map((event) => event.type)).toEqual(['invoice.posted']);
    wire.webhooks.release();
    await wire.webhooks.settled();
    // The whole rotation: Stripe rolls the endpoint's secret and signs with both; psgraph is redeployed with the
    // new one; the old one expires. No delivery is refused at any step.
    const newSecret = 'whsec_theNewSecretNotYetConfigured';
    wire.webhooks.rollSecret(newSecret);
    const voidDuring = async (step: string) => {
      const open = anInvoice('open');
      const voided = await eventsOf(() => wire.account.voidInvoice(open['id']), 1);
      expect(
        voided.map((event) => [event.type, event.subject]),
        step,
      ).toEqual([['invoice.voided', open['id']]]);
    };
    await voidDuring('signed with both, psgraph on the old secret');
    await closeAdapter();
    configuredSecret = newSecret;
    await openAdapter();
    await voidDuring('signed with both, psgraph on the new secret');
    wire.webhooks.expireOldSecret();
    await voidDuring('signed with the new secret only');
  });

  it('gets the events Stripe could not deliver while psgraph was down from Stripe’s retries, once', async () => {
    const open = anInvoice('open');
    await closeAdapter();
    const events = await eventsOf(async () => {
      wire.account.markUncollectible(open['id']);
      // Stripe's first attempts find nobody listening; psgraph comes back while Stripe keeps retrying.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await openAdapter();
    }, 1);
    expect(events.map((event) => [event.type, event.subject])).toEqual([['invoice.marked_uncollectible', open['id']]]);
    const statuses = wire.webhooks.deliveries
      .filter((delivery) => delivery.eventId === eventOf('invoice.marked_uncollectible', open['id']))
      .map((delivery) => delivery.status);
    expect(statuses[0]).toBe(0);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
  });

  it('answers 503 when Stripe cannot be asked about an event, and acts when Stripe delivers it again', async () => {
    const open = anInvoice('open');
    // Down for every attempt psgraph makes while handling the first delivery (four, with backoff), back for Stripe's retry.
    wire.inject({ status: 503, times: 4, match: (method, path) => method === 'GET' && path === `/v1/invoices/${open['id']}` });
    const events = await eventsOf(() => wire.account.voidInvoice(open['id']), 1);
    expect(events.map((event) => [event.type, event.subject])).toEqual([['invoice.voided', open['id']]]);
    const deliveries = wire.webhooks.deliveries.filter((delivery) => delivery.eventId === eventOf('invoice.voided', open['id']));
    expect(deliveries.map((delivery) => delivery.status)).toEqual([503, 200]);
  });

  it('reads an invoice created in Stripe after its replica was filled, and answers anything but POST with 405', async () => {
    const project = [...wire.account.objects.product.values()][0]!['metadata'].psgraph_project_id as string;
    const customer = wire.account.get(
      'invoice',
      [...wire.account.objects.invoice.values()].find((invoice) => invoice['metadata'].psgraph_project_id === project)!['id'],
    )['customer'] as string;
    const created = wire.account.createDraft({ customer, projectId: project, amount: 12_345, description: 'Change request 7' });
    await wire.webhooks.settled();
    expect((await served.adapter.port.invoicesByProjectId([project])).get(project)?.[0]).toMatchObject({
      id: created['id'],
      status: 'DRAFT',
      totalMinor: 12_345,
      description: 'Change request 7',
    });
    expect((await fetch(served.webhookUrl)).status).toBe(405);
  });

  it('is served by the billing subgraph the configuration builds, beside /graphql', async () => {
    const dataDir = `${data.dir}/subgraph`;
    const subgraph = createBillingSubgraph(
      { dataDir, world: worldOptions, production: false },
      { bus: new InMemoryEventBus(), adapter: openBillingAdapter({ system: 'stripe', stripe: stripeConfig(wire) }, { dataDir, world: worldOptions }) },
    );
    const url = await subgraph.listen(0, '127.0.0.1');
    try {
      const invoice = [...wire.account.objects.invoice.values()].find((candidate) => candidate['status'] === 'paid')!;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ invoice(id: "${invoice['id']}") { id number status total { amount } } }` }),
      });
      expect(((await response.json()) as any).data.invoice).toEqual({
        id: invoice['id'],
        number: invoice['number'],
        status: 'PAID',
        total: { amount: formatMinor(invoice['total']) },
      });
      const unsigned = await fetch(url.replace(/\/graphql$/, STRIPE_WEBHOOK_PATH), { method: 'POST', body: '{"id":"evt_1","type":"invoice.paid"}' });
      expect(unsigned.status).toBe(400);
    } finally {
      await subgraph.stop();
    }
  });
});
