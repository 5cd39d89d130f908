/**
 * The audiences, each at its own path with its own filtered schema, as `npm run compose` built them from
 * `contracts/audiences/`: the client portal (client users, trusted documents by ID only, a lower cost maximum)
 * and reporting (every read, no writes, no subscriptions, no operations tooling). Over real HTTP and graphql-ws,
 * with JWTs from a local identity provider.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../contracts/errorCodes.js';
import { loadGatewayConfig } from '../../gateway/src/gatewayConfig.js';
import { loadIdentityOptions } from '../../gateway/src/guards/identity.js';
import { IdentityProvider, PERSONAS, type PersonaClaims, clientUser } from '../support/identityProvider.js';
import { type QueryFunction, type Stack, startStack } from '../support/stack.js';
import { collect, eventually, wsClient } from '../support/subscriptions.js';

/** What the client portal runs, registered in its manifest of trusted documents. */
const PORTAL_PROJECTS = `query PortalProjects { projects(first: 20) { totalCount nodes { id name status account { id name } milestones { name status } invoices { id number status total { amount currency } } } } }`;
/** A portal document that asks for too much: three 100-project pages with milestones, invoices and payments. */
const PORTAL_EVERYTHING = `query PortalEverything { ${['a', 'b', 'c']
  .map(
    (alias) =>
      `${alias}: projects(first: 100) { nodes { id milestones { id amount { amount } } invoices { id total { amount } payments { amount { amount } } } } }`,
  )
  .join(' ')} }`;
const PORTAL_INVOICES = `subscription PortalInvoices($accountId: ID!) { invoiceStatusChanged(accountId: $accountId) { status invoice { id number } } }`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const byId = (document: string, variables: Record<string, unknown> = {}) => ({
  extensions: { persistedQuery: { version: 1, sha256Hash: sha256(document) } },
  variables,
});

