/**
 * The rules of creating an invoice from a draft, shared by every billing system so that each refuses the same
 * drafts with the same codes and messages: what a well-formed draft is, when a key is reused for another draft,
 * and the refusals of a project without a billing profile and of a source billed twice.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { dayFromIso, isCanonicalProjectId, isoFromDay } from '../../platform/src/index.js';
import type { BillingInvoice, BillingInvoiceLine, InvoiceDraft } from './billingPort.js';
import { BillingSystemError } from './invoiceLifecycle.js';

/** Stripe's limit on the line items of one invoice. */
export const MAX_INVOICE_LINES = 250;
/** Stripe's limit on a metadata value, which carries the key and each source key. */
const MAX_KEY_LENGTH = 500;

/** A draft that is not well-formed; `field` names the input at fault (`lines[3].amountMinor`). */
export class InvalidInvoiceDraftError extends BillingSystemError {
  override name = 'InvalidInvoiceDraftError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(ErrorCode.BAD_USER_INPUT, `${field}: ${message}`);
  }
}

export class BillingProfileNotFoundError extends BillingSystemError {
  override name = 'BillingProfileNotFoundError';
  constructor(readonly projectId: string) {
    super(ErrorCode.NOT_FOUND, `Billing has no billing profile for project ${projectId}: it has no customer or currency to invoice.`);
  }
}

/** The key was used for another draft (as Stripe's `idempotency_error`): nothing was written. */
export class InvoiceKeyReusedError extends BillingSystemError {
  override name = 'InvoiceKeyReusedError';
  constructor(
    readonly key: string,
    readonly invoiceId: string,
  ) {
    super(
      ErrorCode.IDEMPOTENCY_KEY_REUSED,
      `Invoice key ${key} was used to create invoice ${invoiceId} from another draft; reuse a key only to repeat the same draft.`,
    );
  }
}

/** A source is billed by one invoice at a time; voiding that invoice frees it. */
export class SourceAlreadyBilledError extends BillingSystemError {
  override name = 'SourceAlreadyBilledError';
  constructor(
    readonly sourceKey: string,
    readonly invoiceId: string,
  ) {
    super(ErrorCode.CONFLICT, `Source ${sourceKey} is already billed by invoice ${invoiceId}; void that invoice to bill it again.`);
  }
}

const isIsoDate = (value: string) => /^\d{4}-\d{2}-\d{2}$/.test(value) && isoFromDay(dayFromIso(value)) === value;

/** Refuses a draft that is not well-formed, naming the first field at fault. */
export function validateInvoiceDraft(draft: InvoiceDraft): void {
  const fail = (field: string, message: string): never => {
    throw new InvalidInvoiceDraftError(field, message);
  };
  if (draft.key.trim() === '' || draft.key.length > MAX_KEY_LENGTH) fail('key', `must be 1 to ${MAX_KEY_LENGTH} characters.`);
  if (!isCanonicalProjectId(draft.projectId)) fail('projectId', `must be a canonical project ID (prj_ and a 26-character ULID), got "${draft.projectId}".`);
  if (draft.description.trim() === '') fail('description', 'must not be empty.');
  if (!isIsoDate(draft.servicePeriodStart)) fail('servicePeriodStart', `must be a date (YYYY-MM-DD), got "${draft.servicePeriodStart}".`);
  if (!isIsoDate(draft.servicePeriodEnd)) fail('servicePeriodEnd', `must be a date (YYYY-MM-DD), got "${draft.servicePeriodEnd}".`);
  if (draft.servicePeriodStart > draft.servicePeriodEnd) {
    fail('servicePeriodEnd', `must not be before servicePeriodStart (${draft.servicePeriodStart}), got ${draft.servicePeriodEnd}.`);
  }
  if (draft.lines.length === 0 || draft.lines.length > MAX_INVOICE_LINES) {
    fail('lines', `an invoice has 1 to ${MAX_INVOICE_LINES} lines, got ${draft.lines.length}.`);
  }
  const seen = new Set<string>();
  for (const [index, line] of draft.lines.entries()) {
    if (line.sourceKey.trim() === '' || line.sourceKey.length > MAX_KEY_LENGTH) fail(`lines[${index}].sourceKey`, `must be 1 to ${MAX_KEY_LENGTH} characters.`);
    if (seen.has(line.sourceKey)) fail(`lines[${index}].sourceKey`, `${line.sourceKey} is on an earlier line; each line bills a different source.`);
    seen.add(line.sourceKey);
    if (line.description.trim() === '') fail(`lines[${index}].description`, 'must not be empty.');
    if (!Number.isSafeInteger(line.amountMinor) || line.amountMinor < 1) {
      fail(`lines[${index}].amountMinor`, `must be a whole number of minor units above 0, got ${line.amountMinor}.`);
    }
  }
}

/**
 * How an invoice created under the draft's key compares with the draft: the same (a repeat), a draft invoice
 * holding some of the draft's lines and nothing else (a creation cut short, to be completed), or another draft.
 */
export function compareWithDraft(
  draft: InvoiceDraft,
  currency: string,
  invoice: BillingInvoice,
  lines: readonly BillingInvoiceLine[],
): { readonly kind: 'same' } | { readonly kind: 'partial' } | { readonly kind: 'different' } {
  const sameHeader =
    invoice.projectId === draft.projectId &&
    invoice.currency === currency &&
    invoice.description === draft.description &&
    invoice.servicePeriodStart === draft.servicePeriodStart &&
    invoice.servicePeriodEnd === draft.servicePeriodEnd;
  if (!sameHeader) return { kind: 'different' };
  const wanted = new Map(draft.lines.map((line) => [line.sourceKey, line]));
  const held = new Set<string>();
  for (const line of lines) {
    const asked = line.sourceKey === null ? undefined : wanted.get(line.sourceKey);
    if (!asked || held.has(asked.sourceKey) || asked.description !== line.description || asked.amountMinor !== line.amountMinor) return { kind: 'different' };
    held.add(asked.sourceKey);
  }
  if (held.size === wanted.size) return { kind: 'same' };
  return invoice.status === 'DRAFT' ? { kind: 'partial' } : { kind: 'different' };
}
