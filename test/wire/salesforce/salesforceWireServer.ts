/**
 * A local server that speaks Salesforce's REST API as its documentation describes it, over records of its own,
 * for the Salesforce adapter's tests: the OAuth 2.0 token endpoint (JWT bearer and client credentials flows, tokens
 * that expire), SOQL queries paged by `nextRecordsUrl`, sObject updates and external-ID upserts, composite
 * requests with `allOrNone`, Salesforce's error bodies (`[{ message, errorCode, fields }]`), the daily request
 * limit (`REQUEST_LIMIT_EXCEEDED`), and faults a test injects (429s, 503s, a session that expires).
 *
 * Its records are the CRM sandbox's world (the same seed), laid out as Salesforce's sObjects with their API field
 * names, so the adapter over this server and the sandbox must give the same answers. Stage metadata decides
 * IsWon/IsClosed as Salesforce's OpportunityStage does; every change moves the record's SystemModstamp.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { type JWK, importJWK, jwtVerify } from 'jose';
import { openSandboxCrm } from '../../../subgraphs/crm/src/sandbox/sandboxCrm.js';
import type { WorldOptions } from '../../../subgraphs/sandboxes/src/index.js';
import { ROLES } from '../../../subgraphs/sandboxes/src/world/catalog.js';
import { SoqlError, translateSoql } from './soql.js';

export const SALESFORCE_API_VERSION = '62.0';

export interface SalesforceWireOptions {
  /** The seed of the records (the same as the sandbox's it is compared with). */
  readonly world: WorldOptions;
  /** A folder the server may seed a sandbox store in (it reads the world from there). */
  readonly dataDir: string;
  /** The connected app's consumer key. */
  readonly clientId: string;
  /** The public key of the connected app's certificate (JWT bearer flow). */
  readonly publicJwk?: JWK;
  /** The connected app's consumer secret (client credentials flow). */
  readonly clientSecret?: string;
  /** The integration user the JWT's `sub` must name. */
  readonly username?: string;
  /** How long an access token lives. @default 2 hours */
  readonly tokenLifetimeMs?: number;
  /** Records per query page (Salesforce: 2000). @default 2000 */
  readonly queryBatchSize?: number;
  /** API requests allowed before REQUEST_LIMIT_EXCEEDED (the org's daily allowance). @default unlimited */
  readonly requestLimit?: number;
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
}

type Row = Record<string, unknown>;

/** The sObjects the server holds, their fields in API names, and how they are stored. */
const SCHEMA = `
CREATE TABLE "User" ("Id" TEXT PRIMARY KEY, "Name" TEXT, "Email" TEXT, "SystemModstamp" TEXT);
CREATE TABLE "OpportunityStage" ("ApiName" TEXT PRIMARY KEY, "MasterLabel" TEXT, "SortOrder" INTEGER, "DefaultProbability" REAL,
  "IsClosed" INTEGER, "IsWon" INTEGER, "ForecastCategoryName" TEXT, "IsActive" INTEGER);
CREATE TABLE "Account" ("Id" TEXT PRIMARY KEY, "Name" TEXT, "Type" TEXT, "Industry" TEXT, "Region__c" TEXT, "CurrencyIsoCode" TEXT,
  "BillingStreet" TEXT, "BillingCity" TEXT, "BillingState" TEXT, "BillingPostalCode" TEXT, "BillingCountry" TEXT,
  "OwnerId" TEXT, "ParentId" TEXT, "Tax_Id__c" TEXT, "ERP_Customer_Id__c" TEXT, "Billing_Customer_Id__c" TEXT,
  "psgraph_Receivables__c" TEXT, "psgraph_Last_Invoice_Id__c" TEXT, "psgraph_Last_Invoice_Number__c" TEXT, "psgraph_Last_Invoice_Status__c" TEXT,
  "psgraph_Billing_Status_As_Of__c" TEXT, "psgraph_Billing_Status_Updated__c" TEXT, "SystemModstamp" TEXT);
CREATE TABLE "Opportunity" ("Id" TEXT PRIMARY KEY, "AccountId" TEXT, "Name" TEXT, "StageName" TEXT, "IsWon" INTEGER, "IsClosed" INTEGER,
  "Probability" REAL, "ForecastCategoryName" TEXT, "Amount" REAL, "CurrencyIsoCode" TEXT, "CloseDate" TEXT,
  "Contract_Type__c" TEXT, "Service_Line__c" TEXT, "Delivery_Region__c" TEXT, "PO_Required__c" INTEGER, "PO_Number__c" TEXT,
  "OwnerId" TEXT, "Project_Id__c" TEXT UNIQUE, "ERP_Project_Id__c" TEXT, "PSA_Project_Id__c" TEXT, "SystemModstamp" TEXT);
CREATE INDEX opportunity_modstamp ON "Opportunity"("SystemModstamp", "Id");
CREATE TABLE "OpportunityLineItem" ("Id" TEXT PRIMARY KEY, "OpportunityId" TEXT, "SortOrder" INTEGER, "ProductCode" TEXT, "Name" TEXT,
  "Quantity" REAL, "UnitPrice" REAL, "TotalPrice" REAL, "CurrencyIsoCode" TEXT, "SystemModstamp" TEXT);
`;

