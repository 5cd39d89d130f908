/**
 * The rules of issuing a credit note, shared by every billing system so that each refuses the same drafts with the
 * same codes and messages: what a well-formed draft is, when a key is reused for another draft, which invoices take
 * credit notes, how much each line may still be credited, and how a credit note splits between what remained to be
 * paid and what is given back (Stripe's pre- and post-payment amounts).
 *
 * See https://docs.stripe.com/invoicing/integration/programmatic-credit-notes
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { isStripeId } from '../../platform/src/index.js';
import type { BillingCreditNote, BillingInvoice, BillingInvoiceLine, CreditNoteDraft, CreditNoteReason, InvoiceStatus } from './billingPort.js';
import { MAX_INVOICE_LINES } from './invoiceDrafts.js';
import { BillingSystemError } from './invoiceLifecycle.js';

export const CREDIT_NOTE_REASONS: readonly CreditNoteReason[] = ['DUPLICATE', 'ORDER_CHANGE', 'PRODUCT_UNSATISFACTORY', 'FRAUDULENT'];
/** Stripe issues credit notes on finalized invoices that are not void; psgraph leaves a write-off alone too. */
export const CREDITABLE_STATUSES: readonly InvoiceStatus[] = ['OPEN', 'PAID'];
/** Stripe's limit on a metadata value, which carries the key. */
const MAX_KEY_LENGTH = 500;

/** A draft that is not well-formed, or asks more than its invoice allows; `field` names the input at fault. */
export class InvalidCreditNoteError extends BillingSystemError {
  override name = 'InvalidCreditNoteError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(ErrorCode.BAD_USER_INPUT, `${field}: ${message}`);
  }
}

/** The key was used for another credit note draft: nothing was written. */
export class CreditNoteKeyReusedError extends BillingSystemError {
  override name = 'CreditNoteKeyReusedError';
  constructor(
    readonly key: string,
    readonly creditNoteId: string,
  ) {
    super(
      ErrorCode.IDEMPOTENCY_KEY_REUSED,
      `Credit note key ${key} was used to issue credit note ${creditNoteId} from another draft; reuse a key only to repeat the same draft.`,
    );
  }
}

/** A credit note asked of an invoice in a status that takes none (a draft, a void or an uncollectible invoice). */
export class InvoiceNotCreditableError extends BillingSystemError {
  override name = 'InvoiceNotCreditableError';
  constructor(
    readonly invoiceId: string,
    readonly status: InvoiceStatus,
  ) {
    super(ErrorCode.INVALID_STATE_TRANSITION, `Invoice ${invoiceId} is ${status}: credit notes are issued on open or paid invoices only.`);
  }
}

/** Refuses a draft that is not well-formed, naming the first field at fault. */
export function validateCreditNoteDraft(draft: CreditNoteDraft): void {
  const fail = (field: string, message: string): never => {
    throw new InvalidCreditNoteError(field, message);
  };
  if (draft.key.trim() === '' || draft.key.length > MAX_KEY_LENGTH) fail('key', `must be 1 to ${MAX_KEY_LENGTH} characters.`);
  if (!isStripeId(draft.invoiceId, 'in')) fail('invoiceId', `must be a billing invoice ID (in_ and 24 letters or digits), got "${draft.invoiceId}".`);
  if (!CREDIT_NOTE_REASONS.includes(draft.reason)) fail('reason', `must be one of ${CREDIT_NOTE_REASONS.join(', ')}, got "${draft.reason}".`);
  if (draft.memo !== null && draft.memo.trim() === '') fail('memo', 'must not be blank; give null for none.');
  if (draft.lines.length === 0 || draft.lines.length > MAX_INVOICE_LINES) {
    fail('lines', `a credit note has 1 to ${MAX_INVOICE_LINES} lines, got ${draft.lines.length}.`);
  }
  const seen = new Set<string>();
  for (const [index, line] of draft.lines.entries()) {
    if (line.sourceKey.trim() === '' || line.sourceKey.length > MAX_KEY_LENGTH) fail(`lines[${index}].sourceKey`, `must be 1 to ${MAX_KEY_LENGTH} characters.`);
    if (seen.has(line.sourceKey)) fail(`lines[${index}].sourceKey`, `${line.sourceKey} is on an earlier line; credit each invoice line once per credit note.`);
    seen.add(line.sourceKey);
    if (!Number.isSafeInteger(line.amountMinor) || line.amountMinor < 1) {
      fail(`lines[${index}].amountMinor`, `must be a whole number of minor units above 0, got ${line.amountMinor}.`);
    }
  }
}

