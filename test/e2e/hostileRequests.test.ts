/**
 * Hostile input never reaches a 500. A corpus of hostile requests over HTTP and WebSocket — malformed, oversized,
 * over each limit, ambiguous operations, wrong methods and content types, forged tokens, one tenant's IDs asked for
 * by another through every path — each with its exact status and code, and no subgraph called wherever the
 * gateway can decide alone. The gateway runs as in production: JWT identity, signed principals, the audiences.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ErrorCode } from '../../contracts/errorCodes.js';
import { loadGatewayConfig } from '../../gateway/src/gatewayConfig.js';
import { loadIdentityOptions } from '../../gateway/src/guards/identity.js';
import { loadRateLimitOptions } from '../../gateway/src/guards/rateLimits.js';
import { parseMetrics } from '../../subgraphs/platform/src/index.js';
import { IdentityProvider, PERSONAS, clientUser, forgedTokens } from '../support/identityProvider.js';
import { type Stack, startStack } from '../support/stack.js';

interface Outcome {
  readonly status: number | string;
  readonly code: string | undefined;
}

interface HostileCase {
  readonly name: string;
  readonly send: () => Promise<Outcome>;
  readonly expected: Outcome;
  /** The gateway can decide alone: no subgraph may be called. */
  readonly gatewayAlone: boolean;
}

const PORTAL_DOCUMENT = 'query PortalProject($id: ID!) { project(id: $id) { id name } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const deep = (depth: number) => `{ projects(first: 1) { nodes { ${'account { hierarchy { '.repeat(depth)}id${' } }'.repeat(depth)} } } }`;

