/**
 * The billing port over Stripe. Reads are answered from the local replica (`stripeReplica.ts`), filled once by
 * listing and kept current by webhooks and by the answers to psgraph's own writes: no read costs a Stripe call, and
 * a page of 50 projects costs what a page of 5 does.
 *
 * Writes go to Stripe, each checked first against the invoice as Stripe holds it now (not the replica), so that it
 * is refused for the sandbox's reasons with the sandbox's codes and messages; then sent with an idempotency key
 * derived from the write and its inputs; then the answer is recorded in the replica (read-your-writes), with the
 * business event of the status change — once, however soon Stripe's webhook for the same change arrives.
 *
 * - Finalizing numbers the invoice as the sandbox does (the project's prefix and its next sequence) and sets its
 *   due date (the finalization date plus the customer's payment terms) on the draft, then finalizes it.
 * - A payment, whole or partial, is recorded as an out-of-band Payment Record (`report_payment`) attached to the
 *   invoice (`attach_payment`): Stripe adds it to `amount_paid` and makes the invoice paid when it clears it.
 * - Creating an invoice is a draft invoice (`invoices.create`) and one invoice item per line on it
 *   (`invoiceItems.create`), each with an idempotency key derived from the draft's key. Stripe forgets those keys
 *   after 24 hours, so the invoice carries the key in its metadata too: a creation repeated, or cut short by a crash
 *   between the invoice and its last item, finds the invoice and adds only the items it lacks.
 * - A credit note is Stripe's (`creditNotes.create`), crediting the invoice's line items that bill the draft's
 *   sources by amount; what it gives back beyond the amount remaining is `out_of_band_amount` (psgraph records
 *   payments outside Stripe, so it gives money back outside Stripe too). Its key is its idempotency key and in its
 *   metadata, so that a repeat after Stripe forgot the key finds it among the invoice's credit notes.
 */
import type Stripe from 'stripe';
import { type PageRequest, dayFromIso, isoFromDay } from '../../../platform/src/index.js';
import { VendorError } from '../../../platform/src/vendor/vendorError.js';
import type {
  BillingCreditNote,
  BillingInvoice,
  BillingInvoiceLine,
  BillingPayment,
  BillingSystem,
  CreditNoteDraft,
  InvoiceDraft,
  InvoiceSearch,
  InvoiceStatus,
  InvoiceSummaryRecord,
  ReceivableRecord,
  SearchResult,
} from '../billingPort.js';
import { CreditNoteKeyReusedError, checkCreditNoteFits, creditNoteTotal, isSameCreditNote, splitCredit, validateCreditNoteDraft } from '../creditNoteRules.js';
import { BillingProfileNotFoundError, InvoiceKeyReusedError, SourceAlreadyBilledError, compareWithDraft, validateInvoiceDraft } from '../invoiceDrafts.js';
import { InvalidPaymentAmountError, InvalidTransitionError, InvoiceNotFoundError, canTransition } from '../invoiceLifecycle.js';
import { STRIPE, type StripeClient, idempotencyKey } from './stripeClient.js';
import {
  METADATA,
  STATUS_OF,
  STRIPE_REASON_OF,
  keyOfInvoice,
  projectOfInvoice,
  timestampOf,
  toReplicaCustomer,
  toReplicaLines,
  toReplicaPayment,
} from './stripeRecords.js';
import type { ReplicaChanges, StripeReplica } from './stripeReplica.js';
import type { StripeSync } from './stripeSync.js';

export interface StripeBillingOptions {
  /** The billing calendar's "now": what "today" and the dates psgraph sets are judged by. @default the system clock */
  readonly clock?: () => Date;
  /** Called after a write recorded business events, so that the relay publishes them now. */
  readonly afterWrite?: () => void;
}

export class StripeBilling implements BillingSystem {
  private readonly clock: () => Date;
  /** Finalizations one after the other: each takes its project's next number from what the previous one left. */
  private numbering: Promise<unknown> = Promise.resolve();
  /** Creations one after the other: each checks the sources billed against what the previous one left. */
  private creating: Promise<unknown> = Promise.resolve();
  /** Credit notes one after the other: each checks what is left to credit against what the previous one left. */
  private crediting: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: StripeClient,
    private readonly replica: StripeReplica,
    private readonly sync: StripeSync,
    private readonly options: StripeBillingOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  today(): string {
    return this.clock().toISOString().slice(0, 10);
  }

  async invoicesById(ids: readonly string[]): Promise<Map<string, BillingInvoice>> {
    await this.sync.ready();
    return this.replica.invoicesById(ids);
  }

