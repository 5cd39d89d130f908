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
  /**
   * What the customer is asked to pay: the total less what credit notes took off it while it was unpaid (Stripe's
   * `amount_due`, reduced by `pre_payment_credit_notes_amount`). What remains to be paid is this less the amount paid.
   */
  readonly amountDueMinor: number;
  readonly amountPaidMinor: number;
  /** The sum of the invoice's credit notes (Stripe's pre- and post-payment credit notes amounts). */
  readonly creditedMinor: number;
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
 * net of credit notes: billed is the totals less every credit note, paid is what was paid less what credit notes
 * gave back after payment (credited outside Stripe), and outstanding is what remains after payments and the credit
 * notes issued before payment — so billed = paid + outstanding + what was written off as uncollectible.
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

/** Stripe's reasons for a credit note, upper-cased. */
export type CreditNoteReason = 'DUPLICATE' | 'ORDER_CHANGE' | 'PRODUCT_UNSATISFACTORY' | 'FRAUDULENT';

/** A credit note to issue on a finalized invoice, crediting some of its lines by source. */
export interface CreditNoteDraft {
  /** Idempotency key: the same key and the same draft return the same credit note; another draft is refused. */
  readonly key: string;
  readonly invoiceId: string;
  readonly reason: CreditNoteReason;
  /** Shown to the customer on the credit note. */
  readonly memo: string | null;
  /**
   * Credit these lines of the invoice, by their source key, each by the given amount (at most the line's amount
   * less what was credited on it before). 1 to 250 lines, source keys distinct.
   */
  readonly lines: ReadonlyArray<{ readonly sourceKey: string; readonly amountMinor: number }>;
}

export interface BillingCreditNoteLine {
  /** The source of the invoice line it credits; null on a line credited outside psgraph (a seeded or Dashboard line). */
  readonly sourceKey: string | null;
  readonly amountMinor: number;
}

/** A credit note issued on an invoice (Stripe: `cn_…`, numbered after its invoice: `MER-00042-007-CN-01`). */
export interface BillingCreditNote {
  readonly id: string;
  readonly number: string;
  readonly invoiceId: string;
  readonly projectId: string;
  readonly crmAccountId: string;
  readonly currency: string;
  readonly totalMinor: number;
  /** Null only on a credit note issued without one outside psgraph (Stripe's Dashboard makes it optional). */
  readonly reason: CreditNoteReason | null;
  readonly memo: string | null;
  readonly createdDate: string;
  readonly lines: readonly BillingCreditNoteLine[];
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

  /**
   * Issues a credit note on an open or paid invoice (Stripe refuses drafts and void invoices; psgraph refuses
   * uncollectible ones too: a write-off is not re-opened by a credit). On an open invoice it first reduces what
   * remains to be paid (never below 0; the invoice stays open — see docs/project-to-cash.md); what it credits beyond
   * that, and all of it on a paid invoice, is recorded as credited outside Stripe (refunded or offset in the firm's
   * books). All or nothing; the same key again returns the same credit note (`created: false`).
   */
  issueCreditNote(draft: CreditNoteDraft): Promise<{ readonly creditNote: BillingCreditNote; readonly created: boolean }>;
  /** Each invoice's credit notes, oldest first (by number). */
  creditNotesByInvoiceId(invoiceIds: readonly string[]): Promise<Map<string, BillingCreditNote[]>>;

  /** The billing system's calendar date (ISO): what "overdue" and the dates of state changes are judged by. */
  today(): string;
}

/**
 * Billing as the subgraph runs over it: the port, and where its business events (`invoice.posted`,
 * `invoice.paid`, …, `credit_note.issued`) come from — the sandbox's outbox, or Stripe's webhooks.
 */
export type BillingAdapter = SystemAdapter<BillingSystem>;
