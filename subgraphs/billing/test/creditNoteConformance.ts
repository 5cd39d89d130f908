/**
 * The credit note cases of the billing port's conformance suite: issued on psgraph's own invoices (the seed's lines
 * bill no source), once per key, refused with the same codes and messages (writing nothing) when the invoice's status
 * or what is left to credit forbids it, and reflected alike in the invoices, the summaries and the receivables, with
 * the same `credit_note.issued` events, each valid against its contract. Each system names what it creates its own
 * way: invoice and credit note IDs are replaced by labels before comparing.
 */
import { expect, it } from 'vitest';
import { EventContracts } from '../../activation/src/events/eventContracts.js';
import type { BusEvent } from '../../platform/src/events/index.js';
import { recordEvents } from '../../platform/test/portConformance.js';
import { eventually } from '../../platform/test/testSupport.js';
import type { BillingSystem, CreditNoteDraft, InvoiceDraft } from '../src/billingPort.js';
import { BILLING_EVENT_TYPES } from '../src/creditNoteEvents.js';
import { BillingSystemError } from '../src/invoiceLifecycle.js';
import type { BillingPortsUnderTest } from './billingPortConformance.js';

const contracts = new EventContracts();
const CREATED_ID = /\b(?:in|cn)_[0-9A-Za-z]{24}\b/g;

type Outcome = { readonly value: unknown } | { readonly error: { readonly code: string; readonly message: string } };