  async invoicesByProjectId(projectIds: readonly string[]): Promise<Map<string, BillingInvoice[]>> {
    await this.sync.ready();
    return this.replica.invoicesByProjectId(projectIds);
  }

  async paymentsByInvoiceId(invoiceIds: readonly string[]): Promise<Map<string, BillingPayment[]>> {
    await this.sync.ready();
    return this.replica.paymentsByInvoiceId(invoiceIds);
  }

  async invoiceSummariesByProjectId(projectIds: readonly string[], asOf: string): Promise<Map<string, InvoiceSummaryRecord>> {
    await this.sync.ready();
    return this.replica.invoiceSummariesByProjectId(projectIds, asOf);
  }

  async receivablesByAccountId(crmAccountIds: readonly string[], asOf: string): Promise<Map<string, ReceivableRecord[]>> {
    await this.sync.ready();
    return this.replica.receivablesByAccountId(crmAccountIds, asOf);
  }

  async searchInvoices(search: InvoiceSearch, page: PageRequest): Promise<SearchResult<BillingInvoice>> {
    await this.sync.ready();
    return this.replica.searchInvoices(search, page);
  }

  async invoiceLinesByInvoiceId(invoiceIds: readonly string[]): Promise<Map<string, BillingInvoiceLine[]>> {
    await this.sync.ready();
    return this.replica.invoiceLinesByInvoiceId(invoiceIds);
  }

  async creditNotesByInvoiceId(invoiceIds: readonly string[]): Promise<Map<string, BillingCreditNote[]>> {
    await this.sync.ready();
    return this.replica.creditNotesByInvoiceId(invoiceIds);
  }

  // ---- writes ----

  async issueCreditNote(draft: CreditNoteDraft): Promise<{ readonly creditNote: BillingCreditNote; readonly created: boolean }> {
    validateCreditNoteDraft(draft);
    await this.sync.ready();
    const issue = this.crediting.then(() => this.issue(draft));
    this.crediting = issue.catch(() => {});
    return issue;
  }

  private async issue(draft: CreditNoteDraft): Promise<{ readonly creditNote: BillingCreditNote; readonly created: boolean }> {
    const known = this.replica.creditNoteByKey(draft.key) ?? (await this.creditNoteIssuedUnder(draft));
    if (known) {
      if (!isSameCreditNote(draft, known)) throw new CreditNoteKeyReusedError(draft.key, known.id);
      return { creditNote: known, created: false };
    }
    let invoice: Stripe.Invoice;
    try {
      invoice = await this.client.read('retrieveInvoice', (stripe) => stripe.invoices.retrieve(draft.invoiceId, { expand: ['customer'] }));
    } catch (error) {
      if (error instanceof VendorError && error.failure === 'NOT_FOUND') throw new InvoiceNotFoundError({ invoiceId: draft.invoiceId });
      throw error;
    }
    if (!projectOfInvoice(invoice) || !invoice.customer) throw new InvoiceNotFoundError({ invoiceId: draft.invoiceId });
    const lineItems = await this.sync.lineItemsOf(invoice);
    // What Stripe showed is the freshest there is: the replica takes it before the checks read it.
    this.apply(await this.sync.invoiceChanges(invoice, lineItems));
    const recorded = this.replica.invoicesById([invoice.id]).get(invoice.id);
    if (!recorded) throw new InvoiceNotFoundError({ invoiceId: draft.invoiceId });
    const lines = this.replica.invoiceLinesByInvoiceId([invoice.id]).get(invoice.id) ?? [];
    checkCreditNoteFits(draft, recorded, lines, this.replica.creditNotesByInvoiceId([invoice.id]).get(invoice.id) ?? []);
    const { postPaymentMinor } = splitCredit(recorded, creditNoteTotal(draft));
    const lineItemOf = new Map(lineItems.map((item) => [item.metadata?.[METADATA.sourceKey] || null, item.id]));
    const created = await this.client.write('createCreditNote', idempotencyKey('createCreditNote', draft.key), (stripe, options) =>
      stripe.creditNotes.create(
        {
          invoice: invoice.id,
          lines: draft.lines.map((line) => ({ type: 'invoice_line_item', invoice_line_item: lineItemOf.get(line.sourceKey)!, amount: line.amountMinor })),
          reason: STRIPE_REASON_OF[draft.reason],
          ...(draft.memo === null ? {} : { memo: draft.memo }),
          ...(postPaymentMinor > 0 ? { out_of_band_amount: postPaymentMinor } : {}),
          metadata: { [METADATA.creditNoteKey]: draft.key },
        },
        options,
      ),
    );
    this.apply(await this.sync.creditNoteChanges(created));
    const creditNote = this.replica
      .creditNotesByInvoiceId([invoice.id])
      .get(invoice.id)
      ?.find((candidate) => candidate.id === created.id);
    if (!creditNote) throw new InvoiceNotFoundError({ invoiceId: invoice.id });
    return { creditNote, created: true };
  }

