/**
 * The billing sandbox: a Stripe-shaped store in SQLite. It keeps the rules of Stripe's that the integration
 * depends on, in the store itself (CHECK constraints and triggers), so that no writer — this class, a test, a
 * later event handler — can leave an invoice in a state Stripe could not:
 * - status moves only draft → open → paid | void | uncollectible, and uncollectible → paid | void;
 * - the number is null exactly while the invoice is a draft; a finalized invoice's amounts are fixed;
 * - amount_paid is the sum of the payments, never more than the total, and equal to it once paid: the payment
 *   that clears the amount is what makes the invoice paid (as Stripe's `invoice.paid`).
 */
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import {
  type PageRequest,
  type SqliteStore,
  WhereBuilder,
  groupBy,
  isoFromDay,
  jsonList,
  openSandboxStore,
  stripeId,
} from '../../../shared/src/index.js';
import { type EventBus, OUTBOX_DDL, type OutboxRelay, appendToOutbox, startOutboxRelay } from '../../../shared/src/events/index.js';
import { planProjectBilling } from '../../../shared/src/world/billing.js';
import { generateProjectTime } from '../../../shared/src/world/time.js';
import { type World, type WorldOptions, billingCustomerIdOf, buildWorld } from '../../../shared/src/world/world.js';
import type {
  BillingInvoice,
  BillingPayment,
  BillingSystem,
  InvoiceSearch,
  InvoiceStatus,
  InvoiceSummaryRecord,
  ReceivableRecord,
  SearchResult,
} from '../billingPort.js';
import {
  INVOICE_STATUSES,
  INVOICE_TRANSITIONS,
  InvalidPaymentAmountError,
  InvalidTransitionError,
  InvoiceNotFoundError,
  canTransition,
} from '../invoiceLifecycle.js';
import { invoiceStatusEvent } from '../invoiceEvents.js';

/** A Stripe object ID's shape as a GLOB pattern: the prefix, an underscore and 24 base-62 characters. */
const stripeIdPattern = (prefix: string) => `${prefix}_${'[0-9A-Za-z]'.repeat(24)}`;

const quoted = (statuses: readonly string[]) => statuses.map((status) => `'${status}'`).join(', ');

/** The transition table compiled into SQL, so the trigger and the sandbox's own checks never disagree. */
const ALLOWED_TRANSITION_SQL = INVOICE_STATUSES.filter((from) => INVOICE_TRANSITIONS[from].length > 0)
  .map((from) => `(OLD.status = '${from}' AND NEW.status IN (${quoted(INVOICE_TRANSITIONS[from])}))`)
  .join('\n    OR ');

/** Finalized and not voided: what the customer was actually asked to pay. */
const BILLED_STATUSES: readonly InvoiceStatus[] = ['OPEN', 'PAID', 'UNCOLLECTIBLE'];

/** Open and past its due date on `:asOf` (a day that is due today is not yet overdue). */
const overdueSql = (alias: string) => `(${alias}.status = 'OPEN' AND ${alias}.due_date < :asOf)`;

