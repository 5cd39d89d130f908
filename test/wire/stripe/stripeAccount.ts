/**
 * The Stripe account the wire server holds, as the Stripe API shows it: customers, products and their prices,
 * invoices with their line items, invoice payments and payment records, each in Stripe's JSON shape (API version
 * of the pinned SDK). Its records are the billing sandbox's world (the same seed) laid out as Stripe objects, so
 * that the Stripe adapter over this account and the sandbox must give the same answers.
 *
 * State changes follow Stripe's invoice lifecycle (create a draft, add invoice items to it, finalize, attach a
 * payment, pay out of band, void, mark uncollectible, issue credit notes; refused from the wrong status) and raise the events Stripe raises, which the server delivers as
 * webhooks. The same changes are what a test makes "in the Dashboard".
 */
import { openSandboxBilling } from '../../../subgraphs/billing/src/sandbox/sandboxBilling.js';
import type { WorldOptions } from '../../../subgraphs/sandboxes/src/index.js';
import {
  type Row,
  StripeApiError,
  type StripeObject,
  creditNoteLineObject,
  customerObject,
  invalid,
  invoiceLineObject,
  invoiceObject,
  noSuch,
  priceObject,
  productObject,
  seededPaymentObject,
  stamp,
  wireId,
} from './stripeObjects.js';

export { StripeApiError, type StripeObject, invalid, noSuch, stamp, wireId };

export const KINDS = ['customer', 'product', 'price', 'invoice', 'invoiceitem', 'invoice_payment', 'payment_record', 'credit_note'] as const;

const CREDIT_NOTE_REASONS = ['duplicate', 'fraudulent', 'order_change', 'product_unsatisfactory'];

/** Stripe's limit on the line items of one invoice. */
const MAX_INVOICE_LINES = 250;
export type Kind = (typeof KINDS)[number];

export type EventSink = (type: string, object: StripeObject, previousAttributes?: StripeObject) => void;

export class StripeAccount {
  readonly objects: Readonly<Record<Kind, Map<string, StripeObject>>> = Object.fromEntries(KINDS.map((kind) => [kind, new Map()])) as never;
  private readonly sorted = new Map<Kind, { list: StripeObject[]; index: Map<string, number> }>();

  constructor(
    private readonly clock: () => Date,
    private readonly emit: EventSink,
  ) {}

  now(): number {
    return Math.floor(this.clock().getTime() / 1000);
  }

  get(kind: Kind, id: string): StripeObject {
    const object = this.objects[kind].get(id);
    if (!object) throw noSuch(kind, id);
    return object;
  }

  add(kind: Kind, object: StripeObject): StripeObject {
    this.objects[kind].set(object['id'] as string, object);
    this.sorted.delete(kind);
    return object;
  }

  /** A page of a list, newest first (`created`, then ID), after `starting_after` or before `ending_before`. */
  list(kind: Kind, matches: (object: StripeObject) => boolean, page: { limit: number; startingAfter?: string; endingBefore?: string }) {
    const { list, index } = this.order(kind);
    let data: StripeObject[];
    let hasMore: boolean;
    if (page.endingBefore !== undefined) {
      const end = index.get(page.endingBefore);
      if (end === undefined) throw noSuch(kind, page.endingBefore, 'ending_before');
      const before = list.slice(0, end).filter(matches);
      data = before.slice(-page.limit);
      hasMore = before.length > page.limit;
    } else {
      const start = page.startingAfter === undefined ? 0 : index.get(page.startingAfter);
      if (start === undefined) throw noSuch(kind, page.startingAfter!, 'starting_after');
      data = [];
      hasMore = false;
      for (let i = page.startingAfter === undefined ? 0 : start + 1; i < list.length; i++) {
        if (!matches(list[i]!)) continue;
        if (data.length === page.limit) {
          hasMore = true;
          break;
        }
        data.push(list[i]!);
      }
    }
    return { data, hasMore };
  }

  private order(kind: Kind) {
    let cached = this.sorted.get(kind);
    if (!cached) {
      const list = [...this.objects[kind].values()].sort((a, b) => b['created'] - a['created'] || (b['id'] < a['id'] ? -1 : b['id'] > a['id'] ? 1 : 0));
      cached = { list, index: new Map(list.map((object, i) => [object['id'] as string, i])) };
      this.sorted.set(kind, cached);
    }
    return cached;
  }

