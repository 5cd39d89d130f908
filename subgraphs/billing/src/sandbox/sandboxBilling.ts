/**
 * The billing sandbox: a Stripe-shaped store in SQLite. It keeps the rules of Stripe's that the integration
 * depends on, in the store itself (CHECK constraints and triggers), so that no writer — this class, a test, a
 * later event handler — can leave an invoice in a state Stripe could not:
 * - status moves only draft → open → paid | void | uncollectible, and uncollectible → paid | void;
 * - the number is null exactly while the invoice is a draft; a finalized invoice's amounts are fixed;
 * - amount_paid is the sum of the payments, never more than the total, and equal to it once paid: the payment
 *   that clears the amount is what makes the invoice paid (as Stripe's `invoice.paid`);
 * - a source (an ERP posting, a billing-schedule line) is billed by one invoice that is not void at a time
 *   (`invoiceLinesSchema.ts`);
 * - a credit note credits an open or paid invoice by no more than it has left to credit, line by line, and
 *   reduces what remains to be paid before it gives anything back (`creditNotesSchema.ts`).
 */
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { type EventBus, OUTBOX_DDL, type OutboxRelay, appendToOutbox, startOutboxRelay } from '../../../platform/src/events/index.js';
import { type PageRequest, type SqliteStore, groupBy, jsonList, stripeId } from '../../../platform/src/index.js';
import { openSandboxStore } from '../../../sandboxes/src/index.js';
import { type WorldOptions, buildWorld } from '../../../sandboxes/src/world/world.js';
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
import { BillingProfileNotFoundError, InvoiceKeyReusedError, SourceAlreadyBilledError, compareWithDraft, validateInvoiceDraft } from '../invoiceDrafts.js';
import { creditNoteIssuedEvent } from '../creditNoteEvents.js';
import {
  CreditNoteKeyReusedError,
  checkCreditNoteFits,
  creditNoteNumber,
  creditNoteTotal,
  isSameCreditNote,
  splitCredit,
  validateCreditNoteDraft,
} from '../creditNoteRules.js';
import { invoiceStatusEvent } from '../invoiceEvents.js';
import { InvalidPaymentAmountError, InvalidTransitionError, InvoiceNotFoundError, canTransition } from '../invoiceLifecycle.js';
import {
  BILLED_SOURCES_SQL,
  CREDIT_NOTES_SQL,
  type CreditNoteWithLinesRow,
  INVOICE_COLUMNS,
  INVOICE_FROM,
  INVOICE_LINES_SQL,
  type InvoiceLineRow,
  type InvoiceRow,
  NEWEST_FIRST,
  type PaymentRow,
  RECEIVABLES_SQL,
  type ReceivableRow,
  SUMMARY_SQL,
  type SummaryRow,
  invoiceSearchWhere,
  toCreditNote,
  toInvoice,
  toInvoiceLine,
  toPayment,
  toReceivable,
  toSummary,
} from '../billingTables.js';
import { DDL } from './billingSchema.js';
import { invoiceNumber, seedBilling } from './billingSeed.js';
import { installCreditNotes } from './creditNotesSchema.js';
import { installInvoiceLines } from './invoiceLinesSchema.js';

/** Reads the sandbox's "now"; tests pin it, so that overdue and the dates of state changes are reproducible. */
export type Clock = () => Date;

/** A random source for new invoice and payment IDs: unlike the seed, live IDs must not repeat across runs. */
const secureRandom = () => randomInt(2 ** 32) / 2 ** 32;

