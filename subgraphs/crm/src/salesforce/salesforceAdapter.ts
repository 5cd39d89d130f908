/**
 * The CRM subgraph over a Salesforce org: the port on the REST API, and the CRM's business events found by polling
 * changed opportunities into a local outbox (`<data dir>/salesforce.db`, with the poll's high-water mark and the
 * won flags last seen), relayed to the bus as the sandbox's are.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OUTBOX_DDL, startOutboxRelay } from '../../../platform/src/events/index.js';
import { SqliteStore } from '../../../platform/src/storage/sqliteStore.js';
import { type ChangeFeed, startChangeFeed } from '../../../platform/src/vendor/changeFeed.js';
import type { VendorCallsOptions } from '../../../platform/src/vendor/vendorCalls.js';
import type { CrmAdapter } from '../crmPort.js';
import { salesforceOpportunityChanges } from './salesforceChanges.js';
import { SalesforceClient } from './salesforceClient.js';
import type { SalesforceConfig } from './salesforceConfig.js';
import { SalesforceCrm } from './salesforceCrm.js';

export interface SalesforceAdapterOptions {
  /** Folder of the adapter's own store (outbox, poll mark, won flags seen). */
  readonly dataDir: string;
  readonly log?: (message: string) => void;
  /** Overrides of the retry, deadline and circuit-breaker settings (tests; unusual orgs). */
  readonly resilience?: Partial<VendorCallsOptions>;
}

export function openSalesforceCrm(config: SalesforceConfig, options: SalesforceAdapterOptions): CrmAdapter {
  mkdirSync(options.dataDir, { recursive: true });
  const store = new SqliteStore(join(options.dataDir, 'salesforce.db'));
  store.exec(OUTBOX_DDL);
  const client = new SalesforceClient(config, {
    ...(options.log ? { log: options.log } : {}),
    ...(options.resilience ? { resilience: options.resilience } : {}),
  });
  let feed: ChangeFeed | undefined;
  const crm = new SalesforceCrm(client, { afterWrite: () => void feed?.pollNow() });
  return {
    kind: 'Salesforce',
    port: crm,
    relayEvents(bus) {
      const outbox = startOutboxRelay(store, bus, { pollMs: 200 });
      const changes = startChangeFeed({
        store,
        feed: 'salesforce:Opportunity',
        poll: salesforceOpportunityChanges(client, store),
        intervalMs: config.pollIntervalMs,
        onEvents: () => outbox.notify(),
        onError: (error) =>
          options.log?.(`[crm] polling Salesforce for changed opportunities failed; will retry: ${error instanceof Error ? error.message : String(error)}`),
      });
      feed = changes;
      return {
        notify: () => void changes.pollNow(),
        flush: async () => {
          await changes.pollNow();
          await outbox.flush();
        },
        stop: async () => {
          await changes.stop();
          await outbox.stop();
        },
      };
    },
    instrument: (metrics) => client.instrument(metrics),
    close: async () => {
      await feed?.stop();
      store.close();
    },
  };
}