  // ---- seed ----

  /** The billing sandbox's records (seeded in `dataDir` from `world`) as this account's objects. */
  seed(dataDir: string, world: WorldOptions): void {
    const sandbox = openSandboxBilling(dataDir, world);
    const db = sandbox.store.db;
    const opened = stamp('2024-01-02');
    const customers = db.prepare('SELECT * FROM customer ORDER BY id').all() as Row[];
    for (const [i, row] of customers.entries()) this.add('customer', customerObject(row, opened + i));
    const crmAccountOf = new Map(customers.map((row) => [row['id'] as string, row['crm_account_id'] as string]));
    for (const [i, row] of (db.prepare('SELECT * FROM billing_project ORDER BY project_id').all() as Row[]).entries()) {
      this.addProject(row['project_id'], row['invoice_number_prefix'], String(row['currency']).toLowerCase(), opened + i, row['customer_id']);
    }
    for (const row of db.prepare('SELECT * FROM invoice').all() as Row[]) this.add('invoice', invoiceObject(row, crmAccountOf.get(row['customer_id'])!));
    for (const row of db.prepare('SELECT * FROM payment').all() as Row[])
      this.add('invoice_payment', seededPaymentObject(row, this.get('invoice', row['invoice_id'])));
    sandbox.store.close();
  }

  /** A project's billing profile: a product whose default price is in the project's currency (and that names its customer). */
  addProject(projectId: string, prefix: string, currency: string, created = this.now(), customerId?: string): StripeObject {
    this.add('price', priceObject(projectId, currency, created));
    return this.add('product', productObject(projectId, prefix, created, customerId));
  }

  /** A new draft, as the firm's billing team creates one in the Dashboard. */
  createDraft(options: { customer: string; projectId: string; amount: number; description: string }): StripeObject {
    const customer = this.get('customer', options.customer);
    const now = this.now();
    const invoice = invoiceObject(
      {
        id: wireId('in'),
        status: 'DRAFT',
        created_date: new Date(now * 1000).toISOString().slice(0, 10),
        project_id: options.projectId,
        customer_id: options.customer,
        currency: customer['currency'],
        description: options.description,
        subtotal_minor: options.amount,
        tax_minor: 0,
        total_minor: options.amount,
        amount_paid_minor: 0,
        service_period_start: new Date(now * 1000).toISOString().slice(0, 10),
        service_period_end: new Date(now * 1000).toISOString().slice(0, 10),
        due_date: null,
        finalized_date: null,
        paid_date: null,
        voided_date: null,
        marked_uncollectible_date: null,
        number: null,
      },
      customer['metadata']['psgraph_crm_account_id'],
    );
    invoice['created'] = now;
    this.add('invoice', invoice);
    this.emit('invoice.created', invoice);
    return invoice;
  }

  // ---- the invoice lifecycle ----

