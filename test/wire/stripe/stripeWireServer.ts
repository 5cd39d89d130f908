/**
 * A local server that speaks Stripe's REST API as its documentation describes it, over an account of its own
 * (`stripeAccount.ts`, seeded from the billing sandbox's world), for the Stripe adapter's tests:
 * - invoices, invoice items, payment records and credit notes (`POST /v1/credit_notes`), as `stripeAccount.ts` keeps them;
 * - API keys in `Authorization: Bearer` (or Basic), refused with Stripe's 401; a restricted read-only key refused
 *   writes with 403;
 * - form-encoded parameters with bracketed keys, `expand[]`, lists of `{ object: 'list', data, has_more, url }`
 *   paged with `limit`, `starting_after` and `ending_before`;
 * - `Idempotency-Key`: the first answer to a key is replayed (`Idempotent-Replayed: true`), and a key reused with
 *   other parameters is refused (`idempotency_error`);
 * - Stripe's error bodies (`{ error: { type, code, message, param } }`), its rate limit (429 `rate_limit`), and
 *   faults a test injects (429s with or without `Retry-After`, 5xx, an outage);
 * - webhooks signed as Stripe signs them (`stripeWebhookSender.ts`), for every change, whether made through the
 *   API or by the test "in the Dashboard" (`account`).
 */
import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import type { WorldOptions } from '../../../subgraphs/sandboxes/src/index.js';
import { type Kind, StripeAccount, StripeApiError, type StripeObject, invalid } from './stripeAccount.js';
import { type FormValue, decodeForm, fingerprint } from './stripeForm.js';
import { StripeWebhookSender } from './stripeWebhookSender.js';

export interface StripeWireOptions {
  /** The seed of the records (the same as the sandbox's it is compared with). */
  readonly world: WorldOptions;
  /** A folder the server may seed a sandbox store in (it reads the world from there). */
  readonly dataDir: string;
  /** The account's secret key (`sk_test_…`). */
  readonly apiKey: string;
  /** A restricted key allowed to read only (`rk_test_…`). */
  readonly readOnlyKey?: string;
  /** The signing secret of the webhook endpoint (`whsec_…`). */
  readonly webhookSecret: string;
  /** The account's "now", for the timestamps of changes. @default the system clock */
  readonly clock?: () => Date;
  /** Requests per second before Stripe's 429 `rate_limit` (Stripe: 100 live, 25 test). @default unlimited */
  readonly requestsPerSecond?: number;
  /** Delays before each further webhook delivery attempt. @default [100, 500, 2000] */
  readonly webhookRetryDelaysMs?: readonly number[];
}

/** A fault the next matching requests get instead of an answer. */
export interface InjectedFault {
  readonly status: number;
  /** A Stripe error body; none: an empty body (what a proxy or an overloaded edge answers). */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** How many requests get it. @default 1 */
  readonly times?: number;
  /** Which requests (by method and path). @default every API request */
  readonly match?: (method: string, path: string) => boolean;
  /** The request is carried out first and only its answer is lost (a connection that drops on the way back). */
  readonly afterRunning?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly idempotencyKey: string | undefined;
}

type Params = Record<string, FormValue>;
type Route = { method: string; pattern: RegExp; handle: (params: Params, id: string) => unknown };

export class StripeWireServer {
  readonly account: StripeAccount;
  readonly webhooks: StripeWebhookSender;
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly faults: Array<{ times: number; match: (method: string, path: string) => boolean; fault: InjectedFault }> = [];
  private readonly idempotent = new Map<string, { fingerprint: string; status: number; body: unknown }>();
  private readonly recent: number[] = [];
  private readonly routes: Route[];
  private request: { id: string | null; idempotencyKey: string | null } = { id: null, idempotencyKey: null };
  private port = 0;

