/**
 * The billing port's conformance suite: every read and write of the port, made on the sandbox (the reference) and
 * on the adapter under test over the same world, must give the same answer — the same invoices in the same order,
 * the same roll-ups as of a date, the same refusals with the same codes and messages — and the same business
 * events. A vendor adapter "works" when this passes against a server that speaks its vendor's wire format.
 *
 * Three things are the vendor's own and compared apart: the ID of a payment psgraph records and of an invoice it
 * creates (each system issues its own), and the instant an event says the change happened (`changedAt`: the
 * vendor's clock, to its precision).
 */
import { GraphQLError } from 'graphql';
import { eventually } from '../../platform/test/testSupport.js';
import { describe, expect, it } from 'vitest';
import { EventContracts } from '../../activation/src/events/eventContracts.js';
import type { BusEvent, EventBus } from '../../platform/src/events/index.js';
import type { EventRelay } from '../../platform/src/index.js';
import { expectSameOutcome, recordEvents } from '../../platform/test/portConformance.js';
import type { World } from '../../sandboxes/src/world/world.js';
import type { BillingAdapter, BillingInvoice, BillingSystem, InvoiceDraft, InvoiceSearch, InvoiceStatus } from '../src/billingPort.js';
import { BillingSystemError } from '../src/invoiceLifecycle.js';
import { describeCreditNotes } from './creditNoteConformance.js';

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

    // Last: the invoices it creates are the newest, and no earlier case expects to find them.
    describeInvoiceCreation(ports, same);
    describeCreditNotes(ports);
  });
}

/** What two systems that each named a created invoice their own way answer alike: the ID replaced. */
const CREATED_ID = /\bin_[0-9A-Za-z]{24}\b/g;
const withoutCreatedIds = (value: unknown, ids: ReadonlySet<string>): unknown =>
  JSON.parse(JSON.stringify(value ?? null, (_, field: unknown) => (typeof field === 'string' && ids.has(field) ? 'in_(created)' : field)));

/**
 * Creating invoices: a draft with its lines and totals; a repeat of the key creates nothing; the key with another
 * draft, a source billed twice and malformed drafts are refused with the same codes and messages (the created
 * invoices' IDs aside); a voided invoice frees its sources; the created invoice is finalized like any other, and
 * posted. Every source key and invoice key is this suite's own, so that the suite runs on an account once.
 */
