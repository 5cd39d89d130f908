/**
 * psgraph's client of the Salesforce REST API: jsforce's `Connection` for the session (OAuth 2.0 JWT bearer or
 * client credentials flow, the token refreshed when Salesforce answers 401 INVALID_SESSION_ID) and for requests
 * and Salesforce's error bodies, under psgraph's `VendorCalls` (concurrency cap, deadline, safe retries, circuit
 * breaker). jsforce's own retries are turned off so that every attempt is one psgraph counts and paces.
 *
 * SOQL reads follow `nextRecordsUrl` page by page; key lookups are batched into `WHERE Id IN (…)` chunks.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Connection } from '@jsforce/jsforce-node';
import { SignJWT, importPKCS8 } from 'jose';
import type { Metrics } from '../../../platform/src/metrics.js';
import { VendorCalls, type VendorCallsOptions } from '../../../platform/src/vendor/vendorCalls.js';
import { VendorError, type VendorFailure, retryAfterMs } from '../../../platform/src/vendor/vendorError.js';
import type { SalesforceConfig } from './salesforceConfig.js';

export const SALESFORCE = 'Salesforce';

/** IDs per `WHERE Id IN (…)`: keeps a query's URL well under Salesforce's 16,384-character limit. */
const IN_CHUNK = 200;

/** A SOQL result page as the REST API returns it. */
interface QueryPage<T> {
  readonly totalSize: number;
  readonly done: boolean;
  readonly records: T[];
  readonly nextRecordsUrl?: string;
}

interface HttpResponseSeen {
  status?: number;
  retryAfter?: string;
}

/** Salesforce's error codes, by what they mean for psgraph. */
const FAILURE_OF_CODE: Readonly<Record<string, VendorFailure>> = {
  NOT_FOUND: 'NOT_FOUND',
  ENTITY_IS_DELETED: 'NOT_FOUND',
  INVALID_CROSS_REFERENCE_KEY: 'NOT_FOUND',
  DUPLICATE_VALUE: 'CONFLICT',
  DUPLICATES_DETECTED: 'CONFLICT',
  MULTIPLE_CHOICES: 'CONFLICT',
  INVALID_SESSION_ID: 'AUTHENTICATION',
  INSUFFICIENT_ACCESS_OR_READONLY: 'PERMISSION',
  INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY: 'PERMISSION',
  API_DISABLED_FOR_ORG: 'PERMISSION',
  FUNCTIONALITY_NOT_ENABLED: 'PERMISSION',
  REQUEST_LIMIT_EXCEEDED: 'RATE_LIMITED',
  UNABLE_TO_LOCK_ROW: 'UNAVAILABLE',
  SERVER_UNAVAILABLE: 'UNAVAILABLE',
  UNKNOWN_EXCEPTION: 'UNAVAILABLE',
};

/**
 * The response psgraph's current call saw, for what jsforce's error leaves out (the HTTP status and Retry-After
 * of an answer that is not a Salesforce error body).
 */
const seen = new AsyncLocalStorage<HttpResponseSeen>();

export class SalesforceClient {
  readonly calls: VendorCalls;
  private readonly connection: Connection;
  private session: Promise<void> | undefined;

  constructor(
    private readonly config: SalesforceConfig,
    options: { readonly log?: (message: string) => void; readonly resilience?: Partial<VendorCallsOptions> } = {},
  ) {
    this.calls = new VendorCalls({
      system: SALESFORCE,
      maxConcurrency: config.maxConcurrency,
      deadlineMs: config.timeoutMs,
      ...(options.log ? { log: options.log } : {}),
      ...options.resilience,
    });
    this.connection = new Connection({
      loginUrl: config.loginUrl,
      version: config.apiVersion,
      // Salesforce answers an expired or revoked session with 401 INVALID_SESSION_ID; jsforce then asks for a new
      // token through this and repeats the request once.
      refreshFn: (connection, callback) => {
        this.requestToken().then(
          (token) => {
            connection.instanceUrl = token.instanceUrl;
            callback(null, token.accessToken);
          },
          (error: unknown) => callback(error as Error),
        );
      },
    });
    this.observeResponses();
  }

  /** The REST API's path for this version (`/services/data/v62.0`), as composite subrequests name their URLs. */
  get apiPath(): string {
    return `/services/data/v${this.config.apiVersion}`;
  }

  /** Registers the call counters (and the circuit's state) on the subgraph's /metrics. */
  instrument(metrics: Metrics): void {
    this.calls.instrument(metrics);
  }

  /** Every record a SOQL query matches, following `nextRecordsUrl` page by page. */
  async query<T>(operation: string, soql: string): Promise<T[]> {
    const records: T[] = [];
    let page = await this.request<QueryPage<T>>(operation, true, { method: 'GET', url: `/query?q=${encodeURIComponent(soql)}` });
    records.push(...page.records);
    while (!page.done && page.nextRecordsUrl) {
      page = await this.request<QueryPage<T>>(operation, true, { method: 'GET', url: page.nextRecordsUrl });
      records.push(...page.records);
    }
    return records;
  }

  /** `SELECT COUNT() FROM …`: the number of matching records. */
  async count(operation: string, soql: string): Promise<number> {
    return (await this.request<QueryPage<never>>(operation, true, { method: 'GET', url: `/query?q=${encodeURIComponent(soql)}` })).totalSize;
  }

