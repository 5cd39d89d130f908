/**
 * Stripe's objects as the API returns them (the fields of the pinned SDK's API version that matter to a billing
 * integration, with Stripe's defaults for the rest), built from the billing sandbox's rows, and Stripe's error
 * answers. Dates become Stripe timestamps at noon UTC.
 */
import { createHash, randomBytes } from 'node:crypto';

export type StripeObject = Record<string, any>;

/** A Stripe error answer: `{ error: { type, code, message, param } }` with its HTTP status. */
export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: { readonly type: string; readonly message: string; readonly code?: string; readonly param?: string },
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(error.message);
  }
}

export const noSuch = (kind: string, id: string, param = 'id') =>
  new StripeApiError(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${kind}: '${id}'`, param });
export const invalid = (message: string, code?: string, param?: string) =>
  new StripeApiError(400, { type: 'invalid_request_error', message, ...(code ? { code } : {}), ...(param ? { param } : {}) });

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A Stripe object ID: deterministic from `seed` (seeded records), random without. */
export function wireId(prefix: string, seed?: string): string {
  const bytes = seed === undefined ? randomBytes(24) : createHash('sha256').update(seed).digest();
  let body = '';
  for (let i = 0; i < 24; i++) body += BASE62[bytes[i]! % 62];
  return `${prefix}_${body}`;
}

/** A date as Stripe stamps it here: noon UTC. */
export const stamp = (isoDate: string) => Math.floor(Date.parse(`${isoDate}T12:00:00Z`) / 1000);
export const optionalStamp = (isoDate: string | null) => (isoDate === null ? null : stamp(isoDate));

export type Row = Record<string, any>;

/** A sandbox customer as a Stripe customer whose metadata names its CRM account and payment terms. */
export function customerObject(row: Row, created: number): StripeObject {
  return {
    id: row['id'],
    object: 'customer',
    address: null,
    balance: 0,
    created,
    currency: String(row['currency']).toLowerCase(),
    default_source: null,
    delinquent: false,
    description: null,
    email: null,
    invoice_prefix: createHash('sha256').update(String(row['id'])).digest('hex').slice(0, 8).toUpperCase(),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false,
    metadata: { psgraph_crm_account_id: row['crm_account_id'], psgraph_payment_terms_days: String(row['days_until_due']) },
    name: row['name'],
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
}

/** A project's price: its default, in the project's billing currency. */
export function priceObject(projectId: string, currency: string, created: number): StripeObject {
  const productId = wireId('prod', projectId);
  const priceId = wireId('price', projectId);
  return {
    id: priceId,
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created,
    currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: 'Hourly rate',
    product: productId,
    recurring: null,
    tax_behavior: 'exclusive',
    tiers_mode: null,
    transform_quantity: null,
    type: 'one_time',
    unit_amount: 15_000,
    unit_amount_decimal: '15000',
  };
}

/** A project's billing profile: its product, whose metadata names the project, its invoice-number prefix and its customer. */
export function productObject(projectId: string, prefix: string, created: number, customerId?: string): StripeObject {
  const productId = wireId('prod', projectId);
  const priceId = wireId('price', projectId);
  return {
    id: productId,
    object: 'product',
    active: true,
    created,
    default_price: priceId,
    description: null,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata: { psgraph_project_id: projectId, psgraph_invoice_number_prefix: prefix, ...(customerId ? { psgraph_customer_id: customerId } : {}) },
    name: `Professional services ${prefix}`,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    type: 'service',
    unit_label: 'hour',
    updated: created,
    url: null,
  };
}

/** A payment received before psgraph, credited to its invoice. */
export function seededPaymentObject(row: Row, invoice: StripeObject): StripeObject {
  const paidAt = stamp(row['received_date']);
  return {
    id: wireId('inpay', row['id']),
    object: 'invoice_payment',
    amount_paid: row['amount_minor'],
    amount_requested: row['amount_minor'],
    created: paidAt,
    currency: invoice['currency'],
    invoice: invoice['id'],
    is_default: false,
    livemode: false,
    // Payments received before psgraph: bank transfers, charges of their own (py_…).
    payment: { type: 'charge', charge: row['id'] },
    status: 'paid',
    status_transitions: { canceled_at: null, paid_at: paidAt },
  };
}

/** A sandbox invoice as a Stripe invoice with one line item, priced on its project's product. */
export function invoiceObject(row: Row, crmAccountId: string): StripeObject {
  const status = String(row['status']).toLowerCase();
  const created = stamp(row['created_date']);
  const productId = wireId('prod', row['project_id']);
  const invoice: StripeObject = {
    id: row['id'],
    object: 'invoice',
    account_country: 'US',
    account_name: 'psgraph wire',
    amount_due: row['total_minor'],
    amount_overpaid: 0,
    amount_paid: row['amount_paid_minor'],
    amount_remaining: row['total_minor'] - row['amount_paid_minor'],
    amount_shipping: 0,
    attempt_count: 0,
    attempted: status !== 'draft',
    auto_advance: false,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    billing_reason: 'manual',
    collection_method: 'send_invoice',
    created,
    currency: String(row['currency']).toLowerCase(),
    customer: row['customer_id'],
    customer_email: null,
    customer_name: null,
    default_payment_method: null,
    description: row['description'],
    discounts: [],
    due_date: optionalStamp(row['due_date']),
    effective_at: optionalStamp(row['finalized_date']),
    footer: null,
    hosted_invoice_url: null,
    issuer: { type: 'self' },
    last_finalization_error: null,
    livemode: false,
    metadata: { psgraph_project_id: row['project_id'], psgraph_crm_account_id: crmAccountId },
    number: row['number'],
    parent: null,
    period_end: created,
    period_start: created,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    status,
    status_transitions: {
      finalized_at: optionalStamp(row['finalized_date']),
      marked_uncollectible_at: optionalStamp(row['marked_uncollectible_date']),
      paid_at: optionalStamp(row['paid_date']),
      voided_at: optionalStamp(row['voided_date']),
    },
    subtotal: row['subtotal_minor'],
    subtotal_excluding_tax: row['subtotal_minor'],
    test_clock: null,
    total: row['total_minor'],
    total_discount_amounts: [],
    total_excluding_tax: row['subtotal_minor'],
    total_taxes: row['tax_minor'] > 0 ? [tax(row['tax_minor'], row['subtotal_minor'])] : [],
    webhooks_delivered_at: created,
  };
  invoice['lines'] = lines(invoice, [
    {
      amount: row['subtotal_minor'],
      description: row['description'],
      period: { start: stamp(row['service_period_start']), end: stamp(row['service_period_end']) },
      price: wireId('price', row['project_id']),
      product: productId,
    },
  ]);
  return invoice;
}

/** A line item for an invoice item added to a draft (its metadata is the item's, as Stripe copies it). */
export function invoiceLineObject(invoice: StripeObject, item: StripeObject): StripeObject {
  return {
    id: wireId('il'),
    object: 'line_item',
    amount: item['amount'],
    currency: invoice['currency'],
    description: item['description'],
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: invoice['id'],
    livemode: false,
    metadata: item['metadata'],
    parent: {
      type: 'invoice_item_details',
      invoice_item_details: { invoice_item: item['id'], proration: false, proration_details: { credited_items: null }, subscription: null },
      subscription_item_details: null,
    },
    period: item['period'],
    pretax_credit_amounts: [],
    pricing: { type: 'price_details', price_details: null, unit_amount_decimal: String(item['amount']) },
    quantity: 1,
    taxes: [],
  };
}

function tax(amount: number, taxable: number): StripeObject {
  return {
    amount,
    tax_behavior: 'exclusive',
    tax_rate_details: { tax_rate: wireId('txr', String(Math.round((amount / Math.max(1, taxable)) * 100))) },
    taxability_reason: 'standard_rated',
    taxable_amount: taxable,
    type: 'tax_rate_details',
  };
}

function lines(invoice: StripeObject, items: ReadonlyArray<{ amount: number; description: string; period: StripeObject; price: string; product: string }>) {
  const data = items.map((item, i) => ({
    id: wireId('il', `${invoice['id']}:${i}`),
    object: 'line_item',
    amount: item.amount,
    currency: invoice['currency'],
    description: item.description,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: invoice['id'],
    livemode: false,
    metadata: {},
    parent: {
      type: 'invoice_item_details',
      invoice_item_details: {
        invoice_item: wireId('ii', `${invoice['id']}:${i}`),
        proration: false,
        proration_details: { credited_items: null },
        subscription: null,
      },
      subscription_item_details: null,
    },
    period: item.period,
    pretax_credit_amounts: [],
    pricing: { type: 'price_details', price_details: { price: item.price, product: item.product }, unit_amount_decimal: String(item.amount) },
    quantity: 1,
    taxes: [],
  }));
  return { object: 'list', data, has_more: false, total_count: data.length, url: `/v1/invoices/${invoice['id']}/lines` };
}

/** A credit note's line: the invoice line item it credits (or a custom line), as Stripe shows it. */
export function creditNoteLineObject(line: { type: string; amount: number; invoiceLineItem: string | null; description: string | null }): StripeObject {
  return {
    id: wireId('cnli'),
    object: 'credit_note_line_item',
    amount: line.amount,
    description: line.description,
    discount_amount: 0,
    discount_amounts: [],
    invoice_line_item: line.invoiceLineItem,
    livemode: false,
    pretax_credit_amounts: [],
    quantity: 1,
    tax_rates: [],
    taxes: [],
    type: line.type,
    unit_amount: line.type === 'custom_line_item' ? line.amount : null,
    unit_amount_decimal: line.type === 'custom_line_item' ? String(line.amount) : null,
  };
}
