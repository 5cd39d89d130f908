/**
 * The billing subgraph's per-request DataLoaders: every entity reference and every list field reaches the
 * billing system through one of these, so a page of 50 projects costs one lookup per field, not 50.
 */
import { type Caller, listLoader, recordLoader } from '../../platform/src/index.js';
import type { EventBus, OutboxRelay } from '../../platform/src/events/index.js';
import type { BillingCreditNoteLine, BillingInvoiceLine, BillingSystem } from './billingPort.js';

/** An invoice line as the schema resolves it: with its invoice's currency, which its amount is in. */
export interface InvoiceLineView extends BillingInvoiceLine {
  readonly currency: string;
}

/** A credit note line as the schema resolves it: with its credit note's currency. */
export interface CreditNoteLineView extends BillingCreditNoteLine {
  readonly currency: string;
}

/**
 * `asOf` is the request's "today": the loaders that judge overdue all judge it on the same day, even when a
 * request runs across midnight.
 */
export function createBillingLoaders(billing: BillingSystem, asOf: string) {
  return {
    invoiceById: recordLoader((ids: readonly string[]) => billing.invoicesById(ids)),
    invoicesByProjectId: listLoader((ids: readonly string[]) => billing.invoicesByProjectId(ids)),
    paymentsByInvoiceId: listLoader((ids: readonly string[]) => billing.paymentsByInvoiceId(ids)),
    invoiceLinesByInvoiceId: listLoader((ids: readonly string[]) => billing.invoiceLinesByInvoiceId(ids)),
    creditNotesByInvoiceId: listLoader((ids: readonly string[]) => billing.creditNotesByInvoiceId(ids)),
    invoiceSummaryByProjectId: recordLoader((ids: readonly string[]) => billing.invoiceSummariesByProjectId(ids, asOf)),
    receivablesByAccountId: listLoader((ids: readonly string[]) => billing.receivablesByAccountId(ids, asOf)),
  };
}

export type BillingLoaders = ReturnType<typeof createBillingLoaders>;

export interface BillingContext {
  /** Who the request acts for; `billing` is already scoped to what it may see and do. */
  readonly caller: Caller;
  readonly billing: BillingSystem;
  /** Replaced per event in a subscription (one context lives as long as the subscription). */
  loaders: BillingLoaders;
  /** The billing system's date when the request (or the subscription event) began (ISO). */
  today: string;
  /** Where subscriptions read events from. */
  readonly bus?: EventBus;
  /** Publishes the events a write recorded without waiting for the relay's next poll. */
  readonly events?: OutboxRelay;
}
