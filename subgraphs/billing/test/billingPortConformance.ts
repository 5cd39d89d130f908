/**
 * The billing port's conformance suite: every read and write of the port, made on the sandbox (the reference) and
 * on the adapter under test over the same world, must give the same answer — the same invoices in the same order,
 * the same roll-ups as of a date, the same refusals with the same codes and messages — and the same business
 * events. A vendor adapter "works" when this passes against a server that speaks its vendor's wire format.
 *
 * Two things are the vendor's own and compared apart: the ID of a payment psgraph records (each system issues its
 * own) and the instant an event says the change happened (`changedAt`: the vendor's clock, to its precision).
 */
import { GraphQLError } from 'graphql';
import { eventually } from '../../platform/test/testSupport.js';
import { describe, expect, it } from 'vitest';
import { EventContracts } from '../../activation/src/events/eventContracts.js';
import type { BusEvent, EventBus } from '../../platform/src/events/index.js';
import type { EventRelay } from '../../platform/src/index.js';
import { expectSameOutcome, recordEvents } from '../../platform/test/portConformance.js';
import type { World } from '../../sandboxes/src/world/world.js';
import type { BillingAdapter, BillingInvoice, BillingSystem, InvoiceSearch, InvoiceStatus } from '../src/billingPort.js';
import { BillingSystemError } from '../src/invoiceLifecycle.js';

export interface BillingPortsUnderTest {
  readonly world: World;
  readonly reference: BillingAdapter;
  readonly candidate: BillingAdapter;
  /** Each adapter's events on a bus of its own. */
  readonly referenceBus: EventBus;
  readonly candidateBus: EventBus;
  readonly referenceRelay: EventRelay;
  readonly candidateRelay: EventRelay;
  /** The day both adapters' clocks show. */
  readonly today: string;
  /** Resolves when the vendor has said all it will about the writes so far (its webhooks delivered). */
  readonly settle: () => Promise<void>;
}

/** A well-formed invoice ID no system holds. */
const MISSING_INVOICE = 'in_000000000000000000000000';
const MISSING_PROJECT = 'prj_01HZZZZZZZZZZZZZZZZZZZZZZZ';

const contracts = new EventContracts();

