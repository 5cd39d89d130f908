/**
 * Which CRM the CRM subgraph runs over, from the environment: the sandbox (the embedded default) or a Salesforce
 * org, whose own settings are in `salesforce/salesforceConfig.ts`.
 */
import { readChoice } from '../../platform/src/config.js';
import { type SalesforceConfig, loadSalesforceConfig } from './salesforce/salesforceConfig.js';

export const CRM_SYSTEMS = ['sandbox', 'salesforce'] as const;

export interface CrmSystemSettings {
  /** Which CRM the subgraph runs over: `sandbox` (SQLite, seeded from the world) or `salesforce`. @default sandbox (PSGRAPH_CRM_SYSTEM) */
  readonly system: (typeof CRM_SYSTEMS)[number];
}

export type CrmSystemConfig = { readonly system: 'sandbox' } | { readonly system: 'salesforce'; readonly salesforce: SalesforceConfig };

export function loadCrmSystemConfig(env: NodeJS.ProcessEnv = process.env): CrmSystemConfig {
  const system = readChoice(env, 'PSGRAPH_CRM_SYSTEM', CRM_SYSTEMS, 'sandbox');
  return system === 'salesforce' ? { system, salesforce: loadSalesforceConfig(env) } : { system };
}