  /** The records whose `field` is one of `values`, in chunks of IN lists (one query per 200 keys). */
  async queryIn<T>(operation: string, soqlBefore: string, field: string, values: readonly string[], soqlAfter = ''): Promise<T[]> {
    const unique = [...new Set(values)];
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += IN_CHUNK) chunks.push(unique.slice(i, i + IN_CHUNK));
    const pages = await Promise.all(
      chunks.map((chunk) => this.query<T>(operation, `${soqlBefore} WHERE ${field} IN (${chunk.map(soqlString).join(', ')})${soqlAfter}`)),
    );
    return pages.flat();
  }

  /**
   * A REST request. `safeToRetry`: a read, or a write whose repetition leaves the same record (a PATCH of the
   * same values, an external-ID upsert); anything else is sent once.
   */
  async request<T>(operation: string, safeToRetry: boolean, request: { method: string; url: string; body?: unknown }): Promise<T> {
    return this.calls.call(operation, safeToRetry, async () => {
      await this.ensureSession();
      const observed: HttpResponseSeen = {};
      try {
        return await seen.run(observed, () =>
          this.connection.request<T>(
            {
              method: request.method as 'GET',
              url: request.url,
              ...(request.body === undefined ? {} : { body: JSON.stringify(request.body), headers: { 'content-type': 'application/json' } }),
            },
            // psgraph's VendorCalls retries, paced and counted; jsforce's own retries would hide attempts.
            { retry: { maxRetries: 0 } },
          ),
        );
      } catch (error) {
        throw classify(error, observed);
      }
    });
  }

  /** The first session, before any request: a request sent without one would go to the login host. */
  private ensureSession(): Promise<void> {
    this.session ??= this.requestToken().then(
      (token) => {
        this.connection.instanceUrl = token.instanceUrl;
        this.connection.accessToken = token.accessToken;
      },
      (error: unknown) => {
        this.session = undefined;
        throw error;
      },
    );
    return this.session;
  }

  private async requestToken(): Promise<{ accessToken: string; instanceUrl: string }> {
    const params: { grant_type: string; [name: string]: string } =
      this.config.authFlow === 'jwt'
        ? { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await this.assertion() }
        : { grant_type: 'client_credentials', client_id: this.config.clientId, client_secret: this.config.clientSecret!.reveal() };
    let response: { access_token?: string; instance_url?: string };
    try {
      response = (await this.connection.oauth2.requestToken(params)) as typeof response;
    } catch (error) {
      // The token endpoint's error names the grant problem; it never echoes the assertion or the secret.
      const detail = error instanceof Error ? error.message : String(error);
      throw new VendorError(SALESFORCE, 'AUTHENTICATION', `Salesforce refused psgraph's credentials (${detail}).`);
    }
    if (!response.access_token || !response.instance_url)
      throw new VendorError(SALESFORCE, 'AUTHENTICATION', 'Salesforce answered the token request without a token.');
    return { accessToken: response.access_token, instanceUrl: response.instance_url };
  }

  /** The JWT bearer flow's assertion: the connected app (iss) asks for the integration user (sub), for 3 minutes. */
  private async assertion(): Promise<string> {
    const key = await importPKCS8(this.config.privateKey!.reveal(), 'RS256');
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(this.config.clientId)
      .setSubject(this.config.username!)
      .setAudience(this.config.loginUrl)
      .setExpirationTime('3m')
      .sign(key);
  }

  /**
   * jsforce's errors carry Salesforce's errorCode and message but not the HTTP status or headers; its transport is
   * wrapped (once, per connection) to note them for the call in progress.
   */
  private observeResponses(): void {
    const transport = (this.connection as unknown as { _transport: { httpRequest: (request: unknown, options: unknown) => PromiseLike<unknown> } })._transport;
    const send = transport.httpRequest.bind(transport);
    transport.httpRequest = (request, options) => {
      const pending = send(request, options);
      const observed = seen.getStore();
      if (observed) {
        pending.then(
          (response) => {
            const { statusCode, headers } = response as { statusCode: number; headers: Record<string, string | undefined> };
            observed.status = statusCode;
            observed.retryAfter = headers['retry-after'];
          },
          () => {},
        );
      }
      return pending;
    };
  }
}

/** A string literal in SOQL. */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function classify(error: unknown, observed: HttpResponseSeen): VendorError {
  if (error instanceof VendorError) return error;
  const code = (error as { errorCode?: string } | undefined)?.errorCode ?? '';
  const message = error instanceof Error ? error.message : String(error);
  const status = observed.status ?? Number(/^ERROR_HTTP_(\d{3})$/.exec(code)?.[1] ?? NaN);
  let failure = FAILURE_OF_CODE[code];
  if (!failure) {
    if (status === 429) failure = 'RATE_LIMITED';
    else if (status === 401) failure = 'AUTHENTICATION';
    else if (status === 403) failure = 'PERMISSION';
    else if (status === 404) failure = 'NOT_FOUND';
    else if (status >= 500 || status === 408) failure = 'UNAVAILABLE';
    else if (Number.isNaN(status)) failure = 'UNAVAILABLE';
    else failure = 'VALIDATION';
  }
  const retryAfter = retryAfterMs(observed.retryAfter);
  return new VendorError(SALESFORCE, failure, `Salesforce: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`, {
    ...(Number.isNaN(status) ? {} : { status }),
    ...(code ? { vendorCode: code } : {}),
    ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
    cause: error,
  });
}