export class SandboxBilling implements BillingSystem {
  private readonly invoicesByIdStatement;
  private readonly invoicesByProjectStatement;
  private readonly paymentsStatement;
  private readonly summaryStatement;
  private readonly receivablesStatement;
  private readonly takeNumberStatement;
  private readonly finalizeStatement;
  private readonly voidStatement;
  private readonly markUncollectibleStatement;
  private readonly insertPaymentStatement;
  private readonly linesStatement;
  private readonly billedSourcesStatement;
  private readonly invoiceByKeyStatement;
  private readonly profileStatement;
  private readonly insertInvoiceStatement;
  private readonly insertLineStatement;
  private readonly insertCreationStatement;
  private readonly creditNotesStatement;
  private readonly creditNoteByKeyStatement;
  private readonly insertCreditNoteStatement;
  private readonly insertCreditNoteLineStatement;

  constructor(
    readonly store: SqliteStore,
    private readonly clock: Clock = () => new Date(),
  ) {
    store.exec(OUTBOX_DDL);
    installInvoiceLines(store);
    installCreditNotes(store);
    this.invoicesByIdStatement = store.prepare<InvoiceRow>(`SELECT ${INVOICE_COLUMNS} FROM ${INVOICE_FROM} WHERE i.id IN (SELECT value FROM json_each(?))`);
    this.invoicesByProjectStatement = store.prepare<InvoiceRow>(
      `SELECT ${INVOICE_COLUMNS} FROM ${INVOICE_FROM} WHERE i.project_id IN (SELECT value FROM json_each(?)) ORDER BY ${NEWEST_FIRST}`,
    );
    this.paymentsStatement = store.prepare<PaymentRow>(
      `SELECT p.*, i.currency FROM payment p JOIN invoice i ON i.id = p.invoice_id
       WHERE p.invoice_id IN (SELECT value FROM json_each(?)) ORDER BY p.received_date, p.rowid`,
    );
    this.summaryStatement = store.prepare<SummaryRow>(SUMMARY_SQL);
    this.receivablesStatement = store.prepare<ReceivableRow>(RECEIVABLES_SQL);
    this.takeNumberStatement = store.prepare<{ prefix: string; sequence: number }>(
      `UPDATE billing_project SET next_invoice_sequence = next_invoice_sequence + 1 WHERE project_id = ?
       RETURNING invoice_number_prefix AS prefix, next_invoice_sequence - 1 AS sequence`,
    );
    this.finalizeStatement = store.prepare(
      `UPDATE invoice SET status = 'OPEN', number = :number, finalized_date = :today,
         due_date = date(:today, '+' || (SELECT days_until_due FROM customer c WHERE c.id = invoice.customer_id) || ' days')
       WHERE id = :id`,
    );
    this.voidStatement = store.prepare(`UPDATE invoice SET status = 'VOID', voided_date = :today WHERE id = :id`);
    this.markUncollectibleStatement = store.prepare(`UPDATE invoice SET status = 'UNCOLLECTIBLE', marked_uncollectible_date = :today WHERE id = :id`);
    this.insertPaymentStatement = store.prepare('INSERT INTO payment (id, invoice_id, amount_minor, received_date) VALUES (:id, :invoiceId, :amount, :today)');
    this.linesStatement = store.prepare<InvoiceLineRow>(INVOICE_LINES_SQL);
    this.billedSourcesStatement = store.prepare<{ source_key: string; invoice_id: string }>(BILLED_SOURCES_SQL);
    this.invoiceByKeyStatement = store.prepare<{ invoice_id: string }>('SELECT invoice_id FROM invoice_creation WHERE key = ?');
    this.profileStatement = store.prepare<{ customer_id: string; currency: string }>('SELECT customer_id, currency FROM billing_project WHERE project_id = ?');
    this.insertInvoiceStatement = store.prepare(
      `INSERT INTO invoice (id, number, status, project_id, customer_id, currency, description, subtotal_minor, tax_minor, total_minor,
         service_period_start, service_period_end, created_date)
       VALUES (:id, NULL, 'DRAFT', :projectId, :customerId, :currency, :description, :total, 0, :total, :start, :end, :today)`,
    );
    this.insertLineStatement = store.prepare(
      'INSERT INTO invoice_line (invoice_id, line_number, source_key, description, amount_minor) VALUES (:invoiceId, :lineNumber, :sourceKey, :description, :amountMinor)',
    );
    this.insertCreationStatement = store.prepare('INSERT INTO invoice_creation (key, invoice_id) VALUES (?, ?)');
    this.creditNotesStatement = store.prepare<CreditNoteWithLinesRow>(CREDIT_NOTES_SQL);
    this.creditNoteByKeyStatement = store.prepare<{ id: string; invoice_id: string }>('SELECT id, invoice_id FROM credit_note WHERE key = ?');
    this.insertCreditNoteStatement = store.prepare(
      `INSERT INTO credit_note (id, number, invoice_id, key, reason, memo, total_minor, pre_payment_minor, post_payment_minor, created_date)
       VALUES (:id, :number, :invoiceId, :key, :reason, :memo, :total, :prePayment, :postPayment, :today)`,
    );
    this.insertCreditNoteLineStatement = store.prepare(
      'INSERT INTO credit_note_line (credit_note_id, line_number, source_key, amount_minor) VALUES (:creditNoteId, :lineNumber, :sourceKey, :amountMinor)',
    );
  }

