/**
 * The NetSuite adapter against a server that speaks SuiteTalk REST (`test/wire/netsuite/`): the ERP port's
 * conformance suite against the sandbox (delivery postings and billing included), a posting batch that fails half-way
 * undone and then posted once, an invoice's billed marks checked before any write and a half-written update completed
 * on retry, the postings mappings read from the environment, then what only a real account does to a
 * client — token-based authentication that refuses a bad signature, a revoked token, a replayed nonce or a stale
 * timestamp; 429 storms and the account's concurrency limit; outages and slow answers — reads that cost the same
 * number of calls for 50 projects as for 5, every call counted on /metrics, and credentials that never show. (The ERP emits no business
 * events, so there is no change feed to poll across a restart: the suite checks that none are emitted.)
 */
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import OAuth from 'oauth-1.0a';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { ConfigError, Metrics, parseMetrics } from '../../platform/src/index.js';
import { Secret } from '../../platform/src/vendor/secrets.js';
import { execute, temporaryDataDir } from '../../platform/test/testSupport.js';
import { buildWorld } from '../../sandboxes/src/world/world.js';
import { CONCURRENCY_LIMIT_ERROR, NetSuiteWireServer, netSuiteError } from '../../../test/wire/netsuite/netsuiteWireServer.js';
import { loadErpSystemConfig } from '../src/erpConfig.js';
import type { ErpAdapter } from '../src/erpPort.js';
import type { DeliveryPosting, ErpInvoiceStatusUpdate } from '../src/erpPostingsPort.js';
import { createErpSubgraph, sandboxErpAdapter } from '../src/erpSubgraph.js';
import { openNetSuiteErp } from '../src/netsuite/netsuiteAdapter.js';
import type { NetSuiteConfig } from '../src/netsuite/netsuiteConfig.js';
import { type ErpPortsUnderTest, describeErpPortConformance } from './erpPortConformance.js';

const worldOptions = { scale: 1, seed: 7, asOf: '2026-11-01' };
const ACCOUNT_ID = '1234567_SB1';
const CONSUMER_KEY = 'c0nsumer-key-of-the-integration-record';
const CONSUMER_SECRET = 'c0nsumer-s3cr3t-that-must-not-leak';
const TOKENS = { 'token-main': 'token-s3cr3t-main', 'token-revoked': 'token-s3cr3t-revoked' };

const PROJECTS_QUERY = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Project {
  id
  contract {
    erpProjectId type value { amount currency } paymentTerms { days } poNumber startDate endDate
    legalEntity { id name currency } rateCard { id name lines { role billRate { amount currency } } }
  }
  billingSchedule { id type frequency lines { sequence date description amount { amount currency } } }
  financials { budget { amount } cost { amount } recognizedRevenue { amount } billed { amount } unbilled { amount } marginPercent }
} } }`;
const ACCOUNTS_QUERY = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Account {
  id customerNumber erpCustomerId legalEntity { id name } taxProfile { taxId exempt regime rate } paymentTerms { days } creditStatus } } }`;

