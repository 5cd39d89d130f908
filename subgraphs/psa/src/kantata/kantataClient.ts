/**
 * psgraph's client of the Kantata OX REST API v1 (Kantata publishes no SDK: Node's `fetch`), under psgraph's
 * `VendorCalls` (concurrency cap, deadline, safe retries, circuit breaker). It speaks Kantata's conventions:
 * - the OAuth 2.0 bearer token on every request; Kantata's tokens are long-lived, so a 401 means the token was
 *   refused (revoked, or its user deactivated), not that it expired: it is not retried;
 * - the side-loaded response envelope: `count`, `results: [{ key, id }]` in order, and one id-keyed top-level
 *   collection per record type (the records asked for and their `include`d associations alike);
 * - `page`/`per_page` paging (at most 200 a page), and `only=` (or another list filter) for key lookups, 200 keys
 *   per request;
 * - its error bodies (`{ errors: [{ type, message, field }]}`, `type` one of oauth, system, validation), and 429
 *   without `Retry-After` when it wants psgraph to slow down (retried after psgraph's own backoff).
 */
import type { Metrics } from '../../../platform/src/metrics.js';
import { VendorCalls, type VendorCallsOptions } from '../../../platform/src/vendor/vendorCalls.js';
import { VendorError, failureOfStatus, retryAfterMs } from '../../../platform/src/vendor/vendorError.js';
import type { KantataConfig } from './kantataConfig.js';

export const KANTATA = 'Kantata';

/** Kantata's largest page, and the most keys psgraph puts in one `only=` (or `…_refs=`) list. */
export const PAGE_SIZE = 200;

export type QueryParams = Readonly<Record<string, string | number | boolean | undefined>>;

/** A Kantata record as its JSON has it: IDs are numeric strings, money in cents. */
export type KantataRecord = Readonly<Record<string, unknown>> & { readonly id: string };

/** Kantata's response envelope. */
export interface Envelope {
  readonly count: number;
  readonly results: ReadonlyArray<{ readonly key: string; readonly id: string }>;
  readonly [collection: string]: unknown;
}

interface KantataErrorBody {
  readonly errors?: ReadonlyArray<{ readonly type?: string; readonly message?: string; readonly field?: string }>;
}

/** The records an envelope lists, in `results` order (never the side-loaded ones of the same type). */
export function resultsOf(envelope: Envelope, key: string): KantataRecord[] {
  const collection = (envelope[key] ?? {}) as Readonly<Record<string, KantataRecord>>;
  return envelope.results.filter((result) => result.key === key).flatMap((result) => (collection[result.id] ? [collection[result.id]!] : []));
}

/** A side-loaded collection of the envelope, by ID. */
export function sideLoaded(envelope: Envelope, key: string): ReadonlyMap<string, KantataRecord> {
  return new Map(Object.entries((envelope[key] ?? {}) as Readonly<Record<string, KantataRecord>>));
}

/** Several envelopes (pages, or chunks of a key lookup) as one: results in order, collections merged. */
export function mergeEnvelopes(envelopes: readonly Envelope[]): Envelope {
  const merged: Record<string, unknown> = { count: 0, results: [] };
  for (const envelope of envelopes) {
    for (const [key, value] of Object.entries(envelope)) {
      if (key === 'results') (merged['results'] as unknown[]).push(...envelope.results);
      else if (key === 'count') merged['count'] = (merged['count'] as number) + envelope.count;
      else if (value !== null && typeof value === 'object' && !Array.isArray(value) && key !== 'meta')
        merged[key] = { ...((merged[key] as object | undefined) ?? {}), ...value };
    }
  }
  return merged as unknown as Envelope;
}

export class KantataClient {
  readonly calls: VendorCalls;

  constructor(
    private readonly config: KantataConfig,
    options: { readonly log?: (message: string) => void; readonly resilience?: Partial<VendorCallsOptions> } = {},
  ) {
    this.calls = new VendorCalls({
      system: KANTATA,
      maxConcurrency: config.maxConcurrency,
      deadlineMs: config.timeoutMs,
      ...(options.log ? { log: options.log } : {}),
      ...options.resilience,
    });
  }