  /**
   * The credit note psgraph issued under the draft's key on the draft's invoice, when the replica never heard of it
   * (the process stopped before recording Stripe's answer, and the webhook has not come yet): recorded, then returned.
   */
  private async creditNoteIssuedUnder(draft: CreditNoteDraft): Promise<BillingCreditNote | undefined> {
    if (!this.replica.invoicesById([draft.invoiceId]).has(draft.invoiceId)) return undefined;
    const notes = await this.client.listAll('listCreditNotes', (page) => this.client.stripe.creditNotes.list({ ...page, invoice: draft.invoiceId }));
    const found = notes.find((note) => note.metadata?.[METADATA.creditNoteKey] === draft.key);
    if (!found) return undefined;
    this.apply(await this.sync.creditNoteChanges(found));
    return this.replica.creditNoteByKey(draft.key);
  }

  async createInvoice(draft: InvoiceDraft): Promise<{ readonly invoice: BillingInvoice; readonly created: boolean }> {
    validateInvoiceDraft(draft);
    await this.sync.ready();
    const create = this.creating.then(() => this.create(draft));
    this.creating = create.catch(() => {});
    return create;
  }

  private async create(draft: InvoiceDraft): Promise<{ readonly invoice: BillingInvoice; readonly created: boolean }> {
    const profile = this.replica.profile(draft.projectId);
    if (!profile) throw new BillingProfileNotFoundError(draft.projectId);
    const customerId = this.replica.projectCustomerId(draft.projectId);
    if (!customerId) {
      throw new VendorError(
        STRIPE,
        'VALIDATION',
        `Stripe names no customer for project ${draft.projectId}: set metadata ${METADATA.customerId} on its product ${profile.product_id}.`,
      );
    }
    let invoice = await this.invoiceCreatedUnder(draft.key, customerId);
    let held: BillingInvoiceLine[] = [];
    if (invoice) {
      held = (await this.linesOf(invoice)).map((line) => ({
        invoiceId: line.invoice_id,
        sourceKey: line.source_key,
        description: line.description,
        amountMinor: line.amount_minor,
      }));
      const recorded = await this.record(invoice);
      const comparison = compareWithDraft(draft, profile.currency, recorded, held);
      if (comparison.kind === 'different') throw new InvoiceKeyReusedError(draft.key, invoice.id);
      if (comparison.kind === 'same') return { invoice: recorded, created: false };
    }
    const missing = draft.lines.filter((line) => !held.some((kept) => kept.sourceKey === line.sourceKey));
    const billed = this.replica.billedSources(
      missing.map((line) => line.sourceKey),
      invoice?.id,
    );
    if (billed[0]) throw new SourceAlreadyBilledError(billed[0].source_key, billed[0].invoice_id);
    const currency = profile.currency.toLowerCase();
    if (!invoice) {
      const terms = this.replica.customer(customerId)?.days_until_due;
      if (!terms) {
        throw new VendorError(
          STRIPE,
          'VALIDATION',
          `Stripe customer ${customerId} has no payment terms: set its metadata ${METADATA.paymentTermsDays} (days).`,
        );
      }
      const created = await this.client.write('createInvoice', idempotencyKey('createInvoice', draft.key), (stripe, options) =>
        stripe.invoices.create(
          {
            customer: customerId,
            currency,
            collection_method: 'send_invoice',
            days_until_due: terms,
            auto_advance: false,
            pending_invoice_items_behavior: 'exclude',
            description: draft.description,
            metadata: {
              [METADATA.projectId]: draft.projectId,
              [METADATA.crmAccountId]: this.replica.customer(customerId)?.crm_account_id ?? '',
              [METADATA.invoiceKey]: draft.key,
              [METADATA.servicePeriodStart]: draft.servicePeriodStart,
              [METADATA.servicePeriodEnd]: draft.servicePeriodEnd,
            },
            expand: ['customer'],
          },
          options,
        ),
      );
      // Recorded at once: a retry after a crash before the last item finds it here, even before Stripe's webhook.
      await this.record(created);
      invoice = created;
    }
    const invoiceId = invoice.id;
    const period = { start: timestampOf(draft.servicePeriodStart), end: timestampOf(draft.servicePeriodEnd) };
    // One at a time, in the draft's order: Stripe shows an invoice's items in the order they were added.
    for (const line of missing) {
      await this.client.write('createInvoiceItem', idempotencyKey('createInvoiceItem', draft.key, line.sourceKey), (stripe, options) =>
        stripe.invoiceItems.create(
          {
            invoice: invoiceId,
            customer: customerId,
            currency,
            amount: line.amountMinor,
            description: line.description,
            period,
            metadata: { [METADATA.sourceKey]: line.sourceKey },
          },
          options,
        ),
      );
    }
    const complete = await this.client.read('retrieveInvoice', (stripe) => stripe.invoices.retrieve(invoiceId, { expand: ['customer'] }));
    return { invoice: await this.record(complete), created: true };
  }

