/**
 * Stripe's webhooks, as Stripe sends them: every event the account raises becomes an `event` object
 * (`evt_…`, with a snapshot of the object as it was then) POSTed to the endpoint's URL with a pretty-printed JSON
 * body and a `Stripe-Signature: t=<unix>,v1=<hex>` header — HMAC-SHA256, keyed with the endpoint's `whsec_`
 * secret, of `<t>.<body>`; while a secret is being rolled, one `v1` per live secret. A delivery that is not
 * answered 2xx is tried again after a delay (Stripe: for up to three days; here, the test's delays).
 *
 * For tests: deliveries can be held and released in any order (Stripe does not keep order), and any event can be
 * sent again — as Stripe resends it, or tampered with, or signed long ago.
 */
import { createHmac } from 'node:crypto';
import { type StripeObject, wireId } from './stripeAccount.js';

export interface WebhookDelivery {
  readonly eventId: string;
  readonly type: string;
  /** The HTTP status the endpoint answered, or 0 when it could not be reached. */
  readonly status: number;
  readonly attempt: number;
}

export interface ResendOptions {
  /** Seconds to move the signed timestamp by (negative: signed long ago). */
  readonly timestampOffsetSeconds?: number;
  /** Changes the body after it was signed. */
  readonly tamper?: (body: string) => string;
  /** Sign with these secrets instead of the endpoint's. */
  readonly secrets?: readonly string[];
}

export class StripeWebhookSender {
  readonly events: StripeObject[] = [];
  readonly deliveries: WebhookDelivery[] = [];
  private url: string | undefined;
  private secrets: string[];
  private held: StripeObject[] | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly retries = new Set<NodeJS.Timeout>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    secret: string,
    private readonly apiVersion: string,
    private readonly retryDelaysMs: readonly number[],
  ) {
    this.secrets = [secret];
  }

  /** Where events are POSTed (the endpoint registered in the Dashboard); none: events are only recorded. */
  setEndpoint(url: string | undefined): void {
    this.url = url;
  }

  /** Rolls the endpoint's secret: until `expireOldSecret`, every delivery carries a `v1` signature with each. */
  rollSecret(secret: string): void {
    this.secrets = [secret, ...this.secrets];
  }

  expireOldSecret(): void {
    this.secrets = this.secrets.slice(0, 1);
  }

  /** Records an event raised by the account and delivers it (unless deliveries are held). */
  raise(
    type: string,
    object: StripeObject,
    created: number,
    request: { id: string | null; idempotencyKey: string | null },
    previous?: StripeObject,
  ): StripeObject {
    const event = {
      id: wireId('evt'),
      object: 'event',
      api_version: this.apiVersion,
      created,
      data: { object: JSON.parse(JSON.stringify(object)), ...(previous ? { previous_attributes: JSON.parse(JSON.stringify(previous)) } : {}) },
      livemode: false,
      pending_webhooks: this.url ? 1 : 0,
      request: { id: request.id, idempotency_key: request.idempotencyKey },
      type,
    };
    this.events.push(event);
    if (this.held) this.held.push(event);
    else this.enqueue(event, 1);
    return event;
  }

  /** Holds back the deliveries of events raised from now on. */
  hold(): void {
    this.held ??= [];
  }

  /** Delivers the held events, in the order raised or the reverse. */
  release(options: { reverse?: boolean } = {}): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of options.reverse ? [...held].reverse() : held) this.enqueue(event, 1);
  }

  /** Sends one event now, outside the delivery queue, and answers the endpoint's HTTP status. */
  async resend(eventId: string, options: ResendOptions = {}): Promise<number> {
    const event = this.events.find((candidate) => candidate['id'] === eventId);
    if (!event) throw new Error(`no event ${eventId}`);
    return this.post(event, options);
  }

  /** Resolves when every delivery so far, retries included, is done (answered, or out of retries). */
  async settled(): Promise<void> {
    for (;;) {
      await this.queue;
      await Promise.allSettled([...this.pending]);
      if (this.pending.size === 0 && this.retries.size === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  stop(): void {
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
  }

  /** Deliveries go one at a time, in the order queued, as a single endpoint sees Stripe's. */
  private enqueue(event: StripeObject, attempt: number): void {
    this.queue = this.queue.then(async () => {
      if (!this.url) return;
      const status = await this.post(event);
      this.deliveries.push({ eventId: event['id'], type: event['type'], status, attempt });
      if (status >= 200 && status < 300) return;
      const delay = this.retryDelaysMs[attempt - 1];
      if (delay === undefined) return;
      const timer = setTimeout(() => {
        this.retries.delete(timer);
        this.enqueue(event, attempt + 1);
      }, delay);
      this.retries.add(timer);
    });
  }

  private async post(event: StripeObject, options: ResendOptions = {}): Promise<number> {
    if (!this.url) throw new Error('no webhook endpoint');
    // Stripe's payloads are pretty-printed; the signature covers exactly these bytes.
    const body = JSON.stringify(event, null, 2);
    const timestamp = Math.floor(Date.now() / 1000) + (options.timestampOffsetSeconds ?? 0);
    const header = signatureHeader(body, timestamp, options.secrets ?? this.secrets);
    const sent = fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'stripe-signature': header,
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      },
      body: options.tamper ? options.tamper(body) : body,
      signal: AbortSignal.timeout(20_000),
    }).then(
      async (response) => {
        await response.arrayBuffer();
        return response.status;
      },
      () => 0,
    );
    this.pending.add(sent);
    try {
      return await sent;
    } finally {
      this.pending.delete(sent);
    }
  }
}

/** `t=<unix>,v1=<hex>[,v1=<hex>…]`: one HMAC-SHA256 of `<t>.<body>` per secret. */
export function signatureHeader(body: string, timestamp: number, secrets: readonly string[]): string {
  const signatures = secrets.map((secret) => `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`);
  return [`t=${timestamp}`, ...signatures].join(',');
}
