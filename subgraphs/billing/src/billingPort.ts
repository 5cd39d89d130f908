/**
 * What the billing subgraph needs from the billing system. The sandbox implements it over SQLite; the Stripe
 * adapter (`stripe/`) over the Stripe API. Every lookup takes a batch of keys, because every lookup is called
 * from a DataLoader. Methods are async because a vendor adapter's are.
 *
 * Amounts are integers in minor units (as Stripe keeps them) and dates are ISO `YYYY-MM-DD`.
 */
import type { PageRequest, SearchResult, SystemAdapter } from '../../platform/src/index.js';

export type { SearchResult };

/** Stripe's invoice statuses, upper-cased as the canonical enum spells them. */
export type InvoiceStatus = 'DRAFT' | 'OPEN' | 'PAID' | 'VOID' | 'UNCOLLECTIBLE';

export interface BillingInvoice {
  readonly id: string;
  /** Null while the invoice is a draft: Stripe assigns the number at finalization. */
  readonly number: string | null;
  readonly status: InvoiceStatus;
  readonly description: string;
  /** Canonical project ID (`prj_…`), from the project's billing profile. */
  readonly projectId: string;
  /** Billing customer ID (`cus_…`). */
  readonly customerId: string;
  /** The CRM Account the customer stands for (kept in the customer's metadata). */
  readonly crmAccountId: string;
  readonly currency: string;
  readonly subtotalMinor: number;
  readonly taxMinor: number;
  readonly totalMinor: number;
  readonly amountPaidMinor: number;
  readonly servicePeriodStart: string;
  readonly servicePeriodEnd: string;
  readonly createdDate: string;
  readonly finalizedDate: string | null;
  readonly dueDate: string | null;
  readonly paidDate: string | null;
  readonly voidedDate: string | null;
  readonly markedUncollectibleDate: string | null;
}

export interface BillingPayment {
  readonly id: string;
  readonly invoiceId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly receivedDate: string;
}

/**
 * A project's invoices rolled up by the billing system, so that a page of projects never pulls every invoice
 * into the subgraph. `billed` and `paid` cover the finalized, not voided invoices (open, paid, uncollectible),
 * so billed = paid + outstanding + what was written off as uncollectible.
 */
export interface InvoiceSummaryRecord {
  readonly projectId: string;
  /** The project's billing currency, known even before its first invoice. */
  readonly currency: string;
  /** Every invoice of the project, drafts and voided ones included. */
  readonly invoiceCount: number;
  readonly billedMinor: number;
  readonly paidMinor: number;
  /** What remains to be paid on open invoices. */
  readonly outstandingMinor: number;
  /** What remains to be paid on open invoices past their due date. */
  readonly overdueMinor: number;
  readonly overdueCount: number;
  /** Status of the newest invoice by created date, drafts included (the first of `invoicesByProjectId`). */
  readonly lastInvoiceStatus: InvoiceStatus | null;
  readonly lastInvoiceDate: string | null;
}

/** Open invoices of one customer in one currency. */
export interface ReceivableRecord {
  readonly crmAccountId: string;
  readonly currency: string;
  readonly outstandingMinor: number;
  readonly overdueMinor: number;
  readonly openInvoiceCount: number;
}

/**
 * One line of an invoice to create: it bills exactly one source (an ERP posting's external ID such as
 * `time:900000001:v2`, or a billing-schedule line such as `schedule:<projectId>:<sequence>`).
 */
export interface InvoiceLineDraft {
  readonly sourceKey: string;
  readonly description: string;
  readonly amountMinor: number;
}

/** An invoice the process layer asks billing to create (as a draft; finalizing it is a separate step). */
export interface InvoiceDraft {
  /** Idempotency key: creating again with the same key returns the same invoice and creates nothing. */
  readonly key: string;
  /** Canonical `prj_…` with a billing profile: the invoice's customer and currency come from it. */
  readonly projectId: string;
  readonly description: string;
  /** YYYY-MM-DD */
  readonly servicePeriodStart: string;
  readonly servicePeriodEnd: string;
  /** 1 to 250 lines (Stripe's limit on an invoice's line items), amounts above 0, source keys distinct. */
  readonly lines: readonly InvoiceLineDraft[];
}

