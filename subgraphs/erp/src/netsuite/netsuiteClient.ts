/**
 * psgraph's client of NetSuite's SuiteTalk REST web services: the record API (`/services/rest/record/v1/…`) for
 * writes and SuiteQL (`/services/rest/query/v1/suiteql`) for every read, each request signed with token-based
 * authentication (OAuth 1.0a, HMAC-SHA256, the account ID as realm: `oauth-1.0a` over `node:crypto`) and sent
 * under psgraph's `VendorCalls` (the account's concurrency cap, a deadline, safe retries, circuit breaker).
 *
 * Every attempt is signed afresh: NetSuite refuses a nonce it has seen and a timestamp too far from its clock, so
 * a retried request must never repeat the header of the one before. SuiteQL results are read page by page
 * (`limit`/`offset`, following the `next` link while `hasMore`); key lookups are batched into `IN` lists.
 */
import { createHmac } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import type { Metrics } from '../../../platform/src/metrics.js';
import { VendorCalls, type VendorCallsOptions } from '../../../platform/src/vendor/vendorCalls.js';
import { VendorError, type VendorFailure, failureOfStatus, retryAfterMs } from '../../../platform/src/vendor/vendorError.js';
import { type NetSuiteConfig, realmOf } from './netsuiteConfig.js';

export const NETSUITE = 'NetSuite';

/** Rows per SuiteQL page: the most NetSuite returns at once. */
const SUITEQL_PAGE_SIZE = 1_000;
/** Keys per `IN (…)` list: well under the 1,000 expressions a SuiteQL list may hold. */
const IN_CHUNK = 500;

/** A SuiteQL row as NetSuite returns it: lower-case column names, values as text, null columns left out. */
export type SuiteQlRow = { readonly [column: string]: string | undefined };

interface SuiteQlPage {
  readonly items: Array<SuiteQlRow & { links?: unknown }>;
  readonly hasMore: boolean;
  readonly links?: ReadonlyArray<{ readonly rel: string; readonly href: string }>;
}

/** NetSuite's error body (REST web services): `{ type, title, status, o:errorDetails: [{ detail, o:errorCode }] }`. */
interface ErrorBody {
  readonly title?: string;
  readonly status?: number;
  readonly 'o:errorDetails'?: ReadonlyArray<{ readonly detail?: string; readonly 'o:errorCode'?: string }>;
}

/** NetSuite's error codes, by what they mean for psgraph; any other code is judged by its HTTP status. */
const FAILURE_OF_CODE: Readonly<Record<string, VendorFailure>> = {
  CONCURRENCY_LIMIT_EXCEEDED: 'RATE_LIMITED',
  SSS_REQUEST_LIMIT_EXCEEDED: 'RATE_LIMITED',
  WS_REQUEST_BLOCKED: 'RATE_LIMITED',
  NONEXISTENT_ID: 'NOT_FOUND',
  RCRD_DSNT_EXIST: 'NOT_FOUND',
  INVALID_LOGIN: 'AUTHENTICATION',
  INVALID_LOGIN_ATTEMPT: 'AUTHENTICATION',
  INSUFFICIENT_PERMISSION: 'PERMISSION',
  FEATURE_DISABLED: 'PERMISSION',
  DUP_RCRD: 'CONFLICT',
  DUP_ENTITY: 'CONFLICT',
  RCRD_HAS_BEEN_CHANGED: 'CONFLICT',
  THIS_RECORD_CANNOT_BE_DELETED_BECAUSE_IT_HAS_DEPENDENT_RECORDS: 'CONFLICT',
  USER_ERROR: 'VALIDATION',
  INVALID_CONTENT: 'VALIDATION',
  INVALID_VALUE: 'VALIDATION',
  INVALID_PARAMETER: 'VALIDATION',
  INVALID_KEY_OR_REF: 'VALIDATION',
  INVALID_ID: 'VALIDATION',
  UNEXPECTED_ERROR: 'UNAVAILABLE',
};

export interface NetSuiteClientOptions {
  readonly log?: (message: string) => void;
  /** Overrides of the retry, deadline and circuit-breaker settings (tests; unusual accounts). */
  readonly resilience?: Partial<VendorCallsOptions>;
  /** Rows per SuiteQL page (tests read small pages to follow NetSuite's paging). @default 1000 */
  readonly pageSize?: number;
}

export class NetSuiteClient {
  readonly calls: VendorCalls;
  private readonly pageSize: number;

  constructor(
    private readonly config: NetSuiteConfig,
    options: NetSuiteClientOptions = {},
  ) {
    this.calls = new VendorCalls({
      system: NETSUITE,
      maxConcurrency: config.maxConcurrency,
      deadlineMs: config.timeoutMs,
      ...(options.log ? { log: options.log } : {}),
      ...options.resilience,
    });
    this.pageSize = Math.min(SUITEQL_PAGE_SIZE, Math.max(1, options.pageSize ?? SUITEQL_PAGE_SIZE));
  }

