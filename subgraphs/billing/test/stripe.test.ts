/**
 * The Stripe adapter against a server that speaks Stripe's API (`test/wire/stripe/`): the billing port's
 * conformance suite against the sandbox (with Stripe's webhooks arriving while psgraph writes, as they do), then
 * what only a real account does to a client — 429 storms, outages, refused keys, answers lost after the write was
 * done — and reads that never cost a Stripe call. Webhooks on their own: `stripeWebhooks.test.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { InMemoryEventBus } from '../../platform/src/events/index.js';
import { Metrics, parseMetrics } from '../../platform/src/index.js';
import { Secret } from '../../platform/src/vendor/secrets.js';
import { temporaryDataDir } from '../../platform/test/testSupport.js';
import { buildWorld } from '../../sandboxes/src/world/world.js';
import type { StripeWireServer } from '../../../test/wire/stripe/stripeWireServer.js';
import { sandboxBillingAdapter } from '../src/billingSubgraph.js';
import type { BillingAdapter, BillingInvoice, InvoiceDraft } from '../src/billingPort.js';
import { openSandboxBilling } from '../src/sandbox/sandboxBilling.js';
import { type BillingPortsUnderTest, describeBillingPortConformance } from './billingPortConformance.js';
import { API_KEY, READ_ONLY_KEY, type ServedAdapter, openServedAdapter, startStripeWire } from './stripeTestSupport.js';

const worldOptions = { scale: 1, seed: 7, asOf: '2026-11-01' };
const TODAY = '2026-11-01';
/** Every clock of the comparison shows the world's "today": the sandbox's, the adapter's and the account's. */
const clock = () => new Date(`${TODAY}T12:00:00Z`);

