/**
 * A local server that speaks Kantata OX's REST API v1 as its reference describes it, over records of its own, for
 * the Kantata adapter's tests: OAuth 2.0 bearer tokens (long-lived; a revoked one is refused with
 * `{ errors: [{ type: "oauth" }] }`), the index endpoints psgraph reads with the side-loaded envelope, `only=`,
 * `include=`, `page`/`per_page` and filters (kantataWireQuery.ts), the writes psgraph makes (workspaces, resource
 * requests, workspace resources, timesheet submissions and their approvals, time entries, milestone stories,
 * expenses and expense report submissions with their approvals — kantataWireExpenses.ts, custom field values —
 * kantataWireCustomFieldValues.ts), Kantata's error bodies (`validation` with `field`, `system`), 429 without
 * `Retry-After` when a request budget is exceeded, and faults a test injects (429 storms, 503s, an outage).
 *
 * Its records are the PSA sandbox's world (the same seed) laid out as Kantata's (kantataWireData.ts), so the
 * adapter over this server and the sandbox must give the same answers. Every change moves the record's
 * `updated_at`, a change to a custom field value that of its subject too; `act` makes a change as someone working
 * in Kantata would, without psgraph.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import type { WorldOptions } from '../../../subgraphs/sandboxes/src/index.js';
import { SCHEMA, seedKantata } from './kantataWireData.js';
import { KantataWireCustomFieldValues } from './kantataWireCustomFieldValues.js';
import { KantataWireExpenses } from './kantataWireExpenses.js';
import { ApiError, type Json, changed, listCollection, notFound } from './kantataWireQuery.js';
import { KantataWireRecords } from './kantataWireWrites.js';

export const API_PREFIX = '/api/v1';

export interface KantataWireOptions {
  /** The seed of the records (the same as the sandbox's it is compared with). */
  readonly world: WorldOptions;
  /** A folder the server may seed a sandbox store in (it reads the world from there). */
  readonly dataDir: string;
  /** The access token the integration user was given. */
  readonly accessToken: string;
  /** The `service_name` of the canonical-ID external references on workspaces. @default psgraph */
  readonly serviceName?: string;
  /** Requests allowed per `rateLimitWindowMs` before 429s (without Retry-After). @default unlimited */
  readonly rateLimit?: number;
  readonly rateLimitWindowMs?: number;
}

/** A fault the next matching requests get instead of an answer. */
export interface InjectedFault {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** How many requests get it. @default 1 */
  readonly times?: number;
  /** Which requests (by method and path without the API prefix). @default every API request */
  readonly match?: (method: string, path: string) => boolean;
  /** The request is carried out and only its answer is the fault (a timeout after Kantata committed). */
  readonly afterwards?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
}

export class KantataWireServer {
  readonly db: Database.Database;
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly tokens = new Set<string>();
  private readonly faults: Array<{ times: number; match: (method: string, path: string) => boolean; fault: InjectedFault }> = [];
  private readonly windowStarts: number[] = [];
  private lastStamp = 0;
  private readonly records: KantataWireRecords;
  private readonly expenses: KantataWireExpenses;
  private readonly customFieldValues: KantataWireCustomFieldValues;
  private port = 0;