describe('a corpus of hostile requests', () => {
  let idp: IdentityProvider;
  let stack: Stack;
  let limited: string;
  /** A gateway that lets client users on /graphql, to try another tenant's IDs through every path. */
  let tenants: string;
  const cases: HostileCase[] = [];
  let staff: string;
  let client: string;
  let forged: Record<string, string>;
  let other: { account: string; project: string; invoice: string; opportunity: string };

  const subgraphCalls = async (): Promise<number> => {
    const metrics = parseMetrics(await (await fetch(`${stack.baseUrl}/metrics`)).text());
    return [...metrics.entries()].filter(([name]) => name.startsWith('psgraph_subgraph_fetches_total')).reduce((sum, [, value]) => sum + value, 0);
  };
  const http = async (options: {
    path?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    url?: string;
  }): Promise<Outcome> => {
    const response = await fetch(options.url ?? `${stack.baseUrl}${options.path ?? '/graphql'}`, {
      method: options.method ?? 'POST',
      headers: options.headers ?? {},
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
    const text = await response.text();
    let code: string | undefined;
    try {
      const parsed = JSON.parse(text) as { errors?: Array<{ extensions?: { code?: string } }> };
      code = parsed.errors?.[0]?.extensions?.code;
    } catch {
      code = undefined;
    }
    return { status: response.status, code };
  };
  const graphql = (query: unknown, options: { token?: string | null; path?: string; variables?: unknown; operationName?: string; extra?: object } = {}) =>
    http({
      path: options.path ?? '/graphql',
      headers: { 'content-type': 'application/json', ...(options.token === null ? {} : { authorization: `Bearer ${options.token ?? staff}` }) },
      body: JSON.stringify({
        query,
        ...(options.variables !== undefined ? { variables: options.variables } : {}),
        ...(options.operationName ? { operationName: options.operationName } : {}),
        ...options.extra,
      }),
    });
  /** A data answer: its status when `check` holds of the data, and the first error's code (none: undefined). */
  const dataOutcome = async (
    query: string,
    token: string,
    variables: object,
    check: (data: any) => boolean,
    url = `${stack.baseUrl}/graphql`,
  ): Promise<Outcome> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> };
    return {
      status: check(body.data) ? response.status : `unexpected data ${JSON.stringify(body.data).slice(0, 200)}`,
      code: body.errors?.[0]?.extensions?.code,
    };
  };
  /** Opens a WebSocket and reports how the server ends it: close code, or the first error's code. */
  const ws = (options: { path?: string; url?: string; token?: string | null; payload?: object; raw?: (socket: WebSocket) => void }): Promise<Outcome> =>
    new Promise((resolve) => {
      const socket = new WebSocket(
        options.url?.replace(/^http/, 'ws') ?? `${stack.baseUrl.replace(/^http/, 'ws')}${options.path ?? '/graphql'}`,
        'graphql-transport-ws',
      );
      const timer = setTimeout(() => {
        socket.terminate();
        resolve({ status: 'no answer', code: undefined });
      }, 5_000);
      const finish = (outcome: Outcome) => {
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.close();
        resolve(outcome);
      };
      socket.on('close', (code) => finish({ status: code, code: undefined }));
      socket.on('error', () => finish({ status: 'socket error', code: undefined }));
      socket.on('open', () => {
        if (options.raw) return options.raw(socket);
        socket.send(JSON.stringify({ type: 'connection_init', payload: options.token === null ? {} : { authorization: `Bearer ${options.token ?? staff}` } }));
      });
      socket.on('message', (data) => {
        const message = JSON.parse(data.toString()) as { type: string; payload?: Array<{ extensions?: { code?: string } }> };
        if (message.type === 'connection_ack') socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: options.payload ?? {} }));
        else if (message.type === 'error') finish({ status: 'error', code: message.payload?.[0]?.extensions?.code });
        else if (message.type === 'next') finish({ status: 'next', code: message.payload && 'errors' in (message.payload as object) ? 'errors' : undefined });
      });
    });

  beforeAll(async () => {
    idp = await IdentityProvider.start();
    const manifest = join(mkdtempSync(join(tmpdir(), 'psgraph-manifest-')), 'portal.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [{ id: sha256(PORTAL_DOCUMENT), body: PORTAL_DOCUMENT, name: 'PortalProject', type: 'query' }],
      }),
    );
    stack = await startStack({
      signedPrincipals: true,
      gateway: {
        identity: loadIdentityOptions(idp.gatewayEnv),
        audiences: loadGatewayConfig({}).audiences,
        trustedDocumentManifests: [manifest],
        maxBodyBytes: 64 * 1024,
        wsMaxPayloadBytes: 16 * 1024,
      },
    });
    limited = (
      await stack.startGateway({
        identity: loadIdentityOptions(idp.gatewayEnv),
        rateLimits: loadRateLimitOptions({ PSGRAPH_RATE_LIMIT_RPS: '1', PSGRAPH_RATE_LIMIT_BURST: '1' }),
      })
    ).url;
    tenants = (await stack.startGateway({ identity: loadIdentityOptions(idp.gatewayEnv), clientUsersOnGraphql: true })).url;
    staff = await idp.token(PERSONAS.finance);
    forged = await forgedTokens(idp, PERSONAS.finance);
    const invoices = await stack.query(
      `{ invoices(first: 100, filter: { status: [OPEN] }) { nodes { id account { id } project { id opportunity { id } } } } }`,
      {},
      { authorization: `Bearer ${staff}` },
    );
    const nodes = invoices.body.data.invoices.nodes.filter((node: { project: { opportunity: unknown } }) => node.project.opportunity);
    const own = nodes[0];
    const theirs = nodes.find((node: { account: { id: string } }) => node.account.id !== own.account.id);
    client = await idp.token(clientUser([own.account.id]));
    other = { account: theirs.account.id, project: theirs.project.id, invoice: theirs.id, opportunity: theirs.project.opportunity.id };
    defineCases();
  });
  afterAll(async () => {
    await stack?.stop();
    await idp?.stop();
  });

  function defineCases(): void {
    const refused = (status: number | string, code: string | undefined): Outcome => ({ status, code });
    const add = (name: string, send: () => Promise<Outcome>, expected: Outcome, gatewayAlone = true) => cases.push({ name, send, expected, gatewayAlone });
    const q = '{ projects(first: 1) { totalCount } }';

    // Credentials (HTTP 401 before the body is read).
    add('no Authorization header', () => graphql(q, { token: null }), refused(401, ErrorCode.UNAUTHENTICATED));
    add(
      'Basic credentials',
      () => http({ headers: { 'content-type': 'application/json', authorization: 'Basic dXNlcjpwYXNz' }, body: JSON.stringify({ query: q }) }),
      refused(401, ErrorCode.UNAUTHENTICATED),
    );
    add(
      'an empty bearer token',
      () => http({ headers: { 'content-type': 'application/json', authorization: 'Bearer ' }, body: JSON.stringify({ query: q }) }),
      refused(401, ErrorCode.UNAUTHENTICATED),
    );
    add('a token that is not a JWT', () => graphql(q, { token: 'abc.def' }), refused(401, ErrorCode.UNAUTHENTICATED));
    for (const kind of ['algNone', 'wrongKey', 'unknownKid', 'hmacWithPublicKey', 'expired', 'wrongAudience', 'wrongIssuer', 'tampered'])
      add(`a forged token: ${kind}`, () => graphql(q, { token: forged[kind]! }), refused(401, ErrorCode.UNAUTHENTICATED));

    // Malformed requests.
    add(
      'a body that is not JSON',
      () => http({ headers: { 'content-type': 'application/json', authorization: `Bearer ${staff}` }, body: '{"query": ' }),
      refused(400, ErrorCode.BAD_REQUEST),
    );
    add(
      'an empty body',
      () => http({ headers: { 'content-type': 'application/json', authorization: `Bearer ${staff}` }, body: '' }),
      refused(400, ErrorCode.BAD_REQUEST),
    );
    add(
      'a batch (a JSON array)',
      () => http({ headers: { 'content-type': 'application/json', authorization: `Bearer ${staff}` }, body: JSON.stringify([{ query: q }, { query: q }]) }),
      refused(400, ErrorCode.BAD_REQUEST),
    );
    add('a query that is a number', () => graphql(42), refused(400, ErrorCode.BAD_REQUEST));
    add('no query at all', () => graphql(undefined), refused(400, ErrorCode.BAD_REQUEST));
    add('variables that are a string', () => graphql(q, { variables: 'id=1' }), refused(400, ErrorCode.BAD_REQUEST));
    add(
      'text/plain (a CSRF-able request)',
      () => http({ headers: { 'content-type': 'text/plain', authorization: `Bearer ${staff}` }, body: JSON.stringify({ query: q }) }),
      refused(400, ErrorCode.BAD_REQUEST),
    );
    add(
      'a mutation over GET',
      () =>
        http({
          method: 'GET',
          path: `/graphql?query=${encodeURIComponent('mutation { voidInvoice(id: "in_x") { id } }')}`,
          headers: { authorization: `Bearer ${staff}`, 'apollo-require-preflight': '1' },
        }),
      refused(405, ErrorCode.BAD_REQUEST),
    );
    add(
      'PUT',
      () => http({ method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${staff}` }, body: JSON.stringify({ query: q }) }),
      refused(405, ErrorCode.BAD_REQUEST),
    );
    add('DELETE', () => http({ method: 'DELETE', headers: { authorization: `Bearer ${staff}` } }), refused(405, ErrorCode.BAD_REQUEST));
    add('a body over the size limit', () => graphql(`{ ${'__typename '.repeat(8_000)} }`), refused(413, ErrorCode.REQUEST_TOO_LARGE));
    add('an unknown path', () => http({ path: '/admin', headers: { authorization: `Bearer ${staff}` } }), refused(404, ErrorCode.NOT_FOUND));

    // Documents over the limits, or invalid.
    add('a document that does not parse', () => graphql('{ projects(first: 1 { totalCount }'), refused(400, ErrorCode.GRAPHQL_PARSE_FAILED));
    add('more tokens than the limit', () => graphql(`{ ${'__typename '.repeat(5_100)} }`), refused(400, ErrorCode.QUERY_TOO_COMPLEX));
    add('deeper than the limit', () => graphql(deep(8)), refused(400, ErrorCode.QUERY_TOO_COMPLEX));
    add(
      'more aliases than the limit',
      () => graphql(`{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }`),
      refused(400, ErrorCode.QUERY_TOO_COMPLEX),
    );
    add(
      'depth past the limit through a chain of fragments',
      () =>
        graphql(`
          {
            projects(first: 1) {
              nodes {
                account {
                  ...F0
                }
              }
            }
          }
          ${Array.from({ length: 14 }, (_, i) => `fragment F${i} on Account { hierarchy { ${i < 13 ? `...F${i + 1}` : 'id'} } }`).join(' ')}
        `),
      refused(400, ErrorCode.QUERY_TOO_COMPLEX),
    );

    add('a field the schema does not have', () => graphql('{ projects(first: 1) { nodes { password } } }'), refused(400, ErrorCode.GRAPHQL_VALIDATION_FAILED));
    add(
      'a fragment cycle',
      () =>
        graphql(
          'query { projects(first: 1) { nodes { ...A } } } fragment A on Project { account { ...B } } fragment B on Account { hierarchy { id } ...C } fragment C on Account { ...B }',
        ),
      refused(400, ErrorCode.GRAPHQL_VALIDATION_FAILED),
    );
    add(
      'a repeated non-repeatable directive',
      () => graphql('{ projects(first: 1) @skip(if: false) @skip(if: false) { totalCount } }'),
      refused(400, ErrorCode.GRAPHQL_VALIDATION_FAILED),
    );
    add(
      'a hidden (@inaccessible) saga write',
      () => graphql('mutation { deleteErpProject(projectId: "prj_00000000000000000000000000") }'),
      refused(400, ErrorCode.GRAPHQL_VALIDATION_FAILED),
    );
    add(
      'a variable of the wrong type',
      () => graphql('query($n: Int!) { projects(first: $n) { totalCount } }', { variables: { n: 'ten' } }),
      refused(400, ErrorCode.BAD_USER_INPUT),
    );
    add('a required variable missing', () => graphql('query($id: ID!) { project(id: $id) { id } }', { variables: {} }), refused(400, ErrorCode.BAD_USER_INPUT));

    // Ambiguous operations.
    add('an unknown operationName', () => graphql('query A { __typename }', { operationName: 'B' }), refused(400, ErrorCode.UNKNOWN_OPERATION_NAME));
    add(
      'two named operations and no operationName',
      () => graphql('query A { __typename } query B { __typename }'),
      refused(400, ErrorCode.OPERATION_NAME_REQUIRED),
    );
    add('two anonymous operations', () => graphql('{ __typename } { __typename }'), refused(400, ErrorCode.GRAPHQL_VALIDATION_FAILED));
    add(
      'a subscription over HTTP',
      () => graphql('subscription { invoiceStatusChanged(accountId: "0015g0000004CFnAAM") { status } }'),
      refused(400, ErrorCode.SUBSCRIPTION_REQUIRES_WEBSOCKET),
    );

    // Demand control.
    add(
      'ten aliased 100-project pages with assignments, invoices and milestones',
      () =>
        graphql(
          `{ ${Array.from({ length: 10 }, (_, i) => `a${i}: projects(first: 100) { nodes { id name assignments { id billRate { amount } resource { name } } invoices { id number total { amount } } milestones { id name } } }`).join(' ')} }`,
        ),
      refused(400, ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE),
    );
    add(
      'a page size far past the maximum, by variable',
      () =>
        graphql('query($n: Int!) { projects(first: $n) { nodes { invoices { id } milestones { id } assignments { id } } } }', { variables: { n: 100_000 } }),
      refused(400, ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE),
    );

    // Trusted documents and audiences.
    add(
      'an ID no manifest holds',
      () => graphql(undefined, { extra: { extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } } }),
      refused(400, ErrorCode.PERSISTED_QUERY_NOT_IN_LIST),
    );
    add(
      'a document sent in full to the portal',
      () => graphql(PORTAL_DOCUMENT, { path: '/portal/graphql', token: client, variables: { id: other.project } }),
      refused(400, ErrorCode.PERSISTED_QUERY_ID_REQUIRED),
    );
    add('a client user on /graphql', () => graphql(q, { token: client }), refused(403, ErrorCode.FORBIDDEN));
    add('a client user on the reporting endpoint', () => graphql(q, { path: '/reporting/graphql', token: client }), refused(403, ErrorCode.FORBIDDEN));
    add(
      'a write on the reporting endpoint',
      () => graphql('mutation { voidInvoice(id: "in_x") { id } }', { path: '/reporting/graphql' }),
      refused(400, ErrorCode.GRAPHQL_VALIDATION_FAILED),
    );
    add(
      'a subscription on the reporting endpoint',
      () => graphql('subscription { invoiceStatusChanged(accountId: "0015g0000004CFnAAM") { status } }', { path: '/reporting/graphql' }),
      refused(400, ErrorCode.GRAPHQL_VALIDATION_FAILED),
    );

    // Rights: what the caller may not see or do is withheld without calling anything.
    add(
      'a staff-only list asked by a client user',
      () => dataOutcome('{ resources(first: 5) { nodes { id } } }', client, {}, (data) => data === null, tenants),
      refused(200, ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE),
    );
    add(
      'a write asked by a client user',
      () => dataOutcome('mutation { recordPayment(invoiceId: "in_x") { id } }', client, {}, (data) => data === null, tenants),
      refused(200, ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE),
    );
    add(
      'a write without its scope',
      async () => dataOutcome('mutation { voidInvoice(id: "in_x") { id } }', await idp.token(PERSONAS.deliveryManager), {}, (data) => data === null),
      refused(200, ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE),
    );
    add(
      'costs and margins without the finance scope',
      async () =>
        dataOutcome(
          'query($id: ID!) { project(id: $id) { name financials { cost { amount } margin { amount } } } }',
          await idp.token(PERSONAS.deliveryManager),
          { id: other.project },
          (data) => data.project.financials === null,
        ),
      refused(200, ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE),
      // The project's name is read; the withheld ERP fields are not.
      false,
    );

    // One tenant's IDs asked for by another, through every path: nothing of theirs comes back, and no error says
    // whether it exists.
    const tenant = (name: string, query: string, variables: () => object, check: (data: any) => boolean) =>
      add(`another tenant's ${name}`, () => dataOutcome(query, client, variables(), check, tenants), { status: 200, code: undefined }, false);
    tenant(
      'project by ID',
      'query($id: ID!) { project(id: $id) { id name } }',
      () => ({ id: other.project }),
      (data) => data.project === null,
    );
    tenant(
      'invoice by ID',
      'query($id: ID!) { invoice(id: $id) { id total { amount } } }',
      () => ({ id: other.invoice }),
      (data) => data.invoice === null,
    );
    tenant(
      'deal by ID',
      'query($id: ID!) { opportunity(id: $id) { id amount { amount } } }',
      () => ({ id: other.opportunity }),
      (data) => data.opportunity === null,
    );
    tenant(
      'account by ID',
      'query($id: ID!) { account(id: $id) { id name } }',
      () => ({ id: other.account }),
      (data) => data.account === null,
    );
    tenant(
      'invoices, filtered by its account',
      'query($a: ID!) { invoices(first: 10, filter: { accountId: $a }) { totalCount nodes { id } } }',
      () => ({ a: other.account }),
      (data) => data.invoices.totalCount === 0,
    );
    tenant(
      'projects, filtered by its account',
      'query($a: ID!) { projects(first: 10, filter: { accountId: $a }) { totalCount } }',
      () => ({ a: other.account }),
      (data) => data.projects.totalCount === 0,
    );
    tenant(
      'deals, filtered by its account',
      'query($a: ID!) { opportunities(first: 10, filter: { accountId: $a }) { totalCount } }',
      () => ({ a: other.account }),
      (data) => data.opportunities.totalCount === 0,
    );
    tenant(
      'invoices of its project',
      'query($p: ID!) { invoices(first: 10, filter: { projectId: $p }) { totalCount } }',
      () => ({ p: other.project }),
      (data) => data.invoices.totalCount === 0,
    );
    tenant(
      "accounts, unfiltered (only the caller's own)",
      '{ accounts(first: 100) { nodes { id } } }',
      () => ({}),
      (data) => data.accounts.nodes.every((node: { id: string }) => node.id !== other.account),
    );
    add(
      "another tenant's project through the portal's own trusted document",
      async () => {
        const response = await fetch(`${stack.baseUrl}/portal/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${client}` },
          body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(PORTAL_DOCUMENT) } }, variables: { id: other.project } }),
        });
        const body = (await response.json()) as { data?: { project: unknown }; errors?: Array<{ extensions?: { code?: string } }> };
        return { status: body.data?.project === null ? response.status : `leaked ${JSON.stringify(body.data)}`, code: body.errors?.[0]?.extensions?.code };
      },
      { status: 200, code: undefined },
      false,
    );

    // Rate limits.
    add(
      'more requests than the rate allows',
      async () => {
        const send = () =>
          http({
            url: limited,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${staff}` },
            body: JSON.stringify({ query: '{ __typename }' }),
          });
        await send();
        return send();
      },
      refused(429, ErrorCode.RATE_LIMITED),
    );

    // WebSocket.
    add('WS: no credentials', () => ws({ token: null }), refused(4403, undefined));
    for (const kind of ['algNone', 'wrongKey', 'expired', 'wrongAudience'])
      add(`WS: a forged token: ${kind}`, () => ws({ token: forged[kind]! }), refused(4403, undefined));
    add('WS: a client user on /graphql', () => ws({ token: client }), refused(4403, undefined));
    add(
      'WS: subscribe before connection_init',
      () => ws({ raw: (socket) => socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } })) }),
      refused(4401, undefined),
    );
    add('WS: a message that is not JSON', () => ws({ raw: (socket) => socket.send('{ not json') }), refused(4400, undefined));
    add('WS: a frame over the size limit', () => ws({ raw: (socket) => socket.send('x'.repeat(20 * 1024)) }), refused(1009, undefined));
    add('WS: a query instead of a subscription', () => ws({ payload: { query: '{ __typename }' } }), refused('error', ErrorCode.BAD_REQUEST));
    add('WS: a document that does not parse', () => ws({ payload: { query: 'subscription {' } }), refused('error', ErrorCode.GRAPHQL_PARSE_FAILED));
    add(
      'WS: more tokens than the limit',
      () => ws({ payload: { query: `subscription { ${'a '.repeat(5_100)}}` } }),
      refused('error', ErrorCode.QUERY_TOO_COMPLEX),
    );
    add(
      'WS: a field the schema does not have',
      () => ws({ payload: { query: 'subscription { everything { id } }' } }),
      refused('error', ErrorCode.GRAPHQL_VALIDATION_FAILED),
    );
    add(
      'WS: a document sent in full to the portal',
      () => ws({ path: '/portal/graphql', token: client, payload: { query: 'subscription { __typename }' } }),
      refused('error', ErrorCode.PERSISTED_QUERY_ID_REQUIRED),
    );
    add(
      'WS: an unknown trusted document ID',
      () => ws({ payload: { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: '1'.repeat(64) } } } }),
      refused('error', ErrorCode.PERSISTED_QUERY_NOT_IN_LIST),
    );
    add(
      'WS: staffing changes asked by a client user',
      () => ws({ url: tenants, token: client, payload: { query: `subscription { assignmentChanged(projectId: "${other.project}") { eventId } }` } }),
      refused('error', ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE),
    );
  }

  it('has at least sixty requests', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it('answers each with its exact status and code, never a 500, and calls no subgraph where the gateway decides alone', async () => {
    const failures: string[] = [];
    for (const hostile of cases) {
      const before = await subgraphCalls();
      let outcome: Outcome;
      try {
        outcome = await hostile.send();
      } catch (error) {
        outcome = { status: `threw ${(error as Error).message}`, code: undefined };
      }
      const calls = (await subgraphCalls()) - before;
      if (outcome.status !== hostile.expected.status || outcome.code !== hostile.expected.code) {
        failures.push(`${hostile.name}: got ${outcome.status} ${outcome.code}, expected ${hostile.expected.status} ${hostile.expected.code}`);
      }
      if (typeof outcome.status === 'number' && outcome.status >= 500 && outcome.status < 600) failures.push(`${hostile.name}: a ${outcome.status}`);
      if (hostile.gatewayAlone && calls > 0) failures.push(`${hostile.name}: ${calls} subgraph call(s)`);
    }
    expect(failures).toEqual([]);
  });
});
