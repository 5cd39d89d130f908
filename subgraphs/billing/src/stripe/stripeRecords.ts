/**
 * Stripe's objects as billing knows them: which metadata keys link them to psgraph (docs/vendors/stripe.md asks
 * the account to carry them), and the rows of the local replica they become. Money is in minor units on both
 * sides; currencies are lower case in Stripe and upper case in psgraph; Stripe's instants become UTC dates.
 */
import type Stripe from 'stripe';
import { isoFromDay } from '../../../platform/src/index.js';
import type { CreditNoteReason, InvoiceStatus } from '../billingPort.js';
import type { CreditNoteLineRow, CreditNoteRow } from '../billingTables.js';

/** The metadata keys psgraph reads, and writes on the invoices and invoice items it creates. */
export const METADATA = {
  /** On an invoice and on a project's product: the canonical project ID (`prj_…`). */
  projectId: 'psgraph_project_id',
  /** On a customer (and copied on its invoices): the CRM Account the customer stands for. */
  crmAccountId: 'psgraph_crm_account_id',
  /** On a customer: its payment terms in days (due date = finalization date + terms). */
  paymentTermsDays: 'psgraph_payment_terms_days',
  /** On a project's product: the prefix of the project's invoice numbers (`MER-00042` → `MER-00042-007`). */
  invoiceNumberPrefix: 'psgraph_invoice_number_prefix',
  /** On a project's product: the customer (`cus_…`) its invoices bill. Without it: the customer of its invoices. */
  customerId: 'psgraph_customer_id',
  /** On an invoice psgraph created: the idempotency key it was created under. */
  invoiceKey: 'psgraph_invoice_key',
  /** On an invoice psgraph created: its service period (also each item's period). */
  servicePeriodStart: 'psgraph_service_period_start',
  servicePeriodEnd: 'psgraph_service_period_end',
  /** On an invoice item psgraph created (and so on its line item): the source it bills. */
  sourceKey: 'psgraph_source_key',
  /** On a credit note psgraph issued: the idempotency key it was issued under. */
  creditNoteKey: 'psgraph_credit_note_key',
} as const;

const DAY_S = 86_400;

/** The UTC date of a Stripe timestamp (seconds). */
export const dateOf = (seconds: number): string => isoFromDay(Math.floor(seconds / DAY_S));
export const optionalDateOf = (seconds: number | null | undefined): string | null => (seconds === null || seconds === undefined ? null : dateOf(seconds));
/**
 * A date as a Stripe timestamp: noon UTC, so that the Dashboard shows the same calendar day in any time zone
 * from UTC−11 to UTC+11.
 */
export const timestampOf = (isoDate: string): number => Math.floor(Date.parse(`${isoDate}T12:00:00Z`) / 1000);

export const STATUS_OF: Readonly<Record<string, InvoiceStatus>> = {
  draft: 'DRAFT',
  open: 'OPEN',
  paid: 'PAID',
  void: 'VOID',
  uncollectible: 'UNCOLLECTIBLE',
};

/** A replica invoice row: the billing tables' columns (billingTables.ts), from Stripe's invoice. */
export interface ReplicaInvoice {
  readonly id: string;
  readonly number: string | null;
  readonly status: InvoiceStatus;
  readonly project_id: string;
  readonly customer_id: string;
  readonly currency: string;
  readonly description: string;
  readonly subtotal_minor: number;
  readonly tax_minor: number;
  readonly total_minor: number;
  readonly amount_paid_minor: number;
  readonly pre_payment_credit_minor: number;
  readonly post_payment_credit_minor: number;
  readonly service_period_start: string;
  readonly service_period_end: string;
  readonly created_date: string;
  readonly finalized_date: string | null;
  readonly due_date: string | null;
  readonly paid_date: string | null;
  readonly voided_date: string | null;
  readonly marked_uncollectible_date: string | null;
  /** Stripe's `created`, for the order of what was synced. */
  readonly created_at: number;
}

export interface ReplicaCustomer {
  readonly id: string;
  readonly crm_account_id: string;
  readonly currency: string | null;
  readonly days_until_due: number | null;
}

/** A project's billing profile: its product in Stripe. */
export interface ReplicaProfile {
  readonly project_id: string;
  readonly product_id: string;
  /** The customer its invoices bill, when the product names it. */
  readonly customer_id: string | null;
  readonly currency: string;
  readonly invoice_number_prefix: string;
}