describe('the NetSuite adapter', () => {
  const data = temporaryDataDir('netsuite');
  const world = buildWorld(worldOptions);
  let wire: NetSuiteWireServer;
  const opened: ErpAdapter[] = [];

  const config = (overrides: Partial<NetSuiteConfig> = {}): NetSuiteConfig => ({
    accountId: ACCOUNT_ID,
    baseUrl: wire.url,
    consumerKey: CONSUMER_KEY,
    consumerSecret: new Secret(CONSUMER_SECRET),
    tokenId: new Secret('token-main'),
    tokenSecret: new Secret(TOKENS['token-main']),
    maxConcurrency: 4,
    timeoutMs: 10_000,
    ...overrides,
  });
  /** By default with small SuiteQL pages, so that the suite follows NetSuite's paging on every larger result. */
  const open = (overrides: Partial<NetSuiteConfig> = {}, resilience = {}, pageSize = 500) => {
    const adapter = openNetSuiteErp(config(overrides), { resilience, pageSize });
    opened.push(adapter);
    return adapter;
  };
  const failure = async (call: Promise<unknown>) =>
    call.then(
      () => undefined,
      (error: unknown) => error as Error & { extensions: Record<string, unknown> },
    );

  beforeAll(async () => {
    wire = await NetSuiteWireServer.start({
      world: worldOptions,
      dataDir: `${data.dir}/wire`,
      accountId: ACCOUNT_ID,
      consumerKey: CONSUMER_KEY,
      consumerSecret: CONSUMER_SECRET,
      tokens: TOKENS,
    });
  });
  afterAll(async () => {
    for (const adapter of opened) await adapter.close();
    await wire?.stop();
    data.remove();
  });

  describe('conformance', () => {
    let ports: ErpPortsUnderTest;
    beforeAll(() => {
      const reference = sandboxErpAdapter({ dataDir: `${data.dir}/sandbox`, world: worldOptions });
      opened.push(reference);
      ports = { world, reference, candidate: open() };
    });
    describeErpPortConformance('NetSuite', () => ports);
  });

  it('posts time as a time transaction and a posting record, undoes a batch that fails half-way, and reverses by deleting the time', async () => {
    const adapter = open();
    const project = world.projects.find((candidate) => candidate.status === 'ACTIVE' && world.opportunities[candidate.opportunityIndex]!.poRequired)!;
    const request = project.requests.find((candidate) => candidate.assignment?.status === 'CONFIRMED')!;
    const consultant = world.consultants[request.assignment!.consultantIndex]!;
    const role = (await adapter.port.postings.postingTermsByProjectId([project.id])).get(project.id)!.contractRates[0]!.role;
    const time = (externalId: string): DeliveryPosting => ({
      externalId,
      kind: 'TIME',
      projectId: project.id,
      resourceId: consultant.psaId,
      item: role,
      date: '2026-09-14',
      minutes: 450,
      rateMinor: 20_000,
      billableMinor: 150_000,
      costMinor: 80_000,
      billable: true,
      currency: project.currency,
      memo: 'Week of 2026-09-14',
    });
    const batch = [time('time:undo-1:v1'), time('time:undo-2:v1')];
    const written = () => ({
      timeBills: wire.db.prepare("SELECT COUNT(*) AS n FROM timebill WHERE externalid LIKE 'time:undo-%'").get() as { n: number },
      postings: wire.db.prepare("SELECT COUNT(*) AS n FROM customrecord_psgraph_posting WHERE externalid LIKE 'time:undo-%'").get() as { n: number },
    });
    // A time transaction refused: the other's, written beside it, is deleted again.
    wire.inject({
      status: 400,
      body: netSuiteError(400, 'INVALID_KEY_OR_REF', 'Invalid item reference key 1.'),
      match: (method, path) => method === 'PUT' && path.includes('/timebill/') && path.includes('undo-2'),
    });
    await expect(adapter.port.postings.postDelivery(batch)).rejects.toMatchObject({ extensions: { code: ErrorCode.BAD_USER_INPUT, system: 'NetSuite' } });
    expect(written()).toEqual({ timeBills: { n: 0 }, postings: { n: 0 } });
    // The second posting record is refused after both time transactions and the first posting record are written.
    wire.inject({
      status: 400,
      body: netSuiteError(400, 'USER_ERROR', 'Please enter value(s) for: Memo.'),
      match: (method, path) => method === 'PUT' && path.includes('customrecord_psgraph_posting') && path.includes('undo-2'),
    });
    await expect(adapter.port.postings.postDelivery(batch)).rejects.toMatchObject({ extensions: { code: ErrorCode.BAD_USER_INPUT, system: 'NetSuite' } });
    expect(written()).toEqual({ timeBills: { n: 0 }, postings: { n: 0 } });

    expect(await adapter.port.postings.postDelivery(batch)).toEqual(batch.map(({ externalId }) => ({ externalId, created: true })));
    expect(wire.db.prepare("SELECT hours, rate, isbillable, trandate FROM timebill WHERE externalid = 'time:undo-1:v1'").get()).toEqual({
      hours: 7.5,
      rate: 200,
      isbillable: 'T',
      trandate: '9/14/2026',
    });
    const calls = wire.apiRequests;
    expect(await adapter.port.postings.postDelivery(batch)).toEqual(batch.map(({ externalId }) => ({ externalId, created: false })));
    // A re-post is one read: nothing is written again.
    expect(wire.requests.slice(calls).every((call) => call.method === 'POST')).toBe(true);

    expect(await adapter.port.postings.reverseDelivery(['time:undo-1:v1'])).toEqual([{ externalId: 'time:undo-1:v1', reversed: true }]);
    expect(written()).toEqual({ timeBills: { n: 1 }, postings: { n: 2 } });
    expect((await adapter.port.postings.postingsByExternalId(['time:undo-1:v1'])).get('time:undo-1:v1')).toMatchObject({ status: 'REVERSED', minutes: 450 });
  });

  it('records an invoice as its record and billed marks, checks for another invoice before any write, and completes a half-written update on retry', async () => {
    const adapter = open();
    const project = world.projects.find((candidate) => candidate.status === 'ACTIVE' && world.opportunities[candidate.opportunityIndex]!.poRequired)!;
    const invoice = (invoiceId: string, overrides: Partial<ErpInvoiceStatusUpdate> = {}): ErpInvoiceStatusUpdate => ({
      invoiceId,
      number: null,
      projectId: project.id,
      status: 'OPEN',
      date: '2026-10-01',
      asOf: '2026-10-01T09:00:00.000Z',
      currency: project.currency,
      totalMinor: 150_000,
      amountPaidMinor: 0,
      sourceKeys: ['time:undo-2:v1'],
      ...overrides,
    });
    const billedBy = () =>
      (
        wire.db
          .prepare("SELECT custrecord_psgraph_dp_billed_invoice AS invoice FROM customrecord_psgraph_posting WHERE externalid = 'time:undo-2:v1'")
          .get() as {
          invoice: string | null;
        }
      ).invoice;
    const first = 'in_0000000000000000000000w1';
    expect(await adapter.port.postings.recordInvoiceStatus(invoice(first))).toEqual({ applied: true });
    expect(billedBy()).toBe(first);
    expect(
      wire.db
        .prepare(
          `SELECT name, custrecord_psgraph_inv_status AS status, custrecord_psgraph_inv_total AS total, custrecord_psgraph_inv_billed AS billed,
             custrecord_psgraph_inv_sources AS sources FROM customrecord_psgraph_invoice WHERE externalid = ?`,
        )
        .get(first),
    ).toEqual({ name: first, status: 'OPEN', total: 1500, billed: 'T', sources: '["time:undo-2:v1"]' });

    // Another invoice billing the same posting is refused on reading alone: nothing is written.
    const calls = wire.apiRequests;
    await expect(adapter.port.postings.recordInvoiceStatus(invoice('in_0000000000000000000000w2'))).rejects.toMatchObject({
      message: `Invoice in_0000000000000000000000w2 bills time:undo-2:v1, already billed by another invoice.`,
      extensions: { code: ErrorCode.INVALID_STATE_TRANSITION },
    });
    expect(wire.requests.slice(calls).every((call) => call.method === 'POST')).toBe(true);

    // Voided: the mark is taken off. A next invoice's record refused after its mark is written: the retry completes it.
    expect(await adapter.port.postings.recordInvoiceStatus(invoice(first, { status: 'VOID', asOf: '2026-10-02T09:00:00.000Z' }))).toEqual({ applied: true });
    expect(billedBy()).toBeNull();
    const third = 'in_0000000000000000000000w3';
    wire.inject({
      status: 400,
      body: netSuiteError(400, 'USER_ERROR', 'Please enter value(s) for: Date.'),
      match: (method, path) => method === 'PUT' && path.includes('customrecord_psgraph_invoice'),
    });
    await expect(adapter.port.postings.recordInvoiceStatus(invoice(third))).rejects.toMatchObject({ extensions: { code: ErrorCode.BAD_USER_INPUT } });
    expect(billedBy()).toBe(third);
    expect(await adapter.port.postings.recordInvoiceStatus(invoice(third))).toEqual({ applied: true });
    expect((await adapter.port.postings.invoicesByProjectId([project.id])).get(project.id)!.map((recorded) => [recorded.invoiceId, recorded.status])).toEqual(
      expect.arrayContaining([
        [first, 'VOID'],
        [third, 'OPEN'],
      ]),
    );
  });

  it('signs every request with token-based authentication, and a wrong secret or a revoked token is refused once, never retried, never shown', async () => {
    const project = world.projects[0]!.id;
    const wrongSecret = open({ tokenSecret: new Secret('n0t-the-t0ken-s3cr3t') });
    let before = wire.apiRequests;
    const refused = await failure(wrongSecret.port.jobsByProjectId([project]));
    expect(refused?.extensions).toMatchObject({
      code: ErrorCode.SYSTEM_PERMISSION_DENIED,
      system: 'NetSuite',
      failure: 'AUTHENTICATION',
      vendorCode: 'INVALID_LOGIN',
    });
    expect(wire.apiRequests - before).toBe(1);
    expect(wire.loginAudit.at(-1)).toBe('signature does not match');

    const otherRealm = open({ accountId: '7654321' });
    await expect(otherRealm.port.jobsByProjectId([project])).rejects.toMatchObject({ extensions: { code: ErrorCode.SYSTEM_PERMISSION_DENIED } });
    expect(wire.loginAudit.at(-1)).toBe('realm 7654321 is not this account');

    const revoked = open({ tokenId: new Secret('token-revoked'), tokenSecret: new Secret(TOKENS['token-revoked']) });
    expect((await revoked.port.jobsByProjectId([project])).size).toBe(1);
    wire.revokeToken('token-revoked');
    before = wire.apiRequests;
    const afterRevocation = await failure(revoked.port.jobsByProjectId([project]));
    expect(afterRevocation?.extensions).toMatchObject({ code: ErrorCode.SYSTEM_PERMISSION_DENIED, system: 'NetSuite' });
    expect(wire.apiRequests - before).toBe(1);
    expect(wire.loginAudit.at(-1)).toBe('unknown or revoked token');

    for (const error of [refused, afterRevocation]) {
      const shown = JSON.stringify({ message: error?.message, error, stack: error?.stack });
      for (const secret of [CONSUMER_SECRET, ...Object.values(TOKENS), 'n0t-the-t0ken-s3cr3t']) expect(shown).not.toContain(secret);
    }
  });

  it('is refused a replayed nonce and a stale timestamp as NetSuite refuses them, and signs every retry afresh', async () => {
    const url = `${wire.url}/services/rest/query/v1/suiteql?limit=10&offset=0`;
    const signed = (timestamp?: number) => {
      const oauth = new OAuth({
        consumer: { key: CONSUMER_KEY, secret: CONSUMER_SECRET },
        realm: ACCOUNT_ID,
        signature_method: 'HMAC-SHA256',
        hash_function: (base, key) => createHmac('sha256', key).update(base).digest('base64'),
      });
      if (timestamp !== undefined) oauth.getTimeStamp = () => timestamp;
      return oauth.toHeader(oauth.authorize({ url, method: 'POST' }, { key: 'token-main', secret: TOKENS['token-main'] })).Authorization;
    };
    const post = (authorization: string) =>
      fetch(url, {
        method: 'POST',
        headers: { authorization, prefer: 'transient', 'content-type': 'application/json' },
        body: JSON.stringify({ q: 'SELECT id FROM subsidiary' }),
      });

    const header = signed();
    expect((await post(header)).status).toBe(200);
    const replayed = await post(header);
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toMatchObject({ status: 401, 'o:errorDetails': [{ 'o:errorCode': 'INVALID_LOGIN' }] });
    expect(wire.loginAudit.at(-1)).toBe('nonce already used');
    expect((await post(signed(Math.floor(Date.now() / 1000) - 3_600))).status).toBe(401);
    expect(wire.loginAudit.at(-1)).toBe('timestamp outside the tolerance');

    // A request retried after NetSuite turned it away goes out with a new nonce and is accepted.
    const adapter = open({}, { initialBackoffMs: 5, maxBackoffMs: 20 });
    const refusals = wire.loginAudit.length;
    wire.inject({ status: 503, times: 2 });
    expect((await adapter.port.legalEntities()).length).toBe(4);
    expect(wire.loginAudit.length).toBe(refusals);
  });

  it('rides out a storm of 429s, with and without Retry-After, and gives up with SYSTEM_UNAVAILABLE when it does not end', async () => {
    const adapter = open({}, { initialBackoffMs: 10, maxBackoffMs: 50, maxAttempts: 4 });
    const metrics = new Metrics();
    adapter.instrument(metrics);
    const accountId = world.accounts.find((account) => account.erpCustomerId !== null)!.crmId;
    wire.inject({ status: 429, body: CONCURRENCY_LIMIT_ERROR, times: 2 });
    wire.inject({ status: 429, headers: { 'retry-after': '0' }, times: 1 });
    expect((await adapter.port.customersByAccountId([accountId])).size).toBe(1);
    expect(
      parseMetrics(await metrics.render()).get('psgraph_vendor_api_calls_total{system="NetSuite",operation="customersByAccountId",outcome="rate_limited"}'),
    ).toBe(3);

    wire.inject({ status: 429, body: CONCURRENCY_LIMIT_ERROR, times: 10 });
    try {
      await expect(adapter.port.customersByAccountId([accountId])).rejects.toMatchObject({
        extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'NetSuite', failure: 'RATE_LIMITED', vendorCode: 'CONCURRENCY_LIMIT_EXCEEDED' },
      });
    } finally {
      wire.clearFaults();
    }
  });

  it("keeps within the account's concurrency limit, and retries what NetSuite refused over it", async () => {
    const reads = (adapter: ErpAdapter) =>
      Promise.all([
        adapter.port.legalEntities(),
        adapter.port.rateCardsById([101, 102]),
        adapter.port.rateCardsBySubsidiaryId([1, 2]),
        adapter.port.rateCardLinesByRateCardId([101]),
        adapter.port.jobsByProjectId([world.projects[5]!.id]),
        adapter.port.customersByAccountId([world.accounts[5]!.crmId]),
        adapter.port.billingSchedulesByProjectId([world.projects[6]!.id]),
        adapter.port.ledgerTotalsByProjectId([world.projects[7]!.id]),
      ]);
    wire.configure({ concurrencyLimit: 2, latencyMs: 25 });
    try {
      const polite = open({ maxConcurrency: 2 });
      const politeMetrics = new Metrics();
      polite.instrument(politeMetrics);
      const expected = await reads(polite);
      expect(wire.peakConcurrency).toBeLessThanOrEqual(2);
      expect([...parseMetrics(await politeMetrics.render()).keys()].filter((key) => key.includes('outcome="rate_limited"'))).toEqual([]);

      // Configured above the account's limit: NetSuite refuses the excess with 429 CONCURRENCY_LIMIT_EXCEEDED,
      // which is retried with backoff until every read is answered.
      const eager = open({ maxConcurrency: 8 }, { initialBackoffMs: 5, maxBackoffMs: 40, maxAttempts: 20 });
      const eagerMetrics = new Metrics();
      eager.instrument(eagerMetrics);
      expect(await reads(eager)).toEqual(expected);
      const rateLimited = [...parseMetrics(await eagerMetrics.render()).entries()].filter(([key]) => key.includes('outcome="rate_limited"'));
      expect(rateLimited.reduce((sum, [, count]) => sum + count, 0)).toBeGreaterThan(0);
    } finally {
      wire.configure({ concurrencyLimit: 5, latencyMs: 0 });
    }
  });

  it('fails fast while NetSuite is down, naming it, and recovers when it is back', async () => {
    const adapter = open({}, { maxAttempts: 1, failureThreshold: 2, cooldownMs: 300 });
    await adapter.port.legalEntities();
    await wire.pause();
    try {
      for (let i = 0; i < 2; i++)
        await expect(adapter.port.legalEntities()).rejects.toMatchObject({ extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'NetSuite' } });
      const before = wire.apiRequests;
      await expect(adapter.port.legalEntities()).rejects.toThrow(/NetSuite is unavailable: it failed 2 times in a row/);
      expect(wire.apiRequests).toBe(before);
    } finally {
      await wire.resume();
    }
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await adapter.port.legalEntities()).toHaveLength(4);
  });

  it('gives up on a call NetSuite does not answer within its deadline', async () => {
    const adapter = open({ timeoutMs: 100 }, { maxAttempts: 1 });
    wire.configure({ latencyMs: 400 });
    try {
      await expect(adapter.port.legalEntities()).rejects.toMatchObject({
        extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'NetSuite', failure: 'TIMEOUT' },
      });
    } finally {
      wire.configure({ latencyMs: 0 });
    }
  });

  it('costs NetSuite as many calls for a page of 50 projects and their accounts as for a page of 5, and answers as the sandbox does', async () => {
    // NetSuite's own page size (1,000 rows): 50 projects' schedule lines fit in one page, as they do in a real account.
    const vendor = createErpSubgraph({ dataDir: `${data.dir}/unused`, world: worldOptions, production: false }, open({}, {}, 1_000));
    const sandbox = createErpSubgraph({ dataDir: `${data.dir}/sandbox`, world: worldOptions, production: false });
    try {
      const callsFor = async (first: number) => {
        const projects = world.projects.slice(100, 100 + first);
        const before = wire.apiRequests;
        const variables = { r: projects.map((project) => ({ __typename: 'Project', id: project.id })) };
        const result = await execute(vendor, PROJECTS_QUERY, variables);
        expect(result.errors).toBeUndefined();
        expect(result).toEqual(await execute(sandbox, PROJECTS_QUERY, variables));
        const accounts = { r: projects.map((project) => ({ __typename: 'Account', id: world.accounts[project.accountIndex]!.crmId })) };
        const accountResult = await execute(vendor, ACCOUNTS_QUERY, accounts);
        expect(accountResult.errors).toBeUndefined();
        expect(accountResult).toEqual(await execute(sandbox, ACCOUNTS_QUERY, accounts));
        return wire.apiRequests - before;
      };
      const five = await callsFor(5);
      expect(five).toBeGreaterThan(0);
      expect(await callsFor(50)).toBe(five);
    } finally {
      await vendor.stop();
      await sandbox.stop();
    }
  });

  it('counts every API call it makes on /metrics, by operation and outcome', async () => {
    const adapter = open();
    const metrics = new Metrics();
    adapter.instrument(metrics);
    await adapter.port.billingReport({ groupBy: ['REGION'] });
    await adapter.port.upsertBillingSchedule({
      projectExternalId: world.projects[9]!.id,
      scheduleType: 'FIXED_INTERVAL',
      frequency: 'MONTHLY',
      inArrears: true,
      lines: [],
    });
    const counted = parseMetrics(await metrics.render());
    // The ledger's grouped lines, and psgraph's grouped posting, invoice and credit note records.
    expect(counted.get('psgraph_vendor_api_calls_total{system="NetSuite",operation="billingReport",outcome="ok"}')).toBe(4);
    // Two lookups, the PATCH, and the schedule read back.
    expect(counted.get('psgraph_vendor_api_calls_total{system="NetSuite",operation="upsertBillingSchedule",outcome="ok"}')).toBe(4);
  });

  it('is chosen by PSGRAPH_ERP_SYSTEM (the sandbox by default), its settings checked and its secrets read from files', () => {
    expect(loadErpSystemConfig({})).toEqual({ system: 'sandbox' });
    expect(() => loadErpSystemConfig({ PSGRAPH_ERP_SYSTEM: 'sap' })).toThrow(ConfigError);
    expect(() => loadErpSystemConfig({ PSGRAPH_ERP_SYSTEM: 'netsuite' })).toThrow(/PSGRAPH_NETSUITE_ACCOUNT_ID is not set/);
    const secretFile = `${data.dir}/token-secret`;
    writeFileSync(secretFile, 'from-a-file\n');
    const env = {
      PSGRAPH_ERP_SYSTEM: 'netsuite',
      PSGRAPH_NETSUITE_ACCOUNT_ID: '1234567_SB1',
      PSGRAPH_NETSUITE_CONSUMER_KEY: 'key',
      PSGRAPH_NETSUITE_CONSUMER_SECRET: 'consumer-secret',
      PSGRAPH_NETSUITE_TOKEN_ID: 'token',
      PSGRAPH_NETSUITE_TOKEN_SECRET_FILE: secretFile,
    };
    const loaded = loadErpSystemConfig(env);
    if (loaded.system !== 'netsuite') throw new Error('expected the NetSuite adapter');
    expect(loaded.netsuite.baseUrl).toBe('https://1234567-sb1.suitetalk.api.netsuite.com');
    expect(loaded.netsuite.tokenSecret.reveal()).toBe('from-a-file');
    expect(loaded.netsuite.maxConcurrency).toBe(3);
    expect(JSON.stringify(loaded)).not.toContain('consumer-secret');
    expect(() => loadErpSystemConfig({ ...env, PSGRAPH_NETSUITE_TOKEN_SECRET_FILE: undefined })).toThrow(/PSGRAPH_NETSUITE_TOKEN_SECRET/);
    expect(() => loadErpSystemConfig({ ...env, PSGRAPH_NETSUITE_MAX_CONCURRENCY: '0' })).toThrow(ConfigError);
  });

  it('reads where the firm keeps contract rates, purchase orders, closed statuses and period locks, with documented defaults', () => {
    const env = {
      PSGRAPH_ERP_SYSTEM: 'netsuite',
      PSGRAPH_NETSUITE_ACCOUNT_ID: '1234567',
      PSGRAPH_NETSUITE_CONSUMER_KEY: 'key',
      PSGRAPH_NETSUITE_CONSUMER_SECRET: 'consumer-secret',
      PSGRAPH_NETSUITE_TOKEN_ID: 'token',
      PSGRAPH_NETSUITE_TOKEN_SECRET: 'token-secret',
    };
    const netsuite = (overrides: Record<string, string> = {}) => {
      const loaded = loadErpSystemConfig({ ...env, ...overrides });
      if (loaded.system !== 'netsuite') throw new Error('expected the NetSuite adapter');
      return loaded.netsuite;
    };
    expect(netsuite()).toMatchObject({
      closedProjectStatuses: [1],
      periodLocks: ['closed', 'alllocked'],
      contractRates: { record: 'customrecord_psgraph_contract_rate', fields: { job: 'custrecord_psgraph_cr_job', rate: 'custrecord_psgraph_cr_bill_rate' } },
      purchaseOrders: { record: 'customrecord_psgraph_purchase_order', fields: { number: 'custrecord_psgraph_po_number' } },
    });
    expect(
      netsuite({
        PSGRAPH_NETSUITE_CLOSED_PROJECT_STATUSES: '1, 7',
        PSGRAPH_NETSUITE_PERIOD_LOCKS: 'closed,ARLOCKED',
        PSGRAPH_NETSUITE_CONTRACT_RATES: 'customrecord_acme_rate:role=custrecord_acme_service,rate=custrecord_acme_price',
        PSGRAPH_NETSUITE_PURCHASE_ORDERS: 'job:number=custentity_acme_po,expires=custentity_acme_po_end,amount=custentity_acme_po_value',
      }),
    ).toMatchObject({
      closedProjectStatuses: [1, 7],
      periodLocks: ['closed', 'arlocked'],
      contractRates: {
        record: 'customrecord_acme_rate',
        fields: { job: 'custrecord_psgraph_cr_job', role: 'custrecord_acme_service', rate: 'custrecord_acme_price' },
      },
      purchaseOrders: { record: 'job', fields: { number: 'custentity_acme_po', expires: 'custentity_acme_po_end', amount: 'custentity_acme_po_value' } },
    });
    expect(() => netsuite({ PSGRAPH_NETSUITE_CLOSED_PROJECT_STATUSES: 'Closed' })).toThrow(/PSGRAPH_NETSUITE_CLOSED_PROJECT_STATUSES=Closed/);
    expect(() => netsuite({ PSGRAPH_NETSUITE_PERIOD_LOCKS: 'payrolllocked' })).toThrow(/expected some of closed, alllocked, aplocked, arlocked/);
    expect(() => netsuite({ PSGRAPH_NETSUITE_CONTRACT_RATES: 'customrecord_x:price=custrecord_y' })).toThrow(/'price=custrecord_y' is not <name>=<field ID>/);
    // Field IDs go into SuiteQL as they are, so nothing but an ID is taken.
    expect(() => netsuite({ PSGRAPH_NETSUITE_PURCHASE_ORDERS: "job:number=x' OR 1=1" })).toThrow(ConfigError);
  });
});
