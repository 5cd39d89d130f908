/**
 * A local server that speaks NetSuite's SuiteTalk REST web services as NetSuite documents them, over records of
 * its own, for the NetSuite adapter's tests: token-based authentication (OAuth 1.0a, HMAC-SHA256, the account ID
 * as realm; a bad signature, an unknown or revoked token, a stale timestamp or a replayed nonce refused with
 * 401 INVALID_LOGIN), SuiteQL (`POST /services/rest/query/v1/suiteql` with `Prefer: transient`, paged by
 * `limit`/`offset` with `hasMore` and `links`), the record API (`PUT …/eid:<externalId>` upserts, PATCH with
 * `?replace=` for sublists, DELETE refused under dependent records), NetSuite's error body
 * (`{ type, title, status, o:errorDetails: [{ detail, o:errorCode }] }`), the account's concurrency limit (HTTP
 * 429 CONCURRENCY_LIMIT_EXCEEDED beyond it), and faults a test injects (429 storms, 503s, an outage).
 *
 * Its records are the ERP sandbox's world (the same seed) laid out as NetSuite's records (`netsuiteAccount.ts`),
 * so the adapter over this server and the sandbox must give the same answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Database from 'better-sqlite3';
import type { WorldOptions } from '../../../subgraphs/sandboxes/src/index.js';
import { openNetSuiteAccount } from './netsuiteAccount.js';
import { RecordApi, RecordApiError } from './netsuiteRecordApi.js';
import { SuiteQlError, runSuiteQl } from './suiteql.js';
import { TbaVerifier } from './tba.js';

export interface NetSuiteWireOptions {
  /** The seed of the records (the same as the sandbox's it is compared with). */
  readonly world: WorldOptions;
  /** A folder the server may seed a sandbox store in (it reads the world from there). */
  readonly dataDir: string;
  /** The account ID; its realm form (`1234567_SB1`) is what a signature's realm must name. */
  readonly accountId: string;
  /** The integration record's consumer key and secret. */
  readonly consumerKey: string;
  readonly consumerSecret: string;
  /** Access tokens issued to the integration: token ID → token secret. */
  readonly tokens: Readonly<Record<string, string>>;
  /** Requests the account serves at once; one more is refused with 429 CONCURRENCY_LIMIT_EXCEEDED. @default 5 */
  readonly concurrencyLimit?: number;
  /** How long each API request takes to answer (so that requests overlap). @default 0 */
  readonly latencyMs?: number;
  /** The server's clock, for the TBA timestamp check. @default Date.now */
  readonly now?: () => number;
}

/** A fault the next matching requests get instead of an answer. */
export interface InjectedFault {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** How many requests get it. @default 1 */
  readonly times?: number;
  /** Which requests (by method and path). @default every API request */
  readonly match?: (method: string, path: string) => boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** The SuiteQL statement, for a SuiteQL request. */
  readonly suiteql?: string;
}

const SUITEQL_PATH = '/services/rest/query/v1/suiteql';
const RECORD_PATH = /^\/services\/rest\/record\/v1\/([A-Za-z][A-Za-z0-9_]*)\/([^/]+)$/;
const MAX_PAGE_SIZE = 1_000;

const TITLES: Readonly<Record<number, [string, string]>> = {
  400: ['Bad Request', 'https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1'],
  401: ['Unauthorized', 'https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2'],
  404: ['Not Found', 'https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5'],
  405: ['Method Not Allowed', 'https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.6'],
  429: ['Too Many Requests', 'https://www.rfc-editor.org/rfc/rfc6585.html#section-4'],
  500: ['Internal Server Error', 'https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.1'],
};

/** NetSuite's error body for one error detail. */
export function netSuiteError(status: number, code: string, detail: string, path?: string): Record<string, unknown> {
  const [title, type] = TITLES[status] ?? ['Error', 'https://www.rfc-editor.org/rfc/rfc9110.html'];
  return { type, title, status, 'o:errorDetails': [{ detail, 'o:errorCode': code, ...(path ? { 'o:errorPath': path } : {}) }] };
}

/** What NetSuite answers a request over the account's concurrency limit. */
export const CONCURRENCY_LIMIT_ERROR = netSuiteError(
  429,
  'CONCURRENCY_LIMIT_EXCEEDED',
  'Concurrent request limit exceeded. Request blocked. Verify your concurrency limits at Setup > Integration > Integration Management > Integration Governance.',
);

const INVALID_LOGIN =
  'Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.';

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(`HTTP ${status}`);
  }
}