  /**
   * The invoice psgraph created under `key`: the replica's record of it, or else one of the customer's drafts that
   * carries the key (a creation whose invoice the replica never heard of: the process stopped before recording it,
   * and Stripe's webhook has not come yet). Read from Stripe either way, as it is now.
   */
  private async invoiceCreatedUnder(key: string, customerId: string): Promise<Stripe.Invoice | undefined> {
    const known = this.replica.invoiceIdByKey(key);
    if (known) return this.client.read('retrieveInvoice', (stripe) => stripe.invoices.retrieve(known, { expand: ['customer'] }));
    const drafts = await this.client.listAll('listDraftInvoices', (page) =>
      this.client.stripe.invoices.list({ ...page, customer: customerId, status: 'draft' }),
    );
    const found = drafts.find((invoice) => keyOfInvoice(invoice) === key);
    return found && this.client.read('retrieveInvoice', (stripe) => stripe.invoices.retrieve(found.id, { expand: ['customer'] }));
  }

  /** Every line item of the invoice, as replica rows. */
  private async linesOf(invoice: Stripe.Invoice) {
    const lines = invoice.lines?.has_more
      ? await this.client.listAll('invoiceLines', (page) => this.client.stripe.invoices.listLineItems(invoice.id, page))
      : (invoice.lines?.data ?? []);
    return toReplicaLines(invoice.id, lines);
  }

  async finalizeInvoice(id: string): Promise<BillingInvoice> {
    await this.sync.ready();
    const finalize = this.numbering.then(async () => {
      const { invoice, status } = await this.requireInvoice(id, 'OPEN');
      const projectId = projectOfInvoice(invoice)!;
      // A number set by an attempt that stopped before finalizing is kept: numbers are never skipped.
      const number = invoice.number ?? this.replica.nextInvoiceNumber(projectId);
      if (!number) {
        throw new VendorError(
          STRIPE,
          'VALIDATION',
          `Stripe holds no billing profile for project ${projectId}: a product with metadata ${METADATA.projectId} and ${METADATA.invoiceNumberPrefix}.`,
        );
      }
      const dueDate = isoFromDay(dayFromIso(this.today()) + this.paymentTermsOf(invoice));
      await this.client.write('updateInvoice', idempotencyKey('number', id, number, dueDate), (stripe, options) =>
        stripe.invoices.update(id, { number, due_date: timestampOf(dueDate) }, options),
      );
      const finalized = await this.client.write('finalizeInvoice', idempotencyKey('finalize', id, status, number), (stripe, options) =>
        stripe.invoices.finalizeInvoice(id, { expand: ['customer'] }, options),
      );
      return this.record(finalized);
    });
    this.numbering = finalize.catch(() => {});
    return finalize;
  }