export function describeBillingPortConformance(name: string, ports: () => BillingPortsUnderTest): void {
  describe(`the billing port over ${name} answers as the sandbox does`, () => {
    // The sandbox refuses a write with a typed error; it reaches a client as a GraphQL error with its code.
    const asClientSees =
      (call: (port: BillingSystem) => Promise<unknown>) =>
      async (port: BillingSystem): Promise<unknown> => {
        try {
          return await call(port);
        } catch (error) {
          if (error instanceof BillingSystemError) throw new GraphQLError(error.message, { extensions: { code: error.code } });
          throw error;
        }
      };
    const same = (what: string, call: (port: BillingSystem) => Promise<unknown>) =>
      expectSameOutcome(ports().reference.port, ports().candidate.port, asClientSees(call), what);
    const world = () => ports().world;
    const asOf = () => ports().today;
    const taken = new Set<string>();
    /** Seeded invoices in `status` (as the reference holds them) no other test has written to. */
    const untouched = async (status: InvoiceStatus, count: number, where: (invoice: BillingInvoice) => boolean = () => true) => {
      const { rows } = await ports().reference.port.searchInvoices({ statuses: [status], asOf: asOf() }, { limit: 500, offset: 0 });
      const picked = rows.filter((invoice) => !taken.has(invoice.id) && where(invoice)).slice(0, count);
      if (picked.length < count) throw new Error(`fewer than ${count} untouched ${status} invoices`);
      for (const invoice of picked) taken.add(invoice.id);
      return picked;
    };
    const someInvoiceIds = async () => {
      const ids: string[] = [];
      for (const status of ['DRAFT', 'OPEN', 'PAID', 'VOID', 'UNCOLLECTIBLE'] as const) {
        const { rows } = await ports().reference.port.searchInvoices({ statuses: [status], asOf: asOf() }, { limit: 6, offset: 20 });
        ids.push(...rows.map((invoice) => invoice.id));
      }
      return ids;
    };

    it('reads invoices by ID and by project, newest first, missing ones absent', async () => {
      const projectIds = world().projects.map((project) => project.id);
      await same('invoicesById', async (port) => port.invoicesById([...(await someInvoiceIds()), MISSING_INVOICE]));
      await same('invoicesByProjectId', (port) => port.invoicesByProjectId([...projectIds.slice(0, 40), MISSING_PROJECT]));
    });

    it('reads the payments of invoices paid in full, in part and not at all, oldest first', async () => {
      const partly = await ports().reference.port.searchInvoices({ partiallyPaid: true, asOf: asOf() }, { limit: 10, offset: 0 });
      const paid = await ports().reference.port.searchInvoices({ statuses: ['PAID'], asOf: asOf() }, { limit: 10, offset: 0 });
      const ids = [...partly.rows, ...paid.rows].map((invoice) => invoice.id);
      await same('paymentsByInvoiceId', async (port) => port.paymentsByInvoiceId([...ids, ...(await someInvoiceIds()), MISSING_INVOICE]));
    });

    it('rolls up every project and every account’s receivables as of a date', async () => {
      const projectIds = world().projects.map((project) => project.id);
      const accountIds = world().accounts.map((account) => account.crmId);
      for (const day of [asOf(), '2026-06-30']) {
        await same(`invoiceSummariesByProjectId as of ${day}`, (port) => port.invoiceSummariesByProjectId([...projectIds, MISSING_PROJECT], day));
        await same(`receivablesByAccountId as of ${day}`, (port) => port.receivablesByAccountId(accountIds, day));
      }
    });

    it('searches invoices with every filter, paged and counted the same way', async () => {
      const project = world().projects[3]!;
      const accountId = world().accounts[project.accountIndex]!.crmId;
      const searches: ReadonlyArray<readonly [string, Omit<InvoiceSearch, 'asOf'>]> = [
        ['no filter', {}],
        ['statuses', { statuses: ['OPEN', 'UNCOLLECTIBLE'] }],
        ['project', { projectId: project.id }],
        ['account', { crmAccountId: accountId }],
        ['overdue', { overdue: true }],
        ['not overdue', { overdue: false }],
        ['partially paid', { partiallyPaid: true }],
        ['not partially paid', { partiallyPaid: false }],
        ['created window', { createdFrom: '2026-01-01', createdTo: '2026-03-31' }],
        ['due window', { dueFrom: '2026-10-01', dueTo: '2026-10-31' }],
        ['several at once', { statuses: ['PAID'], crmAccountId: accountId, dueTo: '2026-06-30' }],
        ['no status', { statuses: [] }],
      ];
      for (const [label, search] of searches) {
        await same(`searchInvoices ${label}`, (port) => port.searchInvoices({ ...search, asOf: asOf() }, { limit: 25, offset: 0 }));
        await same(`searchInvoices ${label}, page 3`, (port) => port.searchInvoices({ ...search, asOf: asOf() }, { limit: 25, offset: 50 }));
      }
      await same('searchInvoices deep page', (port) => port.searchInvoices({ asOf: asOf() }, { limit: 50, offset: 9_000 }));
      expect(ports().candidate.port.today()).toBe(ports().reference.port.today());
    });

    it('moves invoices along the lifecycle, refuses what the lifecycle forbids, and emits the same events', async () => {
      const { reference, candidate, referenceBus, candidateBus, referenceRelay, candidateRelay } = ports();
      const [draft, otherDraft] = await untouched('DRAFT', 2);
      const [toPay, toVoid, toWriteOff, partlyPaid] = [
        ...(await untouched('OPEN', 3, (invoice) => invoice.amountPaidMinor === 0 && invoice.totalMinor > 300)),
        ...(await untouched('OPEN', 1, (invoice) => invoice.amountPaidMinor > 0)),
      ];
      const [uncollectible, uncollectibleToVoid] = await untouched('UNCOLLECTIBLE', 2, (invoice) => invoice.totalMinor - invoice.amountPaidMinor > 100);
      const [paid] = await untouched('PAID', 1);
      const referenceEvents = recordEvents(referenceBus);
      const candidateEvents = recordEvents(candidateBus);
      // Whole events, as a consumer receives them, for their contracts.
      const published: BusEvent[] = [];
      const stopPublished = [referenceBus, candidateBus].map((bus) => bus.subscribe('*', (event) => void published.push(event)));
      try {
        await same('finalizeInvoice', (port) => port.finalizeInvoice(draft!.id));
        await same('finalizeInvoice again', (port) => port.finalizeInvoice(draft!.id));
        await same('finalizeInvoice missing', (port) => port.finalizeInvoice(MISSING_INVOICE));
        await same('payInvoice a third', (port) => port.payInvoice(toPay!.id, Math.floor(toPay!.totalMinor / 3)));
        await same('payInvoice the same amount again', (port) => port.payInvoice(toPay!.id, Math.floor(toPay!.totalMinor / 3)));
        await same('payInvoice nothing', (port) => port.payInvoice(toPay!.id, 0));
        await same('payInvoice a fraction of a cent', (port) => port.payInvoice(toPay!.id, 1.5));
        await same('payInvoice more than remains', (port) => port.payInvoice(toPay!.id, toPay!.totalMinor));
        await same('payInvoice the rest', (port) => port.payInvoice(toPay!.id));
        await same('payInvoice a paid invoice', (port) => port.payInvoice(paid!.id));
        await same('payInvoice a draft', (port) => port.payInvoice(otherDraft!.id, 100));
        await same('payInvoice what remains of a partly paid invoice', (port) => port.payInvoice(partlyPaid!.id));
        await same('voidInvoice', (port) => port.voidInvoice(toVoid!.id));
        await same('voidInvoice again', (port) => port.voidInvoice(toVoid!.id));
        await same('markUncollectible', (port) => port.markUncollectible(toWriteOff!.id));
        await same('markUncollectible again', (port) => port.markUncollectible(toWriteOff!.id));
        await same('payInvoice part of an uncollectible invoice', (port) => port.payInvoice(uncollectible!.id, 100));
        await same('payInvoice the rest of an uncollectible invoice', (port) => port.payInvoice(uncollectible!.id));
        await same('voidInvoice an uncollectible invoice', (port) => port.voidInvoice(uncollectibleToVoid!.id));
        await same('voidInvoice missing', (port) => port.voidInvoice(MISSING_INVOICE));
        await same('markUncollectible a paid invoice', (port) => port.markUncollectible(paid!.id));

        await ports().settle();
        await Promise.all([referenceRelay.flush(), candidateRelay.flush()]);
        const withoutInstant = (events: typeof referenceEvents.events) =>
          events.map((event) => ({ ...event, data: { ...event.data, changedAt: String(event.data['changedAt']).slice(0, 10) } }));
        await eventually(() => expect(withoutInstant(candidateEvents.events)).toEqual(withoutInstant(referenceEvents.events)));
        expect(referenceEvents.events.map((event) => [event.type, event.subject])).toEqual([
          ['invoice.posted', draft!.id],
          ['invoice.paid', toPay!.id],
          ['invoice.paid', partlyPaid!.id],
          ['invoice.voided', toVoid!.id],
          ['invoice.marked_uncollectible', toWriteOff!.id],
          ['invoice.paid', uncollectible!.id],
          ['invoice.voided', uncollectibleToVoid!.id],
        ]);
        expect(published).toHaveLength(2 * referenceEvents.events.length);
        for (const event of published) expect(contracts.check(event), `${event.type} ${event.subject} against its contract`).toEqual({ valid: true });
      } finally {
        referenceEvents.stop();
        candidateEvents.stop();
        for (const stop of stopPublished) stop();
      }

      const written = [draft, toPay, toVoid, toWriteOff, partlyPaid, uncollectible, uncollectibleToVoid].map((invoice) => invoice!.id);
      await same('invoicesById after the writes', (port) => port.invoicesById(written));
      const projects = [...new Set([draft, toPay, toVoid, toWriteOff, uncollectible].map((invoice) => invoice!.projectId))];
      await same('invoiceSummariesByProjectId after the writes', (port) => port.invoiceSummariesByProjectId(projects, asOf()));
      const accounts = [...new Set([toPay, toVoid, toWriteOff, uncollectible].map((invoice) => invoice!.crmAccountId))];
      await same('receivablesByAccountId after the writes', (port) => port.receivablesByAccountId(accounts, asOf()));
      // Each system names the payments it records itself; what was received, when, is the same.
      const receipts = async (port: BillingSystem) =>
        [...(await port.paymentsByInvoiceId(written)).entries()].map(([invoiceId, payments]) => [
          invoiceId,
          payments.map(({ invoiceId: paidInvoice, amountMinor, currency, receivedDate }) => ({ paidInvoice, amountMinor, currency, receivedDate })),
        ]);
      await same('paymentsByInvoiceId after the writes', receipts);
      expect((await reference.port.paymentsByInvoiceId([toPay!.id])).get(toPay!.id)).toHaveLength(3);
      expect((await candidate.port.paymentsByInvoiceId([toPay!.id])).get(toPay!.id)).toHaveLength(3);
    });
  });
}

/** Retries an expectation until it holds (events cross a bus). */
export { eventually };
