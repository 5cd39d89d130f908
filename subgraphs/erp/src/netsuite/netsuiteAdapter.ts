/**
 * The ERP subgraph over a NetSuite account: the port on SuiteTalk REST and SuiteQL. The ERP has no business
 * events of its own (the sandbox emits none either: activation and billing learn what they need by asking), so
 * there is nothing to poll and no outbox; and since SuiteQL sums the ledger itself, no local replica either: the
 * adapter keeps no state but its client.
 */
import type { VendorCallsOptions } from '../../../platform/src/vendor/vendorCalls.js';
import type { ErpAdapter } from '../erpPort.js';
import { NETSUITE, NetSuiteClient } from './netsuiteClient.js';
import { type NetSuiteConfig, postingsMapping } from './netsuiteConfig.js';
import { NetSuiteErp } from './netsuiteErp.js';

export interface NetSuiteAdapterOptions {
  readonly log?: (message: string) => void;
  /** Overrides of the retry, deadline and circuit-breaker settings (tests; unusual accounts). */
  readonly resilience?: Partial<VendorCallsOptions>;
  /** Rows per SuiteQL page (tests). @default 1000 */
  readonly pageSize?: number;
}

export function openNetSuiteErp(config: NetSuiteConfig, options: NetSuiteAdapterOptions = {}): ErpAdapter {
  const client = new NetSuiteClient(config, options);
  return {
    kind: NETSUITE,
    port: new NetSuiteErp(client, postingsMapping(config)),
    // Nothing to relay: the ERP emits no business events.
    relayEvents: () => ({ notify: () => {}, flush: async () => {}, stop: async () => {} }),
    instrument: (metrics) => client.instrument(metrics),
    close: async () => {},
  };
}