export interface ReplicaPayment {
  readonly id: string;
  readonly invoice_id: string;
  readonly amount_minor: number;
  readonly received_date: string;
  readonly created_at: number;
}

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  value === null || value === undefined ? null : typeof value === 'string' ? value : value.id;

/** The project an invoice bills, or null when it is none of psgraph's (no project metadata). */
export const projectOfInvoice = (invoice: Stripe.Invoice): string | null => invoice.metadata?.[METADATA.projectId] || null;

/**
 * The replica row of a psgraph invoice, or null for an invoice that is not psgraph's (no project metadata, no
 * customer) or not a real one (a preview). `lines` are the invoice's line items when the invoice's own first page
 * of them is not all of them; the service period is the one psgraph wrote on the invoice, or else the span of
 * their periods.
 */
export function toReplicaInvoice(invoice: Stripe.Invoice, lines: readonly Stripe.InvoiceLineItem[] = invoice.lines?.data ?? []): ReplicaInvoice | null {
  const projectId = projectOfInvoice(invoice);
  const customerId = idOf(invoice.customer);
  const status = invoice.status ? STATUS_OF[invoice.status] : undefined;
  if (!projectId || !customerId || !status || !invoice.id.startsWith('in_')) return null;
  const starts = lines.map((line) => line.period.start);
  const ends = lines.map((line) => line.period.end);
  const transitions = invoice.status_transitions;
  return {
    id: invoice.id,
    number: invoice.number,
    status,
    project_id: projectId,
    customer_id: customerId,
    currency: invoice.currency.toUpperCase(),
    description: invoice.description ?? '',
    subtotal_minor: invoice.subtotal,
    tax_minor: (invoice.total_taxes ?? []).reduce((sum, tax) => sum + tax.amount, 0),
    total_minor: invoice.total,
    amount_paid_minor: invoice.amount_paid,
    pre_payment_credit_minor: invoice.pre_payment_credit_notes_amount ?? 0,
    post_payment_credit_minor: invoice.post_payment_credit_notes_amount ?? 0,
    // An invoice psgraph created states its period (it has one even before its first item); others span their items'.
    service_period_start: invoice.metadata?.[METADATA.servicePeriodStart] || dateOf(starts.length > 0 ? Math.min(...starts) : invoice.period_start),
    service_period_end: invoice.metadata?.[METADATA.servicePeriodEnd] || dateOf(ends.length > 0 ? Math.max(...ends) : invoice.period_end),
    created_date: dateOf(invoice.created),
    finalized_date: optionalDateOf(transitions.finalized_at),
    // Stripe may show a draft's due date from its payment terms; billing's due date is set when it is finalized.
    due_date: status === 'DRAFT' ? null : optionalDateOf(invoice.due_date),
    paid_date: status === 'PAID' ? optionalDateOf(transitions.paid_at) : null,
    voided_date: optionalDateOf(transitions.voided_at),
    marked_uncollectible_date: optionalDateOf(transitions.marked_uncollectible_at),
    created_at: invoice.created,
  };
}

/** A replica invoice_line row (billingTables.ts): one of an invoice's line items, in the invoice's order. */
export interface ReplicaInvoiceLine {
  readonly invoice_id: string;
  readonly line_number: number;
  readonly source_key: string | null;
  readonly description: string;
  readonly amount_minor: number;
}

/** The invoice's line items as replica rows; the source key is the one psgraph put on the invoice item. */
export const toReplicaLines = (invoiceId: string, lines: readonly Stripe.InvoiceLineItem[]): ReplicaInvoiceLine[] =>
  lines.map((line, index) => ({
    invoice_id: invoiceId,
    line_number: index + 1,
    source_key: line.metadata?.[METADATA.sourceKey] || null,
    description: line.description ?? '',
    amount_minor: line.amount,
  }));

/** The key psgraph created the invoice under, or null for an invoice psgraph did not create. */
export const keyOfInvoice = (invoice: Stripe.Invoice): string | null => invoice.metadata?.[METADATA.invoiceKey] || null;

