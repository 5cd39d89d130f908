/**
 * The Salesforce adapter against a server that speaks Salesforce's REST API (`test/wire/salesforce/`): the CRM
 * port's conformance suite against the sandbox, then what only a real org does to a client — tokens that expire,
 * 429 storms and daily limits, outages, changes polled across a restart — and credentials that never show.
 */
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { InMemoryEventBus } from '../../platform/src/events/index.js';
import { type EventRelay, Metrics, parseMetrics } from '../../platform/src/index.js';
import { Secret } from '../../platform/src/vendor/secrets.js';
import { recordEvents } from '../../platform/test/portConformance.js';
import { temporaryDataDir } from '../../platform/test/testSupport.js';
import { buildWorld } from '../../sandboxes/src/world/world.js';
import { SalesforceWireServer } from '../../../test/wire/salesforce/salesforceWireServer.js';
import { sandboxCrmAdapter } from '../src/crmSubgraph.js';
import type { CrmAdapter } from '../src/crmPort.js';
import { openSalesforceCrm } from '../src/salesforce/salesforceAdapter.js';
import type { SalesforceConfig } from '../src/salesforce/salesforceConfig.js';
import { type CrmPortsUnderTest, describeCrmPortConformance, eventually } from './crmPortConformance.js';

const worldOptions = { scale: 1, seed: 7, asOf: '2026-11-01' };
const CLIENT_ID = '3MVG9psgraphConnectedApp';
const USERNAME = 'integration@psgraph.example';