describe('the Stripe adapter', () => {
  const data = temporaryDataDir('stripe');
  const world = buildWorld(worldOptions);
  let wire: StripeWireServer;
  const opened: Array<{ close: () => Promise<void> }> = [];

  const open = async (folder: string, options: Parameters<typeof openServedAdapter>[2] = {}) => {
    const served = await openServedAdapter(wire, `${data.dir}/${folder}`, { clock, ...options });
    opened.push(served);
    return served;
  };
  /** Open invoices, untouched by other tests: each test takes its own. */
  let openInvoices: BillingInvoice[] = [];
  const anOpenInvoice = () => openInvoices.pop()!;

  beforeAll(async () => {
    wire = await startStripeWire(worldOptions, `${data.dir}/wire`, clock);
  });
  afterAll(async () => {
    for (const adapter of opened.reverse()) await adapter.close();
    await wire?.stop();
    data.remove();
  });

  describe('conformance', () => {
    let ports: BillingPortsUnderTest;
    beforeAll(async () => {
      const reference = sandboxBillingAdapter(
        { dataDir: `${data.dir}/sandbox`, world: worldOptions },
        openSandboxBilling(`${data.dir}/sandbox`, worldOptions, clock),
      );
      const candidate = await open('conformance');
      wire.setWebhookEndpoint(candidate.webhookUrl);
      const referenceBus = new InMemoryEventBus();
      const candidateBus = new InMemoryEventBus();
      const referenceRelay = reference.relayEvents(referenceBus);
      const candidateRelay = candidate.adapter.relayEvents(candidateBus);
      opened.push({ close: () => reference.close() }, { close: () => candidateRelay.stop() }, { close: () => referenceRelay.stop() });
      // The first fill is history: no events.
      await candidate.adapter.port.invoicesById([]);
      openInvoices = [...(await reference.port.searchInvoices({ statuses: ['OPEN'], partiallyPaid: false, asOf: TODAY }, { limit: 50, offset: 400 })).rows];
      ports = {
        world,
        reference,
        candidate: candidate.adapter,
        referenceBus,
        candidateBus,
        referenceRelay,
        candidateRelay,
        today: TODAY,
        settle: () => wire.webhooks.settled(),
      };
    });
    describeBillingPortConformance('Stripe', () => ports);

    it('took Stripe’s webhooks for those writes as they arrived, beside its own answers, and acknowledged every one', () => {
      const deliveries = wire.webhooks.deliveries;
      expect(deliveries.map((delivery) => delivery.type)).toEqual(
        expect.arrayContaining(['invoice.created', 'invoiceitem.created', 'invoice.finalized', 'invoice.paid', 'invoice.voided', 'invoice_payment.paid']),
      );
      expect(deliveries.filter((delivery) => delivery.status !== 200)).toEqual([]);
    });
  });

  describe('towards Stripe’s API', () => {
    let served: ServedAdapter;
    let adapter: BillingAdapter;
    const metrics = new Metrics();
    const counted = async (operation: string, outcome: string) =>
      parseMetrics(await metrics.render()).get(`psgraph_vendor_api_calls_total{system="Stripe",operation="${operation}",outcome="${outcome}"}`) ?? 0;
    beforeAll(async () => {
      wire.setWebhookEndpoint(undefined);
      served = await open('api', { resilience: { initialBackoffMs: 10, maxBackoffMs: 50, maxAttempts: 4 } });
      adapter = served.adapter;
      adapter.instrument(metrics);
      await adapter.port.invoicesById([]);
    });

    it('answers every read from its replica: 50 projects cost Stripe as many calls as 5 — none', async () => {
      const projects = world.projects.map((project) => project.id);
      const accounts = world.accounts.map((account) => account.crmId);
      const callsFor = async (count: number) => {
        const before = wire.apiRequests;
        await adapter.port.invoiceSummariesByProjectId(projects.slice(0, count), TODAY);
        const invoices = await adapter.port.invoicesByProjectId(projects.slice(0, count));
        await adapter.port.paymentsByInvoiceId([...invoices.values()].flat().map((invoice) => invoice.id));
        await adapter.port.receivablesByAccountId(accounts.slice(0, count), TODAY);
        await adapter.port.searchInvoices({ overdue: true, asOf: TODAY }, { limit: count, offset: 0 });
        return wire.apiRequests - before;
      };
      expect(await callsFor(50)).toBe(await callsFor(5));
      expect(await callsFor(5)).toBe(0);
    });

    it('rides out a storm of 429s, honouring Retry-After, and gives up with SYSTEM_UNAVAILABLE when it does not end', async () => {
      const invoice = anOpenInvoice();
      const rateLimited = { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Request rate limit exceeded.' } };
      wire.inject({ status: 429, headers: { 'retry-after': '0' }, body: rateLimited, times: 2 });
      wire.inject({ status: 429, times: 1 });
      expect(await adapter.port.markUncollectible(invoice.id)).toMatchObject({ id: invoice.id, status: 'UNCOLLECTIBLE' });
      expect(await counted('retrieveInvoice', 'rate_limited')).toBe(3);

      wire.inject({ status: 429, body: rateLimited, times: 10 });
      try {
        await expect(adapter.port.voidInvoice(invoice.id)).rejects.toMatchObject({
          extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'Stripe', failure: 'RATE_LIMITED' },
        });
      } finally {
        wire.clearFaults();
      }
    });

    it('records a payment once when Stripe did it but its answer was lost, and a second payment of the same amount as a second', async () => {
      const invoice = anOpenInvoice();
      const part = Math.floor(invoice.totalMinor / 4);
      // The payment is attached, then its answer is lost: the attempt is repeated with its key, and Stripe replays the answer.
      wire.inject({ status: 503, times: 1, afterRunning: true, match: (method, path) => method === 'POST' && path.endsWith('/attach_payment') });
      await adapter.port.payInvoice(invoice.id, part);
      const once = await adapter.port.payInvoice(invoice.id, part);
      expect(once.amountPaidMinor).toBe(2 * part);
      expect(wire.account.get('invoice', invoice.id)['amount_paid']).toBe(2 * part);
      expect((await adapter.port.paymentsByInvoiceId([invoice.id])).get(invoice.id)).toHaveLength(2);
      const attaches = wire.requests.filter((request) => request.path === `/v1/invoices/${invoice.id}/attach_payment`);
      expect(attaches.length).toBe(3);
      expect(new Set(attaches.map((request) => request.idempotencyKey)).size).toBe(2);
    });

    it('fails fast while Stripe is down, naming it, and recovers when it is back', async () => {
      const down = await open('outage', { resilience: { maxAttempts: 1, failureThreshold: 2, cooldownMs: 300 } });
      await down.adapter.port.invoicesById([]);
      const invoice = anOpenInvoice();
      await wire.pause();
      try {
        for (let i = 0; i < 2; i++) {
          await expect(down.adapter.port.voidInvoice(invoice.id)).rejects.toMatchObject({
            extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'Stripe' },
          });
        }
        const before = wire.apiRequests;
        await expect(down.adapter.port.voidInvoice(invoice.id)).rejects.toThrow(/Stripe is unavailable: it failed 2 times in a row/);
        expect(wire.apiRequests).toBe(before);
        // Reads go on from the replica while Stripe is away.
        expect((await down.adapter.port.invoicesById([invoice.id])).get(invoice.id)?.status).toBe('OPEN');
      } finally {
        await wire.resume();
      }
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(await down.adapter.port.voidInvoice(invoice.id)).toMatchObject({ status: 'VOID' });
    });

    it('never shows its API key, whether Stripe refuses it or a restricted key lacks a permission', async () => {
      const wrong = await open('wrong-key', { config: { apiKey: new Secret('sk_test_s3cr3tThatMustNotLeak') }, resilience: { maxAttempts: 1 } });
      const refused = await wrong.adapter.port.invoicesById([]).catch((caught: unknown) => caught as Error);
      expect(refused).toMatchObject({ extensions: { code: ErrorCode.SYSTEM_PERMISSION_DENIED, system: 'Stripe', failure: 'AUTHENTICATION' } });
      expect(JSON.stringify({ message: (refused as Error).message, refused })).not.toMatch(/s3cr3t|Leak/);

      const readOnly = await open('read-only', { config: { apiKey: new Secret(READ_ONLY_KEY) } });
      await readOnly.adapter.port.invoicesById([]);
      const forbidden = await readOnly.adapter.port.voidInvoice(anOpenInvoice().id).catch((caught: unknown) => caught as Error);
      expect(forbidden).toMatchObject({ extensions: { code: ErrorCode.SYSTEM_PERMISSION_DENIED, system: 'Stripe', failure: 'PERMISSION' } });
      expect((forbidden as Error).message).not.toContain(READ_ONLY_KEY.slice(-4));
    });

    it('resumes a fill cut short where it stopped, not from the start', async () => {
      let invoicePages = 0;
      wire.inject({ status: 503, times: 100, match: (_method, path) => path === '/v1/invoices' && ++invoicePages > 3 });
      const cut = await open('cut-fill', { resilience: { maxAttempts: 1, failureThreshold: 100 } });
      await expect(cut.adapter.port.invoicesById([])).rejects.toMatchObject({ extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE } });
      wire.clearFaults();
      const before = wire.requests.length;
      await cut.adapter.port.invoicesById([]);
      const resumed = wire.requests.slice(before).filter((request) => request.path === '/v1/invoices');
      expect(resumed[0]!.query).toContain('starting_after=');
      expect(wire.requests.slice(before).some((request) => request.path === '/v1/customers')).toBe(false);
      const someInvoice = [...wire.account.objects.invoice.keys()].at(-1)!;
      expect((await cut.adapter.port.invoicesById([someInvoice])).size).toBe(1);
    });

    describe('creating an invoice cut short', () => {
      const project = () => world.projects[8]!;
      const draftFor = (key: string, firstSource: number): InvoiceDraft => ({
        key,
        projectId: project().id,
        description: 'Professional services, September 2026',
        servicePeriodStart: '2026-09-01',
        servicePeriodEnd: '2026-09-30',
        lines: [0, 1, 2].map((i) => ({ sourceKey: `time:${firstSource + i}:v1`, description: `Consulting, entry ${i + 1}`, amountMinor: 10_000 * (i + 1) })),
      });
      const invoicesUnder = (key: string) => [...wire.account.objects.invoice.values()].filter((invoice) => invoice['metadata']['psgraph_invoice_key'] === key);
      const itemsOf = (invoice: Record<string, any>) =>
        invoice['lines'].data.map((line: Record<string, any>) => [line['metadata']['psgraph_source_key'], line['amount']]);

      it('completes the invoice when tried again after a crash between its items: one invoice, every line once', async () => {
        const crashing = await open('create-crash', { resilience: { maxAttempts: 1, failureThreshold: 100 } });
        await crashing.adapter.port.invoicesById([]);
        const draft = draftFor('stripe-test:crash', 920_000_001);
        let items = 0;
        wire.inject({ status: 500, match: (method, path) => method === 'POST' && path === '/v1/invoiceitems' && ++items === 2 });
        await expect(crashing.adapter.port.createInvoice(draft)).rejects.toMatchObject({
          extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'Stripe' },
        });
        expect(invoicesUnder(draft.key).map(itemsOf)).toEqual([[['time:920000001:v1', 10_000]]]);

        const { invoice, created } = await crashing.adapter.port.createInvoice(draft);
        expect(created).toBe(true);
        const [inStripe, ...others] = invoicesUnder(draft.key);
        expect(others).toEqual([]);
        expect(invoice).toMatchObject({ id: inStripe!['id'], status: 'DRAFT', subtotalMinor: 60_000, totalMinor: 60_000 });
        expect(itemsOf(inStripe!)).toEqual(draft.lines.map((line) => [line.sourceKey, line.amountMinor]));
        expect((await crashing.adapter.port.invoiceLinesByInvoiceId([invoice.id])).get(invoice.id)).toEqual(
          draft.lines.map((line) => ({ invoiceId: invoice.id, ...line })),
        );
        const again = await crashing.adapter.port.createInvoice(draft);
        expect(again).toEqual({ invoice, created: false });
        expect(invoicesUnder(draft.key)).toHaveLength(1);
      });

      it('finds a half-created invoice its replica never heard of among the customer’s drafts, and adds only what it lacks', async () => {
        const draft = draftFor('stripe-test:unrecorded', 930_000_001);
        // What a process that stopped right after the invoice and its first item left in Stripe (and webhooks are off here).
        const customer = wire.account.get(
          'product',
          [...wire.account.objects.product.values()].find((product) => product['metadata']['psgraph_project_id'] === project().id)!['id'],
        )['metadata']['psgraph_customer_id'];
        const left = wire.account.createInvoice({
          customer,
          currency: project().currency.toLowerCase(),
          collection_method: 'send_invoice',
          days_until_due: '30',
          description: draft.description,
          metadata: {
            psgraph_project_id: project().id,
            psgraph_invoice_key: draft.key,
            psgraph_service_period_start: draft.servicePeriodStart,
            psgraph_service_period_end: draft.servicePeriodEnd,
          },
        });
        const first = draft.lines[0]!;
        wire.account.createInvoiceItem({
          invoice: left['id'],
          currency: left['currency'],
          amount: String(first.amountMinor),
          description: first.description,
          metadata: { psgraph_source_key: first.sourceKey },
        });
        const itemCalls = () => wire.requests.filter((request) => request.method === 'POST' && request.path === '/v1/invoiceitems').length;
        const before = itemCalls();
        const { invoice, created } = await adapter.port.createInvoice(draft);
        expect(created).toBe(true);
        expect(invoice.id).toBe(left['id']);
        expect(itemCalls() - before).toBe(2);
        expect(itemsOf(wire.account.get('invoice', left['id']))).toEqual(draft.lines.map((line) => [line.sourceKey, line.amountMinor]));
        expect(invoicesUnder(draft.key)).toHaveLength(1);
      });

      it('sends every call of a creation with an idempotency key, which the server replays and refuses with other parameters', async () => {
        const creationCalls = wire.requests.filter((request) => request.method === 'POST' && /^\/v1\/(invoices|invoiceitems)$/.test(request.path));
        expect(creationCalls.length).toBeGreaterThan(0);
        expect(creationCalls.filter((request) => !request.idempotencyKey)).toEqual([]);

        const customer = [...wire.account.objects.customer.keys()][0]!;
        const post = (key: string, params: Record<string, string>) =>
          fetch(`${wire.url}/v1/invoices`, {
            method: 'POST',
            headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': key },
            body: new URLSearchParams(params).toString(),
          });
        const params = { customer, collection_method: 'send_invoice', days_until_due: '30', description: 'Replayed' };
        const drafts = () => wire.account.objects.invoice.size;
        const before = drafts();
        const first = await post('wire-test-key', params);
        const replay = await post('wire-test-key', params);
        expect(replay.headers.get('idempotent-replayed')).toBe('true');
        expect(((await replay.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
        expect(drafts()).toBe(before + 1);
        const reused = await post('wire-test-key', { ...params, description: 'Another' });
        expect(reused.status).toBe(400);
        expect(((await reused.json()) as { error: { type: string } }).error.type).toBe('idempotency_error');
        expect(drafts()).toBe(before + 1);
      });

      it('refuses an invoice item on an invoice that is no longer a draft, as Stripe does', async () => {
        const { invoice } = await adapter.port.createInvoice(draftFor('stripe-test:finalized', 940_000_001));
        await adapter.port.finalizeInvoice(invoice.id);
        const response = await fetch(`${wire.url}/v1/invoiceitems`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ invoice: invoice.id, currency: invoice.currency.toLowerCase(), amount: '100' }).toString(),
        });
        expect(response.status).toBe(400);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invoice_not_editable');
      });
    });

    it('counts every API call it makes on /metrics, by operation and outcome', async () => {
      expect(await counted('sync:invoices', 'ok')).toBeGreaterThan(100);
      expect(await counted('retrieveInvoice', 'ok')).toBeGreaterThan(0);
      expect(await counted('attachPayment', 'unavailable')).toBe(1);
    });
  });
});
