/**
 * Stripe's objects as the replica holds them: the first fill of the replica by listing (customers, the projects'
 * products, invoices, the payments received on them, the credit notes issued on them; each list paged with `starting_after`, its cursor saved with
 * each page so that a fill cut short resumes where it stopped), and the refresh of one invoice or customer when a
 * webhook names it.
 *
 * The first fill emits no business events: what happened before psgraph was switched on is history, not news.
 */
import type Stripe from 'stripe';
import type { StripeClient } from './stripeClient.js';
import type { InvoiceChange, ReplicaChanges, StripeReplica } from './stripeReplica.js';
import {
  METADATA,
  type ReplicaCustomer,
  keyOfInvoice,
  type ReplicaCreditNote,
  toReplicaCreditNote,
  toReplicaCustomer,
  toReplicaInvoice,
  toReplicaLines,
  toReplicaPayment,
  toReplicaProfile,
} from './stripeRecords.js';

/** The kinds of object the first fill lists, in the order it lists them (an invoice's customer before the invoice). */
const RESOURCES = ['customers', 'products', 'invoices', 'invoice_payments', 'credit_notes'] as const;
type Resource = (typeof RESOURCES)[number];
/** Lists read side by side: customers and products first, then invoices and the payments received on them. */
const STAGES: ReadonlyArray<readonly Resource[]> = [
  ['customers', 'products'],
  ['invoices', 'invoice_payments'],
  // After their invoices: a credit note is psgraph's when its invoice is.
  ['credit_notes'],
];

export class StripeSync {
  private filling: Promise<void> | undefined;
  private filled = false;
  private closed = false;

  constructor(
    private readonly client: StripeClient,
    private readonly replica: StripeReplica,
  ) {}

  /** Resolves once the replica has been filled (at once after the first time); a failed fill is tried again on the next call. */
  ready(): Promise<void> {
    if (this.filled) return Promise.resolve();
    if (RESOURCES.every((resource) => this.replica.syncState(resource).done)) {
      this.filled = true;
      return Promise.resolve();
    }
    this.filling ??= this.fill().finally(() => (this.filling = undefined));
    return this.filling;
  }

  /** Stops the fill after the page in flight (the adapter is closing). */
  async close(): Promise<void> {
    this.closed = true;
    await this.filling?.catch(() => {});
  }

