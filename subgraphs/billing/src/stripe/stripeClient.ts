/**
 * psgraph's client of the Stripe API: the official SDK (`stripe`) for requests, Stripe's error bodies and webhook
 * signatures, under psgraph's `VendorCalls` (concurrency cap, deadline, safe retries, circuit breaker). The SDK's
 * own retries are off (`maxNetworkRetries: 0`), so that every attempt is one psgraph counts and paces.
 *
 * Every write carries an `Idempotency-Key` derived from the operation and its inputs (never random): an attempt
 * whose answer was lost is repeated with the same key, and Stripe answers it with the first result instead of
 * acting twice. That is what makes writes as safe to retry as reads.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import type { Metrics } from '../../../platform/src/metrics.js';
import { VendorCalls, type VendorCallsOptions } from '../../../platform/src/vendor/vendorCalls.js';
import { VendorError, type VendorFailure, retryAfterMs } from '../../../platform/src/vendor/vendorError.js';
import type { StripeConfig } from './stripeConfig.js';

export const STRIPE = 'Stripe';

/** Objects per list page: Stripe's largest. */
const PAGE_LIMIT = 100;

/** What the HTTP layer saw of the current call's answer, for what the SDK's error leaves out (a body that is not Stripe's). */
interface ResponseSeen {
  status?: number;
  retryAfter?: string;
}

const seen = new AsyncLocalStorage<ResponseSeen>();

/** Stripe's error codes whose meaning is not their HTTP status. */
const FAILURE_OF_CODE: Readonly<Record<string, VendorFailure>> = {
  rate_limit: 'RATE_LIMITED',
  lock_timeout: 'RATE_LIMITED',
  resource_missing: 'NOT_FOUND',
  resource_already_exists: 'CONFLICT',
  idempotency_key_in_use: 'RATE_LIMITED',
};

export interface StripeListPage<T> {
  readonly data: T[];
  readonly has_more: boolean;
}

export class StripeClient {
  readonly calls: VendorCalls;
  readonly stripe: Stripe;

  constructor(config: StripeConfig, options: { readonly log?: (message: string) => void; readonly resilience?: Partial<VendorCallsOptions> } = {}) {
    this.calls = new VendorCalls({
      system: STRIPE,
      maxConcurrency: config.maxConcurrency,
      deadlineMs: config.timeoutMs,
      ...(options.log ? { log: options.log } : {}),
      ...options.resilience,
    });
    const url = new URL(config.apiUrl);
    const protocol = url.protocol === 'http:' ? 'http' : 'https';
    this.stripe = new Stripe(config.apiKey.reveal(), {
      host: url.hostname,
      port: url.port || (protocol === 'http' ? 80 : 443),
      protocol,
      // psgraph's VendorCalls retries, paced and counted; the SDK's own retries would hide attempts.
      maxNetworkRetries: 0,
      timeout: config.timeoutMs,
      telemetry: false,
      appInfo: { name: 'psgraph' },
      httpClient: observing(Stripe.createNodeHttpClient()),
    });
  }

  /** Registers the call counters (and the circuit's state) on the subgraph's /metrics. */
  instrument(metrics: Metrics): void {
    this.calls.instrument(metrics);
  }

  /** A read: retried when Stripe is busy or down. */
  read<T>(operation: string, request: (stripe: Stripe) => Promise<T>): Promise<T> {
    return this.call(operation, true, request);
  }

  /**
   * A write with the idempotency key `key` (derived from the operation and its inputs, see `idempotencyKey`):
   * Stripe replays the first answer to a repeated key, so it is retried like a read. `params` must be computed
   * before the call: a retry with the same key and other parameters is refused by Stripe.
   */
  write<T>(operation: string, key: string, request: (stripe: Stripe, options: Stripe.RequestOptions) => Promise<T>): Promise<T> {
    return this.call(operation, true, (stripe) => request(stripe, { idempotencyKey: key }));
  }

  /** Every object of a list, page by page with `starting_after` (newest first, as Stripe lists). */
  async listAll<T extends { id: string }>(
    operation: string,
    list: (page: { limit: number; starting_after?: string }) => Promise<StripeListPage<T>>,
  ): Promise<T[]> {
    const all: T[] = [];
    await this.listPages(operation, undefined, list, async (objects) => void all.push(...objects));
    return all;
  }