const DDL = `
-- A Stripe customer per CRM account that buys; Stripe keeps the CRM link in metadata[crm_account_id].
CREATE TABLE customer (
  id TEXT PRIMARY KEY CHECK (id GLOB '${stripeIdPattern('cus')}'),
  crm_account_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  currency TEXT NOT NULL,
  days_until_due INTEGER NOT NULL CHECK (days_until_due > 0));
-- A project's billing profile: whom it is billed to, in which currency, and how its invoices are numbered.
CREATE TABLE billing_project (
  project_id TEXT PRIMARY KEY CHECK (project_id GLOB 'prj_*' AND length(project_id) = 30),
  customer_id TEXT NOT NULL REFERENCES customer(id),
  currency TEXT NOT NULL,
  invoice_number_prefix TEXT NOT NULL UNIQUE,
  next_invoice_sequence INTEGER NOT NULL CHECK (next_invoice_sequence >= 1),
  UNIQUE (project_id, customer_id, currency));
CREATE INDEX billing_project_customer ON billing_project(customer_id);
CREATE TABLE invoice (
  id TEXT PRIMARY KEY CHECK (id GLOB '${stripeIdPattern('in')}'),
  number TEXT UNIQUE,
  status TEXT NOT NULL CONSTRAINT invoice_status_is_known CHECK (status IN (${quoted(INVOICE_STATUSES)})),
  project_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  description TEXT NOT NULL,
  subtotal_minor INTEGER NOT NULL CHECK (subtotal_minor >= 0),
  tax_minor INTEGER NOT NULL CHECK (tax_minor >= 0),
  total_minor INTEGER NOT NULL,
  amount_paid_minor INTEGER NOT NULL DEFAULT 0,
  service_period_start TEXT NOT NULL,
  service_period_end TEXT NOT NULL,
  created_date TEXT NOT NULL,
  finalized_date TEXT,
  due_date TEXT,
  paid_date TEXT,
  voided_date TEXT,
  marked_uncollectible_date TEXT,
  -- The invoice bills the project's customer in the project's currency.
  FOREIGN KEY (project_id, customer_id, currency) REFERENCES billing_project(project_id, customer_id, currency),
  CONSTRAINT invoice_total_is_subtotal_plus_tax CHECK (total_minor = subtotal_minor + tax_minor),
  CONSTRAINT invoice_amount_paid_within_total CHECK (amount_paid_minor BETWEEN 0 AND total_minor),
  CONSTRAINT invoice_paid_in_full_when_paid CHECK (status <> 'PAID' OR amount_paid_minor = total_minor),
  CONSTRAINT invoice_number_only_when_finalized CHECK ((status = 'DRAFT') = (number IS NULL)),
  CONSTRAINT invoice_finalized_date_only_when_finalized CHECK ((status = 'DRAFT') = (finalized_date IS NULL)),
  CONSTRAINT invoice_due_date_when_finalized CHECK (status = 'DRAFT' OR due_date IS NOT NULL),
  CONSTRAINT invoice_paid_date_only_when_paid CHECK ((status = 'PAID') = (paid_date IS NOT NULL)),
  CONSTRAINT invoice_voided_date_only_when_void CHECK ((status = 'VOID') = (voided_date IS NOT NULL)),
  CONSTRAINT invoice_uncollectible_has_date CHECK (status <> 'UNCOLLECTIBLE' OR marked_uncollectible_date IS NOT NULL),
  CONSTRAINT invoice_service_period_in_order CHECK (service_period_start <= service_period_end));
CREATE INDEX invoice_project ON invoice(project_id, created_date);
CREATE INDEX invoice_customer ON invoice(customer_id, status);
CREATE INDEX invoice_created ON invoice(created_date);
CREATE INDEX invoice_status_due ON invoice(status, due_date);
CREATE TABLE payment (
  id TEXT PRIMARY KEY CHECK (id GLOB '${stripeIdPattern('py')}'),
  invoice_id TEXT NOT NULL REFERENCES invoice(id),
  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
  received_date TEXT NOT NULL);
CREATE INDEX payment_invoice ON payment(invoice_id);

CREATE TRIGGER invoice_status_transition BEFORE UPDATE OF status ON invoice
  WHEN NEW.status IS NOT OLD.status AND NOT (
    ${ALLOWED_TRANSITION_SQL})
  BEGIN SELECT RAISE(ABORT, 'invoice ' || OLD.id || ' cannot move from ' || OLD.status || ' to ' || NEW.status); END;
CREATE TRIGGER invoice_finalized_is_fixed BEFORE UPDATE OF subtotal_minor, tax_minor, total_minor, currency, customer_id, project_id ON invoice
  WHEN OLD.status <> 'DRAFT' AND (NEW.subtotal_minor IS NOT OLD.subtotal_minor OR NEW.tax_minor IS NOT OLD.tax_minor
    OR NEW.total_minor IS NOT OLD.total_minor OR NEW.currency IS NOT OLD.currency
    OR NEW.customer_id IS NOT OLD.customer_id OR NEW.project_id IS NOT OLD.project_id)
  BEGIN SELECT RAISE(ABORT, 'invoice ' || OLD.id || ' is finalized: its amounts, currency, customer and project are fixed'); END;
CREATE TRIGGER invoice_amount_paid_is_derived BEFORE UPDATE OF amount_paid_minor ON invoice
  WHEN NEW.amount_paid_minor IS NOT (SELECT COALESCE(SUM(amount_minor), 0) FROM payment WHERE invoice_id = NEW.id)
  BEGIN SELECT RAISE(ABORT, 'invoice ' || OLD.id || ': amount_paid is the sum of its payments'); END;
CREATE TRIGGER payment_needs_payable_invoice BEFORE INSERT ON payment
  WHEN (SELECT status FROM invoice WHERE id = NEW.invoice_id) NOT IN ('OPEN', 'UNCOLLECTIBLE')
  BEGIN SELECT RAISE(ABORT, 'invoice ' || NEW.invoice_id || ' is ' || (SELECT status FROM invoice WHERE id = NEW.invoice_id) || ': only open or uncollectible invoices take payments'); END;
CREATE TRIGGER payment_applies_to_invoice AFTER INSERT ON payment BEGIN
  UPDATE invoice SET
    amount_paid_minor = amount_paid_minor + NEW.amount_minor,
    status = CASE WHEN amount_paid_minor + NEW.amount_minor = total_minor THEN 'PAID' ELSE status END,
    paid_date = CASE WHEN amount_paid_minor + NEW.amount_minor = total_minor THEN NEW.received_date ELSE paid_date END
  WHERE id = NEW.invoice_id;
END;
-- A payment is a record of money received: corrections are refunds, never edits.
CREATE TRIGGER payment_is_immutable BEFORE UPDATE ON payment
  BEGIN SELECT RAISE(ABORT, 'payment ' || OLD.id || ' is immutable'); END;
CREATE TRIGGER payment_is_kept BEFORE DELETE ON payment
  BEGIN SELECT RAISE(ABORT, 'payment ' || OLD.id || ' cannot be deleted'); END;
`;