  /**
   * `POST /v1/invoices`: a draft with no line items (`pending_invoice_items_behavior: 'exclude'`; pending items are
   * not modelled). `days_until_due` gives a `send_invoice` draft its due date, as Stripe does.
   */
  createInvoice(params: StripeObject): StripeObject {
    if (!params['customer']) throw invalid('Missing required param: customer.', 'parameter_missing', 'customer');
    const customer = this.get('customer', params['customer']);
    const method = params['collection_method'] ?? 'charge_automatically';
    if (method !== 'send_invoice' && method !== 'charge_automatically')
      throw invalid(`Invalid collection_method: ${method}`, 'parameter_invalid_string', 'collection_method');
    if (params['pending_invoice_items_behavior'] !== undefined && params['pending_invoice_items_behavior'] !== 'exclude') {
      throw invalid('This account models no pending invoice items: send pending_invoice_items_behavior=exclude.', undefined, 'pending_invoice_items_behavior');
    }
    const daysUntilDue = params['days_until_due'] === undefined ? null : Number(params['days_until_due']);
    if (daysUntilDue !== null && (!Number.isInteger(daysUntilDue) || daysUntilDue < 0))
      throw invalid('Invalid integer: days_until_due', 'parameter_invalid_integer', 'days_until_due');
    if (method === 'send_invoice' && daysUntilDue === null && params['due_date'] === undefined) {
      throw invalid('Missing required param: days_until_due or due_date (collection_method is send_invoice).', 'parameter_missing', 'days_until_due');
    }
    const now = this.now();
    const today = new Date(now * 1000).toISOString().slice(0, 10);
    const metadata = (params['metadata'] ?? {}) as Record<string, string>;
    const invoice = invoiceObject(
      {
        id: wireId('in'),
        status: 'DRAFT',
        created_date: today,
        project_id: metadata['psgraph_project_id'] ?? '',
        customer_id: customer['id'],
        currency: String(params['currency'] ?? customer['currency']),
        description: params['description'] ?? null,
        subtotal_minor: 0,
        tax_minor: 0,
        total_minor: 0,
        amount_paid_minor: 0,
        service_period_start: today,
        service_period_end: today,
        due_date: null,
        finalized_date: null,
        paid_date: null,
        voided_date: null,
        marked_uncollectible_date: null,
        number: null,
      },
      '',
    );
    Object.assign(invoice, {
      created: now,
      period_start: now,
      period_end: now,
      collection_method: method,
      auto_advance: params['auto_advance'] === undefined ? method === 'charge_automatically' : params['auto_advance'] === 'true',
      due_date: daysUntilDue === null ? (params['due_date'] === undefined ? null : Number(params['due_date'])) : now + daysUntilDue * 86_400,
      metadata: { ...metadata },
      webhooks_delivered_at: null,
    });
    invoice['lines'] = { ...invoice['lines'], data: [], total_count: 0 };
    this.add('invoice', invoice);
    this.emit('invoice.created', invoice);
    return invoice;
  }

  /** `POST /v1/invoiceitems` on a draft invoice: the invoice gains a line item and its totals are recomputed. */
  createInvoiceItem(params: StripeObject): StripeObject {
    const amount = Number(params['amount']);
    if (params['amount'] === undefined || !Number.isInteger(amount)) throw invalid('Invalid integer: amount', 'parameter_invalid_integer', 'amount');
    if (!params['currency']) throw invalid('Missing required param: currency.', 'parameter_missing', 'currency');
    if (!params['invoice'])
      throw invalid('This account models no pending invoice items: name the draft invoice the item goes on.', 'parameter_missing', 'invoice');
    const invoice = this.get('invoice', params['invoice']);
    if (params['customer'] !== undefined && params['customer'] !== invoice['customer']) {
      throw invalid(`The invoice ${invoice['id']} is not the customer's ${params['customer']}.`, undefined, 'customer');
    }
    if (invoice['status'] !== 'draft') {
      throw invalid(`You can only add invoice items to draft invoices; invoice ${invoice['id']} is ${invoice['status']}.`, 'invoice_not_editable', 'invoice');
    }
    if (params['currency'] !== invoice['currency']) {
      throw invalid(`The currency of the invoice item (${params['currency']}) must match the invoice's (${invoice['currency']}).`, undefined, 'currency');
    }
    if (invoice['lines'].data.length >= MAX_INVOICE_LINES) {
      throw invalid(`An invoice can have at most ${MAX_INVOICE_LINES} line items.`, 'invoice_line_items_limit_exceeded', 'invoice');
    }
    const now = this.now();
    const period = params['period'] ? { start: Number(params['period'].start), end: Number(params['period'].end) } : { start: now, end: now };
    const item = this.add('invoiceitem', {
      id: wireId('ii'),
      object: 'invoiceitem',
      amount,
      currency: invoice['currency'],
      customer: invoice['customer'],
      date: now,
      description: params['description'] ?? null,
      discountable: true,
      discounts: [],
      invoice: invoice['id'],
      livemode: false,
      metadata: params['metadata'] ?? {},
      parent: null,
      period,
      pricing: null,
      proration: false,
      quantity: 1,
      tax_rates: [],
      test_clock: null,
    });
    const previous = { amount_due: invoice['amount_due'], subtotal: invoice['subtotal'], total: invoice['total'] };
    invoice['lines'].data.push(invoiceLineObject(invoice, item));
    invoice['lines'].total_count = invoice['lines'].data.length;
    // No tax is calculated here: the totals are the items' sum.
    const subtotal = invoice['lines'].data.reduce((sum: number, line: StripeObject) => sum + line['amount'], 0);
    Object.assign(invoice, {
      subtotal,
      subtotal_excluding_tax: subtotal,
      total: subtotal,
      total_excluding_tax: subtotal,
      amount_due: subtotal,
      amount_remaining: subtotal - invoice['amount_paid'],
    });
    this.emit('invoiceitem.created', item);
    this.emit('invoice.updated', invoice, previous);
    return item;
  }