  private async fill(): Promise<void> {
    for (const stage of STAGES) {
      // Every list of the stage runs to its end or its failure before the fill gives up: none is left running.
      const results = await Promise.allSettled(stage.map((resource) => this.fillFrom(resource)));
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }

  private async fillFrom(resource: Resource): Promise<void> {
    const state = this.replica.syncState(resource);
    if (state.done) return;
    await this.client.listPages<{ id: string }>(
      `sync:${resource}`,
      state.cursor ?? undefined,
      (page) => this.list(resource, page),
      async (objects, cursor, last) => {
        const changes = await this.changesOf(resource, objects);
        if (this.closed) throw new Error('The Stripe adapter closed while its replica was being filled.');
        this.replica.apply(changes, { emit: false, syncCursor: { resource, cursor, done: last } });
      },
    );
  }

  private list(resource: Resource, page: { limit: number; starting_after?: string }): Promise<{ data: Array<{ id: string }>; has_more: boolean }> {
    const stripe = this.client.stripe;
    switch (resource) {
      case 'customers':
        return stripe.customers.list(page);
      case 'products':
        // The project's currency is its product's default price's.
        return stripe.products.list({ ...page, expand: ['data.default_price'] });
      case 'invoices':
        return stripe.invoices.list(page);
      case 'invoice_payments':
        return stripe.invoicePayments.list({ ...page, status: 'paid' });
      case 'credit_notes':
        return stripe.creditNotes.list(page);
    }
  }

  private async changesOf(resource: Resource, objects: ReadonlyArray<{ id: string }>): Promise<ReplicaChanges> {
    switch (resource) {
      case 'customers':
        return { customers: present((objects as Stripe.Customer[]).map((customer) => toReplicaCustomer(customer))) };
      case 'products':
        return { profiles: present((objects as Stripe.Product[]).map(toReplicaProfile)) };
      case 'invoices': {
        const invoices = objects as Stripe.Invoice[];
        const changes = present(await Promise.all(invoices.map((invoice) => this.invoiceChange(invoice))));
        return { customers: this.customersNamedOnlyByInvoices(invoices), invoices: changes };
      }
      case 'invoice_payments':
        // Listed newest first; written oldest first, so that payments received the same second keep their order.
        return { payments: present((objects as Stripe.InvoicePayment[]).map(toReplicaPayment)).reverse() };
      case 'credit_notes': {
        // Listed newest first; numbered oldest first, so written that way.
        const notes = [...(objects as Stripe.CreditNote[])].reverse().filter((note) => this.replica.invoicesById([idOfInvoice(note)]).size > 0);
        return { creditNotes: present(await Promise.all(notes.map((note) => this.creditNote(note)))) };
      }
    }
  }

  /**
   * Customers whose own metadata does not name their CRM account, as their invoices name it (the fill lists
   * customers first, so any customer still unknown here has no account of its own).
   */
  private customersNamedOnlyByInvoices(invoices: readonly Stripe.Invoice[]): ReplicaCustomer[] {
    const customers = new Map<string, ReplicaCustomer>();
    for (const invoice of invoices) {
      const customerId = typeof invoice.customer === 'string' ? invoice.customer : invoice.customer?.id;
      const crmAccountId = invoice.metadata?.[METADATA.crmAccountId];
      if (!customerId || !crmAccountId || customers.has(customerId) || this.replica.customer(customerId)) continue;
      customers.set(customerId, { id: customerId, crm_account_id: crmAccountId, currency: invoice.currency.toUpperCase(), days_until_due: null });
    }
    return [...customers.values()];
  }

  /** An invoice's line items, all of them: read further only when the invoice has more than Stripe embeds. */
  async lineItemsOf(invoice: Stripe.Invoice): Promise<Stripe.InvoiceLineItem[]> {
    if (!invoice.lines?.has_more || !invoice.metadata?.[METADATA.projectId]) return invoice.lines?.data ?? [];
    // Listed in the invoice's order (Stripe lists line items as the invoice shows them).
    return this.client.listAll('invoiceLines', (page) => this.client.stripe.invoices.listLineItems(invoice.id, page));
  }

  /** The replica's view of an invoice. */
  async invoiceChange(invoice: Stripe.Invoice, lines?: Stripe.InvoiceLineItem[]): Promise<InvoiceChange | null> {
    lines ??= await this.lineItemsOf(invoice);
    const row = toReplicaInvoice(invoice, lines);
    return row ? { row, times: invoice.status_transitions, lines: toReplicaLines(invoice.id, lines), key: keyOfInvoice(invoice) } : null;
  }

  /**
   * What Stripe holds now of the invoice an event names (with its customer, in the same call): the truth to apply,
   * whatever the event's own copy says and whenever it arrives. A deleted draft comes back as a deletion.
   */
  async refreshInvoice(invoiceId: string): Promise<ReplicaChanges> {
    let invoice: Stripe.Invoice;
    try {
      invoice = await this.client.read('retrieveInvoice', (stripe) => stripe.invoices.retrieve(invoiceId, { expand: ['customer'] }));
    } catch (error) {
      if ((error as { extensions?: { failure?: string } }).extensions?.failure === 'NOT_FOUND') return { deletedInvoiceIds: [invoiceId] };
      throw error;
    }
    return this.invoiceChanges(invoice);
  }

  /** The changes an invoice (with its customer expanded, or its customer already in the replica) makes to the replica. */
  async invoiceChanges(invoice: Stripe.Invoice, lineItems?: Stripe.InvoiceLineItem[]): Promise<ReplicaChanges> {
    const change = await this.invoiceChange(invoice, lineItems);
    if (!change) return {};
    const customer =
      typeof invoice.customer === 'object' && invoice.customer !== null
        ? toReplicaCustomer(invoice.customer, invoice.metadata?.[METADATA.crmAccountId])
        : this.replica.customer(change.row.customer_id)
          ? null
          : await this.refreshCustomer(change.row.customer_id, invoice.metadata?.[METADATA.crmAccountId]);
    return { ...(customer ? { customers: [customer] } : {}), invoices: [change] };
  }

  /**
   * The changes a credit note makes: its invoice as Stripe holds it now (its amounts changed) and the credit note,
   * its lines named by the sources of the invoice's line items they credit.
   */
  async creditNoteChanges(creditNote: Stripe.CreditNote): Promise<ReplicaChanges> {
    const invoiceId = idOfInvoice(creditNote);
    const invoice = await this.client.read('retrieveInvoice', (stripe) => stripe.invoices.retrieve(invoiceId, { expand: ['customer'] }));
    const lineItems = await this.lineItemsOf(invoice);
    const changes = await this.invoiceChanges(invoice, lineItems);
    const note = await this.creditNote(creditNote, lineItems);
    return { ...changes, creditNotes: note ? [note] : [] };
  }

  /** What Stripe holds now of the credit note an event names, with its invoice. */
  async refreshCreditNote(creditNoteId: string): Promise<ReplicaChanges> {
    const creditNote = await this.client.read('retrieveCreditNote', (stripe) => stripe.creditNotes.retrieve(creditNoteId));
    return this.creditNoteChanges(creditNote);
  }

  /** A credit note as replica rows; `lineItems`: its invoice's, when already read. */
  private async creditNote(creditNote: Stripe.CreditNote, lineItems?: readonly Stripe.InvoiceLineItem[]): Promise<ReplicaCreditNote | null> {
    const lines = creditNote.lines.has_more
      ? await this.client.listAll('creditNoteLines', (page) => this.client.stripe.creditNotes.listLineItems(creditNote.id, page))
      : creditNote.lines.data;
    let sources: Map<string, string | null>;
    if (lineItems) {
      sources = new Map(lineItems.map((item) => [item.id, item.metadata?.[METADATA.sourceKey] || null]));
    } else {
      const invoiceId = idOfInvoice(creditNote);
      const invoice = await this.client.read('retrieveInvoice', (stripe) => stripe.invoices.retrieve(invoiceId));
      sources = new Map((await this.lineItemsOf(invoice)).map((item) => [item.id, item.metadata?.[METADATA.sourceKey] || null]));
    }
    return toReplicaCreditNote(creditNote, lines, sources);
  }

  async refreshCustomer(customerId: string, fallbackCrmAccountId?: string | null) {
    const customer = await this.client.read('retrieveCustomer', (stripe) => stripe.customers.retrieve(customerId));
    return toReplicaCustomer(customer, fallbackCrmAccountId);
  }

  async refreshProduct(productId: string): Promise<ReplicaChanges> {
    const product = await this.client.read('retrieveProduct', (stripe) => stripe.products.retrieve(productId, { expand: ['default_price'] }));
    const profile = toReplicaProfile(product);
    return profile ? { profiles: [profile] } : {};
  }
}

const idOfInvoice = (creditNote: Stripe.CreditNote): string => (typeof creditNote.invoice === 'string' ? creditNote.invoice : creditNote.invoice.id);

const present = <T>(values: ReadonlyArray<T | null>): T[] => values.filter((value): value is T => value !== null);