const invoiceNumber = (prefix: string, sequence: number) => `${prefix}-${String(sequence).padStart(3, '0')}`;

/**
 * Seeds from the world's billing plan. Paid and partly paid invoices are written open and then paid through
 * their payment, so the seed passes through the same triggers as every later payment does.
 */
export function seedBilling(store: SqliteStore, world: World): void {
  const insertCustomer = store.prepare('INSERT INTO customer (id, crm_account_id, name, currency, days_until_due) VALUES (?, ?, ?, ?, ?)');
  for (const account of world.accounts) {
    const customerId = billingCustomerIdOf(world, account);
    if (customerId !== null) insertCustomer.run([customerId, account.crmId, account.name, account.currency, account.paymentTermsDays]);
  }
  const insertProject = store.prepare(
    'INSERT INTO billing_project (project_id, customer_id, currency, invoice_number_prefix, next_invoice_sequence) VALUES (?, ?, ?, ?, ?)',
  );
  const insertInvoice = store.prepare(
    `INSERT INTO invoice (id, number, status, project_id, customer_id, currency, description, subtotal_minor, tax_minor, total_minor,
       service_period_start, service_period_end, created_date, finalized_date, due_date, voided_date, marked_uncollectible_date)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertPayment = store.prepare('INSERT INTO payment (id, invoice_id, amount_minor, received_date) VALUES (?, ?, ?, ?)');
  const date = (day: number | null) => (day === null ? null : isoFromDay(day));
  for (const project of world.projects) {
    const customerId = billingCustomerIdOf(world, world.accounts[project.accountIndex]!);
    if (customerId === null) throw new Error(`Project ${project.id} bills account #${project.accountIndex}, which is not a billing customer`);
    const { invoices } = planProjectBilling(world, project, generateProjectTime(world, project));
    const prefix = `MER-${String(project.index + 1).padStart(5, '0')}`;
    const lastIssued = Math.max(0, ...invoices.filter((invoice) => invoice.status !== 'DRAFT').map((invoice) => invoice.sequence));
    insertProject.run([project.id, customerId, project.currency, prefix, lastIssued + 1]);
    for (const invoice of invoices) {
      const draft = invoice.status === 'DRAFT';
      insertInvoice.run([
        invoice.id,
        draft ? null : invoiceNumber(prefix, invoice.sequence),
        invoice.status === 'PAID' ? 'OPEN' : invoice.status,
        project.id,
        customerId,
        project.currency,
        invoice.description,
        invoice.subtotalMinor,
        invoice.taxMinor,
        invoice.totalMinor,
        isoFromDay(invoice.servicePeriodStartDay),
        isoFromDay(invoice.servicePeriodEndDay),
        isoFromDay(invoice.createdDay),
        date(invoice.finalizedDay),
        date(invoice.dueDay),
        date(invoice.voidedDay),
        date(invoice.uncollectibleDay),
      ]);
      if (invoice.paymentId !== null && invoice.paidDay !== null) {
        insertPayment.run([invoice.paymentId, invoice.id, invoice.amountPaidMinor, isoFromDay(invoice.paidDay)]);
      }
    }
  }
}

