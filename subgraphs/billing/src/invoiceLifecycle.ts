/**
 * Stripe's invoice lifecycle and the errors a billing system raises when asked to break it. The table is the
 * one source of the rule: the sandbox checks it before writing (to raise a typed error) and compiles it into
 * the trigger that guards its store against any other writer.
 *
 * See https://docs.stripe.com/invoicing/overview#invoice-lifecycle
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import type { InvoiceStatus } from './billingPort.js';

/** Where each status may move next; paid and void are terminal. */
export const INVOICE_TRANSITIONS: Readonly<Record<InvoiceStatus, readonly InvoiceStatus[]>> = {
  DRAFT: ['OPEN'],
  OPEN: ['PAID', 'VOID', 'UNCOLLECTIBLE'],
  UNCOLLECTIBLE: ['PAID', 'VOID'],
  PAID: [],
  VOID: [],
};

export const INVOICE_STATUSES = Object.keys(INVOICE_TRANSITIONS) as InvoiceStatus[];

export function canTransition(from: InvoiceStatus, to: InvoiceStatus): boolean {
  return INVOICE_TRANSITIONS[from].includes(to);
}

/**
 * Base of the billing system's refusals. Each carries a stable code from contracts/errorCodes.ts, so the
 * mutations that will expose these operations map them to GraphQL errors without inspecting messages.
 */
export class BillingSystemError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class InvalidTransitionError extends BillingSystemError {
  override name = 'InvalidTransitionError';
  readonly invoiceId: string;
  readonly from: InvoiceStatus;
  readonly to: InvoiceStatus;

  constructor(options: { invoiceId: string; from: InvoiceStatus; to: InvoiceStatus }) {
    const allowed = INVOICE_TRANSITIONS[options.from];
    super(
      ErrorCode.INVALID_STATE_TRANSITION,
      `Invoice ${options.invoiceId} cannot move from ${options.from} to ${options.to}: ` +
        (allowed.length === 0 ? `${options.from} is final.` : `from ${options.from} it can only move to ${allowed.join(' or ')}.`),
    );
    this.invoiceId = options.invoiceId;
    this.from = options.from;
    this.to = options.to;
  }
}

export class InvoiceNotFoundError extends BillingSystemError {
  override name = 'InvoiceNotFoundError';
  readonly invoiceId: string;

  constructor(options: { invoiceId: string }) {
    super(ErrorCode.NOT_FOUND, `Invoice ${options.invoiceId} does not exist.`);
    this.invoiceId = options.invoiceId;
  }
}

/** A payment of nothing, of a fraction of a cent, or of more than the invoice still owes. */
export class InvalidPaymentAmountError extends BillingSystemError {
  override name = 'InvalidPaymentAmountError';
  readonly invoiceId: string;
  readonly amountMinor: number;
  readonly amountRemainingMinor: number;

  constructor(options: { invoiceId: string; amountMinor: number; amountRemainingMinor: number }) {
    super(
      ErrorCode.BAD_USER_INPUT,
      `A payment on invoice ${options.invoiceId} must be a whole number of minor units from 1 to ${options.amountRemainingMinor} (the amount remaining), got ${options.amountMinor}.`,
    );
    this.invoiceId = options.invoiceId;
    this.amountMinor = options.amountMinor;
    this.amountRemainingMinor = options.amountRemainingMinor;
  }
}