  updateInvoice(id: string, params: StripeObject): StripeObject {
    const invoice = this.get('invoice', id);
    const fields = Object.keys(params).filter((key) => key !== 'expand');
    if (invoice['status'] !== 'draft' && fields.some((field) => field !== 'metadata')) {
      throw invalid('You can only update the metadata of an invoice that is no longer a draft.', 'invoice_not_editable');
    }
    const previous: StripeObject = {};
    for (const field of fields) previous[field] = invoice[field];
    if (params['number'] !== undefined) invoice['number'] = params['number'] === '' ? null : String(params['number']);
    if (params['description'] !== undefined) invoice['description'] = String(params['description']);
    if (params['due_date'] !== undefined) {
      const due = Number(params['due_date']);
      if (!Number.isInteger(due)) throw invalid('Invalid integer: due_date', 'parameter_invalid_integer', 'due_date');
      invoice['due_date'] = due;
    }
    if (params['metadata'] !== undefined) invoice['metadata'] = { ...invoice['metadata'], ...params['metadata'] };
    this.emit('invoice.updated', invoice, previous);
    return invoice;
  }

  finalize(id: string): StripeObject {
    const invoice = this.get('invoice', id);
    if (invoice['status'] !== 'draft') throw invalid("This invoice is already finalized, you can't re-finalize a non-draft invoice.", 'invoice_not_editable');
    if (invoice['due_date'] === null) throw invalid('Missing required param: due_date.', 'parameter_missing', 'due_date');
    const now = this.now();
    if (invoice['number'] === null) {
      // Stripe's own numbering when none was set: the customer's prefix and its next sequence.
      const customer = this.get('customer', invoice['customer']);
      invoice['number'] = `${customer['invoice_prefix']}-${String(customer['next_invoice_sequence']++).padStart(4, '0')}`;
    }
    Object.assign(invoice, { status: 'open', effective_at: now, hosted_invoice_url: `https://invoice.stripe.com/i/acct_wire/${id}` });
    invoice['status_transitions'].finalized_at = now;
    this.emit('invoice.finalized', invoice);
    return invoice;
  }

  voidInvoice(id: string): StripeObject {
    const invoice = this.get('invoice', id);
    if (invoice['status'] !== 'open' && invoice['status'] !== 'uncollectible')
      throw invalid(`You can only void an open or uncollectible invoice; this one is ${invoice['status']}.`);
    invoice['status'] = 'void';
    invoice['status_transitions'].voided_at = this.now();
    this.emit('invoice.voided', invoice);
    return invoice;
  }

  markUncollectible(id: string): StripeObject {
    const invoice = this.get('invoice', id);
    if (invoice['status'] !== 'open') throw invalid(`You can only mark an open invoice as uncollectible; this one is ${invoice['status']}.`);
    invoice['status'] = 'uncollectible';
    invoice['status_transitions'].marked_uncollectible_at = this.now();
    this.emit('invoice.marked_uncollectible', invoice);
    return invoice;
  }

  /** `POST /v1/invoices/:id/pay`: out of band (no charge) for what remains; psgraph records payments with payment records instead. */
  pay(id: string, params: StripeObject): StripeObject {
    const invoice = this.get('invoice', id);
    if (invoice['status'] !== 'open' && invoice['status'] !== 'uncollectible')
      throw invalid(`Invoice is ${invoice['status']}: only open or uncollectible invoices can be paid.`);
    if (params['paid_out_of_band'] !== 'true') {
      throw new StripeApiError(402, {
        type: 'card_error',
        code: 'invoice_no_payment_method_types',
        message: 'This customer has no attached payment source or default payment method.',
      });
    }
    const record = this.reportPayment({
      amount_requested: { currency: invoice['currency'], value: String(invoice['amount_remaining']) },
      initiated_at: String(this.now()),
      outcome: 'guaranteed',
      payment_method_details: { type: 'custom' },
      processor_details: { type: 'custom', custom: { payment_reference: `out of band ${id}` } },
    });
    return this.attachPayment(id, { payment_record: record['id'] });
  }