function describeInvoiceCreation(
  ports: () => BillingPortsUnderTest,
  same: (what: string, call: (port: BillingSystem) => Promise<unknown>) => Promise<unknown>,
): void {
  it('creates draft invoices with their lines, once per key and once per source, and posts them when finalized', async () => {
    const { world, reference, candidate, referenceBus, candidateBus, referenceRelay, candidateRelay, today } = ports();
    const project = world.projects[5]!;
    const created = new Map<BillingSystem, Set<string>>([
      [reference.port, new Set()],
      [candidate.port, new Set()],
    ]);
    const allCreated = () => new Set([...created.values()].flatMap((ids) => [...ids]));
    /** The outcome with each system's created IDs replaced, errors' messages included. */
    type Outcome = { readonly value: unknown } | { readonly error: { readonly code: string; readonly message: string } };
    const sameCreating = async (what: string, call: (port: BillingSystem) => Promise<unknown>): Promise<Outcome> => {
      const outcome = async (port: BillingSystem): Promise<Outcome> => {
        try {
          const value = await call(port);
          const invoice = (value as { invoice?: BillingInvoice } | undefined)?.invoice;
          if (invoice) created.get(port)!.add(invoice.id);
          return { value: withoutCreatedIds(value, allCreated()) };
        } catch (error) {
          if (!(error instanceof BillingSystemError)) throw error;
          return { error: { code: error.code, message: error.message.replace(CREATED_ID, (id) => (allCreated().has(id) ? 'in_(created)' : id)) } };
        }
      };
      const expected = await outcome(reference.port);
      expect(await outcome(candidate.port), what).toEqual(expected);
      return expected;
    };
    const draft: InvoiceDraft = {
      key: `conformance:${project.id}:2026-10`,
      projectId: project.id,
      description: 'Professional services, October 2026',
      servicePeriodStart: '2026-10-01',
      servicePeriodEnd: '2026-10-31',
      lines: [
        { sourceKey: 'time:900000001:v1', description: 'Consulting, 7.5 h', amountMinor: 112_500 },
        { sourceKey: 'time:900000002:v2', description: 'Consulting, 2 h', amountMinor: 30_000 },
        { sourceKey: `schedule:${project.id}:4`, description: 'Milestone 4', amountMinor: 250_000 },
      ],
    };
    const first = await sameCreating('createInvoice', (port) => port.createInvoice(draft));
    expect(first).toEqual({
      value: {
        created: true,
        invoice: expect.objectContaining({
          id: 'in_(created)',
          status: 'DRAFT',
          number: null,
          projectId: project.id,
          currency: project.currency,
          description: draft.description,
          subtotalMinor: 392_500,
          taxMinor: 0,
          totalMinor: 392_500,
          amountPaidMinor: 0,
          servicePeriodStart: '2026-10-01',
          servicePeriodEnd: '2026-10-31',
          createdDate: today,
          finalizedDate: null,
          dueDate: null,
        }),
      },
    });
    const [referenceId] = created.get(reference.port)!;
    const [candidateId] = created.get(candidate.port)!;
    const idOn = (port: BillingSystem) => (port === reference.port ? referenceId! : candidateId!);
    await sameCreating('createInvoice again', (port) => port.createInvoice(draft));
    expect((await reference.port.createInvoice(draft)).invoice.id).toBe(referenceId);
    expect((await candidate.port.createInvoice(draft)).invoice.id).toBe(candidateId);
    expect(created.get(candidate.port)!.size).toBe(1);
    await sameCreating('invoiceLinesByInvoiceId of the created invoice', (port) => port.invoiceLinesByInvoiceId([idOn(port)]));
    expect((await reference.port.invoiceLinesByInvoiceId([referenceId!])).get(referenceId!)).toEqual(
      draft.lines.map((line) => ({ invoiceId: referenceId, ...line })),
    );
    const someSeeded = (await reference.port.searchInvoices({ asOf: today }, { limit: 20, offset: 200 })).rows.map((invoice) => invoice.id);
    await same('invoiceLinesByInvoiceId of seeded invoices', (port) => port.invoiceLinesByInvoiceId([...someSeeded, MISSING_INVOICE]));
    await same('invoicesByProjectId with the created invoice', async (port) => withoutCreatedIds(await port.invoicesByProjectId([project.id]), allCreated()));

    const otherLines = { ...draft, lines: [...draft.lines.slice(0, 2), { ...draft.lines[2]!, amountMinor: 250_001 }] };
    expect(await sameCreating('createInvoice: the key with other amounts', (port) => port.createInvoice(otherLines))).toEqual({
      error: {
        code: 'IDEMPOTENCY_KEY_REUSED',
        message: `Invoice key ${draft.key} was used to create invoice in_(created) from another draft; reuse a key only to repeat the same draft.`,
      },
    });
    await sameCreating('createInvoice: the key with fewer lines', (port) => port.createInvoice({ ...draft, lines: draft.lines.slice(0, 2) }));
    await sameCreating('createInvoice: the key for another project', (port) => port.createInvoice({ ...draft, projectId: world.projects[6]!.id }));
    const second: InvoiceDraft = {
      ...draft,
      key: `conformance:${project.id}:2026-10:second`,
      lines: [{ sourceKey: 'time:900000003:v1', description: 'Consulting, 1 h', amountMinor: 15_000 }, draft.lines[1]!],
    };
    expect(await sameCreating('createInvoice: a source already billed', (port) => port.createInvoice(second))).toEqual({
      error: { code: 'CONFLICT', message: 'Source time:900000002:v2 is already billed by invoice in_(created); void that invoice to bill it again.' },
    });
    const malformed: ReadonlyArray<readonly [string, InvoiceDraft]> = [
      ['no lines', { ...second, lines: [] }],
      [
        '251 lines',
        {
          ...second,
          lines: Array.from({ length: 251 }, (_, i) => ({ sourceKey: `time:91000${String(i).padStart(4, '0')}:v1`, description: 'Hour', amountMinor: 100 })),
        },
      ],
      ['an amount of 0', { ...second, lines: [{ ...second.lines[0]!, amountMinor: 0 }] }],
      ['a negative amount', { ...second, lines: [{ ...second.lines[0]!, amountMinor: -100 }] }],
      ['a fraction of a cent', { ...second, lines: [{ ...second.lines[0]!, amountMinor: 10.5 }] }],
      ['a source twice', { ...second, lines: [second.lines[0]!, { ...second.lines[0]!, description: 'again' }] }],
      ['a period out of order', { ...second, servicePeriodStart: '2026-11-01', servicePeriodEnd: '2026-10-31' }],
      ['a date that is not one', { ...second, servicePeriodEnd: '2026-02-30' }],
      ['an empty key', { ...second, key: '' }],
      ['a malformed project ID', { ...second, projectId: 'prj_1' }],
      ['a project billing does not know', { ...second, projectId: MISSING_PROJECT }],
    ];
    const refusals = [];
    for (const [label, bad] of malformed) refusals.push(await sameCreating(`createInvoice: ${label}`, (port) => port.createInvoice(bad)));
    expect(refusals.map((refusal) => ('error' in refusal ? `${refusal.error.code} ${refusal.error.message.split(':')[0]}` : 'created'))).toEqual([
      'BAD_USER_INPUT lines',
      'BAD_USER_INPUT lines',
      'BAD_USER_INPUT lines[0].amountMinor',
      'BAD_USER_INPUT lines[0].amountMinor',
      'BAD_USER_INPUT lines[0].amountMinor',
      'BAD_USER_INPUT lines[1].sourceKey',
      'BAD_USER_INPUT servicePeriodEnd',
      'BAD_USER_INPUT servicePeriodEnd',
      'BAD_USER_INPUT key',
      'BAD_USER_INPUT projectId',
      'NOT_FOUND Billing has no billing profile for project prj_01HZZZZZZZZZZZZZZZZZZZZZZZ',
    ]);
    expect(created.get(reference.port)!.size).toBe(1);
    expect(created.get(candidate.port)!.size).toBe(1);

    const referenceEvents = recordEvents(referenceBus);
    const candidateEvents = recordEvents(candidateBus);
    try {
      await sameCreating('finalizeInvoice the created invoice', async (port) => withoutCreatedIds(await port.finalizeInvoice(idOn(port)), allCreated()));
      await sameCreating('createInvoice: a source billed by an open invoice', (port) => port.createInvoice(second));
      await sameCreating('voidInvoice the created invoice', async (port) => withoutCreatedIds(await port.voidInvoice(idOn(port)), allCreated()));
      expect(await sameCreating('createInvoice: a source freed by voiding', (port) => port.createInvoice(second))).toMatchObject({
        value: { created: true, invoice: { status: 'DRAFT', totalMinor: 45_000 } },
      });
      expect(await sameCreating('createInvoice again with the key of the voided invoice', (port) => port.createInvoice(draft))).toMatchObject({
        value: { created: false, invoice: { id: 'in_(created)', status: 'VOID' } },
      });
      await sameCreating('invoiceLinesByInvoiceId of both', (port) => port.invoiceLinesByInvoiceId([...created.get(port)!]));

      await ports().settle();
      await Promise.all([referenceRelay.flush(), candidateRelay.flush()]);
      const comparable = (events: typeof referenceEvents.events) =>
        events.map((event) => withoutCreatedIds({ ...event, data: { ...event.data, changedAt: String(event.data['changedAt']).slice(0, 10) } }, allCreated()));
      await eventually(() => expect(comparable(candidateEvents.events)).toEqual(comparable(referenceEvents.events)));
      expect(referenceEvents.events.map((event) => [event.type, event.subject, event.data['totalMinor']])).toEqual([
        ['invoice.posted', referenceId, 392_500],
        ['invoice.voided', referenceId, 392_500],
      ]);
    } finally {
      referenceEvents.stop();
      candidateEvents.stop();
    }
  });
}

/** Retries an expectation until it holds (events cross a bus). */
export { eventually };