describe('the Salesforce adapter', () => {
  const data = temporaryDataDir('salesforce');
  const world = buildWorld(worldOptions);
  let wire: SalesforceWireServer;
  let privateKeyPem: string;
  const opened: Array<{ adapter: CrmAdapter; relay?: EventRelay }> = [];

  const config = (overrides: Partial<SalesforceConfig> = {}): SalesforceConfig => ({
    loginUrl: wire.url,
    apiVersion: '62.0',
    authFlow: 'jwt',
    clientId: CLIENT_ID,
    username: USERNAME,
    privateKey: new Secret(privateKeyPem),
    maxConcurrency: 4,
    timeoutMs: 5_000,
    pollIntervalMs: 60_000,
    ...overrides,
  });
  const open = (folder: string, overrides: Partial<SalesforceConfig> = {}, resilience = {}) => {
    const adapter = openSalesforceCrm(config(overrides), { dataDir: `${data.dir}/${folder}`, resilience });
    opened.push({ adapter });
    return adapter;
  };

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    privateKeyPem = await exportPKCS8(privateKey);
    wire = await SalesforceWireServer.start({
      world: worldOptions,
      dataDir: `${data.dir}/wire`,
      clientId: CLIENT_ID,
      publicJwk: await exportJWK(publicKey),
      clientSecret: 'wire-client-secret',
      username: USERNAME,
      queryBatchSize: 500,
    });
  });
  afterAll(async () => {
    for (const { adapter, relay } of opened) {
      await relay?.stop();
      await adapter.close();
    }
    await wire?.stop();
    data.remove();
  });

  describe('conformance', () => {
    let ports: CrmPortsUnderTest;
    beforeAll(async () => {
      const reference = sandboxCrmAdapter({ dataDir: `${data.dir}/sandbox`, world: worldOptions });
      const candidate = open('conformance');
      const referenceBus = new InMemoryEventBus();
      const candidateBus = new InMemoryEventBus();
      const referenceRelay = reference.relayEvents(referenceBus);
      const candidateRelay = candidate.relayEvents(candidateBus);
      opened.push({ adapter: reference, relay: referenceRelay }, { adapter: candidate, relay: candidateRelay });
      // The first poll takes the org's won flags as they stand; only changes after it are events.
      await candidateRelay.flush();
      ports = { world, reference, candidate, referenceBus, candidateBus, referenceRelay, candidateRelay };
    });
    describeCrmPortConformance('Salesforce', () => ports);
  });

  it('asks for a new token when Salesforce answers 401 INVALID_SESSION_ID mid-run, and carries on', async () => {
    const adapter = open('token');
    const [accountId] = world.accounts.map((account) => account.crmId);
    expect((await adapter.port.accountsById([accountId!])).size).toBe(1);
    wire.expireTokens();
    expect((await adapter.port.accountsById([accountId!])).size).toBe(1);
  });

  it('authenticates with the client credentials flow too, and never shows the secret when it is refused', async () => {
    const adapter = open('client-credentials', { authFlow: 'client_credentials', clientSecret: new Secret('wire-client-secret') });
    expect((await adapter.port.usersById([world.users[0]!])).size).toBe(1);
    const refused = open('client-credentials-wrong', { authFlow: 'client_credentials', clientSecret: new Secret('s3cr3t-that-must-not-leak') });
    const error = await refused.port.usersById([world.users[0]!]).catch((caught: unknown) => caught as Error);
    expect(error).toMatchObject({ extensions: { code: ErrorCode.SYSTEM_PERMISSION_DENIED, system: 'Salesforce' } });
    expect(JSON.stringify({ message: (error as Error).message, error })).not.toContain('s3cr3t');
  });

  it('rides out a storm of 429s, honouring Retry-After, and gives up with SYSTEM_UNAVAILABLE when it does not end', async () => {
    const adapter = open('storm', {}, { initialBackoffMs: 10, maxBackoffMs: 50, maxAttempts: 4 });
    const metrics = new Metrics();
    adapter.instrument(metrics);
    const accountId = world.accounts[1]!.crmId;
    wire.inject({ status: 429, headers: { 'retry-after': '0' }, body: [{ message: 'Too many requests', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], times: 2 });
    wire.inject({ status: 429, times: 1 });
    expect((await adapter.port.accountsById([accountId])).size).toBe(1);
    expect(
      parseMetrics(await metrics.render()).get('psgraph_vendor_api_calls_total{system="Salesforce",operation="accountsById",outcome="rate_limited"}'),
    ).toBe(3);

    wire.inject({ status: 429, body: [{ message: 'Too many requests', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], times: 10 });
    try {
      await expect(adapter.port.accountsById([accountId])).rejects.toMatchObject({
        extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'Salesforce', failure: 'RATE_LIMITED' },
      });
    } finally {
      wire.clearFaults();
    }
  });

  it('fails fast while Salesforce is down, naming it, and recovers when it is back', async () => {
    const adapter = open('outage', {}, { maxAttempts: 1, failureThreshold: 2, cooldownMs: 300 });
    const accountId = world.accounts[2]!.crmId;
    await adapter.port.accountsById([accountId]);
    await wire.pause();
    try {
      for (let i = 0; i < 2; i++)
        await expect(adapter.port.accountsById([accountId])).rejects.toMatchObject({
          extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'Salesforce' },
        });
      const before = wire.apiRequests;
      await expect(adapter.port.accountsById([accountId])).rejects.toThrow(/Salesforce is unavailable: it failed 2 times in a row/);
      expect(wire.apiRequests).toBe(before);
    } finally {
      await wire.resume();
    }
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await adapter.port.accountsById([accountId])).size).toBe(1);
  });

  it('turns changes polled across a restart into events, none missed and none repeated', async () => {
    const [first, second, third] = world.opportunities.filter(
      (opportunity) => opportunity.stageName === 'Proposal/Price Quote' && opportunity.projectIndex === null,
    );
    const bus = new InMemoryEventBus();
    const seen = recordEvents(bus);
    try {
      const before = open('restart');
      const relay = before.relayEvents(bus);
      await relay.flush();
      wire.update('Opportunity', first!.crmId, { StageName: 'Closed Won' });
      await relay.flush();
      await eventually(() => expect(seen.events.map((event) => event.subject)).toEqual([first!.crmId]));
      await relay.stop();
      await before.close();

      // While psgraph is down: one deal won, another won and reopened before anyone looked (no net change).
      wire.update('Opportunity', second!.crmId, { StageName: 'Closed Won' });
      wire.update('Opportunity', third!.crmId, { StageName: 'Closed Won' });
      wire.update('Opportunity', third!.crmId, { StageName: 'Negotiation/Review' });

      const after = open('restart');
      const relayAfter = after.relayEvents(bus);
      opened.push({ adapter: after, relay: relayAfter });
      await relayAfter.flush();
      await eventually(() =>
        expect(seen.events.map((event) => [event.type, event.subject])).toEqual([
          ['opportunity.closed_won', first!.crmId],
          ['opportunity.closed_won', second!.crmId],
        ]),
      );
      expect(seen.events[1]!.data).toMatchObject({ opportunityId: second!.crmId, isWon: true, stage: 'Closed Won', deliveryRegion: second!.deliveryRegion });
    } finally {
      seen.stop();
    }
  });

  it('counts every API call it makes on /metrics, by operation and outcome', async () => {
    const adapter = open('metrics');
    const metrics = new Metrics();
    adapter.instrument(metrics);
    await adapter.port.searchOpportunities({ isWon: true }, { limit: 10, offset: 0 });
    expect(parseMetrics(await metrics.render()).get('psgraph_vendor_api_calls_total{system="Salesforce",operation="searchOpportunities",outcome="ok"}')).toBe(
      2,
    );
  });
});