interface InvoiceRow {
  id: string;
  number: string | null;
  status: InvoiceStatus;
  project_id: string;
  customer_id: string;
  crm_account_id: string;
  currency: string;
  description: string;
  subtotal_minor: number;
  tax_minor: number;
  total_minor: number;
  amount_paid_minor: number;
  service_period_start: string;
  service_period_end: string;
  created_date: string;
  finalized_date: string | null;
  due_date: string | null;
  paid_date: string | null;
  voided_date: string | null;
  marked_uncollectible_date: string | null;
}

interface PaymentRow {
  id: string;
  invoice_id: string;
  amount_minor: number;
  currency: string;
  received_date: string;
}

interface SummaryRow {
  project_id: string;
  currency: string;
  invoice_count: number;
  billed_minor: number;
  paid_minor: number;
  outstanding_minor: number;
  overdue_minor: number;
  overdue_count: number;
  last_invoice_status: InvoiceStatus | null;
  last_invoice_date: string | null;
}

interface ReceivableRow {
  crm_account_id: string;
  currency: string;
  outstanding_minor: number;
  overdue_minor: number;
  open_invoice_count: number;
}

const toInvoice = (row: InvoiceRow): BillingInvoice => ({
  id: row.id,
  number: row.number,
  status: row.status,
  description: row.description,
  projectId: row.project_id,
  customerId: row.customer_id,
  crmAccountId: row.crm_account_id,
  currency: row.currency,
  subtotalMinor: row.subtotal_minor,
  taxMinor: row.tax_minor,
  totalMinor: row.total_minor,
  amountPaidMinor: row.amount_paid_minor,
  servicePeriodStart: row.service_period_start,
  servicePeriodEnd: row.service_period_end,
  createdDate: row.created_date,
  finalizedDate: row.finalized_date,
  dueDate: row.due_date,
  paidDate: row.paid_date,
  voidedDate: row.voided_date,
  markedUncollectibleDate: row.marked_uncollectible_date,
});

const toPayment = (row: PaymentRow): BillingPayment => ({
  id: row.id,
  invoiceId: row.invoice_id,
  amountMinor: row.amount_minor,
  currency: row.currency,
  receivedDate: row.received_date,
});

const toSummary = (row: SummaryRow): InvoiceSummaryRecord => ({
  projectId: row.project_id,
  currency: row.currency,
  invoiceCount: row.invoice_count,
  billedMinor: row.billed_minor,
  paidMinor: row.paid_minor,
  outstandingMinor: row.outstanding_minor,
  overdueMinor: row.overdue_minor,
  overdueCount: row.overdue_count,
  lastInvoiceStatus: row.last_invoice_status,
  lastInvoiceDate: row.last_invoice_date,
});

const toReceivable = (row: ReceivableRow): ReceivableRecord => ({
  crmAccountId: row.crm_account_id,
  currency: row.currency,
  outstandingMinor: row.outstanding_minor,
  overdueMinor: row.overdue_minor,
  openInvoiceCount: row.open_invoice_count,
});

const INVOICE_COLUMNS = 'i.*, c.crm_account_id';
const INVOICE_FROM = 'invoice i JOIN customer c ON c.id = i.customer_id';
/** Newest first; the ID breaks ties so pages are stable. */
const NEWEST_FIRST = 'i.created_date DESC, i.id DESC';

/**
 * One grouped statement for any number of projects. The LEFT JOIN from the billing profile gives a project
 * with no invoice yet a summary of zeros in its own currency.
 */
const SUMMARY_SQL = `
WITH ranked AS (
  -- Only the columns summed below: the window sorts what it selects, and whole invoice rows cost a third more.
  SELECT i.id, i.project_id, i.status, i.total_minor, i.amount_paid_minor, i.due_date, i.created_date,
    ROW_NUMBER() OVER (PARTITION BY i.project_id ORDER BY ${NEWEST_FIRST}) AS recency
  FROM invoice i WHERE i.project_id IN (SELECT value FROM json_each(:projectIds)))
SELECT p.project_id, p.currency,
  COUNT(r.id) AS invoice_count,
  COALESCE(SUM(CASE WHEN r.status IN (${quoted(BILLED_STATUSES)}) THEN r.total_minor END), 0) AS billed_minor,
  COALESCE(SUM(CASE WHEN r.status IN (${quoted(BILLED_STATUSES)}) THEN r.amount_paid_minor END), 0) AS paid_minor,
  COALESCE(SUM(CASE WHEN r.status = 'OPEN' THEN r.total_minor - r.amount_paid_minor END), 0) AS outstanding_minor,
  COALESCE(SUM(CASE WHEN ${overdueSql('r')} THEN r.total_minor - r.amount_paid_minor END), 0) AS overdue_minor,
  COUNT(CASE WHEN ${overdueSql('r')} THEN 1 END) AS overdue_count,
  MAX(CASE WHEN r.recency = 1 THEN r.status END) AS last_invoice_status,
  MAX(CASE WHEN r.recency = 1 THEN r.created_date END) AS last_invoice_date
FROM billing_project p LEFT JOIN ranked r ON r.project_id = p.project_id
WHERE p.project_id IN (SELECT value FROM json_each(:projectIds))
GROUP BY p.project_id, p.currency`;