  private constructor(private readonly options: StripeWireOptions) {
    this.webhooks = new StripeWebhookSender(options.webhookSecret, Stripe.API_VERSION, options.webhookRetryDelaysMs ?? [100, 500, 2_000]);
    this.account = new StripeAccount(options.clock ?? (() => new Date()), (type, object, previous) =>
      this.webhooks.raise(type, object, this.account.now(), this.request, previous),
    );
    this.account.seed(options.dataDir, options.world);
    this.routes = this.routeTable();
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  static async start(options: StripeWireOptions): Promise<StripeWireServer> {
    const wire = new StripeWireServer(options);
    await wire.listen(0);
    return wire;
  }

  /** `http://127.0.0.1:<port>`: the API's base URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** API requests received (what Stripe counts against the rate limit). */
  get apiRequests(): number {
    return this.requests.length;
  }

  /** The URL webhooks are POSTed to (psgraph's `/webhooks/stripe`); undefined: none are sent. */
  setWebhookEndpoint(url: string | undefined): void {
    this.webhooks.setEndpoint(url);
  }

  /** The next matching requests fail as given (a 429 storm, an outage). */
  inject(fault: InjectedFault): void {
    this.faults.push({ times: fault.times ?? 1, match: fault.match ?? (() => true), fault });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Stops answering (an outage); `resume` listens again on the same port. */
  async pause(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async resume(): Promise<void> {
    await this.listen(this.port);
  }

  async stop(): Promise<void> {
    this.webhooks.stop();
    if (this.server.listening) await this.pause();
  }

  private async listen(port: number): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  // ---- HTTP ----

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    const body = await readBody(request);
    const idempotencyKey = header(request, 'idempotency-key');
    const requestId = `req_${randomBytes(7).toString('hex')}`;
    const headers = { 'request-id': requestId, 'stripe-version': header(request, 'stripe-version') ?? Stripe.API_VERSION };
    const lostAnswer = (status: number, payload: unknown, extra: Readonly<Record<string, string>> = {}) =>
      fault?.afterRunning
        ? send(response, fault.status, fault.body, { ...headers, ...fault.headers })
        : send(response, status, payload, { ...headers, ...extra });
    let fault: InjectedFault | undefined;
    try {
      this.requests.push({ method, path: url.pathname, query: url.search, idempotencyKey });
      fault = this.takeFault(method, url.pathname);
      if (fault && !fault.afterRunning) throw new Fault(fault);
      this.rateLimit();
      this.authenticate(request, method);
      const params = decodeForm(method === 'GET' || method === 'DELETE' ? url.search.slice(1) : body);
      if (method === 'POST' && idempotencyKey) {
        const seen = this.idempotent.get(idempotencyKey);
        const asked = fingerprint({ method, path: url.pathname, params });
        if (seen && seen.fingerprint !== asked) {
          throw new StripeApiError(400, {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
          });
        }
        if (seen) return lostAnswer(seen.status, seen.body, { 'idempotent-replayed': 'true' });
        const { status, payload } = this.run(method, url.pathname, params, { id: requestId, idempotencyKey });
        // Stripe keeps the result of a request that ran, refusals included; one whose parameters were refused
        // before it ran may be sent again.
        const refusedParameters = String((payload as { error?: { code?: string } }).error?.code ?? '').startsWith('parameter_');
        if (!refusedParameters) this.idempotent.set(idempotencyKey, { fingerprint: asked, status, body: payload });
        return lostAnswer(status, payload);
      }
      const { status, payload } = this.run(method, url.pathname, params, { id: requestId, idempotencyKey: null });
      return lostAnswer(status, payload);
    } catch (error) {
      if (error instanceof StripeApiError)
        return send(response, error.status, { error: { ...error.error, request_log_url: null } }, { ...headers, ...error.headers });
      if (error instanceof Fault) return send(response, error.fault.status, error.fault.body, { ...headers, ...error.fault.headers });
      return send(response, 500, { error: { type: 'api_error', message: String(error) } }, headers);
    }
  }

  private run(method: string, path: string, params: Params, request: { id: string; idempotencyKey: string | null }): { status: number; payload: unknown } {
    for (const route of this.routes) {
      const match = route.method === method ? route.pattern.exec(path) : null;
      if (!match) continue;
      this.request = request;
      try {
        return { status: 200, payload: route.handle(params, decodeURIComponent(match[1] ?? '')) };
      } catch (error) {
        if (error instanceof StripeApiError) return { status: error.status, payload: { error: error.error } };
        throw error;
      } finally {
        this.request = { id: null, idempotencyKey: null };
      }
    }
    throw new StripeApiError(404, {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    });
  }

  private authenticate(request: IncomingMessage, method: string): void {
    const authorization = header(request, 'authorization') ?? '';
    const basic = /^Basic (.+)$/.exec(authorization)?.[1];
    // Basic auth carries the key as the user name, with no password.
    const key = /^Bearer (.+)$/.exec(authorization)?.[1] ?? (basic ? Buffer.from(basic, 'base64').toString('utf8').replace(/:$/, '') : undefined);
    if (!key) {
      throw new StripeApiError(401, {
        type: 'invalid_request_error',
        message:
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
      });
    }
    if (key === this.options.readOnlyKey) {
      if (method !== 'GET') {
        throw new StripeApiError(403, {
          type: 'invalid_request_error',
          message: `The provided key '${masked(key)}' does not have the required permissions for this endpoint. Having the 'rak_invoice_write' permission would allow this request to continue.`,
        });
      }
      return;
    }
    if (key !== this.options.apiKey) throw new StripeApiError(401, { type: 'invalid_request_error', message: `Invalid API Key provided: ${masked(key)}` });
  }

  private rateLimit(): void {
    const limit = this.options.requestsPerSecond;
    if (limit === undefined) return;
    const now = Date.now();
    while (this.recent.length > 0 && this.recent[0]! <= now - 1_000) this.recent.shift();
    if (this.recent.length >= limit) {
      throw new StripeApiError(429, {
        type: 'invalid_request_error',
        code: 'rate_limit',
        message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
      });
    }
    this.recent.push(now);
  }

  private takeFault(method: string, path: string): InjectedFault | undefined {
    const fault = this.faults.find((candidate) => candidate.match(method, path));
    if (!fault) return undefined;
    fault.times--;
    if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault.fault;
  }

  // ---- endpoints ----

  private routeTable(): Route[] {
    const account = this.account;
    const id = '([^/]+)';
    const route = (method: string, path: string, handle: Route['handle']): Route => ({ method, pattern: new RegExp(`^/v1/${path}$`), handle });
    const retrieve = (kind: Kind) => (params: Params, objectId: string) => this.render(kind, account.get(kind, objectId), expansions(params));
    const invoiceChange = (change: (objectId: string, params: Params) => StripeObject) => (params: Params, objectId: string) =>
      this.render('invoice', change(objectId, params), expansions(params));
    return [
      route('GET', 'customers', (params) => this.list('customer', params, () => true)),
      route('GET', `customers/${id}`, retrieve('customer')),
      route('GET', 'products', (params) =>
        this.list('product', params, (product) => params['active'] === undefined || String(product['active']) === params['active']),
      ),
      route('GET', `products/${id}`, retrieve('product')),
      route('GET', `prices/${id}`, retrieve('price')),
      route('GET', 'invoices', (params) =>
        this.list(
          'invoice',
          params,
          (invoice) =>
            (params['customer'] === undefined || invoice['customer'] === params['customer']) &&
            (params['status'] === undefined || invoice['status'] === params['status']),
        ),
      ),
      route('POST', 'invoices', (params) => this.render('invoice', account.createInvoice(params), expansions(params))),
      route('GET', `invoices/${id}`, retrieve('invoice')),
      route(
        'POST',
        `invoices/${id}`,
        invoiceChange((objectId, params) => account.updateInvoice(objectId, params)),
      ),
      route('GET', `invoices/${id}/lines`, (params, objectId) => {
        const lines = account.get('invoice', objectId)['lines'];
        const page = pageOf(params);
        const start = page.startingAfter ? lines.data.findIndex((line: StripeObject) => line['id'] === page.startingAfter) + 1 : 0;
        const data = lines.data.slice(start, start + page.limit);
        return { object: 'list', data, has_more: start + page.limit < lines.data.length, url: lines.url };
      }),
      route(
        'POST',
        `invoices/${id}/finalize`,
        invoiceChange((objectId) => account.finalize(objectId)),
      ),
      route(
        'POST',
        `invoices/${id}/pay`,
        invoiceChange((objectId, params) => account.pay(objectId, params)),
      ),
      route(
        'POST',
        `invoices/${id}/void`,
        invoiceChange((objectId) => account.voidInvoice(objectId)),
      ),
      route(
        'POST',
        `invoices/${id}/mark_uncollectible`,
        invoiceChange((objectId) => account.markUncollectible(objectId)),
      ),
      route(
        'POST',
        `invoices/${id}/attach_payment`,
        invoiceChange((objectId, params) => account.attachPayment(objectId, params)),
      ),
      route('POST', 'invoiceitems', (params) => this.render('invoiceitem', account.createInvoiceItem(params), expansions(params))),
      route('GET', `invoiceitems/${id}`, retrieve('invoiceitem')),
      route('GET', 'invoice_payments', (params) =>
        this.list(
          'invoice_payment',
          params,
          (payment) =>
            (params['invoice'] === undefined || payment['invoice'] === params['invoice']) &&
            (params['status'] === undefined || payment['status'] === params['status']),
        ),
      ),
      route('GET', `invoice_payments/${id}`, retrieve('invoice_payment')),
      route('POST', 'payment_records/report_payment', (params) => this.render('payment_record', account.reportPayment(params), expansions(params))),
      route('GET', `payment_records/${id}`, retrieve('payment_record')),
      route('POST', 'credit_notes', (params) => this.render('credit_note', account.createCreditNote(params), expansions(params))),
      route('GET', 'credit_notes', (params) =>
        this.list(
          'credit_note',
          params,
          (note) =>
            (params['invoice'] === undefined || note['invoice'] === params['invoice']) &&
            (params['customer'] === undefined || note['customer'] === params['customer']),
        ),
      ),
      route('GET', `credit_notes/${id}`, retrieve('credit_note')),
      route('GET', `credit_notes/${id}/lines`, (params, objectId) => {
        const lines = account.get('credit_note', objectId)['lines'];
        const page = pageOf(params);
        const start = page.startingAfter ? lines.data.findIndex((line: StripeObject) => line['id'] === page.startingAfter) + 1 : 0;
        return { object: 'list', data: lines.data.slice(start, start + page.limit), has_more: start + page.limit < lines.data.length, url: lines.url };
      }),
    ];
  }

  private list(kind: Kind, params: Params, matches: (object: StripeObject) => boolean): StripeObject {
    const page = pageOf(params);
    const { data, hasMore } = this.account.list(kind, matches, page);
    const expand = expansions(params).map((path) => {
      if (!path.startsWith('data.'))
        throw invalid(`This property cannot be expanded (${path}). You may want to try expanding 'data.${path}' instead.`, undefined, 'expand');
      return path.slice('data.'.length);
    });
    return { object: 'list', data: data.map((object) => this.render(kind, object, expand)), has_more: hasMore, url: `/v1/${kind}s` };
  }

  /** The object as the API answers it, with the fields `expand` names replaced by the objects they point at. */
  private render(kind: Kind, object: StripeObject, expand: readonly string[]): StripeObject {
    if (expand.length === 0) return object;
    const rendered = { ...object };
    for (const path of expand) {
      if (kind === 'invoice' && path === 'customer') rendered['customer'] = this.account.get('customer', object['customer']);
      else if (kind === 'invoice' && path === 'payments') {
        rendered['payments'] = {
          object: 'list',
          data: this.account.paymentsOf(object['id']),
          has_more: false,
          url: `/v1/invoice_payments?invoice=${object['id']}`,
        };
      } else if (kind === 'product' && path === 'default_price') {
        rendered['default_price'] = object['default_price'] ? this.account.get('price', object['default_price']) : null;
      } else throw invalid(`This property cannot be expanded (${path}).`, undefined, 'expand');
    }
    return rendered;
  }
}

class Fault extends Error {
  constructor(readonly fault: InjectedFault) {
    super(`HTTP ${fault.status}`);
  }
}

function pageOf(params: Params): { limit: number; startingAfter?: string; endingBefore?: string } {
  const limit = params['limit'] === undefined ? 10 : Number(params['limit']);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw invalid('Invalid integer: limit must be between 1 and 100.', 'parameter_invalid_integer', 'limit');
  return {
    limit,
    ...(typeof params['starting_after'] === 'string' ? { startingAfter: params['starting_after'] } : {}),
    ...(typeof params['ending_before'] === 'string' ? { endingBefore: params['ending_before'] } : {}),
  };
}

function expansions(params: Params): string[] {
  const expand = params['expand'];
  return expand === undefined ? [] : Array.isArray(expand) ? expand.map(String) : [String(expand)];
}

/** A key as Stripe quotes it back: its kind and last four characters. */
const masked = (key: string) => `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(response: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (body === undefined) {
    response.writeHead(status, headers);
    response.end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
