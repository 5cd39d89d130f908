/**
 * The billing tables (customer, billing_project, invoice, invoice_line, payment, credit_note), their rows and the port records they map to,
 * and the queries over them: the sandbox stores billing in these tables, and the Stripe adapter's local replica
 * lays Stripe's records out in them too, so that the port's aggregates (summaries, receivables, searches) are this
 * very SQL over either store.
 */
import { WhereBuilder } from '../../platform/src/index.js';
import type {
  BillingCreditNote,
  BillingInvoice,
  BillingInvoiceLine,
  CreditNoteReason,
  BillingPayment,
  InvoiceSearch,
  InvoiceStatus,
  InvoiceSummaryRecord,
  ReceivableRecord,
} from './billingPort.js';

export const quoted = (statuses: readonly string[]) => statuses.map((status) => `'${status}'`).join(', ');

/** Finalized and not voided: what the customer was actually asked to pay. */
export const BILLED_STATUSES: readonly InvoiceStatus[] = ['OPEN', 'PAID', 'UNCOLLECTIBLE'];

/** Open and past its due date on `:asOf` (a day that is due today is not yet overdue). */
export const overdueSql = (alias: string) => `(${alias}.status = 'OPEN' AND ${alias}.due_date < :asOf)`;

export interface InvoiceRow {
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
  /** What credit notes took off the invoice while it was unpaid (Stripe's `pre_payment_credit_notes_amount`). */
  pre_payment_credit_minor: number;
  /** What credit notes gave back beyond that (Stripe's `post_payment_credit_notes_amount`). */
  post_payment_credit_minor: number;
  service_period_start: string;
  service_period_end: string;
  created_date: string;
  finalized_date: string | null;
  due_date: string | null;
  paid_date: string | null;
  voided_date: string | null;
  marked_uncollectible_date: string | null;
}

export interface PaymentRow {
  id: string;
  invoice_id: string;
  amount_minor: number;
  currency: string;
  received_date: string;
}

export interface InvoiceLineRow {
  invoice_id: string;
  line_number: number;
  source_key: string | null;
  description: string;
  amount_minor: number;
}