/** Fields the API never lets a client write. */
const READ_ONLY = new Set(['Id', 'IsWon', 'IsClosed', 'ForecastCategoryName', 'SystemModstamp', 'Amount', 'TotalPrice']);
/** External-ID fields (unique, usable in upserts). */
const EXTERNAL_IDS: Readonly<Record<string, readonly string[]>> = { Opportunity: ['Project_Id__c'], Account: [] };
const BOOLEAN_FIELDS = new Set(['IsWon', 'IsClosed', 'PO_Required__c', 'IsActive']);
/** DateTime fields: accepted as any ISO 8601 instant, kept in UTC, answered as Salesforce writes them (`…+0000`). */
const DATETIME_FIELDS = new Set(['SystemModstamp', 'psgraph_Billing_Status_As_Of__c', 'psgraph_Billing_Status_Updated__c']);
/** Picklist fields with restricted values. */
const PICKLISTS: Readonly<Record<string, readonly string[]>> = {
  psgraph_Last_Invoice_Status__c: ['DRAFT', 'OPEN', 'PAID', 'VOID', 'UNCOLLECTIBLE'],
};

export class SalesforceWireServer {
  readonly db: Database.Database;
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly tokens = new Map<string, number>();
  private readonly cursors = new Map<string, { rows: Row[]; sObject: string; done: number }>();
  private readonly faults: Array<{ times: number; match: (method: string, path: string) => boolean; fault: InjectedFault }> = [];
  private readonly columns = new Map<string, string[]>();
  private lastModstamp = 0;
  private port = 0;
  private requestCount = 0;