  reportPayment(params: StripeObject): StripeObject {
    const requested = params['amount_requested'];
    const value = Number(requested?.value);
    if (!requested?.currency) throw invalid('Missing required param: amount_requested[currency].', 'parameter_missing', 'amount_requested[currency]');
    if (!Number.isInteger(value) || value < 1)
      throw invalid('Invalid positive integer: amount_requested[value]', 'parameter_invalid_integer', 'amount_requested[value]');
    if (!params['initiated_at']) throw invalid('Missing required param: initiated_at.', 'parameter_missing', 'initiated_at');
    if (!params['payment_method_details']) throw invalid('Missing required param: payment_method_details.', 'parameter_missing', 'payment_method_details');
    if (params['processor_details']?.type !== 'custom')
      throw invalid('Missing required param: processor_details[type].', 'parameter_missing', 'processor_details[type]');
    const amount = (v: number) => ({ currency: requested.currency, value: v });
    const guaranteed = params['outcome'] === 'guaranteed' ? value : 0;
    return this.add('payment_record', {
      id: wireId('pr'),
      object: 'payment_record',
      amount: amount(value),
      amount_authorized: amount(guaranteed),
      amount_canceled: amount(0),
      amount_failed: amount(params['outcome'] === 'failed' ? value : 0),
      amount_guaranteed: amount(guaranteed),
      amount_refunded: amount(0),
      amount_requested: amount(value),
      created: this.now(),
      customer_details: params['customer_details'] ?? null,
      customer_presence: params['customer_presence'] ?? null,
      description: params['description'] ?? null,
      latest_payment_attempt_record: wireId('par'),
      livemode: false,
      metadata: params['metadata'] ?? {},
      payment_method_details: params['payment_method_details'],
      processor_details: params['processor_details'],
      reported_by: 'self',
      shipping_details: null,
    });
  }

  /** Credits a guaranteed payment record to the invoice; the payment that clears what remains makes it paid. */
  attachPayment(id: string, params: StripeObject): StripeObject {
    const invoice = this.get('invoice', id);
    if (params['payment_intent']) throw invalid('This account holds no PaymentIntents to attach.', 'resource_missing', 'payment_intent');
    const recordId = params['payment_record'];
    if (!recordId) throw invalid('Missing required param: payment_record.', 'parameter_missing', 'payment_record');
    const record = this.objects.payment_record.get(recordId);
    if (!record) throw noSuch('payment_record', recordId, 'payment_record');
    if (invoice['status'] !== 'open' && invoice['status'] !== 'uncollectible')
      throw invalid(`Invoice is ${invoice['status']}: payments attach only to open or uncollectible invoices.`);
    if ([...this.objects.invoice_payment.values()].some((payment) => payment['payment'].payment_record === recordId)) {
      throw invalid(`The payment record ${recordId} is already attached to an invoice.`, 'resource_already_exists', 'payment_record');
    }
    if (record['amount_requested'].currency !== invoice['currency'])
      throw invalid('The payment record is not in the invoice’s currency.', undefined, 'payment_record');
    const amount = record['amount_guaranteed'].value as number;
    const now = this.now();
    const payment = this.add('invoice_payment', {
      id: wireId('inpay'),
      object: 'invoice_payment',
      amount_paid: amount,
      amount_requested: record['amount_requested'].value,
      created: now,
      currency: invoice['currency'],
      invoice: id,
      is_default: false,
      livemode: false,
      payment: { type: 'payment_record', payment_record: recordId },
      status: 'paid',
      status_transitions: { canceled_at: null, paid_at: now },
    });
    const previous = { amount_paid: invoice['amount_paid'], amount_remaining: invoice['amount_remaining'] };
    invoice['amount_paid'] += amount;
    invoice['amount_remaining'] = Math.max(0, invoice['amount_due'] - invoice['amount_paid']);
    invoice['amount_overpaid'] = Math.max(0, invoice['amount_paid'] - invoice['amount_due']);
    this.emit('invoice_payment.paid', payment);
    this.emit('invoice.updated', invoice, previous);
    if (invoice['amount_remaining'] === 0) {
      invoice['status'] = 'paid';
      invoice['status_transitions'].paid_at = now;
      this.emit('invoice.paid', invoice);
    }
    return invoice;
  }