  /**
   * Pages of a list from `startingAfter` on, each handed to `onPage` with the cursor to resume after it: a
   * caller that records the cursor durably resumes where it stopped.
   */
  async listPages<T extends { id: string }>(
    operation: string,
    startingAfter: string | undefined,
    list: (page: { limit: number; starting_after?: string }) => Promise<StripeListPage<T>>,
    onPage: (objects: T[], cursor: string | undefined, last: boolean) => Promise<void>,
  ): Promise<void> {
    let cursor = startingAfter;
    for (;;) {
      const page = await this.read(operation, () => list({ limit: PAGE_LIMIT, ...(cursor ? { starting_after: cursor } : {}) }));
      cursor = page.data.at(-1)?.id ?? cursor;
      const last = !page.has_more || page.data.length === 0;
      await onPage(page.data, cursor, last);
      if (last) return;
    }
  }

  private call<T>(operation: string, safeToRetry: boolean, request: (stripe: Stripe) => Promise<T>): Promise<T> {
    return this.calls.call(operation, safeToRetry, async () => {
      const observed: ResponseSeen = {};
      try {
        return await seen.run(observed, () => request(this.stripe));
      } catch (error) {
        throw classify(error, observed);
      }
    });
  }
}

/**
 * An idempotency key for a write: the operation and its inputs, hashed (Stripe allows 255 characters; inputs can
 * be longer). The same psgraph write sends the same key, however often it is attempted.
 */
export function idempotencyKey(operation: string, ...inputs: ReadonlyArray<string | number>): string {
  return `psgraph-${operation}-${createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 40)}`;
}

/** The SDK's HTTP client, noting each answer's status and Retry-After for the call in progress. */
function observing(inner: ReturnType<typeof Stripe.createNodeHttpClient>): ReturnType<typeof Stripe.createNodeHttpClient> {
  const send = inner.makeRequest.bind(inner);
  inner.makeRequest = async (...args) => {
    const observed = seen.getStore();
    const response = await send(...args);
    if (observed) {
      observed.status = response.getStatusCode();
      const retryAfter = response.getHeaders()['retry-after'];
      observed.retryAfter = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
    }
    return response;
  };
  return inner;
}

function classify(error: unknown, observed: ResponseSeen): VendorError {
  if (error instanceof VendorError) return error;
  const stripeError = error instanceof Stripe.errors.StripeError ? error : undefined;
  const status = stripeError?.statusCode ?? observed.status;
  const code = stripeError?.code ?? '';
  const retryAfter = retryAfterMs(observed.retryAfter ?? headerOf(stripeError, 'retry-after'));
  const details = {
    ...(status === undefined ? {} : { status }),
    ...(code ? { vendorCode: code } : {}),
    ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
    cause: error,
  };
  // Stripe's answer to a refused key quotes part of the key: psgraph says so in its own words instead.
  if (status === 401) return new VendorError(STRIPE, 'AUTHENTICATION', 'Stripe refused psgraph’s API key (HTTP 401).', details);
  let failure = FAILURE_OF_CODE[code];
  if (!failure) {
    if (stripeError instanceof Stripe.errors.StripeIdempotencyError) failure = 'CONFLICT';
    else if (status === undefined) failure = 'UNAVAILABLE';
    else if (status === 429) failure = 'RATE_LIMITED';
    else if (status === 403) failure = 'PERMISSION';
    else if (status === 404) failure = 'NOT_FOUND';
    // 409: another request with the same idempotency key is still running; it is worth asking again.
    else if (status === 409 || status === 408 || status >= 500) failure = 'UNAVAILABLE';
    else failure = 'VALIDATION';
  }
  const message = redactKeys(error instanceof Error ? error.message : String(error));
  return new VendorError(STRIPE, failure, `Stripe: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`, details);
}

/** Stripe quotes (part of) an API key in some refusals; psgraph's messages never carry one. */
const redactKeys = (message: string) => message.replace(/\b(sk|rk|pk)_(test|live)_[0-9A-Za-z*]*/g, '[a Stripe API key]');

function headerOf(error: Stripe.errors.StripeError | undefined, name: string): string | undefined {
  const value = error?.headers?.[name];
  return typeof value === 'string' ? value : undefined;
}
