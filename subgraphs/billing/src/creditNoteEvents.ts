/**
 * The business event billing publishes when a credit note is issued (contracts/events/credit_note.issued.v1):
 * from the sandbox's outbox with the credit note, or from Stripe's `credit_note.created` through the replica.
 */
import { type BusEvent, newEvent } from '../../platform/src/events/index.js';
import type { BillingCreditNote, CreditNoteReason } from './billingPort.js';
import { INVOICE_STATUS_EVENT_TYPES } from './invoiceEvents.js';

export const CREDIT_NOTE_ISSUED = 'credit_note.issued';

/** Every business event billing publishes, each with its contract in contracts/events. */
export const BILLING_EVENT_TYPES: readonly string[] = [...INVOICE_STATUS_EVENT_TYPES, CREDIT_NOTE_ISSUED];

export interface CreditNoteIssuedData extends Record<string, unknown> {
  readonly creditNoteId: string;
  readonly invoiceId: string;
  readonly projectId: string;
  readonly crmAccountId: string;
  readonly customerId: string;
  readonly currency: string;
  readonly totalMinor: number;
  readonly reason: CreditNoteReason | null;
  readonly issuedAt: string;
  /** The credited lines' sources, in the credit note's order; lines that bill no source are left out. */
  readonly sourceKeys: readonly string[];
}

export type CreditNoteIssuedEvent = BusEvent<CreditNoteIssuedData>;

export function creditNoteIssuedEvent(creditNote: BillingCreditNote, customerId: string, issuedAt: Date): CreditNoteIssuedEvent {
  return newEvent(CREDIT_NOTE_ISSUED, {
    source: 'billing',
    subject: creditNote.id,
    occurredAt: issuedAt,
    data: {
      creditNoteId: creditNote.id,
      invoiceId: creditNote.invoiceId,
      projectId: creditNote.projectId,
      crmAccountId: creditNote.crmAccountId,
      customerId,
      currency: creditNote.currency,
      totalMinor: creditNote.totalMinor,
      reason: creditNote.reason,
      issuedAt: issuedAt.toISOString(),
      sourceKeys: creditNote.lines.flatMap((line) => (line.sourceKey === null ? [] : [line.sourceKey])),
    },
  });
}