export function describeCreditNotes(ports: () => BillingPortsUnderTest): void {
  it('issues credit notes on open and paid invoices once per key, refuses the rest writing nothing, and rolls them up alike', async () => {
    const { world, reference, candidate, referenceBus, candidateBus, referenceRelay, candidateRelay, today } = ports();
    const project = world.projects[8]!;
    /** Each system's created IDs and the label both answers show in their place. */
    const labels = new Map<BillingSystem, Map<string, string>>([
      [reference.port, new Map()],
      [candidate.port, new Map()],
    ]);
    const label = (port: BillingSystem, id: string, name: string) => labels.get(port)!.set(id, name);
    const idOf = (port: BillingSystem, name: string) => [...labels.get(port)!].find(([, labelled]) => labelled === name)![0];
    const relabel = (port: BillingSystem, text: string) => text.replace(CREATED_ID, (id) => labels.get(port)!.get(id) ?? id);
    const outcome = async (port: BillingSystem, call: (port: BillingSystem) => Promise<unknown>): Promise<Outcome> => {
      try {
        const value = await call(port);
        const creditNote = (value as { creditNote?: { id: string } } | undefined)?.creditNote;
        if (creditNote && !labels.get(port)!.has(creditNote.id)) label(port, creditNote.id, `cn#${labels.get(port)!.size}`);
        const relabelled = JSON.parse(relabel(port, JSON.stringify(value instanceof Map ? [...value] : (value ?? null)))) as unknown;
        // A batch answers in no promised order: its entries are compared by label.
        return { value: value instanceof Map ? (relabelled as Array<[string, unknown]>).sort(([a], [b]) => a.localeCompare(b)) : relabelled };
      } catch (error) {
        if (!(error instanceof BillingSystemError)) throw error;
        return { error: { code: error.code, message: relabel(port, error.message) } };
      }
    };
    const same = async (what: string, call: (port: BillingSystem) => Promise<unknown>): Promise<Outcome> => {
      const expected = await outcome(reference.port, call);
      expect(await outcome(candidate.port, call), what).toEqual(expected);
      return expected;
    };

    const invoice = (name: string, lines: InvoiceDraft['lines']): InvoiceDraft => ({
      key: `conformance:credit-notes:${project.id}:${name}`,
      projectId: project.id,
      description: `Credit note case ${name}`,
      servicePeriodStart: '2026-10-01',
      servicePeriodEnd: '2026-10-31',
      lines,
    });
    const drafts: Record<string, InvoiceDraft> = {
      open: invoice('open', [
        { sourceKey: 'time:970000001:v1', description: 'Consulting, 10 h', amountMinor: 150_000 },
        { sourceKey: 'time:970000002:v1', description: 'Consulting, 2 h', amountMinor: 30_000 },
        { sourceKey: `schedule:${project.id}:9`, description: 'Milestone 9', amountMinor: 200_000 },
      ]),
      paid: invoice('paid', [
        { sourceKey: 'time:970000003:v1', description: 'Consulting, 4 h', amountMinor: 60_000 },
        { sourceKey: 'time:970000004:v1', description: 'Consulting, 1 h', amountMinor: 15_000 },
      ]),
      draft: invoice('draft', [{ sourceKey: 'time:970000005:v1', description: 'Consulting, 1 h', amountMinor: 15_000 }]),
      void: invoice('void', [{ sourceKey: 'time:970000006:v1', description: 'Consulting, 1 h', amountMinor: 15_000 }]),
    };
    for (const port of [reference.port, candidate.port]) {
      for (const [name, draft] of Object.entries(drafts)) label(port, (await port.createInvoice(draft)).invoice.id, `invoice:${name}`);
      for (const name of ['open', 'paid', 'void']) await port.finalizeInvoice(idOf(port, `invoice:${name}`));
      await port.payInvoice(idOf(port, 'invoice:paid'));
      await port.voidInvoice(idOf(port, 'invoice:void'));
    }
    // The newest invoice is one of four created the same day, which each system orders by its own IDs: its status is left out.
    const summary = async (port: BillingSystem) => {
      const { lastInvoiceStatus: _newestOfTheDay, ...rest } = (await port.invoiceSummariesByProjectId([project.id], today)).get(project.id)!;
      return rest;
    };
    const before = await summary(reference.port);
    expect(await summary(candidate.port)).toEqual(before);
    const accountId = world.accounts[project.accountIndex]!.crmId;
    const receivablesBefore = (await reference.port.receivablesByAccountId([accountId], today)).get(accountId)!;

    const draftOn = (port: BillingSystem, name: string, fields: Partial<CreditNoteDraft> & Pick<CreditNoteDraft, 'key' | 'lines'>): CreditNoteDraft => ({
      invoiceId: idOf(port, `invoice:${name}`),
      reason: 'ORDER_CHANGE',
      memo: null,
      ...fields,
    });
    const first = {
      key: 'conformance:cn:open:1',
      reason: 'PRODUCT_UNSATISFACTORY' as const,
      memo: 'Two hours were not delivered',
      lines: [{ sourceKey: 'time:970000001:v1', amountMinor: 30_000 }],
    };
    const referenceEvents = recordEvents(referenceBus);
    const candidateEvents = recordEvents(candidateBus);
    const published: BusEvent[] = [];
    const stopPublished = [referenceBus, candidateBus].map((bus) => bus.subscribe(['credit_note.issued'], (event) => void published.push(event)));
    try {
      expect(await same('issueCreditNote on an open invoice', (port) => port.issueCreditNote(draftOn(port, 'open', first)))).toEqual({
        value: {
          created: true,
          creditNote: {
            id: 'cn#4',
            number: expect.stringMatching(/-CN-01$/),
            invoiceId: 'invoice:open',
            projectId: project.id,
            crmAccountId: accountId,
            currency: project.currency,
            totalMinor: 30_000,
            reason: 'PRODUCT_UNSATISFACTORY',
            memo: 'Two hours were not delivered',
            createdDate: today,
            lines: [{ sourceKey: 'time:970000001:v1', amountMinor: 30_000 }],
          },
        },
      });
      expect(await same('issueCreditNote again', (port) => port.issueCreditNote(draftOn(port, 'open', first)))).toMatchObject({
        value: { created: false, creditNote: { id: 'cn#4' } },
      });
      expect(
        await same('issueCreditNote: the key with another amount', (port) =>
          port.issueCreditNote(draftOn(port, 'open', { ...first, lines: [{ sourceKey: 'time:970000001:v1', amountMinor: 30_001 }] })),
        ),
      ).toEqual({
        error: {
          code: 'IDEMPOTENCY_KEY_REUSED',
          message: 'Credit note key conformance:cn:open:1 was used to issue credit note cn#4 from another draft; reuse a key only to repeat the same draft.',
        },
      });

      const untouched = async (port: BillingSystem) => ({
        invoice: (await port.invoicesById([idOf(port, 'invoice:open')])).get(idOf(port, 'invoice:open')),
        creditNotes: (await port.creditNotesByInvoiceId([idOf(port, 'invoice:open')])).get(idOf(port, 'invoice:open')),
      });
      const held = { reference: await untouched(reference.port), candidate: await untouched(candidate.port) };
      const refusals: Array<readonly [string, (port: BillingSystem) => CreditNoteDraft]> = [
        [
          'more than a line has left',
          (port) =>
            draftOn(port, 'open', {
              key: 'conformance:cn:over',
              lines: [
                { sourceKey: 'time:970000002:v1', amountMinor: 1 },
                { sourceKey: 'time:970000001:v1', amountMinor: 120_001 },
              ],
            }),
        ],
        [
          'a source the invoice does not bill',
          (port) => draftOn(port, 'open', { key: 'conformance:cn:unknown', lines: [{ sourceKey: 'time:970000003:v1', amountMinor: 100 }] }),
        ],
        ['a draft invoice', (port) => draftOn(port, 'draft', { key: 'conformance:cn:draft', lines: [{ sourceKey: 'time:970000005:v1', amountMinor: 100 }] })],
        ['a void invoice', (port) => draftOn(port, 'void', { key: 'conformance:cn:void', lines: [{ sourceKey: 'time:970000006:v1', amountMinor: 100 }] })],
        [
          'an invoice no system holds',
          (port) => ({ ...draftOn(port, 'open', { key: 'conformance:cn:missing', lines: first.lines }), invoiceId: 'in_000000000000000000000000' }),
        ],
        ['no lines', (port) => draftOn(port, 'open', { key: 'conformance:cn:empty', lines: [] })],
        ['an amount of 0', (port) => draftOn(port, 'open', { key: 'conformance:cn:zero', lines: [{ sourceKey: 'time:970000002:v1', amountMinor: 0 }] })],
        [
          'a blank memo',
          (port) => draftOn(port, 'open', { key: 'conformance:cn:memo', memo: ' ', lines: [{ sourceKey: 'time:970000002:v1', amountMinor: 100 }] }),
        ],
      ];
      const refused = [];
      for (const [what, draft] of refusals) refused.push(await same(`issueCreditNote: ${what}`, (port) => port.issueCreditNote(draft(port))));
      expect(refused).toEqual([
        {
          error: {
            code: 'BAD_USER_INPUT',
            message:
              'lines[1].amountMinor: the line billing time:970000001:v1 can be credited at most 120000 more (its amount 150000 less 30000 credited before), got 120001.',
          },
        },
        { error: { code: 'BAD_USER_INPUT', message: 'lines[0].sourceKey: invoice invoice:open has no line billing time:970000003:v1.' } },
        { error: { code: 'INVALID_STATE_TRANSITION', message: 'Invoice invoice:draft is DRAFT: credit notes are issued on open or paid invoices only.' } },
        { error: { code: 'INVALID_STATE_TRANSITION', message: 'Invoice invoice:void is VOID: credit notes are issued on open or paid invoices only.' } },
        { error: { code: 'NOT_FOUND', message: 'Invoice in_000000000000000000000000 does not exist.' } },
        { error: { code: 'BAD_USER_INPUT', message: 'lines: a credit note has 1 to 250 lines, got 0.' } },
        { error: { code: 'BAD_USER_INPUT', message: 'lines[0].amountMinor: must be a whole number of minor units above 0, got 0.' } },
        { error: { code: 'BAD_USER_INPUT', message: 'memo: must not be blank; give null for none.' } },
      ]);
      expect(await untouched(reference.port)).toEqual(held.reference);
      expect(await untouched(candidate.port)).toEqual(held.candidate);

      // A paid invoice: all of it is given back. An open invoice paid in part, credited past what remains: mixed.
      await same('issueCreditNote on a paid invoice', (port) =>
        port.issueCreditNote(
          draftOn(port, 'paid', { key: 'conformance:cn:paid', reason: 'DUPLICATE', lines: [{ sourceKey: 'time:970000004:v1', amountMinor: 15_000 }] }),
        ),
      );
      await same('payInvoice part of the credited open invoice', (port) => port.payInvoice(idOf(port, 'invoice:open'), 300_000));
      await same('issueCreditNote past what remains', (port) =>
        port.issueCreditNote(
          draftOn(port, 'open', {
            key: 'conformance:cn:open:2',
            lines: [
              { sourceKey: `schedule:${project.id}:9`, amountMinor: 60_000 },
              { sourceKey: 'time:970000002:v1', amountMinor: 30_000 },
            ],
          }),
        ),
      );
      await same('payInvoice the credited open invoice once nothing remains', (port) => port.payInvoice(idOf(port, 'invoice:open')));

      const written = ['open', 'paid', 'draft', 'void'].map((name) => `invoice:${name}`);
      await same('invoicesById after the credit notes', (port) => port.invoicesById(written.map((name) => idOf(port, name))));
      await same('creditNotesByInvoiceId', (port) => port.creditNotesByInvoiceId([...written.map((name) => idOf(port, name)), 'in_000000000000000000000000']));
      const open = (await reference.port.invoicesById([idOf(reference.port, 'invoice:open')])).get(idOf(reference.port, 'invoice:open'))!;
      // 380 000 billed, 30 000 credited while open, 300 000 paid, then 90 000 credited: 50 000 reduce what remained, 40 000 are given back.
      expect(open).toMatchObject({ status: 'OPEN', totalMinor: 380_000, amountDueMinor: 300_000, amountPaidMinor: 300_000, creditedMinor: 120_000 });
      await same('invoiceSummariesByProjectId after the credit notes', summary);
      await same('receivablesByAccountId after the credit notes', (port) => port.receivablesByAccountId([accountId], today));
      const after = await summary(reference.port);
      expect({
        billed: after.billedMinor - before.billedMinor,
        paid: after.paidMinor - before.paidMinor,
        outstanding: after.outstandingMinor - before.outstandingMinor,
      }).toEqual({
        billed: -135_000,
        paid: 300_000 - 55_000,
        outstanding: -380_000,
      });
      const receivablesAfter = (await reference.port.receivablesByAccountId([accountId], today)).get(accountId)!;
      const outstandingIn = (records: typeof receivablesAfter) => records.find((record) => record.currency === project.currency)!.outstandingMinor;
      expect(outstandingIn(receivablesAfter) - outstandingIn(receivablesBefore)).toBe(-380_000);

      await ports().settle();
      await Promise.all([referenceRelay.flush(), candidateRelay.flush()]);
      const issued = (port: BillingSystem, events: typeof referenceEvents.events) =>
        events
          .filter((event) => event.type === 'credit_note.issued')
          .map((event) =>
            JSON.parse(relabel(port, JSON.stringify({ ...event, data: { ...event.data, issuedAt: String(event.data['issuedAt']).slice(0, 10) } }))),
          );
      await eventually(() => expect(issued(candidate.port, candidateEvents.events)).toEqual(issued(reference.port, referenceEvents.events)));
      expect(issued(reference.port, referenceEvents.events).map((event) => [event.subject, event.data.totalMinor, event.data.sourceKeys])).toEqual([
        ['cn#4', 30_000, ['time:970000001:v1']],
        ['cn#5', 15_000, ['time:970000004:v1']],
        ['cn#6', 90_000, [`schedule:${project.id}:9`, 'time:970000002:v1']],
      ]);
      expect(published).toHaveLength(6);
      for (const event of published) expect(contracts.check(event), `${event.type} ${event.subject} against its contract`).toEqual({ valid: true });
      for (const type of BILLING_EVENT_TYPES) expect(contracts.names, `a contract for ${type}`).toContain(`${type}@1`);
    } finally {
      referenceEvents.stop();
      candidateEvents.stop();
      for (const stop of stopPublished) stop();
    }
  });
}
