/**
 * Which PSA the PSA subgraph runs over, from the environment: the sandbox (the embedded default) or a Kantata OX
 * account, whose own settings are in `kantata/kantataConfig.ts`.
 */
import { readChoice } from '../../platform/src/config.js';
import { type KantataConfig, loadKantataConfig } from './kantata/kantataConfig.js';

export const PSA_SYSTEMS = ['sandbox', 'kantata'] as const;

export interface PsaSystemSettings {
  /** Which PSA the subgraph runs over: `sandbox` (SQLite, seeded from the world) or `kantata` (Kantata OX). @default sandbox (PSGRAPH_PSA_SYSTEM) */
  readonly system: (typeof PSA_SYSTEMS)[number];
}

export type PsaSystemConfig = { readonly system: 'sandbox' } | { readonly system: 'kantata'; readonly kantata: KantataConfig };

export function loadPsaSystemConfig(env: NodeJS.ProcessEnv = process.env): PsaSystemConfig {
  const system = readChoice(env, 'PSGRAPH_PSA_SYSTEM', PSA_SYSTEMS, 'sandbox');
  return system === 'kantata' ? { system, kantata: loadKantataConfig(env) } : { system };
}