  private constructor(private readonly options: KantataWireOptions) {
    this.db = new Database(':memory:');
    this.db.exec(SCHEMA);
    seedKantata(this.db, {
      world: options.world,
      dataDir: options.dataDir,
      serviceName: options.serviceName ?? 'psgraph',
      // A day ago: records stood before anyone polled.
      stamp: new Date(Date.now() - 86_400_000).toISOString(),
    });
    this.records = new KantataWireRecords(this.db, () => this.nextStamp());
    this.expenses = new KantataWireExpenses(this.db, this.records, () => this.nextStamp());
    this.customFieldValues = new KantataWireCustomFieldValues(this.db, this.records);
    this.tokens.add(options.accessToken);
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  static async start(options: KantataWireOptions): Promise<KantataWireServer> {
    const wire = new KantataWireServer(options);
    await wire.listen(0);
    return wire;
  }

  /** `http://127.0.0.1:<port>/api/v1`: the adapter's API URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}${API_PREFIX}`;
  }

  /** API requests received (refused ones included), as Kantata would count them. */
  get apiRequests(): number {
    return this.requests.length;
  }

  inject(fault: InjectedFault): void {
    this.faults.push({ times: fault.times ?? 1, match: fault.match ?? (() => true), fault });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** The token stops working (an administrator revoked the application, or its user left); `grant` adds one. */
  revokeToken(token: string): void {
    this.tokens.delete(token);
  }

  grantToken(token: string): void {
    this.tokens.add(token);
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

  /** A change made in Kantata by someone other than psgraph (not counted, never faulted). */
  act(method: string, path: string, body: Json = {}, query = ''): Json | undefined {
    return this.route(method, path, new URLSearchParams(query), body);
  }

  /** A time entry logged in Kantata (on a submission, or none); its ID. */
  logTime(entry: Parameters<KantataWireRecords['logTime']>[0]): string {
    return this.records.logTime(entry);
  }

  private async listen(port: number): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** updated_at of a change now: strictly after the last one, as Kantata's commit order is. */
  private nextStamp(): string {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return new Date(this.lastStamp).toISOString();
  }

  // ---- HTTP ----

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    const text = await readBody(request);
    try {
      if (!url.pathname.startsWith(`${API_PREFIX}/`)) throw notFound('The requested resource');
      const path = url.pathname.slice(API_PREFIX.length).replace(/\.json$/, '');
      this.requests.push({ method, path, query: url.search });
      this.authenticate(request);
      const fault = this.takeFault(method, path);
      if (fault && !fault.afterwards) throw new ApiError(fault.status, fault.body, fault.headers);
      this.rateLimit();
      let body: Json = {};
      if (text) {
        try {
          body = JSON.parse(text) as Json;
        } catch {
          throw new ApiError(400, { errors: [{ type: 'system', message: 'The request body is not valid JSON.' }] });
        }
      }
      const result = this.route(method, path, url.searchParams, body);
      if (fault) throw new ApiError(fault.status, fault.body, fault.headers);
      send(response, result === undefined ? 204 : 200, result);
    } catch (error) {
      if (error instanceof ApiError) return send(response, error.status, error.body, error.headers);
      send(response, 500, { errors: [{ type: 'system', message: String(error) }] });
    }
  }

  private authenticate(request: IncomingMessage): void {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (token === undefined || !this.tokens.has(token)) throw new ApiError(401, { errors: [{ type: 'oauth', message: 'Invalid OAuth 2 Request' }] });
  }

  private takeFault(method: string, path: string): InjectedFault | undefined {
    const fault = this.faults.find((candidate) => candidate.match(method, path));
    if (!fault) return undefined;
    fault.times--;
    if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault.fault;
  }

  /** Kantata's rate limit: 429, a message, and no Retry-After ("retry your request after a small delay"). */
  private rateLimit(): void {
    if (this.options.rateLimit === undefined) return;
    const now = Date.now();
    const window = this.options.rateLimitWindowMs ?? 1_000;
    while (this.windowStarts.length > 0 && this.windowStarts[0]! <= now - window) this.windowStarts.shift();
    if (this.windowStarts.length >= this.options.rateLimit)
      throw new ApiError(429, { errors: [{ type: 'system', message: 'Too many requests. Please retry your request after a small delay.' }] });
    this.windowStarts.push(now);
  }

  private route(method: string, path: string, query: URLSearchParams, body: Json): Json | undefined {
    const [, collection, id, action] = /^\/([a-z_]+)(?:\/(\d+))?(?:\/([a-z_]+))?$/.exec(path) ?? [];
    if (!collection) throw notFound('The requested resource');
    if (method === 'GET' && !id) return listCollection(this.db, collection, query);
    if (method === 'GET' && id) {
      const found = listCollection(this.db, collection, new URLSearchParams([...query, ['only', id]]));
      if ((found['count'] as number) === 0) throw notFound(`${collection} ${id}`);
      return found;
    }
    changed(this.db);
    return this.db.transaction(() => {
      if (method === 'POST' && collection === 'workspaces' && !id) return this.records.createWorkspace((body['workspace'] ?? {}) as Json, query);
      if (method === 'DELETE' && collection === 'workspaces' && id) return this.records.deleteWorkspace(id);
      if (method === 'POST' && collection === 'resource_requests' && !id)
        return this.records.createResourceRequest((body['resource_request'] ?? {}) as Json, query);
      if (method === 'PUT' && collection === 'resource_requests' && id)
        return this.records.updateResourceRequest(id, (body['resource_request'] ?? {}) as Json, action, query);
      if (method === 'PUT' && collection === 'workspace_resources' && id)
        return this.records.updateWorkspaceResource(id, (body['workspace_resource'] ?? {}) as Json, query);
      if (method === 'POST' && collection === 'timesheet_submissions' && !id)
        return this.records.createSubmission((body['timesheet_submission'] ?? {}) as Json, query);
      if (method === 'PUT' && collection === 'timesheet_submissions' && id && action)
        return this.records.actOnSubmission(id, action, (body['resolution'] ?? {}) as Json, query);
      if (method === 'POST' && collection === 'expenses' && !id) return this.expenses.createExpense((body['expense'] ?? {}) as Json, query);
      if (method === 'POST' && collection === 'expense_report_submissions' && !id)
        return this.expenses.createReport((body['expense_report_submission'] ?? {}) as Json, query);
      if (method === 'PUT' && collection === 'expense_report_submissions' && id && action)
        return this.expenses.actOnReport(id, action, (body['resolution'] ?? {}) as Json, query);
      if (method === 'PUT' && collection === 'stories' && id && !action) return this.records.updateStory(id, (body['story'] ?? {}) as Json, query);
      if (method === 'POST' && collection === 'custom_field_values' && !id) return this.customFieldValues.create(body);
      if (method === 'PUT' && collection === 'custom_field_values' && id && !action) return this.customFieldValues.update(id, body);
      if (method === 'PUT' && collection === 'time_entries' && id && !action)
        return this.records.updateTimeEntry(id, (body['time_entry'] ?? {}) as Json, query);
      throw notFound('The requested resource');
    })();
  }
}

function send(response: ServerResponse, status: number, body?: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (body === undefined) {
    response.writeHead(status, headers);
    response.end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
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
