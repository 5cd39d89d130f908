/**
 * `POST /webhooks/stripe`: Stripe's events into the replica and, for status changes and credit notes issued, into
 * psgraph's events.
 *
 * - The signature is checked by the SDK (`stripe.webhooks.constructEvent`) over the raw body bytes, against the
 *   `Stripe-Signature` header: any of its `v1` signatures may match (Stripe signs with both secrets while one is
 *   rolled), and its timestamp must be no older than the tolerance (nor further ahead, which the SDK lets pass).
 *   Anything else is answered 400 and not acted on.
 * - An event already acted on (its ID is kept, in the replica's store) is acknowledged and dropped.
 * - The event's own copy of the object is not trusted for its state: Stripe delivers out of order and again, so the
 *   object is read as Stripe holds it now, and the replica never moves an invoice backwards.
 * - The event ID, the replica's change and the business events are recorded in one transaction; the outbox relay
 *   publishes the events. When Stripe cannot be asked, the answer is 503 and Stripe delivers again later.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Stripe from 'stripe';
import { type HttpHandler, sendJson } from '../../../platform/src/index.js';
import type { Secret } from '../../../platform/src/vendor/secrets.js';
import type { ReplicaChanges, StripeReplica } from './stripeReplica.js';
import { toReplicaPayment } from './stripeRecords.js';
import type { StripeSync } from './stripeSync.js';

export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';

/** Larger than any Stripe event; a body past it is not Stripe's. */
const MAX_BODY_BYTES = 1024 * 1024;
/** How long a delivery waits for the replica's first fill before asking Stripe to deliver again later. */
const FILL_WAIT_MS = 10_000;

export interface StripeWebhookOptions {
  readonly stripe: Stripe;
  readonly secret: Secret;
  readonly toleranceSeconds: number;
  readonly replica: StripeReplica;
  readonly sync: StripeSync;
  /** Called when a delivery recorded business events (the relay's notify). */
  readonly onEvents: () => void;
  readonly log?: (message: string) => void;
}

export interface StripeWebhookEndpoint {
  readonly handle: HttpHandler;
  /** Resolves when the deliveries being handled are done (the adapter is closing). */
  settle(): Promise<void>;
}

export function stripeWebhookEndpoint(options: StripeWebhookOptions): StripeWebhookEndpoint {
  const inFlight = new Set<Promise<void>>();
  const handle: HttpHandler = (request, response) => {
    const handling = receive(options, request, response);
    inFlight.add(handling);
    return handling.finally(() => inFlight.delete(handling));
  };
  return { handle, settle: async () => void (await Promise.allSettled([...inFlight])) };
}

async function receive(options: StripeWebhookOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'POST') return sendJson(response, 405, { error: 'Stripe delivers webhooks with POST.' });
  const body = await readRawBody(request);
  if (!body) return sendJson(response, 413, { error: 'The body is larger than any Stripe event.' });
  const header = request.headers['stripe-signature'];
  let event: Stripe.Event;
  try {
    if (typeof header !== 'string' || signedInTheFuture(header, options.toleranceSeconds)) throw new Error('no usable signature');
    event = options.stripe.webhooks.constructEvent(body, header, options.secret.reveal(), options.toleranceSeconds);
  } catch {
    // Which check failed is not told to whoever sent it.
    return sendJson(response, 400, { error: 'The Stripe-Signature header does not sign this body with a current timestamp.' });
  }
  if (options.replica.hasEvent(event.id)) return sendJson(response, 200, { received: true, duplicate: true });
  let changes: ReplicaChanges;
  try {
    await fillWithin(options.sync, FILL_WAIT_MS);
    changes = await changesFor(event, options.sync);
  } catch (error) {
    options.log?.(`[billing] Stripe event ${event.id} (${event.type}) not applied yet; Stripe will deliver it again: ${(error as Error).message}`);
    return sendJson(response, 503, { error: 'psgraph could not read the object from Stripe; deliver the event again later.' });
  }
  const { duplicate, events } = options.replica.apply(changes, { emit: true, event: { id: event.id, type: event.type } });
  if (events.length > 0) options.onEvents();
  sendJson(response, 200, { received: true, ...(duplicate ? { duplicate: true } : {}) });
}

/** What the event's object is now, read from Stripe; events about anything billing does not hold change nothing. */
async function changesFor(event: Stripe.Event, sync: StripeSync): Promise<ReplicaChanges> {
  const object = event.data.object as { id?: string; object?: string };
  if (!object.id) return {};
  switch (object.object) {
    case 'invoice':
      return sync.refreshInvoice(object.id);
    case 'invoice_payment': {
      // A payment received never changes again: the event's copy stands. Its invoice's amount paid did change.
      const payment = event.data.object as Stripe.InvoicePayment;
      const invoiceId = typeof payment.invoice === 'string' ? payment.invoice : payment.invoice.id;
      const received = toReplicaPayment(payment);
      return { ...(await sync.refreshInvoice(invoiceId)), payments: received ? [received] : [] };
    }
    case 'invoiceitem': {
      // An item added to (or removed from) an invoice changes the invoice's lines and totals.
      const item = event.data.object as Stripe.InvoiceItem;
      const invoiceId = typeof item.invoice === 'string' ? item.invoice : item.invoice?.id;
      return invoiceId ? sync.refreshInvoice(invoiceId) : {};
    }
    case 'credit_note':
      // Issued, updated or voided: its invoice's amounts changed too; both are read as Stripe holds them now.
      return sync.refreshCreditNote(object.id);
    case 'customer': {
      if (event.type === 'customer.deleted') return {};
      const customer = await sync.refreshCustomer(object.id);
      return customer ? { customers: [customer] } : {};
    }
    case 'product':
      return event.type === 'product.deleted' ? {} : sync.refreshProduct(object.id);
    default:
      return {};
  }
}

/** The replica must be filled before an event can be told apart from history; Stripe retries what waits too long. */
async function fillWithin(sync: StripeSync, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const tooLong = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the replica is still being filled')), ms);
  });
  try {
    await Promise.race([sync.ready(), tooLong]);
  } finally {
    clearTimeout(timer);
  }
}

/** A timestamp further ahead than the tolerance: the SDK checks only the age of a signature, not this. */
function signedInTheFuture(header: string, toleranceSeconds: number): boolean {
  const signedAt = Number(/(?:^|,)t=(\d+)/.exec(header)?.[1]);
  return Number.isFinite(signedAt) && signedAt - Math.floor(Date.now() / 1000) > toleranceSeconds;
}

/** The body exactly as it arrived: the signature covers these bytes, not a re-serialization of them. */
function readRawBody(request: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