  get statementCount(): number {
    return this.store.statementCount;
  }

  today(): string {
    return this.clock().toISOString().slice(0, 10);
  }

  async invoicesById(ids: readonly string[]): Promise<Map<string, BillingInvoice>> {
    return new Map(this.invoicesByIdStatement.all([jsonList(ids)]).map((row) => [row.id, toInvoice(row)]));
  }

  async invoicesByProjectId(projectIds: readonly string[]): Promise<Map<string, BillingInvoice[]>> {
    return groupBy(this.invoicesByProjectStatement.all([jsonList(projectIds)]).map(toInvoice), (invoice) => invoice.projectId);
  }

  async paymentsByInvoiceId(invoiceIds: readonly string[]): Promise<Map<string, BillingPayment[]>> {
    return groupBy(this.paymentsStatement.all([jsonList(invoiceIds)]).map(toPayment), (payment) => payment.invoiceId);
  }

  async invoiceSummariesByProjectId(projectIds: readonly string[], asOf: string): Promise<Map<string, InvoiceSummaryRecord>> {
    return new Map(this.summaryStatement.all({ projectIds: jsonList(projectIds), asOf }).map((row) => [row.project_id, toSummary(row)]));
  }

  async receivablesByAccountId(crmAccountIds: readonly string[], asOf: string): Promise<Map<string, ReceivableRecord[]>> {
    return groupBy(this.receivablesStatement.all({ accountIds: jsonList(crmAccountIds), asOf }).map(toReceivable), (receivable) => receivable.crmAccountId);
  }

  async invoiceLinesByInvoiceId(invoiceIds: readonly string[]): Promise<Map<string, BillingInvoiceLine[]>> {
    return groupBy(this.linesStatement.all([jsonList(invoiceIds)]).map(toInvoiceLine), (line) => line.invoiceId);
  }

  async creditNotesByInvoiceId(invoiceIds: readonly string[]): Promise<Map<string, BillingCreditNote[]>> {
    return groupBy(this.creditNotesStatement.all([jsonList(invoiceIds)]).map(toCreditNote), (creditNote) => creditNote.invoiceId);
  }

  async searchInvoices(search: InvoiceSearch, page: PageRequest): Promise<SearchResult<BillingInvoice>> {
    const where = invoiceSearchWhere(search);
    // One statement for the page and one for the count, whatever the page size.
    const rows = this.store
      .prepare<InvoiceRow>(`SELECT ${INVOICE_COLUMNS} FROM ${INVOICE_FROM} ${where} ORDER BY ${NEWEST_FIRST} LIMIT :limit OFFSET :offset`)
      .all({ ...where.params, limit: page.limit, offset: page.offset });
    const total = this.store.prepare<{ n: number }>(`SELECT COUNT(*) AS n FROM ${INVOICE_FROM} ${where}`).get(where.params)!;
    return { rows: rows.map(toInvoice), totalCount: total.n };
  }