describe('audiences', () => {
  let idp: IdentityProvider;
  let stack: Stack;
  let portalUrl: string;
  let reportingUrl: string;
  let accountId: string;
  const as = async (persona: PersonaClaims) => ({ authorization: await idp.bearer(persona) });
  const post = async (url: string, body: unknown, headers: Record<string, string>) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as { data?: any; errors?: Array<{ message: string; extensions?: Record<string, any> }> } };
  };
  let reporting: QueryFunction;

  beforeAll(async () => {
    idp = await IdentityProvider.start();
    const manifest = join(mkdtempSync(join(tmpdir(), 'psgraph-manifest-')), 'portal.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [
          { id: sha256(PORTAL_PROJECTS), body: PORTAL_PROJECTS, name: 'PortalProjects', type: 'query' },
          { id: sha256(PORTAL_INVOICES), body: PORTAL_INVOICES, name: 'PortalInvoices', type: 'subscription' },
          { id: sha256(PORTAL_EVERYTHING), body: PORTAL_EVERYTHING, name: 'PortalEverything', type: 'query' },
        ],
      }),
    );
    stack = await startStack({
      privateData: true,
      signedPrincipals: true,
      gateway: { identity: loadIdentityOptions(idp.gatewayEnv), audiences: loadGatewayConfig({}).audiences, trustedDocumentManifests: [manifest] },
    });
    portalUrl = `${stack.baseUrl}/portal/graphql`;
    reportingUrl = `${stack.baseUrl}/reporting/graphql`;
    reporting = async (query, variables = {}, headers = {}) => post(reportingUrl, { query, variables }, headers);
    const invoices = await stack.query(`{ invoices(first: 1, filter: { status: [OPEN] }) { nodes { account { id } } } }`, {}, await as(PERSONAS.finance));
    accountId = invoices.body.data.invoices.nodes[0].account.id;
  });
  afterAll(async () => {
    await stack?.stop();
    await idp?.stop();
  });

  describe('the client portal', () => {
    it('runs its trusted documents for a client user, with the client’s own data', async () => {
      const { status, body } = await post(portalUrl, byId(PORTAL_PROJECTS), await as(clientUser([accountId])));
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data.projects.nodes.length).toBeGreaterThan(0);
      for (const project of body.data.projects.nodes) expect(project.account.id).toBe(accountId);
    });

    it('runs nothing else: a document sent in full is refused, an unknown ID too', async () => {
      const client = await as(clientUser([accountId]));
      const freeform = await post(portalUrl, { query: PORTAL_PROJECTS }, client);
      expect([freeform.status, freeform.body.errors![0]!.extensions!['code']]).toEqual([400, ErrorCode.PERSISTED_QUERY_ID_REQUIRED]);
      const unknown = await post(portalUrl, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ __typename }x') } } }, client);
      expect([unknown.status, unknown.body.errors![0]!.extensions!['code']]).toEqual([400, ErrorCode.PERSISTED_QUERY_NOT_IN_LIST]);
    });

    it('has its own schema: no costs, rates, staffing, writes or operations tooling, as introspection shows', async () => {
      const { body } = await post(
        portalUrl,
        {
          query: `{ __schema { queryType { fields { name } } mutationType { name } subscriptionType { fields { name } } } project: __type(name: "Project") { fields { name } } }`,
        },
        await as(PERSONAS.finance),
      );
      expect(body.errors).toBeUndefined();
      expect(body.data.__schema.queryType.fields.map((field: { name: string }) => field.name).sort()).toEqual([
        'account',
        'invoice',
        'invoices',
        'project',
        'projects',
      ]);
      expect(body.data.__schema.mutationType).toBeNull();
      expect(body.data.__schema.subscriptionType.fields.map((field: { name: string }) => field.name)).toEqual(['invoiceStatusChanged']);
      const projectFields = body.data.project.fields.map((field: { name: string }) => field.name);
      expect(projectFields).toEqual(expect.arrayContaining(['id', 'name', 'milestones', 'invoices', 'invoiceSummary']));
      for (const hidden of ['financials', 'assignments', 'timeTotals', 'contract', 'resourceRequests', 'manager']) expect(projectFields).not.toContain(hidden);
    });

    it('pushes the client’s invoice changes over its own WebSocket path, by trusted document', async () => {
      const client = wsClient(portalUrl, await as(clientUser([accountId])));
      try {
        const results: unknown[] = [];
        // By ID, as the portal's app sends it (graphql-ws wants a query string; the ID stands for the document).
        client.subscribe({ query: '', ...byId(PORTAL_INVOICES, { accountId }) } as never, {
          next: (value) => void results.push(value),
          error: () => {},
          complete: () => {},
        });
        await eventually(() => stack.subgraphs.billing.service.activeSubscriptions() > 0, 5_000, 'the upstream subscription');
        const open = await stack.query(
          `query($a: ID!) { invoices(first: 1, filter: { status: [OPEN], accountId: $a }) { nodes { id } } }`,
          { a: accountId },
          await as(PERSONAS.finance),
        );
        const invoiceId = open.body.data.invoices.nodes[0].id;
        await stack.query(`mutation($id: ID!) { recordPayment(invoiceId: $id) { status } }`, { id: invoiceId }, await as(PERSONAS.finance));
        await eventually(() => results.length > 0, 10_000, 'the event');
        expect(results[0]).toMatchObject({ data: { invoiceStatusChanged: { status: 'PAID', invoice: { id: invoiceId } } } });
      } finally {
        await client.dispose();
      }
    });

    it('refuses what costs more than its own maximum, which /graphql runs', async () => {
      // The portal's maximum is 20,000 (contracts/audiences/portal.json); /graphql's is 50,000.
      const { status, body } = await post(portalUrl, byId(PORTAL_EVERYTHING), await as(clientUser([accountId])));
      expect(status).toBe(400);
      expect(body.errors![0]!.extensions).toMatchObject({ code: ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE, cost: { max: 20_000 } });
      expect(body.errors![0]!.extensions!['cost'].estimated).toBeGreaterThan(20_000);
      const internal = await stack.query(PORTAL_EVERYTHING, {}, await as(PERSONAS.finance));
      expect(internal.status).toBe(200);
      expect(internal.body.errors).toBeUndefined();
    });
  });

  it('refuses client users on /graphql and on reporting (403), and staff pass', async () => {
    const client = await as(clientUser([accountId]));
    const onGraphql = await stack.query(`{ projects(first: 1) { totalCount } }`, {}, client);
    expect([onGraphql.status, onGraphql.body.errors![0]!.extensions!['code']]).toEqual([403, ErrorCode.FORBIDDEN]);
    const onReporting = await reporting(`{ projects(first: 1) { totalCount } }`, {}, client);
    expect([onReporting.status, onReporting.body.errors![0]!.extensions!['code']]).toEqual([403, ErrorCode.FORBIDDEN]);
    expect((await reporting(`{ projects(first: 1) { totalCount } }`, {}, await as(PERSONAS.reporting))).status).toBe(200);
  });

  describe('reporting', () => {
    it('reads every figure its scopes allow, including the firm-wide report and margins', async () => {
      const { body } = await reporting(
        `{ billedVsUnbilled(groupBy: [REGION]) { region billed { amount } } projects(first: 5) { nodes { financials { margin { amount } } } } activationFigures { activatedCount } }`,
        {},
        await as(PERSONAS.reporting),
      );
      expect(body.errors).toBeUndefined();
      expect(body.data.billedVsUnbilled.length).toBeGreaterThan(0);
      expect(body.data.projects.nodes[0].financials.margin.amount).toEqual(expect.any(String));
    });

    it('has no writes, no subscriptions and no operations tooling in its schema', async () => {
      const { body } = await reporting(
        `{ __schema { mutationType { name } subscriptionType { name } queryType { fields { name } } } }`,
        {},
        await as(PERSONAS.reporting),
      );
      expect(body.data.__schema.mutationType).toBeNull();
      expect(body.data.__schema.subscriptionType).toBeNull();
      const fields = body.data.__schema.queryType.fields.map((field: { name: string }) => field.name);
      for (const hidden of ['integrationExceptions', 'activationRuns', 'activationRun', 'exceptionCounts']) expect(fields).not.toContain(hidden);
      const write = await reporting(`mutation { finalizeInvoice(id: "in_x") { id } }`, {}, await as(PERSONAS.finance));
      expect([write.status, write.body.errors![0]!.extensions!['code']]).toEqual([400, ErrorCode.GRAPHQL_VALIDATION_FAILED]);
    });
  });

  it('serves each audience its own IDE, and reports every audience’s supergraph on /ready', async () => {
    const page = await fetch(portalUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('"/portal/graphql"');
    const ready = (await (await fetch(`${stack.baseUrl}/ready`)).json()) as { audiences: Record<string, { loadedAt: string }> };
    expect(Object.keys(ready.audiences).sort()).toEqual(['portal', 'reporting']);
  });

  it('subscribes nobody but client users’ portal documents on the portal path, and no client user on /graphql', async () => {
    const onGraphql = wsClient(stack.gatewayUrl, await as(clientUser([accountId])));
    try {
      const events = collect(onGraphql, `subscription($a: ID!) { invoiceStatusChanged(accountId: $a) { status } }`, { a: accountId });
      const outcome = (await events.completed) as { error?: { code?: number } };
      expect(outcome.error?.code).toBe(4403);
    } finally {
      await onGraphql.dispose();
    }
  });
});