const RECEIVABLES_SQL = `
SELECT c.crm_account_id, i.currency,
  SUM(i.total_minor - i.amount_paid_minor) AS outstanding_minor,
  COALESCE(SUM(CASE WHEN ${overdueSql('i')} THEN i.total_minor - i.amount_paid_minor END), 0) AS overdue_minor,
  COUNT(*) AS open_invoice_count
FROM customer c JOIN invoice i ON i.customer_id = c.id AND i.status = 'OPEN'
WHERE c.crm_account_id IN (SELECT value FROM json_each(:accountIds))
GROUP BY c.crm_account_id, i.currency
ORDER BY c.crm_account_id, i.currency`;

/** Reads the sandbox's "now"; tests pin it, so that overdue and the dates of state changes are reproducible. */
export type Clock = () => Date;

/** A random source for new payment IDs: unlike the seed, live IDs must not repeat across runs. */
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

  constructor(
    readonly store: SqliteStore,
    private readonly clock: Clock = () => new Date(),
  ) {
    store.exec(OUTBOX_DDL);
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

  async searchInvoices(search: InvoiceSearch, page: PageRequest): Promise<SearchResult<BillingInvoice>> {
    const where = new WhereBuilder()
      .add('i.status IN (SELECT value FROM json_each(:statuses))', 'statuses', search.statuses)
      .add('i.project_id = :projectId', 'projectId', search.projectId)
      .add('c.crm_account_id = :crmAccountId', 'crmAccountId', search.crmAccountId)
      .add(overdueSql('i'), 'asOf', search.overdue === true ? search.asOf : null)
      .add(`NOT ${overdueSql('i')}`, 'asOf', search.overdue === false ? search.asOf : null)
      .raw("i.status = 'OPEN' AND i.amount_paid_minor > 0", search.partiallyPaid === true)
      .raw("NOT (i.status = 'OPEN' AND i.amount_paid_minor > 0)", search.partiallyPaid === false)
      .add('i.created_date >= :createdFrom', 'createdFrom', search.createdFrom)
      .add('i.created_date <= :createdTo', 'createdTo', search.createdTo)
      .add('i.due_date >= :dueFrom', 'dueFrom', search.dueFrom)
      .add('i.due_date <= :dueTo', 'dueTo', search.dueTo);
    // One statement for the page and one for the count, whatever the page size.
    const rows = this.store
      .prepare<InvoiceRow>(`SELECT ${INVOICE_COLUMNS} FROM ${INVOICE_FROM} ${where} ORDER BY ${NEWEST_FIRST} LIMIT :limit OFFSET :offset`)
      .all({ ...where.params, limit: page.limit, offset: page.offset });
    const total = this.store.prepare<{ n: number }>(`SELECT COUNT(*) AS n FROM ${INVOICE_FROM} ${where}`).get(where.params)!;
    return { rows: rows.map(toInvoice), totalCount: total.n };
  }

  async finalizeInvoice(id: string): Promise<BillingInvoice> {
    return this.transition(id, 'OPEN', (invoice) => {
      const { prefix, sequence } = this.takeNumberStatement.get([invoice.projectId])!;
      this.finalizeStatement.run({ id, number: invoiceNumber(prefix, sequence), today: this.today() });
    });
  }

  async payInvoice(id: string, amountMinor?: number): Promise<BillingInvoice> {
    return this.transition(id, 'PAID', (invoice) => {
      const amountRemainingMinor = invoice.totalMinor - invoice.amountPaidMinor;
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
      if (changed.status !== invoice.status) appendToOutbox(this.store, invoiceStatusEvent(invoice, changed));
      return changed;
    });
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