  /** Registers the call counters (and the circuit's state) on the subgraph's /metrics. */
  instrument(metrics: Metrics): void {
    this.calls.instrument(metrics);
  }

  /** Every row a SuiteQL query returns, page by page (`limit`/`offset`, the `next` link while `hasMore`). */
  async suiteql<T extends SuiteQlRow>(operation: string, query: string): Promise<T[]> {
    const rows: T[] = [];
    let url: string | undefined = `${this.config.baseUrl}/services/rest/query/v1/suiteql?limit=${this.pageSize}&offset=0`;
    while (url) {
      const page: SuiteQlPage = await this.send<SuiteQlPage>(operation, true, 'POST', url, { q: query }, { prefer: 'transient' });
      for (const item of page.items) {
        const { links: _links, ...row } = item;
        rows.push(row as T);
      }
      url = page.hasMore ? page.links?.find((link) => link.rel === 'next')?.href : undefined;
    }
    return rows;
  }

  /**
   * The rows of `query(list)` for every key, the keys cut into `IN` lists of 500 (one query per list, whatever
   * the number of records each key matches). `query` gets the list as SuiteQL text: `'a', 'b'` or `1, 2`.
   */
  async suiteqlIn<T extends SuiteQlRow>(operation: string, keys: ReadonlyArray<string | number>, query: (list: string) => string): Promise<T[]> {
    const unique = [...new Set(keys)];
    if (unique.length === 0) return [];
    const chunks: Array<Array<string | number>> = [];
    for (let i = 0; i < unique.length; i += IN_CHUNK) chunks.push(unique.slice(i, i + IN_CHUNK));
    const pages = await Promise.all(chunks.map((chunk) => this.suiteql<T>(operation, query(chunk.map(suiteQlLiteral).join(', ')))));
    return pages.flat();
  }

  /**
   * A record API request (`PUT customer/eid:…`, `PATCH billingSchedule/12`, `DELETE job/7`) to
   * `/services/rest/record/v1/<path>`. `safeToRetry`: NetSuite deduplicates it (an external-ID upsert, the same
   * values PATCHed again, a delete by internal ID); anything else is sent once.
   */
  async record(operation: string, safeToRetry: boolean, method: 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<void> {
    await this.send<unknown>(operation, safeToRetry, method, `${this.config.baseUrl}/services/rest/record/v1/${path}`, body);
  }

  private async send<T>(
    operation: string,
    safeToRetry: boolean,
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    return this.calls.call(operation, safeToRetry, async (signal) => {
      const response = await fetch(url, {
        method,
        signal,
        headers: {
          ...this.authorization(method, url),
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw classify(response.status, text, response.headers.get('retry-after'));
      return (text ? JSON.parse(text) : undefined) as T;
    });
  }

  /**
   * The TBA `Authorization` header of one request: a fresh nonce and timestamp, the signature over the method,
   * the URL and its query parameters (never the JSON body, which NetSuite leaves out of the base string).
   */
  private authorization(method: string, url: string): { Authorization: string } {
    const oauth = new OAuth({
      consumer: { key: this.config.consumerKey, secret: this.config.consumerSecret.reveal() },
      realm: realmOf(this.config.accountId),
      signature_method: 'HMAC-SHA256',
      hash_function: (base, key) => createHmac('sha256', key).update(base).digest('base64'),
    });
    const token = { key: this.config.tokenId.reveal(), secret: this.config.tokenSecret.reveal() };
    return oauth.toHeader(oauth.authorize({ url, method }, token));
  }
}

/** A SuiteQL literal: an integer as it is, a string quoted (a quote doubled). */
export function suiteQlLiteral(value: string | number): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`${value} is not an internal ID`);
    return String(value);
  }
  return `'${value.replace(/'/g, "''")}'`;
}

/** NetSuite's answer as a VendorError: its error code where it gives one, else its HTTP status. */
function classify(status: number, text: string, retryAfter: string | null): VendorError {
  let body: ErrorBody | undefined;
  try {
    body = text ? (JSON.parse(text) as ErrorBody) : undefined;
  } catch {
    body = undefined;
  }
  const detail = body?.['o:errorDetails']?.[0];
  const code = detail?.['o:errorCode'] ?? '';
  const failure = FAILURE_OF_CODE[code] ?? failureOfStatus(status);
  const message = detail?.detail ?? body?.title ?? `HTTP ${status}`;
  const wait = retryAfterMs(retryAfter);
  return new VendorError(NETSUITE, failure, `NetSuite: ${message}${code ? ` (${code})` : ''}`, {
    status,
    ...(code ? { vendorCode: code } : {}),
    ...(wait === undefined ? {} : { retryAfterMs: wait }),
  });
}