  /** One transaction: the invoice, its lines and its key are written together or not at all. */
  async createInvoice(draft: InvoiceDraft): Promise<{ readonly invoice: BillingInvoice; readonly created: boolean }> {
    validateInvoiceDraft(draft);
    return this.store.transaction(() => {
      const profile = this.profileStatement.get([draft.projectId]);
      if (!profile) throw new BillingProfileNotFoundError(draft.projectId);
      const existing = this.invoiceByKeyStatement.get([draft.key]);
      if (existing) {
        const invoice = this.invoiceOrThrow(existing.invoice_id);
        const lines = this.linesStatement.all([jsonList([invoice.id])]).map(toInvoiceLine);
        // The sandbox never holds half an invoice: what is not the same draft is another one.
        if (compareWithDraft(draft, profile.currency, invoice, lines).kind !== 'same') throw new InvoiceKeyReusedError(draft.key, invoice.id);
        return { invoice, created: false };
      }
      // Checked first to name the source and its invoice; the invoice_line_source_billed_once trigger holds the rule.
      const billed = this.billedSourcesStatement.get([jsonList(draft.lines.map((line) => line.sourceKey))]);
      if (billed) throw new SourceAlreadyBilledError(billed.source_key, billed.invoice_id);
      const id = stripeId('in', secureRandom);
      this.insertInvoiceStatement.run({
        id,
        projectId: draft.projectId,
        customerId: profile.customer_id,
        currency: profile.currency,
        description: draft.description,
        total: draft.lines.reduce((sum, line) => sum + line.amountMinor, 0),
        start: draft.servicePeriodStart,
        end: draft.servicePeriodEnd,
        today: this.today(),
      });
      for (const [index, line] of draft.lines.entries()) {
        this.insertLineStatement.run({
          invoiceId: id,
          lineNumber: index + 1,
          sourceKey: line.sourceKey,
          description: line.description,
          amountMinor: line.amountMinor,
        });
      }
      this.insertCreationStatement.run([draft.key, id]);
      return { invoice: this.invoiceOrThrow(id), created: true };
    });
  }

  /**
   * One transaction: the credit note, its lines, the invoice's credited amounts (a trigger) and the
   * `credit_note.issued` event are written together or not at all.
   */
  async issueCreditNote(draft: CreditNoteDraft): Promise<{ readonly creditNote: BillingCreditNote; readonly created: boolean }> {
    validateCreditNoteDraft(draft);
    return this.store.transaction(() => {
      const existing = this.creditNoteByKeyStatement.get([draft.key]);
      if (existing) {
        const creditNote = this.creditNotesOf(existing.invoice_id).find((candidate) => candidate.id === existing.id)!;
        if (!isSameCreditNote(draft, creditNote)) throw new CreditNoteKeyReusedError(draft.key, creditNote.id);
        return { creditNote, created: false };
      }
      const invoice = this.invoiceOrThrow(draft.invoiceId);
      const earlier = this.creditNotesOf(invoice.id);
      checkCreditNoteFits(draft, invoice, this.linesStatement.all([jsonList([invoice.id])]).map(toInvoiceLine), earlier);
      const id = stripeId('cn', secureRandom);
      const total = creditNoteTotal(draft);
      const { prePaymentMinor, postPaymentMinor } = splitCredit(invoice, total);
      this.insertCreditNoteStatement.run({
        id,
        number: creditNoteNumber(invoice.number!, earlier.length + 1),
        invoiceId: invoice.id,
        key: draft.key,
        reason: draft.reason,
        memo: draft.memo,
        total,
        prePayment: prePaymentMinor,
        postPayment: postPaymentMinor,
        today: this.today(),
      });
      for (const [index, line] of draft.lines.entries()) {
        this.insertCreditNoteLineStatement.run({ creditNoteId: id, lineNumber: index + 1, sourceKey: line.sourceKey, amountMinor: line.amountMinor });
      }
      const creditNote = this.creditNotesOf(invoice.id).find((candidate) => candidate.id === id)!;
      appendToOutbox(this.store, creditNoteIssuedEvent(creditNote, invoice.customerId, this.clock()));
      return { creditNote, created: true };
    });
  }