  /** The payments of an invoice, newest first, as its `payments` list shows them. */
  paymentsOf(invoiceId: string): StripeObject[] {
    return this.list('invoice_payment', (payment) => payment['invoice'] === invoiceId, { limit: 100 }).data;
  }

  // ---- credit notes ----

  /**
   * `POST /v1/credit_notes` on a finalized invoice that is not void: `lines[]` of invoice line items credited by
   * `amount` (or `quantity`, the whole line here: every line has quantity 1) and custom lines, or one `amount`.
   * It first reduces the invoice's `amount_due` and `amount_remaining`, never below 0 (`pre_payment_amount`); the rest
   * (`post_payment_amount`) must be allocated to `refund_amount`, `credit_amount` (the customer's balance) and
   * `out_of_band_amount`. An open invoice whose amount remaining reaches 0 is left open here (see
   * docs/project-to-cash.md).
   */
  createCreditNote(params: StripeObject): StripeObject {
    if (!params['invoice']) throw invalid('Missing required param: invoice.', 'parameter_missing', 'invoice');
    const invoice = this.get('invoice', params['invoice']);
    if (invoice['status'] === 'draft' || invoice['status'] === 'void') {
      throw invalid(
        `You can only issue credit notes on finalized invoices that are not void; invoice ${invoice['id']} is ${invoice['status']}.`,
        undefined,
        'invoice',
      );
    }
    if (params['reason'] !== undefined && !CREDIT_NOTE_REASONS.includes(params['reason']))
      throw invalid(`Invalid reason: must be one of ${CREDIT_NOTE_REASONS.join(', ')}`, 'parameter_invalid_string', 'reason');
    const earlier = [...this.objects.credit_note.values()].filter((note) => note['invoice'] === invoice['id'] && note['status'] === 'issued');
    const creditedOn = (lineItemId: string) =>
      earlier
        .flatMap((note) => note['lines'].data as StripeObject[])
        .filter((line) => line['invoice_line_item'] === lineItemId)
        .reduce((sum, line) => sum + line['amount'], 0);
    const asked = params['lines'] === undefined ? [] : Array.isArray(params['lines']) ? params['lines'] : Object.values(params['lines']);
    const lines: StripeObject[] = [];
    for (const [index, line] of (asked as StripeObject[]).entries()) {
      const param = `lines[${index}]`;
      if (line['type'] === 'invoice_line_item') {
        const item = (invoice['lines'].data as StripeObject[]).find((candidate) => candidate['id'] === line['invoice_line_item']);
        if (!item)
          throw invalid(
            `The invoice line item ${line['invoice_line_item']} is not on invoice ${invoice['id']}.`,
            'resource_missing',
            `${param}[invoice_line_item]`,
          );
        const amount = line['amount'] !== undefined ? Number(line['amount']) : line['quantity'] !== undefined ? Number(line['quantity']) * item['amount'] : NaN;
        if (!Number.isInteger(amount) || amount < 1)
          throw invalid(`Invalid positive integer: ${param}[amount]`, 'parameter_invalid_integer', `${param}[amount]`);
        const left = item['amount'] - creditedOn(item['id']);
        if (amount > left) {
          throw invalid(
            `The credit note line amount (${amount}) exceeds the amount left to credit on invoice line item ${item['id']} (${left}).`,
            undefined,
            `${param}[amount]`,
          );
        }
        lines.push(creditNoteLineObject({ type: 'invoice_line_item', amount, invoiceLineItem: item['id'], description: item['description'] }));
      } else if (line['type'] === 'custom_line_item') {
        const amount = Number(line['unit_amount']) * Number(line['quantity'] ?? 1);
        if (!Number.isInteger(amount) || amount < 1)
          throw invalid(`Invalid positive integer: ${param}[unit_amount]`, 'parameter_invalid_integer', `${param}[unit_amount]`);
        lines.push(creditNoteLineObject({ type: 'custom_line_item', amount, invoiceLineItem: null, description: line['description'] ?? null }));
      } else throw invalid(`Invalid ${param}[type]: must be invoice_line_item or custom_line_item`, 'parameter_invalid_string', `${param}[type]`);
    }
    if (lines.length === 0 && params['amount'] === undefined) throw invalid('Missing required param: lines or amount.', 'parameter_missing', 'lines');
    const total = lines.length > 0 ? lines.reduce((sum, line) => sum + line['amount'], 0) : Number(params['amount']);
    if (!Number.isInteger(total) || total < 1) throw invalid('Invalid positive integer: amount', 'parameter_invalid_integer', 'amount');
    const creditable = invoice['total'] - invoice['pre_payment_credit_notes_amount'] - invoice['post_payment_credit_notes_amount'];
    if (total > creditable)
      throw invalid(`The credit note total (${total}) exceeds the amount left to credit on invoice ${invoice['id']} (${creditable}).`, undefined, 'amount');
    const prePayment = invoice['status'] === 'paid' ? 0 : Math.min(total, invoice['amount_remaining']);
    const postPayment = total - prePayment;
    const allocated = ['refund_amount', 'credit_amount', 'out_of_band_amount'].map((field) => (params[field] === undefined ? 0 : Number(params[field])));
    if (allocated.some((amount) => !Number.isInteger(amount) || amount < 0))
      throw invalid('Invalid non-negative integer amounts.', 'parameter_invalid_integer');
    if (allocated[0]! > 0)
      throw invalid('This account holds no charges to refund: credit outside Stripe or to the customer balance.', undefined, 'refund_amount');
    if (allocated[0]! + allocated[1]! + allocated[2]! !== postPayment) {
      throw invalid(
        `The sum of refund_amount, credit_amount and out_of_band_amount (${allocated[0]! + allocated[1]! + allocated[2]!}) must equal the credit note's post-payment amount (${postPayment}).`,
        undefined,
        'out_of_band_amount',
      );
    }
    const now = this.now();
    const id = wireId('cn');
    const creditNote = this.add('credit_note', {
      id,
      object: 'credit_note',
      amount: total,
      amount_shipping: 0,
      created: now,
      currency: invoice['currency'],
      customer: invoice['customer'],
      customer_account: null,
      customer_balance_transaction: allocated[1]! > 0 ? wireId('cbtxn') : null,
      discount_amount: 0,
      discount_amounts: [],
      effective_at: now,
      invoice: invoice['id'],
      lines: { object: 'list', data: lines, has_more: false, total_count: lines.length, url: `/v1/credit_notes/${id}/lines` },
      livemode: false,
      memo: params['memo'] ?? null,
      metadata: params['metadata'] ?? {},
      number: `${invoice['number']}-CN-${String(earlier.length + 1).padStart(2, '0')}`,
      out_of_band_amount: allocated[2]! > 0 ? allocated[2] : null,
      pdf: `https://pay.stripe.com/credit_notes/acct_wire/${id}/pdf`,
      post_payment_amount: postPayment,
      pre_payment_amount: prePayment,
      pretax_credit_amounts: [],
      reason: params['reason'] ?? null,
      refunds: [],
      shipping_cost: null,
      status: 'issued',
      subtotal: total,
      subtotal_excluding_tax: total,
      total,
      total_excluding_tax: total,
      total_taxes: [],
      type: postPayment === 0 ? 'pre_payment' : prePayment === 0 ? 'post_payment' : 'mixed',
      voided_at: null,
    });
    if (allocated[1]! > 0) this.get('customer', invoice['customer'])['balance'] -= allocated[1]!;
    const previous = {
      amount_due: invoice['amount_due'],
      amount_remaining: invoice['amount_remaining'],
      pre_payment_credit_notes_amount: invoice['pre_payment_credit_notes_amount'],
      post_payment_credit_notes_amount: invoice['post_payment_credit_notes_amount'],
    };
    invoice['pre_payment_credit_notes_amount'] += prePayment;
    invoice['post_payment_credit_notes_amount'] += postPayment;
    invoice['amount_due'] -= prePayment;
    invoice['amount_remaining'] = Math.max(0, invoice['amount_due'] - invoice['amount_paid']);
    this.emit('credit_note.created', creditNote);
    this.emit('invoice.updated', invoice, previous);
    return creditNote;
  }
}