  async payInvoice(id: string, amountMinor?: number): Promise<BillingInvoice> {
    await this.sync.ready();
    const { invoice } = await this.requireInvoice(id, 'PAID');
    const amountRemainingMinor = invoice.amount_remaining;
    const amount = amountMinor ?? amountRemainingMinor;
    if (!Number.isSafeInteger(amount) || amount < 1 || amount > amountRemainingMinor) {
      throw new InvalidPaymentAmountError({ invoiceId: id, amountMinor: amount, amountRemainingMinor });
    }
    // What was paid before is part of the key: a second payment of the same amount is a second payment, while
    // this one, repeated after a lost answer, is the same one. Its parameters are the same on every attempt too.
    const key = idempotencyKey('payInvoice', id, invoice.amount_paid, amount);
    const at = timestampOf(this.today());
    const customerId = typeof invoice.customer === 'string' ? invoice.customer : invoice.customer!.id;
    const record = await this.client.write('reportPayment', key, (stripe, options) =>
      stripe.paymentRecords.reportPayment(
        {
          amount_requested: { currency: invoice.currency, value: amount },
          initiated_at: at,
          outcome: 'guaranteed',
          guaranteed: { guaranteed_at: at },
          customer_details: { customer: customerId },
          payment_method_details: { type: 'custom', custom: { display_name: 'Recorded in psgraph' } },
          processor_details: { type: 'custom', custom: { payment_reference: key } },
          description: `Payment on invoice ${invoice.number ?? id}`,
          metadata: { psgraph_invoice_id: id },
        },
        options,
      ),
    );
    const paid = await this.client.write('attachPayment', idempotencyKey('attachPayment', id, record.id), (stripe, options) =>
      stripe.invoices.attachPayment(id, { payment_record: record.id, expand: ['customer', 'payments'] }, options),
    );
    let payments = paid.payments?.data ?? [];
    if (paid.payments?.has_more) {
      payments = await this.client.listAll('invoicePayments', (page) => this.client.stripe.invoicePayments.list({ ...page, invoice: id, status: 'paid' }));
    }
    return this.record(paid, payments);
  }

  async voidInvoice(id: string): Promise<BillingInvoice> {
    await this.sync.ready();
    const { status } = await this.requireInvoice(id, 'VOID');
    const voided = await this.client.write('voidInvoice', idempotencyKey('void', id, status), (stripe, options) =>
      stripe.invoices.voidInvoice(id, { expand: ['customer'] }, options),
    );
    return this.record(voided);
  }

  async markUncollectible(id: string): Promise<BillingInvoice> {
    await this.sync.ready();
    await this.requireInvoice(id, 'UNCOLLECTIBLE');
    const written = await this.client.write('markUncollectible', idempotencyKey('markUncollectible', id), (stripe, options) =>
      stripe.invoices.markUncollectible(id, { expand: ['customer'] }, options),
    );
    return this.record(written);
  }

  // ---- helpers ----

  /**
   * The invoice as Stripe holds it now, checked as the sandbox checks it before moving it to `to`: one that is not
   * psgraph's (no project metadata) does not exist as far as billing is concerned.
   */
  private async requireInvoice(id: string, to: InvoiceStatus): Promise<{ invoice: Stripe.Invoice; status: InvoiceStatus }> {
    let invoice: Stripe.Invoice;
    try {
      invoice = await this.client.read('retrieveInvoice', (stripe) => stripe.invoices.retrieve(id, { expand: ['customer'] }));
    } catch (error) {
      if (error instanceof VendorError && error.failure === 'NOT_FOUND') throw new InvoiceNotFoundError({ invoiceId: id });
      throw error;
    }
    const status = invoice.status ? STATUS_OF[invoice.status] : undefined;
    if (!status || !projectOfInvoice(invoice) || !invoice.customer) throw new InvoiceNotFoundError({ invoiceId: id });
    // What Stripe showed is the freshest there is: the replica takes it (with the events of any change it missed).
    this.apply(await this.sync.invoiceChanges(invoice));
    if (!canTransition(status, to)) throw new InvalidTransitionError({ invoiceId: id, from: status, to });
    return { invoice, status };
  }

  private paymentTermsOf(invoice: Stripe.Invoice): number {
    const customer = typeof invoice.customer === 'object' && invoice.customer !== null ? toReplicaCustomer(invoice.customer) : undefined;
    const customerId = typeof invoice.customer === 'string' ? invoice.customer : invoice.customer?.id;
    const terms = customer?.days_until_due ?? (customerId ? this.replica.customer(customerId)?.days_until_due : null);
    if (!terms) {
      throw new VendorError(STRIPE, 'VALIDATION', `Stripe customer ${customerId} has no payment terms: set its metadata ${METADATA.paymentTermsDays} (days).`);
    }
    return terms;
  }

  /** Records Stripe's answer to a write in the replica and returns the invoice as the port reads it. */
  private async record(invoice: Stripe.Invoice, payments: readonly Stripe.InvoicePayment[] = []): Promise<BillingInvoice> {
    const changes = await this.sync.invoiceChanges(invoice);
    const received = payments.map(toReplicaPayment).filter((payment) => payment !== null);
    this.apply({ ...changes, payments: received });
    const recorded = this.replica.invoicesById([invoice.id]).get(invoice.id);
    if (!recorded) throw new InvoiceNotFoundError({ invoiceId: invoice.id });
    return recorded;
  }

  private apply(changes: ReplicaChanges): void {
    const { events } = this.replica.apply(changes, { emit: true });
    if (events.length > 0) this.options.afterWrite?.();
  }
}
