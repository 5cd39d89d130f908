/**
 * Row-level access for client portals, enforced where the data lives. The stack runs as in production: the
 * gateway and the activation process sign the principal of every subgraph request with their own keys, and every
 * subgraph refuses a request without a valid one. A client user sees only its own accounts' projects, deals,
 * invoices and events — through `project(id)`, lists, entity references and subscriptions — and a subgraph port
 * reached directly is no way around the gateway; only the process layer's identity makes the saga's writes.
 */
import { SignJWT, generateKeyPair, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../contracts/errorCodes.js';
import { loadIdentityOptions } from '../../gateway/src/guards/identity.js';
import { PRINCIPAL_HEADER, PrincipalSigner, unsignedPrincipal } from '../../subgraphs/platform/src/security/principalTokens.js';
import { IdentityProvider, PERSONAS, type PersonaClaims, clientUser } from '../support/identityProvider.js';
import { type Stack, queryFunction, startStack } from '../support/stack.js';
import { collect, eventually, wsClient } from '../support/subscriptions.js';

describe('row-level access for client users', () => {
  let idp: IdentityProvider;
  let stack: Stack;
  let own: { account: string; projects: string[]; opportunity: string; invoice: string; invoicedProject: string };
  let other: { account: string; project: string; opportunity: string; invoice: string };
  const as = async (persona: PersonaClaims) => ({ authorization: await idp.bearer(persona) });

  beforeAll(async () => {
    idp = await IdentityProvider.start();
    // Client users on /graphql, to exercise row-level access through every path (deployments serve them on /portal/graphql).
    stack = await startStack({
      privateData: true,
      signedPrincipals: true,
      gateway: { identity: loadIdentityOptions(idp.gatewayEnv), clientUsersOnGraphql: true },
    });
    const finance = await as(PERSONAS.finance);
    const open = await stack.query(
      `{ invoices(first: 100, filter: { status: [OPEN] }) { nodes { id account { id } project { id opportunity { id } } } } }`,
      {},
      finance,
    );
    expect(open.body.errors).toBeUndefined();
    const byAccount = new Map<string, Array<{ id: string; project: { id: string; opportunity: { id: string } | null } }>>();
    for (const invoice of open.body.data.invoices.nodes) byAccount.set(invoice.account.id, [...(byAccount.get(invoice.account.id) ?? []), invoice]);
    const withDeals = [...byAccount].filter(([, invoices]) => invoices.some((invoice) => invoice.project.opportunity));
    const [ownAccount, ownInvoices] = withDeals[0]!;
    const [otherAccount, otherInvoices] = withDeals[1]!;
    const projects = await stack.query(`query($a: ID) { projects(first: 100, filter: { accountId: $a }) { nodes { id } } }`, { a: ownAccount }, finance);
    const ownInvoice = ownInvoices.find((invoice) => invoice.project.opportunity)!;
    const otherInvoice = otherInvoices.find((invoice) => invoice.project.opportunity)!;
    own = {
      account: ownAccount,
      projects: projects.body.data.projects.nodes.map((node: { id: string }) => node.id),
      opportunity: ownInvoice.project.opportunity!.id,
      invoice: ownInvoice.id,
      invoicedProject: ownInvoice.project.id,
    };
    other = { account: otherAccount, project: otherInvoice.project.id, opportunity: otherInvoice.project.opportunity!.id, invoice: otherInvoice.id };
  });
  afterAll(async () => {
    await stack?.stop();
    await idp?.stop();
  });

  it('lists only the client’s own projects, deals, accounts and invoices', async () => {
    const client = await as(clientUser([own.account]));
    const { body } = await stack.query(
      `{ projects(first: 100) { totalCount nodes { id account { id } } }
         opportunities(first: 100) { nodes { account { id } } }
         accounts(first: 100) { totalCount nodes { id } }
         invoices(first: 100) { nodes { account { id } } } }`,
      {},
      client,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.projects.nodes.map((node: { id: string }) => node.id).sort()).toEqual([...own.projects].sort());
    expect(body.data.projects.totalCount).toBe(own.projects.length);
    for (const list of [body.data.projects.nodes, body.data.opportunities.nodes, body.data.invoices.nodes])
      for (const node of list) expect(node.account.id).toBe(own.account);
    expect(body.data.invoices.nodes.length).toBeGreaterThan(0);
    expect(body.data.accounts).toEqual({ totalCount: 1, nodes: [{ id: own.account }] });
  });

  it('answers another account’s records as not there, by ID, by filter and through references', async () => {
    const client = await as(clientUser([own.account]));
    const { body } = await stack.query(
      `query($project: ID!, $opportunity: ID!, $invoice: ID!, $account: ID!) {
         project(id: $project) { id name }
         opportunity(id: $opportunity) { id }
         invoice(id: $invoice) { id }
         account(id: $account) { id }
         byAccount: invoices(first: 10, filter: { accountId: $account }) { totalCount }
         projectsByAccount: projects(first: 10, filter: { accountId: $account }) { totalCount }
       }`,
      { project: other.project, opportunity: other.opportunity, invoice: other.invoice, account: other.account },
      client,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      project: null,
      opportunity: null,
      invoice: null,
      account: null,
      byAccount: { totalCount: 0 },
      projectsByAccount: { totalCount: 0 },
    });
  });

  it('gives a client of several accounts each of them, and staff every account', async () => {
    const both = await stack.query(`{ projects(first: 100) { nodes { account { id } } } }`, {}, await as(clientUser([own.account, other.account])));
    expect(new Set(both.body.data.projects.nodes.map((node: { account: { id: string } }) => node.account.id))).toEqual(new Set([own.account, other.account]));
    const staff = await stack.query(`query($id: ID!) { project(id: $id) { id } }`, { id: other.project }, await as(PERSONAS.deliveryManager));
    expect(staff.body.data.project).toEqual({ id: other.project });
  });

  describe('at the subgraphs themselves', () => {
    const entities = (type: string) => `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on ${type} { id } } }`;
    /** A canonical project ID no system knows. */
    const NO_PROJECT = 'prj_00000000000000000000000000';
    const direct = (system: 'crm' | 'psa' | 'erp' | 'billing', principal?: string) => {
      const query = queryFunction(stack.subgraphs[system].url);
      return (document: string, variables: Record<string, unknown> = {}) => query(document, variables, principal ? { [PRINCIPAL_HEADER]: principal } : {});
    };
    const gatewaySigned = async (claims: { subject: string; scopes?: string[]; accountIds?: string[] | null }) =>
      (await PrincipalSigner.fromJwk(stack.principalKeys!.gateway)).sign({
        subject: claims.subject,
        scopes: claims.scopes ?? [],
        roles: [],
        accountIds: claims.accountIds ?? null,
      });

    it('refuses a request without a principal, with a forged one, or with an unsigned one (401)', async () => {
      const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      const forged = await new SignJWT({ sub: 'mallory' })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'gateway' })
        .setAudience('psgraph-subgraphs')
        .setExpirationTime('1m')
        .sign(stranger.privateKey);
      const unsigned = unsignedPrincipal({ subject: 'mallory', scopes: [], roles: [], accountIds: null });
      const expired = await new SignJWT({ sub: 'late' })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'gateway' })
        .setAudience('psgraph-subgraphs')
        .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 300)
        .sign(await importJWK(stack.principalKeys!.gateway, 'EdDSA'));
      for (const system of ['crm', 'psa', 'erp', 'billing'] as const) {
        for (const principal of [undefined, forged, unsigned, expired, 'not a token']) {
          const { status, body } = await direct(system, principal)('{ __typename }');
          expect(status, `${system} with ${principal?.slice(0, 12)}`).toBe(401);
          expect(body.errors![0]!.extensions!['code']).toBe(ErrorCode.UNAUTHENTICATED);
        }
      }
    });

    it('filters entity references by the client’s accounts in every subgraph', async () => {
      const client = await gatewaySigned({ subject: 'client', accountIds: [own.account] });
      const projects = [
        { __typename: 'Project', id: own.invoicedProject },
        { __typename: 'Project', id: other.project },
      ];
      const psa = await direct('psa', client)(entities('Project'), { representations: projects });
      expect(psa.body.data!).toEqual({ _entities: [{ id: own.invoicedProject }, null] });
      const erp = await direct('erp', client)(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Project { contract { erpProjectId } } } }`, {
        r: projects,
      });
      expect(erp.body.data!._entities[0].contract).not.toBeNull();
      expect(erp.body.data!._entities[1].contract).toBeNull();
      const billing = await direct('billing', client)(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Project { invoices { id } } } }`, {
        r: projects,
      });
      expect(billing.body.data!._entities[0].invoices.length).toBeGreaterThan(0);
      expect(billing.body.data!._entities[1].invoices).toEqual([]);
      const invoices = await direct('billing', client)(entities('Invoice'), {
        representations: [
          { __typename: 'Invoice', id: own.invoice },
          { __typename: 'Invoice', id: other.invoice },
        ],
      });
      expect(invoices.body.data!).toEqual({ _entities: [{ id: own.invoice }, null] });
      const report = await direct('erp', client)(`{ billedVsUnbilled(groupBy: [REGION]) { region } }`);
      expect(report.body.errors![0]!.extensions!['code']).toBe(ErrorCode.FORBIDDEN);
    });

    it('lets only the process layer’s identity make the saga’s writes, not the gateway’s', async () => {
      const staff = await gatewaySigned({ subject: 'staff', scopes: ['crm:write'] });
      const unlink = `mutation($o: ID!, $p: ID!) { unlinkOpportunityFromProject(opportunityId: $o, projectId: $p) { id } }`;
      const refused = await direct('crm', staff)(unlink, { o: other.opportunity, p: NO_PROJECT });
      expect(refused.body.errors![0]!.extensions!['code']).toBe(ErrorCode.FORBIDDEN);
      const deleteSchedule = await direct('erp', staff)(`mutation { deleteErpBillingSchedule(projectId: "${NO_PROJECT}") }`);
      expect(deleteSchedule.body.errors![0]!.extensions!['code']).toBe(ErrorCode.FORBIDDEN);
      const processToken = await (
        await PrincipalSigner.fromJwk(stack.principalKeys!.activation)
      ).sign({
        subject: 'psgraph:activation',
        scopes: [],
        roles: ['process'],
        accountIds: null,
      });
      // The same write by the process identity is carried out (there is no such schedule: false).
      const allowed = await direct('erp', processToken)(`mutation { deleteErpBillingSchedule(projectId: "${NO_PROJECT}") }`);
      expect(allowed.body).toEqual({ data: { deleteErpBillingSchedule: false } });
    });
  });

  it('activates a deal end to end with signed principals: the saga writes as the process layer', async () => {
    const engineer = await as(PERSONAS.integrationEngineer);
    const awaiting = await stack.query(`{ opportunities(first: 20, filter: { awaitingActivation: true }) { nodes { id } } }`, {}, await as(PERSONAS.finance));
    const runs = await Promise.all(
      awaiting.body.data.opportunities.nodes.slice(0, 3).map(async (deal: { id: string }) => {
        const { body } = await stack.query(
          `mutation($id: ID!, $key: String!) { activateProject(input: { opportunityId: $id, idempotencyKey: $key }) { id status } }`,
          { id: deal.id, key: `row-level-${deal.id}` },
          engineer,
        );
        return body.data.activateProject;
      }),
    );
    expect(runs.map((run: { status: string }) => run.status)).toContain('ACTIVE');
  });

  it('delivers a client only its own accounts’ invoice events, whatever it subscribed to', async () => {
    const client = wsClient(stack.gatewayUrl, await as(clientUser([own.account])));
    try {
      const subscription = `subscription($account: ID!) { invoiceStatusChanged(accountId: $account) { status invoice { id } } }`;
      const stolen = collect(client, subscription, { account: other.account });
      const mine = collect(client, subscription, { account: own.account });
      await eventually(() => stack.subgraphs.billing.service.activeSubscriptions() === 2, 5_000, 'both upstream subscriptions');
      const finance = await as(PERSONAS.finance);
      const pay = `mutation($id: ID!) { recordPayment(invoiceId: $id) { status } }`;
      expect((await stack.query(pay, { id: other.invoice }, finance)).body.data.recordPayment.status).toBe('PAID');
      expect((await stack.query(pay, { id: own.invoice }, finance)).body.data.recordPayment.status).toBe('PAID');
      const [event] = await mine.waitFor(1);
      expect(event!.data.invoiceStatusChanged).toEqual({ status: 'PAID', invoice: { id: own.invoice } });
      // The other account's payment came first; it never reached this client.
      expect(stolen.results).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});
