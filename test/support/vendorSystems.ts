/**
 * The vendor systems for end-to-end tests: a wire server per vendor (a local server that speaks its API) seeded
 * from the same world as the sandboxes, and for each system an adapter factory the stack builds its subgraph
 * with, so that the whole stack runs over the vendors' APIs instead of the sandboxes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { openSalesforceCrm } from '../../subgraphs/crm/src/salesforce/salesforceAdapter.js';
import { openStripeBilling } from '../../subgraphs/billing/src/stripe/stripeAdapter.js';
import { openNetSuiteErp } from '../../subgraphs/erp/src/netsuite/netsuiteAdapter.js';
import { Secret } from '../../subgraphs/platform/src/vendor/secrets.js';
import { openKantataPsa } from '../../subgraphs/psa/src/kantata/kantataAdapter.js';
import { KantataWireServer } from '../wire/kantata/kantataWireServer.js';
import { NetSuiteWireServer } from '../wire/netsuite/netsuiteWireServer.js';
import { SalesforceWireServer } from '../wire/salesforce/salesforceWireServer.js';
import { StripeWireServer } from '../wire/stripe/stripeWireServer.js';
import { E2E_WORLD } from './seededData.js';
import type { AdapterFactory, StackSystem } from './stack.js';

export interface VendorSystems {
  /** Each system's adapter over its vendor, for `startStack({ adapters })`. */
  readonly adapters: Partial<Record<StackSystem, AdapterFactory>>;
  readonly salesforce: SalesforceWireServer;
  readonly kantata: KantataWireServer;
  readonly netsuite: NetSuiteWireServer;
  readonly stripe: StripeWireServer;
  /** Points Stripe's webhooks at the stack's billing subgraph (its URL is known once the stack is up). */
  connectWebhooks(billingSubgraphUrl: string): void;
  /** API requests each vendor has received so far (its wire server's count), by system. */
  apiRequests(): Partial<Record<StackSystem, number>>;
  stop(): Promise<void>;
}

export async function startVendorSystems(): Promise<VendorSystems> {
  const dir = mkdtempSync(join(tmpdir(), 'psgraph-vendors-'));
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const salesforce = await SalesforceWireServer.start({
    world: E2E_WORLD,
    dataDir: join(dir, 'salesforce-wire'),
    clientId: 'psgraph-e2e',
    publicJwk: await exportJWK(publicKey),
    username: 'integration@psgraph.example',
  });
  const salesforceKey = new Secret(await exportPKCS8(privateKey));
  const kantataToken = 'kantata-e2e-token';
  const netsuiteAccount = {
    accountId: '1234567_SB1',
    consumerKey: 'psgraph-e2e-consumer',
    consumerSecret: 'consumer-secret',
    tokenId: 'token-id',
    tokenSecret: 'token-secret',
  };
  const netsuite = await NetSuiteWireServer.start({
    world: E2E_WORLD,
    dataDir: join(dir, 'netsuite-wire'),
    accountId: netsuiteAccount.accountId,
    consumerKey: netsuiteAccount.consumerKey,
    consumerSecret: netsuiteAccount.consumerSecret,
    tokens: { [netsuiteAccount.tokenId]: netsuiteAccount.tokenSecret },
  });
  const stripeKeys = { apiKey: 'sk_test_psgraph_e2e', webhookSecret: 'whsec_psgraph_e2e' };
  const stripe = await StripeWireServer.start({ world: E2E_WORLD, dataDir: join(dir, 'stripe-wire'), ...stripeKeys });
  const kantata = await KantataWireServer.start({ world: E2E_WORLD, dataDir: join(dir, 'kantata-wire'), accessToken: kantataToken });
  return {
    adapters: {
      crm: () =>
        openSalesforceCrm(
          {
            loginUrl: salesforce.url,
            apiVersion: '62.0',
            authFlow: 'jwt',
            clientId: 'psgraph-e2e',
            username: 'integration@psgraph.example',
            privateKey: salesforceKey,
            maxConcurrency: 4,
            timeoutMs: 10_000,
            // Long, as Kantata's below: tests that wait for a change made in Salesforce flush the CRM's events.
            pollIntervalMs: 60_000,
          },
          // The same folder on every build: a restarted CRM subgraph resumes from its poll mark.
          { dataDir: join(dir, 'crm-adapter') },
        ),
      psa: () =>
        openKantataPsa(
          {
            apiUrl: kantata.url,
            accessToken: new Secret(kantataToken),
            serviceName: 'psgraph',
            maxConcurrency: 4,
            timeoutMs: 10_000,
            // Long: each poll round is a call per endpoint, which would blur the calls a query costs; psgraph's
            // own writes emit their events without waiting for a poll.
            pollIntervalMs: 60_000,
          },
          { dataDir: join(dir, 'psa-adapter') },
        ),
      erp: () =>
        openNetSuiteErp({
          accountId: netsuiteAccount.accountId,
          baseUrl: netsuite.url,
          consumerKey: netsuiteAccount.consumerKey,
          consumerSecret: new Secret(netsuiteAccount.consumerSecret),
          tokenId: new Secret(netsuiteAccount.tokenId),
          tokenSecret: new Secret(netsuiteAccount.tokenSecret),
          maxConcurrency: 4,
          timeoutMs: 10_000,
        }),
      billing: () =>
        openStripeBilling(
          {
            apiUrl: stripe.url,
            apiKey: new Secret(stripeKeys.apiKey),
            webhookSecret: new Secret(stripeKeys.webhookSecret),
            webhookToleranceSeconds: 300,
            maxConcurrency: 4,
            timeoutMs: 10_000,
          },
          { dataDir: join(dir, 'billing-adapter') },
        ),
    },
    salesforce,
    kantata,
    netsuite,
    stripe,
    connectWebhooks: (billingSubgraphUrl) => stripe.setWebhookEndpoint(billingSubgraphUrl.replace(/\/graphql$/, '/webhooks/stripe')),
    apiRequests: () => ({ crm: salesforce.apiRequests, psa: kantata.apiRequests, erp: netsuite.apiRequests, billing: stripe.apiRequests }),
    async stop() {
      await salesforce.stop();
      await kantata.stop();
      await netsuite.stop();
      await stripe.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