  async finalizeInvoice(id: string): Promise<BillingInvoice> {
    return this.transition(id, 'OPEN', (invoice) => {
      const { prefix, sequence } = this.takeNumberStatement.get([invoice.projectId])!;
      this.finalizeStatement.run({ id, number: invoiceNumber(prefix, sequence), today: this.today() });
    });
  }

  async payInvoice(id: string, amountMinor?: number): Promise<BillingInvoice> {
    return this.transition(id, 'PAID', (invoice) => {
      const amountRemainingMinor = invoice.amountDueMinor - invoice.amountPaidMinor;
      const amount = amountMinor ?? amountRemainingMinor;
      if (!Number.isSafeInteger(amount) || amount < 1 || amount > amountRemainingMinor) {
        throw new InvalidPaymentAmountError({ invoiceId: id, amountMinor: amount, amountRemainingMinor });
      }
      // The payment_applies_to_invoice trigger adds it to amount_paid and, when it clears the total, marks the invoice paid.
      this.insertPaymentStatement.run({ id: stripeId('py', secureRandom), invoiceId: id, amount, today: this.today() });
    });
  }

  async voidInvoice(id: string): Promise<BillingInvoice> {
    return this.transition(id, 'VOID', () => this.voidStatement.run({ id, today: this.today() }));
  }

  async markUncollectible(id: string): Promise<BillingInvoice> {
    return this.transition(id, 'UNCOLLECTIBLE', () => this.markUncollectibleStatement.run({ id, today: this.today() }));
  }

  publishEventsTo(bus: EventBus): OutboxRelay {
    return startOutboxRelay(this.store, bus);
  }

  close(): void {
    this.store.close();
  }

  /**
   * Checks the lifecycle before writing, so the caller gets a typed error naming both statuses rather than the
   * trigger's abort; the read and the write share one transaction, so no other writer slips in between.
   */
  private transition(id: string, to: InvoiceStatus, write: (invoice: BillingInvoice) => void): BillingInvoice {
    return this.store.transaction(() => {
      const invoice = this.invoiceOrThrow(id);
      if (!canTransition(invoice.status, to)) throw new InvalidTransitionError({ invoiceId: id, from: invoice.status, to });
      write(invoice);
      const changed = this.invoiceOrThrow(id);
      // Like Stripe's webhooks, the sandbox emits the business event of each status change; the outbox makes
      // it part of the same transaction, so the event exists exactly when the change does.
      if (changed.status !== invoice.status) appendToOutbox(this.store, invoiceStatusEvent(invoice, changed, this.clock()));
      return changed;
    });
  }

  private creditNotesOf(invoiceId: string): BillingCreditNote[] {
    return this.creditNotesStatement.all([jsonList([invoiceId])]).map(toCreditNote);
  }

  private invoiceOrThrow(id: string): BillingInvoice {
    const row = this.invoicesByIdStatement.get([jsonList([id])]);
    if (!row) throw new InvoiceNotFoundError({ invoiceId: id });
    return toInvoice(row);
  }
}

/** Opens (creating and seeding on first use) the billing sandbox in `dataDir/billing.db`. */
export function openSandboxBilling(dataDir: string, world: WorldOptions, clock?: Clock): SandboxBilling {
  const store = openSandboxStore({ file: join(dataDir, 'billing.db'), ddl: DDL, world, seed: (fresh) => seedBilling(fresh, buildWorld(world)) });
  return new SandboxBilling(store, clock);
}