  /** Registers the call counters (and the circuit's state) on the subgraph's /metrics. */
  instrument(metrics: Metrics): void {
    this.calls.instrument(metrics);
  }

  /** One page of an index endpoint (a read: retried when Kantata is busy or down). */
  get(operation: string, path: string, params: QueryParams = {}): Promise<Envelope> {
    return this.request(operation, true, 'GET', path, params);
  }

  /** Every page of an index endpoint, 200 records a call, followed until a short page. */
  async list(operation: string, path: string, params: QueryParams = {}): Promise<Envelope> {
    const pages: Envelope[] = [];
    for (let page = 1; ; page++) {
      const envelope = await this.get(operation, path, { ...params, page, per_page: PAGE_SIZE });
      pages.push(envelope);
      if (envelope.results.length < PAGE_SIZE || page * PAGE_SIZE >= envelope.count) return mergeEnvelopes(pages);
    }
  }

  /** The records whose key is one of `keys`, by a list filter (`only`, `external_reference_service_model_refs`), 200 keys a call. */
  async lookup(operation: string, path: string, filter: string, keys: readonly string[], params: QueryParams = {}): Promise<Envelope> {
    const unique = [...new Set(keys)];
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += PAGE_SIZE) chunks.push(unique.slice(i, i + PAGE_SIZE));
    return mergeEnvelopes(await Promise.all(chunks.map((chunk) => this.list(operation, path, { ...params, [filter]: chunk.join(',') }))));
  }

  /**
   * A write. `safeToRetry`: a PUT of the same values or a DELETE (the same state however often it is sent); never a
   * POST, since Kantata has no idempotency key and a POST repeated after a lost answer creates a second record.
   */
  send(operation: string, safeToRetry: boolean, method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, params: QueryParams = {}): Promise<Envelope> {
    return this.request(operation, safeToRetry, method, path, params, body);
  }

  private request(operation: string, safeToRetry: boolean, method: string, path: string, params: QueryParams, body?: unknown): Promise<Envelope> {
    const url = new URL(`${this.config.apiUrl}${path}`);
    for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, String(value));
    return this.calls.call(operation, safeToRetry, async (signal) => {
      const response = await fetch(url, {
        method,
        signal,
        headers: {
          authorization: `Bearer ${this.config.accessToken.reveal()}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw classify(response.status, text, response.headers.get('retry-after'));
      if (!text) return { count: 0, results: [] };
      try {
        return JSON.parse(text) as Envelope;
      } catch {
        throw new VendorError(KANTATA, 'UNAVAILABLE', `Kantata answered ${method} ${path} with a body that is not JSON (HTTP ${response.status}).`);
      }
    });
  }
}

/** Kantata's answer as psgraph's failure: by HTTP status (Kantata's error types say no more), its messages kept. */
function classify(status: number, text: string, retryAfter: string | null): VendorError {
  let body: KantataErrorBody = {};
  try {
    body = JSON.parse(text) as KantataErrorBody;
  } catch {
    // An answer from a proxy or an overloaded edge: the status says it all.
  }
  const errors = body.errors ?? [];
  const failure = failureOfStatus(status === 504 ? 503 : status);
  const detail = errors
    .map((error) => error.message)
    .filter(Boolean)
    .join('; ');
  const message =
    failure === 'AUTHENTICATION'
      ? `Kantata refused psgraph's access token (it was revoked, or its user is no longer active)${detail ? `: ${detail}` : ''}.`
      : `Kantata: ${detail || `HTTP ${status}`}`;
  const wait = retryAfterMs(retryAfter);
  return new VendorError(KANTATA, failure, message, {
    status,
    ...(errors[0]?.type ? { vendorCode: errors[0].type } : {}),
    ...(wait === undefined ? {} : { retryAfterMs: wait }),
  });
}
