/**
 * Which ERP the ERP subgraph runs over, from the environment: the sandbox (the embedded default) or a NetSuite
 * account, whose own settings are in `netsuite/netsuiteConfig.ts`.
 */
import { readChoice } from '../../platform/src/config.js';
import { type NetSuiteConfig, loadNetSuiteConfig } from './netsuite/netsuiteConfig.js';

export const ERP_SYSTEMS = ['sandbox', 'netsuite'] as const;

export interface ErpSystemSettings {
  /** Which ERP the subgraph runs over: `sandbox` (SQLite, seeded from the world) or `netsuite`. @default sandbox (PSGRAPH_ERP_SYSTEM) */
  readonly system: (typeof ERP_SYSTEMS)[number];
}

export type ErpSystemConfig = { readonly system: 'sandbox' } | { readonly system: 'netsuite'; readonly netsuite: NetSuiteConfig };

export function loadErpSystemConfig(env: NodeJS.ProcessEnv = process.env): ErpSystemConfig {
  const system = readChoice(env, 'PSGRAPH_ERP_SYSTEM', ERP_SYSTEMS, 'sandbox');
  return system === 'netsuite' ? { system, netsuite: loadNetSuiteConfig(env) } : { system };
}
