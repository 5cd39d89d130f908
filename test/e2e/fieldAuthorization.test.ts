/**
 * Field and type authorization through the gateway, over real HTTP and graphql-ws, with JWTs from a local
 * identity provider: the access directives of the subgraph schemas (`@psgraphRequiresScopes`, `@psgraphPolicy`)
 * decide what each persona sees. Unauthorized fields are removed before planning and come back null, each with an
 * UNAUTHORIZED_FIELD_OR_TYPE error at its path; the rest of the request runs; a fetch left with nothing is never
 * sent. The reject and dry-run modes, and @apollo/gateway's executor, behave as documented.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../contracts/errorCodes.js';
import { loadAuthorizationOptions } from '../../gateway/src/guards/fieldAuthorization.js';
import { loadIdentityOptions } from '../../gateway/src/guards/identity.js';
import { parseMetrics } from '../../subgraphs/platform/src/index.js';
import { IdentityProvider, PERSONAS, type PersonaClaims, clientUser } from '../support/identityProvider.js';
import { PROJECT_QUERY } from '../support/queries.js';
import { type QueryFunction, type Stack, startStack } from '../support/stack.js';
import { collect, eventually, wsClient } from '../support/subscriptions.js';

const FINANCE_PATHS = [
  ['project', 'assignments', '@', 'billRate'],
  ['project', 'assignments', '@', 'costRate'],
  ['project', 'assignments', '@', 'resource', 'billRate'],
  ['project', 'assignments', '@', 'resource', 'costRate'],
  ['project', 'timeTotals', 'approvedCost'],
  ['project', 'contract', 'rateCard', 'lines', '@', 'billRate'],
  ['project', 'financials', 'cost'],
  ['project', 'financials', 'margin'],
  ['project', 'financials', 'marginPercent'],
];

describe('field authorization', () => {
  let idp: IdentityProvider;
  let stack: Stack;
  let projectId: string;
  let accountId: string;
  const as = async (persona: PersonaClaims) => ({ authorization: await idp.bearer(persona) });
  const subgraphOperations = async (url: string) => {
    const metrics = parseMetrics(await (await fetch(url.replace(/\/graphql$/, '/metrics'))).text());
    return Object.fromEntries(
      [...metrics.entries()]
        .filter(([name]) => name.startsWith('psgraph_subgraph_operations_total'))
        .map(([name, value]) => [/subgraph="(\w+)"/.exec(name)![1], value]),
    );
  };

  beforeAll(async () => {
    idp = await IdentityProvider.start();
    // Client users on /graphql, to exercise authorization through every path (deployments serve them on /portal/graphql).
    stack = await startStack({ privateData: true, gateway: { identity: loadIdentityOptions(idp.gatewayEnv), clientUsersOnGraphql: true } });
    const page = await stack.query(
      `{ projects(first: 20, filter: { status: [ACTIVE] }) { nodes { id account { id } assignments { id } } } }`,
      {},
      await as(PERSONAS.finance),
    );
    const project = page.body.data.projects.nodes.find((node: { assignments: unknown[] }) => node.assignments.length > 0);
    projectId = project.id;
    accountId = project.account.id;
  });
  afterAll(async () => {
    await stack?.stop();
    await idp?.stop();
  });

  it('shows finance the whole project view, costs, margins and rates included', async () => {
    const { status, body } = await stack.query(PROJECT_QUERY, { id: projectId }, await as(PERSONAS.finance));
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.project.financials.cost.amount).toMatch(/^\d+\.\d{2}$/);
    expect(body.data.project.assignments[0].costRate.amount).toMatch(/^\d+\.\d{2}$/);
  });

  it('withholds costs, margins and rates from staff without the finance scope: null, one error per path, the rest as finance sees it', async () => {
    const finance = await stack.query(PROJECT_QUERY, { id: projectId }, await as(PERSONAS.finance));
    const { status, body } = await stack.query(PROJECT_QUERY, { id: projectId }, await as(PERSONAS.deliveryManager));
    expect(status).toBe(200);
    expect(body.errors!.map((error) => error.path)).toEqual(FINANCE_PATHS);
    for (const error of body.errors!)
      expect(error).toMatchObject({ message: 'Unauthorized field or type', extensions: { code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE } });
    const expected = structuredClone(finance.body.data);
    const project = expected.project;
    for (const assignment of project.assignments)
      Object.assign(assignment, { billRate: null, costRate: null, resource: { ...assignment.resource, billRate: null, costRate: null } });
    project.timeTotals.approvedCost = null;
    for (const line of project.contract.rateCard.lines) line.billRate = null;
    Object.assign(project.financials, { cost: null, margin: null, marginPercent: null });
    expect(body.data).toEqual(expected);
  });

  it('never shows a client user costs or margins, even with the finance scope; rates follow the scope', async () => {
    const { body } = await stack.query(
      `query($id: ID!) { project(id: $id) { name financials { budget { amount } cost { amount } margin { amount } } assignments { billRate { amount } costRate { amount } } } }`,
      { id: projectId },
      await as(clientUser([accountId], 'finance:read')),
    );
    expect(body.data.project.name).toEqual(expect.any(String));
    expect(body.data.project.financials).toEqual({ budget: { amount: expect.any(String) }, cost: null, margin: null });
    expect(body.data.project.assignments[0]).toEqual({ billRate: { amount: expect.any(String) }, costRate: null });
    expect(body.errors!.map((error) => error.path)).toEqual([
      ['project', 'financials', 'cost'],
      ['project', 'financials', 'margin'],
      ['project', 'assignments', '@', 'costRate'],
    ]);
  });

  it('never sends a fetch left with nothing: ERP is not called when only withheld ERP fields were asked for', async () => {
    const before = await subgraphOperations(stack.gatewayUrl);
    const { body } = await stack.query(
      `query($id: ID!) { project(id: $id) { name financials { cost { amount } margin { amount } } } }`,
      { id: projectId },
      await as(PERSONAS.deliveryManager),
    );
    expect(body.data).toEqual({ project: { name: expect.any(String), financials: null } });
    expect(body.errors!.map((error) => error.path)).toEqual([
      ['project', 'financials', 'cost'],
      ['project', 'financials', 'margin'],
    ]);
    const after = await subgraphOperations(stack.gatewayUrl);
    expect(after['erp'] ?? 0).toBe(before['erp'] ?? 0);
    expect(after['psa']).toBe((before['psa'] ?? 0) + 1);
  });

  it('answers a request with nothing authorized left without calling any subgraph: staff-only lists and writes for a client user', async () => {
    const client = await as(clientUser([accountId]));
    const before = await subgraphOperations(stack.gatewayUrl);
    const list = await stack.query(`{ resources(first: 5) { nodes { id name } } }`, {}, client);
    expect(list.status).toBe(200);
    expect(list.body.data).toBeNull();
    expect(list.body.errors!.map((error) => [error.path, error.extensions!['code']])).toEqual([[['resources'], ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE]]);
    const write = await stack.query(`mutation { setOpportunityStage(id: "006000000000000AAA", stage: "Closed Won") { id } }`, {}, client);
    expect(write.body.data).toBeNull();
    expect(write.body.errors![0]).toMatchObject({ path: ['setOpportunityStage'], extensions: { code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE } });
    expect(await subgraphOperations(stack.gatewayUrl)).toEqual(before);
  });

  it('requires the write scopes for writes, even from staff', async () => {
    const { body } = await stack.query(`mutation { recordPayment(invoiceId: "in_none") { id } }`, {}, await as(PERSONAS.deliveryManager));
    expect(body.errors![0]).toMatchObject({ path: ['recordPayment'], extensions: { code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE } });
    // With the scope, the write reaches billing, which answers for the invoice it does not know.
    const allowed = await stack.query(`mutation { recordPayment(invoiceId: "in_none") { id } }`, {}, await as(PERSONAS.finance));
    expect(allowed.body.errors![0]!.extensions!['code']).not.toBe(ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE);
  });

  it('withholds the same fields through fragments, aliases and interfaces of the query', async () => {
    const { body } = await stack.query(
      `query($id: ID!) { p: project(id: $id) { ...Money } } fragment Money on Project { money: financials { c: cost { amount } budget { amount } } }`,
      { id: projectId },
      await as(PERSONAS.deliveryManager),
    );
    expect(body.data).toEqual({ p: { money: { c: null, budget: { amount: expect.any(String) } } } });
    expect(body.errors!.map((error) => error.path)).toEqual([['p', 'money', 'c']]);
  });

  describe('modes and executors', () => {
    let reject: QueryFunction;
    let dryRun: QueryFunction;
    let apollo: QueryFunction;
    beforeAll(async () => {
      reject = (await stack.startGateway({ authorization: loadAuthorizationOptions({ PSGRAPH_AUTHORIZATION_MODE: 'reject' }) })).query;
      dryRun = (await stack.startGateway({ authorization: loadAuthorizationOptions({ PSGRAPH_AUTHORIZATION_MODE: 'dry_run' }) })).query;
      apollo = (await stack.startGateway({ executor: 'apollo' })).query;
    });

    it('rejects the whole request in reject mode (403, the paths listed), and runs an authorized one', async () => {
      const { status, body } = await reject(PROJECT_QUERY, { id: projectId }, await as(PERSONAS.deliveryManager));
      expect(status).toBe(403);
      expect(body.data).toBeUndefined();
      expect(body.errors![0]!.extensions).toMatchObject({ code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE, unauthorizedPaths: FINANCE_PATHS });
      const allowed = await reject(PROJECT_QUERY, { id: projectId }, await as(PERSONAS.finance));
      expect(allowed.status).toBe(200);
      expect(allowed.body.errors).toBeUndefined();
    });

    it('returns everything in dry-run mode, reporting what would be withheld', async () => {
      const finance = await stack.query(PROJECT_QUERY, { id: projectId }, await as(PERSONAS.finance));
      const { body } = await dryRun(PROJECT_QUERY, { id: projectId }, await as(PERSONAS.deliveryManager));
      expect(body.data).toEqual(finance.body.data);
      expect(body.errors!.map((error) => error.path)).toEqual(FINANCE_PATHS);
      for (const error of body.errors!) expect(error.extensions).toMatchObject({ code: ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE, dryRun: true });
    });

    it('withholds the same fields with @apollo/gateway’s executor', async () => {
      const psgraph = await stack.query(PROJECT_QUERY, { id: projectId }, await as(PERSONAS.deliveryManager));
      const viaApollo = await apollo(PROJECT_QUERY, { id: projectId }, await as(PERSONAS.deliveryManager));
      expect(viaApollo.body.data).toEqual(psgraph.body.data);
      expect(viaApollo.body.errors!.map((error) => [error.path, error.extensions!['code']])).toEqual(
        psgraph.body.errors!.map((error) => [error.path, error.extensions!['code']]),
      );
    });
  });

  it('applies the subscriber’s rights to every event of a subscription, and never shares one subscriber’s answer with another', async () => {
    const open = await stack.query(`{ invoices(first: 1, filter: { status: [OPEN] }) { nodes { id project { id } } } }`, {}, await as(PERSONAS.finance));
    const invoice = open.body.data.invoices.nodes[0];
    const subscription = `subscription($projectId: ID!) { invoiceStatusChanged(projectId: $projectId) { status invoice { id project { id financials { cost { amount } } } } } }`;
    const manager = wsClient(stack.gatewayUrl, await as(PERSONAS.deliveryManager));
    const finance = wsClient(stack.gatewayUrl, await as(PERSONAS.finance));
    try {
      const managerEvents = collect(manager, subscription, { projectId: invoice.project.id });
      const financeEvents = collect(finance, subscription, { projectId: invoice.project.id });
      // Two upstream subscriptions: subscribers with different credentials never share one.
      await eventually(() => stack.subgraphs.billing.service.activeSubscriptions() === 2, 5_000, 'both upstream subscriptions');
      const paid = await stack.query(`mutation($id: ID!) { recordPayment(invoiceId: $id) { status } }`, { id: invoice.id }, await as(PERSONAS.finance));
      expect(paid.body.data.recordPayment.status).toBe('PAID');
      const [financeEvent] = await financeEvents.waitFor(1);
      const [managerEvent] = await managerEvents.waitFor(1);
      expect(financeEvent!.errors).toBeUndefined();
      expect(financeEvent!.data.invoiceStatusChanged.invoice.project.financials.cost.amount).toMatch(/^\d+\.\d{2}$/);
      expect(managerEvent!.data.invoiceStatusChanged).toEqual({
        status: 'PAID',
        invoice: { id: invoice.id, project: { id: invoice.project.id, financials: null } },
      });
      expect(managerEvent!.errors!.map((error) => [error.path, error.extensions!['code']])).toEqual([
        [['invoiceStatusChanged', 'invoice', 'project', 'financials', 'cost'], ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE],
      ]);
    } finally {
      await manager.dispose();
      await finance.dispose();
    }
  });

  it('refuses a subscription the subscriber may not see at all', async () => {
    const client = wsClient(stack.gatewayUrl, await as(clientUser([accountId])));
    try {
      const events = collect(client, `subscription($id: ID!) { assignmentChanged(projectId: $id) { eventId } }`, { id: projectId });
      const outcome = (await events.completed) as { error?: Array<{ extensions?: { code?: string } }> };
      expect(outcome.error?.[0]?.extensions?.code).toBe(ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE);
    } finally {
      await client.dispose();
    }
  });
});
