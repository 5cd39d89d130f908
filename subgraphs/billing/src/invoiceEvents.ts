/**
 * The business events billing publishes when an invoice changes status (contracts/events/invoice.*.v1), and the
 * mapping from a status to the event that announces it — Stripe's webhook names, in psgraph's vocabulary.
 */
import { type BusEvent, newEvent } from '../../platform/src/events/index.js';
import type { BillingInvoice, InvoiceStatus } from './billingPort.js';

export const INVOICE_EVENT_BY_STATUS: Readonly<Record<Exclude<InvoiceStatus, 'DRAFT'>, string>> = {
  OPEN: 'invoice.posted',
  PAID: 'invoice.paid',
  VOID: 'invoice.voided',
  UNCOLLECTIBLE: 'invoice.marked_uncollectible',
};

export const INVOICE_STATUS_EVENT_TYPES: readonly string[] = Object.values(INVOICE_EVENT_BY_STATUS);

export interface InvoiceStatusEventData extends Record<string, unknown> {
  readonly invoiceId: string;
  readonly projectId: string;
  readonly crmAccountId: string;
  readonly customerId: string;
  readonly previousStatus: InvoiceStatus;
  readonly status: InvoiceStatus;
  readonly changedAt: string;
  readonly currency: string;
  readonly totalMinor: number;
  readonly amountPaidMinor: number;
}

/** One invoice status change as the bus carries it: what the `InvoiceStatusChange` fields are resolved from. */
export type InvoiceStatusEvent = BusEvent<InvoiceStatusEventData>;

export function invoiceStatusEvent(before: BillingInvoice, after: BillingInvoice, now = new Date()): InvoiceStatusEvent {
  if (after.status === 'DRAFT') throw new Error('an invoice never moves back to draft');
  return newEvent(INVOICE_EVENT_BY_STATUS[after.status], {
    source: 'billing',
    subject: after.id,
    occurredAt: now,
    data: {
      invoiceId: after.id,
      projectId: after.projectId,
      crmAccountId: after.crmAccountId,
      customerId: after.customerId,
      previousStatus: before.status,
      status: after.status,
      changedAt: now.toISOString(),
      currency: after.currency,
      totalMinor: after.totalMinor,
      amountPaidMinor: after.amountPaidMinor,
    },
  });
}