export interface SummaryRow {
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

export interface ReceivableRow {
  crm_account_id: string;
  currency: string;
  outstanding_minor: number;
  overdue_minor: number;
  open_invoice_count: number;
}

export const toInvoice = (row: InvoiceRow): BillingInvoice => ({
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
  amountDueMinor: row.total_minor - row.pre_payment_credit_minor,
  amountPaidMinor: row.amount_paid_minor,
  creditedMinor: row.pre_payment_credit_minor + row.post_payment_credit_minor,
  servicePeriodStart: row.service_period_start,
  servicePeriodEnd: row.service_period_end,
  createdDate: row.created_date,
  finalizedDate: row.finalized_date,
  dueDate: row.due_date,
  paidDate: row.paid_date,
  voidedDate: row.voided_date,
  markedUncollectibleDate: row.marked_uncollectible_date,
});

export const toPayment = (row: PaymentRow): BillingPayment => ({
  id: row.id,
  invoiceId: row.invoice_id,
  amountMinor: row.amount_minor,
  currency: row.currency,
  receivedDate: row.received_date,
});

export const toInvoiceLine = (row: InvoiceLineRow): BillingInvoiceLine => ({
  invoiceId: row.invoice_id,
  sourceKey: row.source_key,
  description: row.description,
  amountMinor: row.amount_minor,
});

/** The lines of a batch of invoices (`?`: a JSON list of IDs), each invoice's in its line order. */
export const INVOICE_LINES_SQL = `SELECT * FROM invoice_line WHERE invoice_id IN (SELECT value FROM json_each(?)) ORDER BY invoice_id, line_number`;

/**
 * The invoice that bills each of the sources (`?`: a JSON list of source keys) and is not void: what keeps a
 * source from being billed twice.
 */
export const BILLED_SOURCES_SQL = `
SELECT l.source_key, l.invoice_id FROM invoice_line l JOIN invoice i ON i.id = l.invoice_id
WHERE l.source_key IN (SELECT value FROM json_each(?)) AND i.status <> 'VOID'`;

export const toSummary = (row: SummaryRow): InvoiceSummaryRecord => ({
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

export const toReceivable = (row: ReceivableRow): ReceivableRecord => ({
  crmAccountId: row.crm_account_id,
  currency: row.currency,
  outstandingMinor: row.outstanding_minor,
  overdueMinor: row.overdue_minor,
  openInvoiceCount: row.open_invoice_count,
});

export const INVOICE_COLUMNS = 'i.*, c.crm_account_id';
export const INVOICE_FROM = 'invoice i JOIN customer c ON c.id = i.customer_id';
/** Newest first; the ID breaks ties so pages are stable. */
export const NEWEST_FIRST = 'i.created_date DESC, i.id DESC';

/** What remains to be paid: the total less payments and the credit notes issued before payment (Stripe's `amount_remaining`). */
const REMAINING = (alias: string) => `(${alias}.total_minor - ${alias}.pre_payment_credit_minor - ${alias}.amount_paid_minor)`;
/** What was billed net of every credit note. */
const BILLED_NET = (alias: string) => `(${alias}.total_minor - ${alias}.pre_payment_credit_minor - ${alias}.post_payment_credit_minor)`;
/** What was paid and kept: payments less what credit notes gave back after payment. */
const PAID_NET = (alias: string) => `(${alias}.amount_paid_minor - ${alias}.post_payment_credit_minor)`;

/**
 * One grouped statement for any number of projects. The LEFT JOIN from the billing profile gives a project
 * with no invoice yet a summary of zeros in its own currency.
 */
export const SUMMARY_SQL = `
WITH ranked AS (
  -- Only the columns summed below: the window sorts what it selects, and whole invoice rows cost a third more.
  SELECT i.id, i.project_id, i.status, i.total_minor, i.amount_paid_minor, i.pre_payment_credit_minor, i.post_payment_credit_minor,
    i.due_date, i.created_date,
    ROW_NUMBER() OVER (PARTITION BY i.project_id ORDER BY ${NEWEST_FIRST}) AS recency
  FROM invoice i WHERE i.project_id IN (SELECT value FROM json_each(:projectIds)))
SELECT p.project_id, p.currency,
  COUNT(r.id) AS invoice_count,
  COALESCE(SUM(CASE WHEN r.status IN (${quoted(BILLED_STATUSES)}) THEN ${BILLED_NET('r')} END), 0) AS billed_minor,
  COALESCE(SUM(CASE WHEN r.status IN (${quoted(BILLED_STATUSES)}) THEN ${PAID_NET('r')} END), 0) AS paid_minor,
  COALESCE(SUM(CASE WHEN r.status = 'OPEN' THEN ${REMAINING('r')} END), 0) AS outstanding_minor,
  COALESCE(SUM(CASE WHEN ${overdueSql('r')} THEN ${REMAINING('r')} END), 0) AS overdue_minor,
  COUNT(CASE WHEN ${overdueSql('r')} THEN 1 END) AS overdue_count,
  MAX(CASE WHEN r.recency = 1 THEN r.status END) AS last_invoice_status,
  MAX(CASE WHEN r.recency = 1 THEN r.created_date END) AS last_invoice_date
FROM billing_project p LEFT JOIN ranked r ON r.project_id = p.project_id
WHERE p.project_id IN (SELECT value FROM json_each(:projectIds))
GROUP BY p.project_id, p.currency`;

export const RECEIVABLES_SQL = `
SELECT c.crm_account_id, i.currency,
  SUM(${REMAINING('i')}) AS outstanding_minor,
  COALESCE(SUM(CASE WHEN ${overdueSql('i')} THEN ${REMAINING('i')} END), 0) AS overdue_minor,
  COUNT(*) AS open_invoice_count
FROM customer c JOIN invoice i ON i.customer_id = c.id AND i.status = 'OPEN'
WHERE c.crm_account_id IN (SELECT value FROM json_each(:accountIds))
GROUP BY c.crm_account_id, i.currency
ORDER BY c.crm_account_id, i.currency`;

/** The filters of an invoice search, as one WHERE clause over INVOICE_FROM. */
export function invoiceSearchWhere(search: InvoiceSearch): WhereBuilder {
  return new WhereBuilder()
    .add('i.status IN (SELECT value FROM json_each(:statuses))', 'statuses', search.statuses)
    .add('i.project_id = :projectId', 'projectId', search.projectId)
    .add('c.crm_account_id = :crmAccountId', 'crmAccountId', search.crmAccountId)
    .add('c.crm_account_id IN (SELECT value FROM json_each(:crmAccountIds))', 'crmAccountIds', search.crmAccountIds)
    .add(overdueSql('i'), 'asOf', search.overdue === true ? search.asOf : null)
    .add(`NOT ${overdueSql('i')}`, 'asOf', search.overdue === false ? search.asOf : null)
    .raw("i.status = 'OPEN' AND i.amount_paid_minor > 0", search.partiallyPaid === true)
    .raw("NOT (i.status = 'OPEN' AND i.amount_paid_minor > 0)", search.partiallyPaid === false)
    .add('i.created_date >= :createdFrom', 'createdFrom', search.createdFrom)
    .add('i.created_date <= :createdTo', 'createdTo', search.createdTo)
    .add('i.due_date >= :dueFrom', 'dueFrom', search.dueFrom)
    .add('i.due_date <= :dueTo', 'dueTo', search.dueTo);
}

/**
 * Credit notes and their lines, in the same layout in the sandbox and the Stripe replica. A line names the source of
 * the invoice line it credits (null: a line that bills none); `key` is the idempotency key psgraph issued the credit
 * note under (Stripe: metadata[psgraph_credit_note_key]), null on one issued outside psgraph.
 */
export const CREDIT_NOTE_TABLES = `
CREATE TABLE IF NOT EXISTS credit_note (
  id TEXT PRIMARY KEY,
  number TEXT NOT NULL,
  invoice_id TEXT NOT NULL,
  key TEXT UNIQUE,
  reason TEXT CHECK (reason IN ('DUPLICATE', 'ORDER_CHANGE', 'PRODUCT_UNSATISFACTORY', 'FRAUDULENT')),
  memo TEXT,
  total_minor INTEGER NOT NULL CHECK (typeof(total_minor) = 'integer' AND total_minor > 0),
  pre_payment_minor INTEGER NOT NULL CHECK (pre_payment_minor >= 0),
  post_payment_minor INTEGER NOT NULL CHECK (post_payment_minor >= 0),
  created_date TEXT NOT NULL,
  CONSTRAINT credit_note_split_is_whole CHECK (pre_payment_minor + post_payment_minor = total_minor));
CREATE INDEX IF NOT EXISTS credit_note_invoice ON credit_note(invoice_id);
CREATE TABLE IF NOT EXISTS credit_note_line (
  credit_note_id TEXT NOT NULL,
  line_number INTEGER NOT NULL CHECK (line_number >= 1),
  source_key TEXT,
  amount_minor INTEGER NOT NULL CHECK (typeof(amount_minor) = 'integer' AND amount_minor > 0),
  PRIMARY KEY (credit_note_id, line_number)) WITHOUT ROWID;
`;

export interface CreditNoteRow {
  id: string;
  number: string;
  invoice_id: string;
  key: string | null;
  reason: CreditNoteReason | null;
  memo: string | null;
  total_minor: number;
  pre_payment_minor: number;
  post_payment_minor: number;
  created_date: string;
}

export interface CreditNoteLineRow {
  credit_note_id: string;
  line_number: number;
  source_key: string | null;
  amount_minor: number;
}

/** The credit notes of a batch of invoices (`?`: a JSON list of invoice IDs), each invoice's oldest first, with what they belong to. */
export const CREDIT_NOTES_SQL = `
SELECT n.*, i.project_id, i.currency, c.crm_account_id,
  (SELECT json_group_array(json_object('sourceKey', l.source_key, 'amountMinor', l.amount_minor))
   FROM (SELECT source_key, amount_minor FROM credit_note_line WHERE credit_note_id = n.id ORDER BY line_number) l) AS lines
FROM credit_note n JOIN invoice i ON i.id = n.invoice_id JOIN customer c ON c.id = i.customer_id
WHERE n.invoice_id IN (SELECT value FROM json_each(?))
ORDER BY n.invoice_id, n.number`;

export type CreditNoteWithLinesRow = CreditNoteRow & { project_id: string; currency: string; crm_account_id: string; lines: string };

export const toCreditNote = (row: CreditNoteWithLinesRow): BillingCreditNote => ({
  id: row.id,
  number: row.number,
  invoiceId: row.invoice_id,
  projectId: row.project_id,
  crmAccountId: row.crm_account_id,
  currency: row.currency,
  totalMinor: row.total_minor,
  reason: row.reason,
  memo: row.memo,
  createdDate: row.created_date,
  lines: JSON.parse(row.lines) as BillingCreditNote['lines'],
});