export interface BillingInvoiceLine {
  readonly invoiceId: string;
  /** What the line bills; null on lines psgraph did not write (seeded invoices, lines added in Stripe's Dashboard). */
  readonly sourceKey: string | null;
  readonly description: string;
  readonly amountMinor: number;
}

export interface InvoiceSearch {
  readonly statuses?: readonly InvoiceStatus[] | null;
  readonly projectId?: string | null;
  /** The CRM Account whose billing customer was invoiced. */
  readonly crmAccountId?: string | null;
  /** Only invoices of these CRM accounts (a client user's): how row-level access narrows a search. */
  readonly crmAccountIds?: readonly string[] | null;
  readonly overdue?: boolean | null;
  readonly partiallyPaid?: boolean | null;
  readonly createdFrom?: string | null;
  readonly createdTo?: string | null;
  readonly dueFrom?: string | null;
  readonly dueTo?: string | null;
  /** The day overdue is judged against; callers pass one per request so every field agrees. */
  readonly asOf: string;
}

export interface BillingSystem {
  invoicesById(ids: readonly string[]): Promise<Map<string, BillingInvoice>>;
  /** Each project's invoices, newest first (created date, then ID). */
  invoicesByProjectId(projectIds: readonly string[]): Promise<Map<string, BillingInvoice[]>>;
  /** Each invoice's payments, oldest first. */
  paymentsByInvoiceId(invoiceIds: readonly string[]): Promise<Map<string, BillingPayment[]>>;
  /** One summary per project the billing system knows (has a billing profile for); others are absent. */
  invoiceSummariesByProjectId(projectIds: readonly string[], asOf: string): Promise<Map<string, InvoiceSummaryRecord>>;
  /** Open receivables per currency of each CRM account's billing customer; absent when there are none. */
  receivablesByAccountId(crmAccountIds: readonly string[], asOf: string): Promise<Map<string, ReceivableRecord[]>>;
  /** Newest first. */
  searchInvoices(search: InvoiceSearch, page: PageRequest): Promise<SearchResult<BillingInvoice>>;

  /** Each invoice's lines, in the invoice's line order. */
  invoiceLinesByInvoiceId(invoiceIds: readonly string[]): Promise<Map<string, BillingInvoiceLine[]>>;

  /**
   * Creates a draft invoice of the project's billing customer, in the project's currency, with one line per
   * source — all of it or nothing. Tax is 0: tax calculation is out of scope (the total is the lines' sum).
   * The same key again returns the same invoice (`created: false`); the same key with another draft, a source
   * already billed by an invoice that is not void, or a project without a billing profile is refused.
   */
  createInvoice(draft: InvoiceDraft): Promise<{ readonly invoice: BillingInvoice; readonly created: boolean }>;
  /** Draft → open: assigns the number, the finalized date and the due date (customer's payment terms). */
  finalizeInvoice(id: string): Promise<BillingInvoice>;
  /**
   * Records a payment (by default the whole amount remaining) on an open or uncollectible invoice. A partial
   * payment leaves the status as it is; the payment that clears the amount makes the invoice paid.
   */
  payInvoice(id: string, amountMinor?: number): Promise<BillingInvoice>;
  /** Open or uncollectible → void. */
  voidInvoice(id: string): Promise<BillingInvoice>;
  /** Open → uncollectible. */
  markUncollectible(id: string): Promise<BillingInvoice>;

  /** The billing system's calendar date (ISO): what "overdue" and the dates of state changes are judged by. */
  today(): string;
}

/**
 * Billing as the subgraph runs over it: the port, and where its business events (`invoice.posted`,
 * `invoice.paid`, …) come from — the sandbox's outbox, or Stripe's webhooks.
 */
export type BillingAdapter = SystemAdapter<BillingSystem>;