export class NetSuiteWireServer {
  readonly db: Database.Database;
  readonly requests: RecordedRequest[] = [];
  /** Why each refused login was refused (NetSuite's Login Audit Trail). */
  readonly loginAudit: string[] = [];
  private readonly server: Server;
  private readonly records: RecordApi;
  private readonly tokens: Map<string, string>;
  private readonly verifier: TbaVerifier;
  /** A result read page by page is computed once: the pages of one query are slices of the same rows. */
  private readonly results = new Map<string, Array<Record<string, string>>>();
  private readonly faults: Array<{ times: number; match: (method: string, path: string) => boolean; fault: InjectedFault }> = [];
  private port = 0;
  private inFlight = 0;
  private peak = 0;
  private concurrencyLimit: number;
  private latencyMs: number;

  private constructor(options: NetSuiteWireOptions) {
    this.db = openNetSuiteAccount(options.world, options.dataDir);
    this.concurrencyLimit = options.concurrencyLimit ?? 5;
    this.latencyMs = options.latencyMs ?? 0;
    this.records = new RecordApi(this.db);
    this.tokens = new Map(Object.entries(options.tokens));
    const now = options.now ?? Date.now;
    this.verifier = new TbaVerifier(
      () => ({ realm: realmOf(options.accountId), consumerKey: options.consumerKey, consumerSecret: options.consumerSecret, tokens: this.tokens }),
      () => Math.floor(now() / 1000),
    );
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  static async start(options: NetSuiteWireOptions): Promise<NetSuiteWireServer> {
    const wire = new NetSuiteWireServer(options);
    await wire.listen(0);
    return wire;
  }

  /** `http://127.0.0.1:<port>`: the account's SuiteTalk base URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** API requests received (every request to /services/rest, refused or not). */
  get apiRequests(): number {
    return this.requests.length;
  }

  /** The most requests the server was serving at once. */
  get peakConcurrency(): number {
    return this.peak;
  }

  /** Changes the account's concurrency limit and the time each request takes (the peak count starts afresh). */
  configure(settings: { readonly concurrencyLimit?: number; readonly latencyMs?: number }): void {
    if (settings.concurrencyLimit !== undefined) this.concurrencyLimit = settings.concurrencyLimit;
    if (settings.latencyMs !== undefined) this.latencyMs = settings.latencyMs;
    this.peak = 0;
  }

  /** The next matching requests fail as given (a 429 storm, an outage); no body: an empty one. */
  inject(fault: InjectedFault): void {
    this.faults.push({ times: fault.times ?? 1, match: fault.match ?? (() => true), fault });
  }

  /** Forgets the faults not yet served. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** An administrator revokes the token (Setup > Users/Roles > Access Tokens): it stops working at once. */
  revokeToken(tokenId: string): void {
    this.tokens.delete(tokenId);
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
    if (this.server.listening) await this.pause();
    this.db.close();
  }

  private async listen(port: number): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  // ---- HTTP ----

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    // The URL the client addressed, as its signature covers it.
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? `127.0.0.1:${this.port}`}`);
    const body = await readBody(request);
    let counted = false;
    try {
      if (!url.pathname.startsWith('/services/rest/')) throw new ApiError(404, netSuiteError(404, 'NONEXISTENT_ID', 'The requested resource does not exist.'));
      this.requests.push({ method, path: url.pathname, query: url.search, ...(url.pathname === SUITEQL_PATH ? { suiteql: suiteQlOf(body) } : {}) });
      const verdict = this.verifier.verify(method, url, request.headers.authorization);
      if (!verdict.ok) {
        this.loginAudit.push(verdict.reason);
        throw new ApiError(401, netSuiteError(401, 'INVALID_LOGIN', INVALID_LOGIN));
      }
      this.inFlight++;
      counted = true;
      this.peak = Math.max(this.peak, this.inFlight);
      if (this.inFlight > this.concurrencyLimit) throw new ApiError(429, CONCURRENCY_LIMIT_ERROR);
      this.applyFaults(method, url.pathname);
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      if (url.pathname === SUITEQL_PATH && method === 'POST') return send(response, 200, this.suiteql(request, url, body));
      const record = RECORD_PATH.exec(url.pathname);
      if (!record) throw new ApiError(404, netSuiteError(404, 'NONEXISTENT_ID', 'The requested resource does not exist.'));
      return this.record(method, url, RecordApi.recordType(record[1]!), decodeURIComponent(record[2]!), body, response);
    } catch (error) {
      if (error instanceof ApiError) return send(response, error.status, error.body, error.headers);
      if (error instanceof RecordApiError) return send(response, error.status, netSuiteError(error.status, error.code, error.detail, error.path));
      if (error instanceof SuiteQlError) {
        const detail = `Invalid search query. Detailed unprocessed description follows. Search error occurred: ${error.message}`;
        return send(response, 400, netSuiteError(400, 'USER_ERROR', detail));
      }
      return send(response, 500, netSuiteError(500, 'UNEXPECTED_ERROR', `An unexpected error occurred. Error ID: ${String(error)}`));
    } finally {
      if (counted) this.inFlight--;
    }
  }

  private applyFaults(method: string, path: string): void {
    const fault = this.faults.find((candidate) => candidate.match(method, path));
    if (!fault) return;
    fault.times--;
    if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
    throw new ApiError(fault.fault.status, fault.fault.body, fault.fault.headers);
  }

  /** One page of a SuiteQL result, with NetSuite's paging envelope. */
  private suiteql(request: IncomingMessage, url: URL, body: string): Record<string, unknown> {
    if (!/^transient$/i.test(String(request.headers['prefer'] ?? '')))
      throw new ApiError(400, netSuiteError(400, 'INVALID_PARAMETER', 'SuiteQL requests need the header Prefer: transient.'));
    const limit = Number(url.searchParams.get('limit') ?? MAX_PAGE_SIZE);
    const offset = Number(url.searchParams.get('offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
      throw new ApiError(400, netSuiteError(400, 'INVALID_PARAMETER', `Invalid value for the limit parameter: it must be from 1 to ${MAX_PAGE_SIZE}.`));
    if (!Number.isInteger(offset) || offset < 0) throw new ApiError(400, netSuiteError(400, 'INVALID_PARAMETER', 'Invalid value for the offset parameter.'));
    const q = suiteQlOf(body);
    if (!q) throw new ApiError(400, netSuiteError(400, 'INVALID_CONTENT', "The request body must be a JSON object with the query in 'q'."));
    let rows = this.results.get(q);
    if (!rows) {
      rows = runSuiteQl(this.db, q);
      this.results.set(q, rows);
    }
    const page = rows.slice(offset, offset + limit);
    const hasMore = offset + limit < rows.length;
    const href = (at: number) => `${url.origin}${SUITEQL_PATH}?limit=${limit}&offset=${at}`;
    const links = [
      ...(offset > 0 ? [{ rel: 'previous', href: href(Math.max(0, offset - limit)) }] : []),
      { rel: 'first', href: href(0) },
      ...(hasMore ? [{ rel: 'next', href: href(offset + limit) }] : []),
      { rel: 'last', href: href(Math.max(0, Math.floor((rows.length - 1) / limit) * limit)) },
      { rel: 'self', href: href(offset) },
    ];
    return { links, count: page.length, hasMore, items: page.map((item) => ({ links: [], ...item })), offset, totalResults: rows.length };
  }

  private record(method: string, url: URL, type: string, key: string, body: string, response: ServerResponse): void {
    this.results.clear();
    const replace = (url.searchParams.get('replace') ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    const fields = (): Record<string, unknown> => {
      try {
        const parsed: unknown = JSON.parse(body || '{}');
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
      } catch {
        // answered below
      }
      throw new ApiError(400, netSuiteError(400, 'INVALID_CONTENT', 'The request body is not a JSON object.'));
    };
    const location = (id: number) => ({ location: `${url.origin}/services/rest/record/v1/${type}/${id}` });
    if (method === 'PUT') {
      if (!key.startsWith('eid:'))
        throw new ApiError(405, netSuiteError(405, 'INVALID_PARAMETER', 'PUT upserts a record by external ID: address it as eid:<externalId>.'));
      return send(response, 204, undefined, location(this.records.upsert(type, key.slice(4), fields(), replace)));
    }
    if (method === 'PATCH') return send(response, 204, undefined, location(this.records.patch(type, key, fields(), replace)));
    if (method === 'DELETE') {
      this.records.delete(type, key);
      return send(response, 204);
    }
    throw new ApiError(405, netSuiteError(405, 'INVALID_PARAMETER', `The ${method} method is not supported by this server for ${type}.`));
  }
}

/** The realm of an account ID: upper case, `_` (`1234567_SB1`). */
export function realmOf(accountId: string): string {
  return accountId.toUpperCase().replace(/-/g, '_');
}

function suiteQlOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body || '{}') as { q?: unknown };
    return typeof parsed.q === 'string' ? parsed.q : undefined;
  } catch {
    return undefined;
  }
}

function send(response: ServerResponse, status: number, body?: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (body === undefined) {
    response.writeHead(status, headers);
    response.end();
    return;
  }
  const text = JSON.stringify(body);
  const type = status >= 400 ? 'error' : 'collection';
  response.writeHead(status, {
    'content-type': `application/vnd.oracle.resource+json; type=${type}; charset=UTF-8`,
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
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