  private constructor(private readonly options: SalesforceWireOptions) {
    this.db = new Database(':memory:');
    this.db.exec(SCHEMA);
    for (const { name } of this.db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all()) {
      this.columns.set(
        name,
        this.db
          .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${name}')`)
          .all()
          .map((column) => column.name),
      );
    }
    this.seed();
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  static async start(options: SalesforceWireOptions): Promise<SalesforceWireServer> {
    const wire = new SalesforceWireServer(options);
    await wire.listen(0);
    return wire;
  }

  /** `http://127.0.0.1:<port>`: the login URL and the instance URL alike. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next matching requests fail as given (a 429 storm, an outage, an expired session); no body: an empty one. */
  inject(fault: InjectedFault): void {
    this.faults.push({ times: fault.times ?? 1, match: fault.match ?? (() => true), fault });
  }

  /** Forgets the faults not yet served. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Every token issued so far stops working (a session timeout, a revoked app). */
  expireTokens(): void {
    this.tokens.clear();
  }

  /** API requests received, as Salesforce counts them against the daily allowance (token requests excluded). */
  get apiRequests(): number {
    return this.requestCount;
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

  /** A change someone makes in Salesforce itself (not through the API the adapter uses). */
  update(sObject: string, id: string, fields: Row): void {
    this.write(sObject, id, fields);
  }

  private async listen(port: number): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  // ---- records ----

  private seed(): void {
    const sandbox = openSandboxCrm(this.options.dataDir, this.options.world);
    const source = sandbox.store.db;
    const stamp = '2026-11-01T00:00:00.000Z';
    const insert = (table: string, row: Row) => {
      const names = Object.keys(row);
      this.db
        .prepare(`INSERT INTO "${table}" (${names.map((name) => `"${name}"`).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`)
        .run(...names.map((name) => row[name] as never));
    };
    this.db.transaction(() => {
      for (const user of source.prepare('SELECT * FROM crm_user').all() as Row[])
        insert('User', { Id: user['id'], Name: user['name'], Email: user['email'], SystemModstamp: stamp });
      for (const stage of source.prepare('SELECT * FROM opportunity_stage').all() as Row[]) {
        insert('OpportunityStage', {
          ApiName: stage['name'],
          MasterLabel: stage['name'],
          SortOrder: stage['sort_order'],
          DefaultProbability: stage['probability'],
          IsClosed: stage['is_closed'],
          IsWon: stage['is_won'],
          ForecastCategoryName: stage['forecast_category'],
          IsActive: 1,
        });
      }
      for (const account of source.prepare('SELECT * FROM account').all() as Row[]) {
        insert('Account', {
          Id: account['id'],
          Name: account['name'],
          Type: account['type'] === 'CUSTOMER' ? 'Customer' : 'Prospect',
          Industry: account['industry'],
          Region__c: account['region'],
          CurrencyIsoCode: account['currency'],
          BillingStreet: account['street'],
          BillingCity: account['city'],
          BillingState: account['state'],
          BillingPostalCode: account['postal_code'],
          BillingCountry: account['country'],
          OwnerId: account['owner_id'],
          ParentId: account['parent_id'],
          Tax_Id__c: account['tax_id'],
          ERP_Customer_Id__c: account['erp_customer_id'],
          Billing_Customer_Id__c: account['billing_customer_id'],
          SystemModstamp: stamp,
        });
      }
      const opportunities = source
        .prepare('SELECT o.*, s.is_won, s.is_closed, s.probability, s.forecast_category FROM opportunity o JOIN opportunity_stage s ON s.name = o.stage_name')
        .all() as Row[];
      for (const opportunity of opportunities) {
        insert('Opportunity', {
          Id: opportunity['id'],
          AccountId: opportunity['account_id'],
          Name: opportunity['name'],
          StageName: opportunity['stage_name'],
          IsWon: opportunity['is_won'],
          IsClosed: opportunity['is_closed'],
          Probability: opportunity['probability'],
          ForecastCategoryName: opportunity['forecast_category'],
          Amount: (opportunity['amount_minor'] as number) / 100,
          CurrencyIsoCode: opportunity['currency'],
          CloseDate: opportunity['close_date'],
          Contract_Type__c: opportunity['contract_type'],
          Service_Line__c: opportunity['service_line'],
          Delivery_Region__c: opportunity['delivery_region'],
          PO_Required__c: opportunity['po_required'],
          PO_Number__c: opportunity['po_number'],
          OwnerId: opportunity['owner_id'],
          Project_Id__c: opportunity['project_id'],
          ERP_Project_Id__c: opportunity['erp_project_id'],
          PSA_Project_Id__c: opportunity['psa_project_id'],
          SystemModstamp: stamp,
        });
      }
      const lines = source.prepare('SELECT l.*, o.currency FROM opportunity_line_item l JOIN opportunity o ON o.id = l.opportunity_id').all() as Row[];
      // The product a line sells is the role: its code as the product code, its display name as the name.
      const roleNames = new Map(ROLES.map((role) => [role.code as string, role.name]));
      for (const line of lines) {
        insert('OpportunityLineItem', {
          Id: line['id'],
          OpportunityId: line['opportunity_id'],
          SortOrder: line['sort_order'],
          ProductCode: line['role'],
          Name: roleNames.get(line['role'] as string),
          Quantity: line['hours'],
          UnitPrice: (line['unit_price_minor'] as number) / 100,
          TotalPrice: Math.round((line['hours'] as number) * (line['unit_price_minor'] as number)) / 100,
          CurrencyIsoCode: line['currency'],
          SystemModstamp: stamp,
        });
      }
    })();
    sandbox.store.close();
  }

  /** SystemModstamp of a change now: strictly after the last one, as Salesforce's commit order is. */
  private nextModstamp(): string {
    this.lastModstamp = Math.max(Date.now(), this.lastModstamp + 1);
    return new Date(this.lastModstamp).toISOString();
  }

  /** Applies an update as Salesforce does: stage metadata derives IsWon/IsClosed, validation rules refuse. */
  private write(sObject: string, id: string, fields: Row): void {
    const columns = this.columns.get(sObject)!;
    const changes: Row = {};
    for (const [name, value] of Object.entries(fields)) {
      const column = columns.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
      if (!column) throw new ApiError(400, [{ message: `No such column '${name}' on sobject of type ${sObject}`, errorCode: 'INVALID_FIELD' }]);
      if (READ_ONLY.has(column))
        throw new ApiError(400, [{ message: `Unable to create/update fields: ${column}.`, errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', fields: [column] }]);
      changes[column] = typeof value === 'boolean' ? (value ? 1 : 0) : DATETIME_FIELDS.has(column) && value !== null ? dateTimeValue(column, value) : value;
      const allowed = PICKLISTS[column];
      if (allowed && value !== null && !allowed.includes(String(value))) {
        throw new ApiError(400, [
          {
            message: `${column}: bad value for restricted picklist field: ${String(value)}`,
            errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
            fields: [column],
          },
        ]);
      }
    }
    const current = this.db.prepare(`SELECT * FROM "${sObject}" WHERE "Id" = ?`).get(id) as Row | undefined;
    if (!current) throw new ApiError(404, [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
    if (sObject === 'Opportunity' && 'StageName' in changes) {
      const stage = this.db.prepare('SELECT * FROM "OpportunityStage" WHERE "ApiName" = ?').get(changes['StageName']) as Row | undefined;
      if (!stage) {
        throw new ApiError(400, [
          {
            message: `Stage: bad value for restricted picklist field: ${String(changes['StageName'])}`,
            errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
            fields: ['StageName'],
          },
        ]);
      }
      // A validation rule the firm keeps in Salesforce: an activated deal is not reopened.
      if (current['IsWon'] === 1 && stage['IsWon'] === 0 && current['Project_Id__c'] !== null) {
        throw new ApiError(400, [
          { message: 'This opportunity is activated as a project and cannot be reopened.', errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', fields: [] },
        ]);
      }
      Object.assign(changes, {
        IsWon: stage['IsWon'],
        IsClosed: stage['IsClosed'],
        Probability: stage['DefaultProbability'],
        ForecastCategoryName: stage['ForecastCategoryName'],
      });
    }
    for (const external of EXTERNAL_IDS[sObject] ?? []) {
      const value = changes[external];
      if (value === undefined || value === null) continue;
      const holder = this.db.prepare(`SELECT "Id" FROM "${sObject}" WHERE "${external}" = ? AND "Id" <> ?`).get(value, id) as Row | undefined;
      if (holder) {
        throw new ApiError(400, [
          {
            message: `duplicate value found: ${external} duplicates value on record with id: ${String(holder['Id'])}`,
            errorCode: 'DUPLICATE_VALUE',
            fields: [external],
          },
        ]);
      }
    }
    changes['SystemModstamp'] = this.nextModstamp();
    const names = Object.keys(changes);
    this.db
      .prepare(`UPDATE "${sObject}" SET ${names.map((name) => `"${name}" = ?`).join(', ')} WHERE "Id" = ?`)
      .run(...names.map((name) => changes[name] as never), id);
  }

  private recordJson(sObject: string, row: Row, fields: readonly string[]): Row {
    const record: Row = { attributes: { type: sObject, url: `/services/data/v${SALESFORCE_API_VERSION}/sobjects/${sObject}/${String(row['Id'])}` } };
    for (const field of fields) {
      const value = row[field];
      record[field] = BOOLEAN_FIELDS.has(field) ? value === 1 : DATETIME_FIELDS.has(field) && typeof value === 'string' ? value.replace('Z', '+0000') : value;
    }
    return record;
  }

  // ---- HTTP ----

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const body = await readBody(request);
    try {
      if (url.pathname === '/services/oauth2/token' && request.method === 'POST') return await this.token(body, response);
      const prefix = `/services/data/v${SALESFORCE_API_VERSION}`;
      if (!url.pathname.startsWith(prefix)) throw new ApiError(404, [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
      this.authenticate(request);
      this.requests.push({ method: request.method ?? 'GET', path: url.pathname, query: url.search });
      this.requestCount++;
      this.applyFaults(request.method ?? 'GET', url.pathname);
      if (this.options.requestLimit !== undefined && this.requestCount > this.options.requestLimit) {
        throw new ApiError(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
      }
      const path = url.pathname.slice(prefix.length);
      if (path === '/query' && request.method === 'GET') return send(response, 200, this.query(url.searchParams.get('q') ?? ''));
      if (path.startsWith('/query/') && request.method === 'GET') return send(response, 200, this.nextPage(path.slice('/query/'.length)));
      if (path === '/composite' && request.method === 'POST') return send(response, 200, this.composite(JSON.parse(body || '{}')));
      const sobject = /^\/sobjects\/(\w+)\/([^/]+)(?:\/([^/]+))?$/.exec(path);
      if (sobject && request.method === 'PATCH') {
        const result = this.patch(sobject[1]!, sobject[2]!, sobject[3], JSON.parse(body || '{}') as Row);
        return send(response, result.status, result.body);
      }
      if (sobject && request.method === 'GET' && !sobject[3]) return send(response, 200, this.retrieve(sobject[1]!, sobject[2]!));
      throw new ApiError(404, [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
    } catch (error) {
      if (error instanceof ApiError) return send(response, error.status, error.body, error.headers);
      if (error instanceof SoqlError) return send(response, 400, [{ message: error.message, errorCode: error.errorCode }]);
      return send(response, 500, [{ message: String(error), errorCode: 'UNKNOWN_EXCEPTION' }]);
    }
  }

  private async token(body: string, response: ServerResponse): Promise<void> {
    const form = new URLSearchParams(body);
    const refuse = (description: string) => send(response, 400, { error: 'invalid_grant', error_description: description });
    if (form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      if (!this.options.publicJwk) return refuse('JWT bearer flow is not enabled for this connected app');
      try {
        const key = await importJWK(this.options.publicJwk, 'RS256');
        const { payload } = await jwtVerify(form.get('assertion') ?? '', key, { algorithms: ['RS256'], issuer: this.options.clientId, audience: this.url });
        if (payload.sub !== this.options.username) return refuse('user hasn\u2019t approved this consumer');
      } catch (error) {
        return refuse(`invalid assertion: ${(error as Error).message}`);
      }
    } else if (form.get('grant_type') === 'client_credentials') {
      if (form.get('client_id') !== this.options.clientId || !this.options.clientSecret || form.get('client_secret') !== this.options.clientSecret) {
        return send(response, 400, { error: 'invalid_client', error_description: 'invalid client credentials' });
      }
    } else {
      return send(response, 400, { error: 'unsupported_grant_type', error_description: 'grant type not supported' });
    }
    const token = `00D5g000004wSjA!${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
    this.tokens.set(token, Date.now() + (this.options.tokenLifetimeMs ?? 2 * 3_600_000));
    send(response, 200, {
      access_token: token,
      scope: 'api',
      instance_url: this.url,
      id: `${this.url}/id/00D5g000004wSjAEAU/0055g000004wSjAAAU`,
      token_type: 'Bearer',
      issued_at: String(Date.now()),
    });
  }

  private authenticate(request: IncomingMessage): void {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const expiry = token ? this.tokens.get(token) : undefined;
    if (expiry === undefined || expiry < Date.now()) throw new ApiError(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
  }

  private applyFaults(method: string, path: string): void {
    const fault = this.faults.find((candidate) => candidate.match(method, path));
    if (!fault) return;
    fault.times--;
    if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
    // Without a body: what a proxy or an overloaded edge answers, not a Salesforce error body.
    throw new ApiError(fault.fault.status, fault.fault.body, fault.fault.headers);
  }

  private query(soql: string): Row {
    const translated = translateSoql(soql, (sObject) => this.columns.get(sObject));
    if (translated.count) {
      const { expr0 } = this.db.prepare(translated.sql).get() as { expr0: number };
      return { totalSize: expr0, done: true, records: [] };
    }
    let rows: Row[];
    try {
      rows = this.db.prepare(translated.sql).all() as Row[];
    } catch (error) {
      throw new SoqlError('MALFORMED_QUERY', (error as Error).message);
    }
    const records = rows.map((row) => this.recordJson(translated.sObject, row, translated.fields));
    return this.page(records, translated.sObject, 0);
  }

  private page(records: Row[], sObject: string, from: number): Row {
    const size = this.options.queryBatchSize ?? 2000;
    const slice = records.slice(from, from + size);
    const done = from + size >= records.length;
    const result: Row = { totalSize: records.length, done, records: slice };
    if (!done) {
      const cursor = `01g${Math.random().toString(36).slice(2, 14)}`;
      this.cursors.set(cursor, { rows: records, sObject, done: from + size });
      result['nextRecordsUrl'] = `/services/data/v${SALESFORCE_API_VERSION}/query/${cursor}-${from + size}`;
    }
    return result;
  }

  private nextPage(locator: string): Row {
    const [cursor] = locator.split('-');
    const saved = this.cursors.get(cursor!);
    if (!saved) throw new ApiError(400, [{ message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' }]);
    this.cursors.delete(cursor!);
    return this.page(saved.rows, saved.sObject, saved.done);
  }

  private retrieve(sObject: string, id: string): Row {
    const columns = this.columns.get(sObject);
    if (!columns) throw new ApiError(404, [{ message: `The requested resource does not exist`, errorCode: 'NOT_FOUND' }]);
    const row = this.db.prepare(`SELECT * FROM "${sObject}" WHERE "Id" = ?`).get(id) as Row | undefined;
    if (!row) throw new ApiError(404, [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
    return this.recordJson(sObject, row, columns);
  }

  /** PATCH by ID (204), or upsert by external ID (201 created / 204 updated / 300 when several match). */
  private patch(sObject: string, idOrField: string, externalValue: string | undefined, fields: Row): { status: number; body?: unknown } {
    if (!this.columns.has(sObject)) throw new ApiError(404, [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
    if (externalValue === undefined) {
      this.write(sObject, idOrField, fields);
      return { status: 204 };
    }
    if (!(EXTERNAL_IDS[sObject] ?? []).includes(idOrField)) {
      throw new ApiError(400, [{ message: `Provided external ID field does not exist or is not accessible: ${idOrField}`, errorCode: 'NOT_FOUND' }]);
    }
    const matches = this.db.prepare(`SELECT "Id" FROM "${sObject}" WHERE "${idOrField}" = ?`).all(externalValue) as Row[];
    if (matches.length > 1)
      return { status: 300, body: matches.map((match) => `/services/data/v${SALESFORCE_API_VERSION}/sobjects/${sObject}/${String(match['Id'])}`) };
    if (matches.length === 0)
      throw new ApiError(400, [{ message: `Creating ${sObject} records is not supported by this server`, errorCode: 'CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY' }]);
    this.write(sObject, String(matches[0]!['Id']), fields);
    return { status: 200, body: { id: matches[0]!['Id'], success: true, errors: [], created: false } };
  }

  private composite(request: { allOrNone?: boolean; compositeRequest?: Array<{ method: string; url: string; referenceId: string; body?: Row }> }): Row {
    const subrequests = request.compositeRequest ?? [];
    if (subrequests.length > 25)
      throw new ApiError(400, [{ message: 'Composite request cannot have more than 25 subrequests', errorCode: 'INVALID_BATCH_SIZE' }]);
    const responses: Row[] = [];
    const run = () => {
      for (const [index, subrequest] of subrequests.entries()) {
        const match = new RegExp(`^/services/data/v${SALESFORCE_API_VERSION.replace('.', '\\.')}/sobjects/(\\w+)/([^/]+)(?:/([^/]+))?$`).exec(subrequest.url);
        try {
          if (!match || subrequest.method !== 'PATCH')
            throw new ApiError(400, [{ message: `unsupported subrequest ${subrequest.method} ${subrequest.url}`, errorCode: 'INVALID_FIELD' }]);
          const result = this.patch(match[1]!, match[2]!, match[3], subrequest.body ?? {});
          responses.push({ body: result.body ?? null, httpHeaders: {}, httpStatusCode: result.status, referenceId: subrequest.referenceId });
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          responses.push({ body: error.body, httpHeaders: {}, httpStatusCode: error.status, referenceId: subrequest.referenceId });
          if (request.allOrNone) {
            for (const rest of subrequests.slice(index + 1)) {
              responses.push({
                body: [{ errorCode: 'PROCESSING_HALTED', message: 'The transaction was rolled back since another operation in the same transaction failed.' }],
                httpHeaders: {},
                httpStatusCode: 400,
                referenceId: rest.referenceId,
              });
            }
            throw new RollBack();
          }
        }
      }
    };
    try {
      this.db.transaction(run)();
    } catch (error) {
      if (!(error instanceof RollBack)) throw error;
      // Salesforce reports the subrequests that ran before the failure as rolled back too.
      for (const response of responses) {
        if (typeof response['httpStatusCode'] === 'number' && response['httpStatusCode'] < 300) {
          response['httpStatusCode'] = 400;
          response['body'] = [
            { errorCode: 'PROCESSING_HALTED', message: 'The transaction was rolled back since another operation in the same transaction failed.' },
          ];
        }
      }
    }
    return { compositeResponse: responses };
  }
}

/** A DateTime as written to a record: an ISO 8601 instant, stored in UTC; anything else is refused as Salesforce does. */
function dateTimeValue(field: string, value: unknown): string {
  const parsed = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(parsed))
    throw new ApiError(400, [
      { message: `Cannot deserialize instance of datetime from VALUE_STRING value ${String(value)}`, errorCode: 'JSON_PARSER_ERROR', fields: [field] },
    ]);
  return new Date(parsed).toISOString();
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(`HTTP ${status}`);
  }
}

class RollBack extends Error {}

function send(response: ServerResponse, status: number, body?: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (body === undefined) {
    response.writeHead(status, headers);
    response.end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
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