/** A psgraph customer (one that names its CRM account), or null. `fallbackCrmAccountId`: from an invoice's metadata. */
export function toReplicaCustomer(customer: Stripe.Customer | Stripe.DeletedCustomer, fallbackCrmAccountId?: string | null): ReplicaCustomer | null {
  if ('deleted' in customer && customer.deleted) return null;
  const live = customer as Stripe.Customer;
  const crmAccountId = live.metadata?.[METADATA.crmAccountId] || fallbackCrmAccountId;
  if (!crmAccountId) return null;
  const terms = Number(live.metadata?.[METADATA.paymentTermsDays]);
  return {
    id: live.id,
    crm_account_id: crmAccountId,
    currency: live.currency ? live.currency.toUpperCase() : null,
    days_until_due: Number.isInteger(terms) && terms > 0 ? terms : null,
  };
}

/** A project's billing profile from its product (with `default_price` expanded), or null when the product is no project's. */
export function toReplicaProfile(product: Stripe.Product): ReplicaProfile | null {
  const projectId = product.metadata?.[METADATA.projectId];
  const prefix = product.metadata?.[METADATA.invoiceNumberPrefix];
  const price = product.default_price;
  if (!projectId || !prefix || !price || typeof price === 'string' || !product.active) return null;
  return {
    project_id: projectId,
    product_id: product.id,
    customer_id: product.metadata[METADATA.customerId] || null,
    currency: price.currency.toUpperCase(),
    invoice_number_prefix: prefix,
  };
}

/** A payment received on an invoice, or null while it is not (an open or canceled invoice payment). */
export function toReplicaPayment(payment: Stripe.InvoicePayment): ReplicaPayment | null {
  const paidAt = payment.status_transitions.paid_at;
  if (payment.status !== 'paid' || paidAt === null || !payment.amount_paid) return null;
  const underlying = payment.payment;
  // The payment itself (a charge, a PaymentIntent or a Payment Record), not its link to the invoice, is what was received.
  const id = idOf(underlying.payment_record) ?? idOf(underlying.payment_intent) ?? idOf(underlying.charge) ?? payment.id;
  const invoiceId = idOf(payment.invoice as string | { id: string });
  if (!invoiceId) return null;
  return { id, invoice_id: invoiceId, amount_minor: payment.amount_paid, received_date: dateOf(paidAt), created_at: payment.created };
}

const REASON_OF: Readonly<Record<string, CreditNoteReason>> = {
  duplicate: 'DUPLICATE',
  fraudulent: 'FRAUDULENT',
  order_change: 'ORDER_CHANGE',
  product_unsatisfactory: 'PRODUCT_UNSATISFACTORY',
};

export const STRIPE_REASON_OF: Readonly<Record<CreditNoteReason, Stripe.CreditNoteCreateParams.Reason>> = {
  DUPLICATE: 'duplicate',
  FRAUDULENT: 'fraudulent',
  ORDER_CHANGE: 'order_change',
  PRODUCT_UNSATISFACTORY: 'product_unsatisfactory',
};

/** A credit note and its lines as replica rows. */
export interface ReplicaCreditNote {
  readonly row: CreditNoteRow;
  readonly lines: readonly CreditNoteLineRow[];
  /** Stripe's `created`: when it was issued. */
  readonly createdAt: number;
}

/**
 * An issued credit note as replica rows, or null for a void one (psgraph voids none; one voided in the Dashboard is
 * not followed: see docs/project-to-cash.md). `sourceOfLineItem` names the source each of its invoice's line items
 * bills; a custom line, or a line item that bills none, credits no source.
 */
export function toReplicaCreditNote(
  creditNote: Stripe.CreditNote,
  lines: readonly Stripe.CreditNoteLineItem[],
  sourceOfLineItem: ReadonlyMap<string, string | null>,
): ReplicaCreditNote | null {
  if (creditNote.status !== 'issued') return null;
  const invoiceId = idOf(creditNote.invoice);
  if (!invoiceId) return null;
  return {
    row: {
      id: creditNote.id,
      number: creditNote.number,
      invoice_id: invoiceId,
      key: creditNote.metadata?.[METADATA.creditNoteKey] || null,
      reason: creditNote.reason ? (REASON_OF[creditNote.reason] ?? null) : null,
      memo: creditNote.memo || null,
      total_minor: creditNote.total,
      pre_payment_minor: creditNote.pre_payment_amount,
      post_payment_minor: creditNote.post_payment_amount,
      created_date: dateOf(creditNote.created),
    },
    lines: lines.map((line, index) => ({
      credit_note_id: creditNote.id,
      line_number: index + 1,
      source_key: line.invoice_line_item ? (sourceOfLineItem.get(line.invoice_line_item) ?? null) : null,
      amount_minor: line.amount,
    })),
    createdAt: creditNote.created,
  };
}