/** Whether a credit note issued under the draft's key is the draft's (a repeat) or another one's. */
export function isSameCreditNote(draft: CreditNoteDraft, creditNote: BillingCreditNote): boolean {
  return (
    creditNote.invoiceId === draft.invoiceId &&
    creditNote.reason === draft.reason &&
    creditNote.memo === draft.memo &&
    creditNote.lines.length === draft.lines.length &&
    creditNote.lines.every((line, index) => line.sourceKey === draft.lines[index]!.sourceKey && line.amountMinor === draft.lines[index]!.amountMinor)
  );
}

/**
 * Refuses a credit note the invoice cannot take, naming the first line at fault: its status must take credit notes,
 * each line must credit one of the invoice's lines by its source, by no more than that line's amount less what the
 * invoice's earlier credit notes credited on it, and the whole by no more than the total less what was credited.
 */
export function checkCreditNoteFits(
  draft: CreditNoteDraft,
  invoice: BillingInvoice,
  invoiceLines: readonly BillingInvoiceLine[],
  earlier: readonly BillingCreditNote[],
): void {
  if (!CREDITABLE_STATUSES.includes(invoice.status)) throw new InvoiceNotCreditableError(invoice.id, invoice.status);
  const credited = new Map<string, number>();
  for (const line of earlier.flatMap((creditNote) => creditNote.lines)) {
    if (line.sourceKey !== null) credited.set(line.sourceKey, (credited.get(line.sourceKey) ?? 0) + line.amountMinor);
  }
  for (const [index, line] of draft.lines.entries()) {
    const billed = invoiceLines.find((candidate) => candidate.sourceKey === line.sourceKey);
    if (!billed) throw new InvalidCreditNoteError(`lines[${index}].sourceKey`, `invoice ${invoice.id} has no line billing ${line.sourceKey}.`);
    const before = credited.get(line.sourceKey) ?? 0;
    const left = billed.amountMinor - before;
    if (line.amountMinor > left) {
      throw new InvalidCreditNoteError(
        `lines[${index}].amountMinor`,
        `the line billing ${line.sourceKey} can be credited at most ${left} more (its amount ${billed.amountMinor} less ${before} credited before), got ${line.amountMinor}.`,
      );
    }
  }
  const total = creditNoteTotal(draft);
  const creditable = invoice.totalMinor - invoice.creditedMinor;
  if (total > creditable) {
    throw new InvalidCreditNoteError(
      'lines',
      `the credit note totals ${total}, more than the ${creditable} left to credit on invoice ${invoice.id} (its total ${invoice.totalMinor} less ${invoice.creditedMinor} credited before).`,
    );
  }
}

export const creditNoteTotal = (draft: CreditNoteDraft): number => draft.lines.reduce((sum, line) => sum + line.amountMinor, 0);

/**
 * How a credit note of `totalMinor` splits (Stripe's rule): first it reduces what remains to be paid on the invoice,
 * never below 0 (`pre_payment_amount`); the rest is given back to the customer (`post_payment_amount`), which psgraph
 * records as credited outside Stripe (`out_of_band_amount`): payments are received outside Stripe too.
 */
export function splitCredit(invoice: BillingInvoice, totalMinor: number): { readonly prePaymentMinor: number; readonly postPaymentMinor: number } {
  const remaining = invoice.status === 'OPEN' ? Math.max(0, invoice.amountDueMinor - invoice.amountPaidMinor) : 0;
  const prePaymentMinor = Math.min(totalMinor, remaining);
  return { prePaymentMinor, postPaymentMinor: totalMinor - prePaymentMinor };
}

/** Stripe numbers an invoice's credit notes after it: `<invoice number>-CN-01`, `-CN-02`, … */
export const creditNoteNumber = (invoiceNumber: string, sequence: number): string => `${invoiceNumber}-CN-${String(sequence).padStart(2, '0')}`;
