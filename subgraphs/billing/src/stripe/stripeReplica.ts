/**
 * The Stripe adapter's local read replica (`<data dir>/stripe.db`): exactly the records billing's reads aggregate
 * — psgraph's customers, the projects' billing profiles (their products), psgraph's invoices with their line items
 * and the keys psgraph created them under, the payments received on them and the credit notes issued on them — laid out in the billing tables the sandbox uses, so that summaries, receivables and searches
 * are the sandbox's own SQL (billingTables.ts). Stripe cannot answer "the invoices of these 50 projects,
 * rolled up" without a call per project; the replica answers from one statement.
 *
 * It is filled once by listing (`stripeSync.ts`) and kept current by Stripe's webhooks and by the answers to
 * psgraph's own writes. Every change passes through `apply`, in one transaction with the webhook's event ID (kept
 * to drop duplicates) and the business events it means (the outbox): an invoice never moves backwards, whatever
 * order Stripe's events arrive in, and a status change becomes psgraph's event exactly once, whichever way psgraph
 * learnt of it first.
 */
import { type BusEvent, OUTBOX_DDL, appendToOutbox } from '../../../platform/src/events/index.js';
import { type PageRequest, type SqliteStore, groupBy, hasColumn, jsonList } from '../../../platform/src/index.js';
import type {
  BillingCreditNote,
  BillingInvoice,
  BillingInvoiceLine,
  BillingPayment,
  InvoiceSearch,
  InvoiceStatus,
  InvoiceSummaryRecord,
  ReceivableRecord,
  SearchResult,
} from '../billingPort.js';
import { creditNoteIssuedEvent } from '../creditNoteEvents.js';
import { invoiceStatusEvent } from '../invoiceEvents.js';
import {
  BILLED_SOURCES_SQL,
  CREDIT_NOTES_SQL,
  CREDIT_NOTE_TABLES,
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
import type { ReplicaCreditNote, ReplicaCustomer, ReplicaInvoice, ReplicaInvoiceLine, ReplicaPayment, ReplicaProfile } from './stripeRecords.js';

const REPLICA_DDL = `
CREATE TABLE IF NOT EXISTS customer (
  id TEXT PRIMARY KEY,
  crm_account_id TEXT NOT NULL,
  currency TEXT,
  days_until_due INTEGER);
CREATE INDEX IF NOT EXISTS customer_crm_account ON customer(crm_account_id);
CREATE TABLE IF NOT EXISTS billing_project (
  project_id TEXT PRIMARY KEY,
  product_id TEXT NOT NULL UNIQUE,
  currency TEXT NOT NULL,
  invoice_number_prefix TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invoice (
  id TEXT PRIMARY KEY,
  number TEXT,
  status TEXT NOT NULL,
  project_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  description TEXT NOT NULL,
  subtotal_minor INTEGER NOT NULL,
  tax_minor INTEGER NOT NULL,
  total_minor INTEGER NOT NULL,
  amount_paid_minor INTEGER NOT NULL,
  pre_payment_credit_minor INTEGER NOT NULL DEFAULT 0,
  post_payment_credit_minor INTEGER NOT NULL DEFAULT 0,
  service_period_start TEXT NOT NULL,
  service_period_end TEXT NOT NULL,
  created_date TEXT NOT NULL,
  finalized_date TEXT,
  due_date TEXT,
  paid_date TEXT,
  voided_date TEXT,
  marked_uncollectible_date TEXT,
  created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS invoice_project ON invoice(project_id, created_date);
CREATE INDEX IF NOT EXISTS invoice_customer ON invoice(customer_id, status);
CREATE INDEX IF NOT EXISTS invoice_created ON invoice(created_date);
CREATE INDEX IF NOT EXISTS invoice_status_due ON invoice(status, due_date);
CREATE TABLE IF NOT EXISTS invoice_line (
  invoice_id TEXT NOT NULL,
  line_number INTEGER NOT NULL,
  source_key TEXT,
  description TEXT NOT NULL,
  amount_minor INTEGER NOT NULL,
  PRIMARY KEY (invoice_id, line_number)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS invoice_line_source ON invoice_line(source_key) WHERE source_key IS NOT NULL;
-- The key each invoice psgraph created was created under (its metadata[psgraph_invoice_key]).
CREATE TABLE IF NOT EXISTS invoice_creation (
  key TEXT PRIMARY KEY,
  invoice_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS payment (
  id TEXT PRIMARY KEY,
  invoice_id TEXT NOT NULL,
  amount_minor INTEGER NOT NULL,
  received_date TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS payment_invoice ON payment(invoice_id);
-- Stripe's event IDs already acted on: a webhook delivered again (Stripe retries, or replays) is dropped.
CREATE TABLE IF NOT EXISTS stripe_webhook_event (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  received_at TEXT NOT NULL);
-- How far the first fill has listed each kind of object (Stripe's starting_after cursor), and whether it is done.
CREATE TABLE IF NOT EXISTS stripe_sync (
  resource TEXT PRIMARY KEY,
  cursor TEXT,
  done INTEGER NOT NULL DEFAULT 0);`;

const INVOICE_FIELDS = [
  'id',
  'number',
  'status',
  'project_id',
  'customer_id',
  'currency',
  'description',
  'subtotal_minor',
  'tax_minor',
  'total_minor',
  'amount_paid_minor',
  'pre_payment_credit_minor',
  'post_payment_credit_minor',
  'service_period_start',
  'service_period_end',
  'created_date',
  'finalized_date',
  'due_date',
  'paid_date',
  'voided_date',
  'marked_uncollectible_date',
  'created_at',
] as const;

/** How far along the lifecycle a status is: a change to an earlier one is an old event arriving late. */
const PROGRESS: Readonly<Record<InvoiceStatus, number>> = { DRAFT: 0, OPEN: 1, UNCOLLECTIBLE: 2, PAID: 3, VOID: 3 };

/** When Stripe says each status was reached (seconds), from the invoice's `status_transitions`. */
export interface StatusTimes {
  readonly finalized_at: number | null;
  readonly marked_uncollectible_at: number | null;
  readonly paid_at: number | null;
  readonly voided_at: number | null;
}

export interface InvoiceChange {
  readonly row: ReplicaInvoice;
  readonly times: StatusTimes;
  /** All of the invoice's line items, in order (they replace what the replica held). */
  readonly lines: readonly ReplicaInvoiceLine[];
  /** The key psgraph created the invoice under; null for invoices psgraph did not create. */
  readonly key: string | null;
}

/** What one webhook, one page of the first fill, or one psgraph write tells the replica. */
export interface ReplicaChanges {
  readonly customers?: readonly ReplicaCustomer[];
  readonly profiles?: readonly ReplicaProfile[];
  readonly invoices?: readonly InvoiceChange[];
  readonly payments?: readonly ReplicaPayment[];
  /** Credit notes issued (applied after the invoices: one on an invoice the replica does not hold is not psgraph's). */
  readonly creditNotes?: readonly ReplicaCreditNote[];
  /** Drafts deleted in Stripe. */
  readonly deletedInvoiceIds?: readonly string[];
}

export interface ApplyOptions {
  /** Status changes become business events (not while the replica is first filled: those are history). */
  readonly emit: boolean;
  /** The webhook's event, recorded with the changes; already recorded: nothing is applied. */
  readonly event?: { readonly id: string; readonly type: string };
  /** The first fill's cursor after this page. */
  readonly syncCursor?: { readonly resource: string; readonly cursor: string | undefined; readonly done: boolean };
}

export class StripeReplica {
  private readonly invoicesByIdStatement;
  private readonly invoicesByProjectStatement;
  private readonly paymentsStatement;
  private readonly summaryStatement;
  private readonly receivablesStatement;
  private readonly upsertInvoiceStatement;
  private readonly currentInvoiceStatement;
  private readonly linesStatement;
  private readonly billedSourcesStatement;
  private readonly deleteLinesStatement;
  private readonly insertLineStatement;
  private readonly insertCreationStatement;
  private readonly creditNotesStatement;

  constructor(readonly store: SqliteStore) {
    const withoutLines = store.db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'invoice_line'").pluck().get() === 0;
    const withoutCredits = !withoutLines && !hasColumn(store, 'invoice', 'pre_payment_credit_minor');
    store.exec(REPLICA_DDL);
    store.exec(OUTBOX_DDL);
    store.exec(CREDIT_NOTE_TABLES);
    // A replica filled before credit notes lacks the invoices' credited amounts: they are read again, with the credit notes.
    if (withoutCredits) {
      store.exec('ALTER TABLE invoice ADD COLUMN pre_payment_credit_minor INTEGER NOT NULL DEFAULT 0');
      store.exec('ALTER TABLE invoice ADD COLUMN post_payment_credit_minor INTEGER NOT NULL DEFAULT 0');
      store.exec("UPDATE stripe_sync SET cursor = NULL, done = 0 WHERE resource = 'invoices'");
    }
    // A replica filled by an earlier version lacks what this one reads: its lists are read again, from the start.
    if (withoutLines) store.exec("UPDATE stripe_sync SET cursor = NULL, done = 0 WHERE resource = 'invoices'");
    if (!hasColumn(store, 'billing_project', 'customer_id')) {
      store.exec('ALTER TABLE billing_project ADD COLUMN customer_id TEXT');
      store.exec("UPDATE stripe_sync SET cursor = NULL, done = 0 WHERE resource = 'products'");
    }
    this.invoicesByIdStatement = store.prepare<InvoiceRow>(`SELECT ${INVOICE_COLUMNS} FROM ${INVOICE_FROM} WHERE i.id IN (SELECT value FROM json_each(?))`);
    this.invoicesByProjectStatement = store.prepare<InvoiceRow>(
      `SELECT ${INVOICE_COLUMNS} FROM ${INVOICE_FROM} WHERE i.project_id IN (SELECT value FROM json_each(?)) ORDER BY ${NEWEST_FIRST}`,
    );
    // Payments in the order they were received; the sync writes each invoice's oldest first, so the row order breaks ties.
    this.paymentsStatement = store.prepare<PaymentRow>(
      `SELECT p.id, p.invoice_id, p.amount_minor, p.received_date, i.currency FROM payment p JOIN invoice i ON i.id = p.invoice_id
       WHERE p.invoice_id IN (SELECT value FROM json_each(?)) ORDER BY p.received_date, p.created_at, p.rowid`,
    );
    this.summaryStatement = store.prepare<SummaryRow>(SUMMARY_SQL);
    this.receivablesStatement = store.prepare<ReceivableRow>(RECEIVABLES_SQL);
    this.upsertInvoiceStatement = store.prepare(
      `INSERT INTO invoice (${INVOICE_FIELDS.join(', ')}) VALUES (${INVOICE_FIELDS.map((field) => `:${field}`).join(', ')})
       ON CONFLICT (id) DO UPDATE SET ${INVOICE_FIELDS.filter((field) => field !== 'id')
         .map((field) => `${field} = excluded.${field}`)
         .join(', ')}`,
    );
    this.currentInvoiceStatement = store.prepare<ReplicaInvoice>('SELECT * FROM invoice WHERE id = ?');
    this.linesStatement = store.prepare<InvoiceLineRow>(INVOICE_LINES_SQL);
    this.billedSourcesStatement = store.prepare<{ source_key: string; invoice_id: string }>(BILLED_SOURCES_SQL);
    this.deleteLinesStatement = store.prepare('DELETE FROM invoice_line WHERE invoice_id = ?');
    this.insertLineStatement = store.prepare(
      `INSERT INTO invoice_line (invoice_id, line_number, source_key, description, amount_minor)
       VALUES (:invoice_id, :line_number, :source_key, :description, :amount_minor)`,
    );
    this.insertCreationStatement = store.prepare('INSERT INTO invoice_creation (key, invoice_id) VALUES (?, ?) ON CONFLICT (key) DO NOTHING');
    this.creditNotesStatement = store.prepare<CreditNoteWithLinesRow>(CREDIT_NOTES_SQL);
  }

  // ---- the port's reads ----

  invoicesById(ids: readonly string[]): Map<string, BillingInvoice> {
    return new Map(this.invoicesByIdStatement.all([jsonList(ids)]).map((row) => [row.id, toInvoice(row)]));
  }

  invoicesByProjectId(projectIds: readonly string[]): Map<string, BillingInvoice[]> {
    return groupBy(this.invoicesByProjectStatement.all([jsonList(projectIds)]).map(toInvoice), (invoice) => invoice.projectId);
  }

  paymentsByInvoiceId(invoiceIds: readonly string[]): Map<string, BillingPayment[]> {
    return groupBy(this.paymentsStatement.all([jsonList(invoiceIds)]).map(toPayment), (payment) => payment.invoiceId);
  }

  invoiceSummariesByProjectId(projectIds: readonly string[], asOf: string): Map<string, InvoiceSummaryRecord> {
    return new Map(this.summaryStatement.all({ projectIds: jsonList(projectIds), asOf }).map((row) => [row.project_id, toSummary(row)]));
  }

  receivablesByAccountId(crmAccountIds: readonly string[], asOf: string): Map<string, ReceivableRecord[]> {
    return groupBy(this.receivablesStatement.all({ accountIds: jsonList(crmAccountIds), asOf }).map(toReceivable), (receivable) => receivable.crmAccountId);
  }

  invoiceLinesByInvoiceId(invoiceIds: readonly string[]): Map<string, BillingInvoiceLine[]> {
    return groupBy(this.linesStatement.all([jsonList(invoiceIds)]).map(toInvoiceLine), (line) => line.invoiceId);
  }

  creditNotesByInvoiceId(invoiceIds: readonly string[]): Map<string, BillingCreditNote[]> {
    return groupBy(this.creditNotesStatement.all([jsonList(invoiceIds)]).map(toCreditNote), (creditNote) => creditNote.invoiceId);
  }

  searchInvoices(search: InvoiceSearch, page: PageRequest): SearchResult<BillingInvoice> {
    const where = invoiceSearchWhere(search);
    const rows = this.store
      .prepare<InvoiceRow>(`SELECT ${INVOICE_COLUMNS} FROM ${INVOICE_FROM} ${where} ORDER BY ${NEWEST_FIRST} LIMIT :limit OFFSET :offset`)
      .all({ ...where.params, limit: page.limit, offset: page.offset });
    const total = this.store.prepare<{ n: number }>(`SELECT COUNT(*) AS n FROM ${INVOICE_FROM} ${where}`).get(where.params)!;
    return { rows: rows.map(toInvoice), totalCount: total.n };
  }

  // ---- what writes need ----

  customer(id: string): ReplicaCustomer | undefined {
    return this.store.prepare<ReplicaCustomer>('SELECT * FROM customer WHERE id = ?').get([id]);
  }

  profile(projectId: string): ReplicaProfile | undefined {
    return this.store.prepare<ReplicaProfile>('SELECT * FROM billing_project WHERE project_id = ?').get([projectId]);
  }

  /** The invoice psgraph created under `key`, as far as the replica knows. */
  invoiceIdByKey(key: string): string | undefined {
    return this.store.prepare<{ invoice_id: string }>('SELECT invoice_id FROM invoice_creation WHERE key = ?').get([key])?.invoice_id;
  }

  /** The credit note psgraph issued under `key`, as far as the replica knows. */
  creditNoteByKey(key: string): BillingCreditNote | undefined {
    const found = this.store.prepare<{ id: string; invoice_id: string }>('SELECT id, invoice_id FROM credit_note WHERE key = ?').get([key]);
    return (
      found &&
      this.creditNotesByInvoiceId([found.invoice_id])
        .get(found.invoice_id)
        ?.find((creditNote) => creditNote.id === found.id)
    );
  }

  /** The invoice (not void, and not `except`) that bills each of these sources. */
  billedSources(sourceKeys: readonly string[], except?: string): Array<{ source_key: string; invoice_id: string }> {
    return this.billedSourcesStatement.all([jsonList(sourceKeys)]).filter((row) => row.invoice_id !== except);
  }

  /** The customer the project's invoices bill: the one its product names, or else the one of its newest invoice. */
  projectCustomerId(projectId: string): string | null {
    const row = this.store
      .prepare<{ customer_id: string | null }>(
        `SELECT COALESCE(p.customer_id, (SELECT i.customer_id FROM invoice i WHERE i.project_id = p.project_id ORDER BY i.created_at DESC, i.id DESC LIMIT 1)) AS customer_id
         FROM billing_project p WHERE p.project_id = ?`,
      )
      .get([projectId]);
    return row?.customer_id ?? null;
  }

  /** The project's next invoice number: its prefix and one more than the highest sequence it has issued. */
  nextInvoiceNumber(projectId: string): string | null {
    const profile = this.profile(projectId);
    if (!profile) return null;
    const numbers = this.store
      .prepare<{ number: string }>("SELECT number FROM invoice WHERE project_id = ? AND number LIKE ? || '-%'")
      .all([projectId, profile.invoice_number_prefix]);
    const sequences = numbers.map((row) => Number(row.number.slice(profile.invoice_number_prefix.length + 1))).filter(Number.isInteger);
    return `${profile.invoice_number_prefix}-${String(Math.max(0, ...sequences) + 1).padStart(3, '0')}`;
  }

  // ---- the first fill ----

  syncState(resource: string): { cursor: string | null; done: boolean } {
    const row = this.store.prepare<{ cursor: string | null; done: number }>('SELECT cursor, done FROM stripe_sync WHERE resource = ?').get([resource]);
    return { cursor: row?.cursor ?? null, done: row?.done === 1 };
  }

  hasEvent(id: string): boolean {
    return this.store.prepare('SELECT 1 FROM stripe_webhook_event WHERE id = ?').get([id]) !== undefined;
  }

  // ---- changes ----

  /**
   * Applies what Stripe said, in one transaction with the event that said it and the business events it means.
   * Returns the business events (empty when the webhook's event was seen before, or nothing changed status).
   */
  apply(changes: ReplicaChanges, options: ApplyOptions): { duplicate: boolean; events: BusEvent[] } {
    return this.store.transaction(() => {
      if (options.event) {
        const recorded = this.store
          .prepare("INSERT INTO stripe_webhook_event (id, type, received_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) ON CONFLICT (id) DO NOTHING")
          .run([options.event.id, options.event.type]);
        if (recorded.changes === 0) return { duplicate: true, events: [] };
      }
      for (const customer of changes.customers ?? []) {
        this.store
          .prepare(
            `INSERT INTO customer (id, crm_account_id, currency, days_until_due) VALUES (:id, :crm_account_id, :currency, :days_until_due)
             ON CONFLICT (id) DO UPDATE SET crm_account_id = excluded.crm_account_id, currency = excluded.currency, days_until_due = excluded.days_until_due`,
          )
          .run({ ...customer });
      }
      for (const profile of changes.profiles ?? []) {
        this.store.prepare('DELETE FROM billing_project WHERE product_id = ? AND project_id <> ?').run([profile.product_id, profile.project_id]);
        this.store
          .prepare(
            `INSERT INTO billing_project (project_id, product_id, customer_id, currency, invoice_number_prefix)
             VALUES (:project_id, :product_id, :customer_id, :currency, :invoice_number_prefix)
             ON CONFLICT (project_id) DO UPDATE SET product_id = excluded.product_id, customer_id = excluded.customer_id, currency = excluded.currency,
               invoice_number_prefix = excluded.invoice_number_prefix`,
          )
          .run({ ...profile });
      }
      const events: BusEvent[] = [];
      for (const change of changes.invoices ?? []) events.push(...this.applyInvoice(change, options.emit));
      for (const payment of changes.payments ?? []) {
        // A payment received is immutable: the first report of it stands.
        this.store
          .prepare(
            `INSERT INTO payment (id, invoice_id, amount_minor, received_date, created_at) VALUES (:id, :invoice_id, :amount_minor, :received_date, :created_at)
             ON CONFLICT (id) DO NOTHING`,
          )
          .run({ ...payment });
      }
      for (const creditNote of changes.creditNotes ?? []) events.push(...this.applyCreditNote(creditNote, options.emit));
      for (const id of changes.deletedInvoiceIds ?? []) {
        const deleted = this.store.prepare("DELETE FROM invoice WHERE id = ? AND status = 'DRAFT'").run([id]);
        if (deleted.changes > 0) {
          this.deleteLinesStatement.run([id]);
          this.store.prepare('DELETE FROM invoice_creation WHERE invoice_id = ?').run([id]);
        }
      }
      if (options.syncCursor) {
        const { resource, cursor, done } = options.syncCursor;
        this.store
          .prepare(
            'INSERT INTO stripe_sync (resource, cursor, done) VALUES (?, ?, ?) ON CONFLICT (resource) DO UPDATE SET cursor = excluded.cursor, done = excluded.done',
          )
          .run([resource, cursor ?? null, done ? 1 : 0]);
      }
      for (const event of events) appendToOutbox(this.store, event);
      return { duplicate: false, events };
    });
  }

  /**
   * One invoice as Stripe now shows it. Older than what the replica holds (a late event, a page listed before a
   * webhook came in): ignored. Further along the lifecycle: recorded, with one business event per status it
   * passed through (an invoice finalized and paid between two looks was posted, then paid).
   */
  private applyInvoice(change: InvoiceChange, emit: boolean): BusEvent[] {
    const current = this.currentInvoiceStatement.get([change.row.id]);
    const next = change.row;
    if (current) {
      if (PROGRESS[next.status] < PROGRESS[current.status]) return [];
      if (PROGRESS[next.status] === PROGRESS[current.status] && next.status !== current.status) return [];
    }
    const sameStatus = current?.status === next.status;
    // Payments and credit notes only add up: within one status, a smaller amount is an older snapshot.
    const latest = (field: 'amount_paid_minor' | 'pre_payment_credit_minor' | 'post_payment_credit_minor') =>
      sameStatus ? Math.max(current[field], next[field]) : next[field];
    this.upsertInvoiceStatement.run({
      ...next,
      amount_paid_minor: latest('amount_paid_minor'),
      pre_payment_credit_minor: latest('pre_payment_credit_minor'),
      post_payment_credit_minor: latest('post_payment_credit_minor'),
    });
    this.deleteLinesStatement.run([next.id]);
    for (const line of change.lines) this.insertLineStatement.run({ ...line });
    if (change.key) this.insertCreationStatement.run([change.key, next.id]);
    if (!emit || sameStatus) return [];
    const after = this.invoicesById([next.id]).get(next.id);
    if (!after) return [];
    // An invoice psgraph never saw before was a draft once.
    let previous: InvoiceStatus = current?.status ?? 'DRAFT';
    const events: BusEvent[] = [];
    for (const status of statusesPassed(previous, next.status, change.times)) {
      events.push(invoiceStatusEvent({ ...after, status: previous }, { ...after, status }, new Date(timeReached(status, change.times) * 1000)));
      previous = status;
    }
    return events;
  }

  /**
   * A credit note Stripe issued on one of psgraph's invoices, recorded once (whichever of psgraph's answer, the webhook
   * or the first fill brings it first) with its `credit_note.issued` event. One on an invoice that is not psgraph's is
   * left out.
   */
  private applyCreditNote(creditNote: ReplicaCreditNote, emit: boolean): BusEvent[] {
    const invoice = this.currentInvoiceStatement.get([creditNote.row.invoice_id]);
    if (!invoice) return [];
    if (this.store.prepare(INSERT_CREDIT_NOTE).run({ ...creditNote.row }).changes === 0) return [];
    for (const line of creditNote.lines) this.store.prepare(INSERT_CREDIT_NOTE_LINE).run({ ...line });
    if (!emit) return [];
    const recorded = this.creditNotesByInvoiceId([invoice.id])
      .get(invoice.id)!
      .find((candidate) => candidate.id === creditNote.row.id)!;
    return [creditNoteIssuedEvent(recorded, invoice.customer_id, new Date(creditNote.createdAt * 1000))];
  }
}

/** How a credit note's rows are written (once: an issued credit note's amounts never change). */
const INSERT_CREDIT_NOTE = `INSERT INTO credit_note (id, number, invoice_id, key, reason, memo, total_minor, pre_payment_minor, post_payment_minor, created_date)
  VALUES (:id, :number, :invoice_id, :key, :reason, :memo, :total_minor, :pre_payment_minor, :post_payment_minor, :created_date)
  ON CONFLICT (id) DO NOTHING`;
const INSERT_CREDIT_NOTE_LINE = `INSERT INTO credit_note_line (credit_note_id, line_number, source_key, amount_minor)
  VALUES (:credit_note_id, :line_number, :source_key, :amount_minor)`;

/** The statuses an invoice went through after `from` to reach `to`, by its status transitions. */
function statusesPassed(from: InvoiceStatus, to: InvoiceStatus, times: StatusTimes): InvoiceStatus[] {
  const path: InvoiceStatus[] = ['DRAFT', 'OPEN'];
  if (from === 'UNCOLLECTIBLE' || to === 'UNCOLLECTIBLE' || times.marked_uncollectible_at !== null) path.push('UNCOLLECTIBLE');
  if (to === 'PAID' || to === 'VOID') path.push(to);
  const start = path.indexOf(from);
  const end = path.indexOf(to);
  return start >= 0 && end > start ? path.slice(start + 1, end + 1) : [];
}

function timeReached(status: InvoiceStatus, times: StatusTimes): number {
  const at =
    status === 'OPEN'
      ? times.finalized_at
      : status === 'UNCOLLECTIBLE'
        ? times.marked_uncollectible_at
        : status === 'PAID'
          ? times.paid_at
          : status === 'VOID'
            ? times.voided_at
            : null;
  return at ?? Math.floor(Date.now() / 1000);
}
