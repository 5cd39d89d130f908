/**
 * Which billing system the billing subgraph runs over, from the environment: the sandbox (the embedded default)
 * or a Stripe account, whose own settings are in `stripe/stripeConfig.ts`.
 */
import { readChoice } from '../../platform/src/config.js';
import { type StripeConfig, loadStripeConfig } from './stripe/stripeConfig.js';

export const BILLING_SYSTEMS = ['sandbox', 'stripe'] as const;

export interface BillingSystemSettings {
  /** Which billing system the subgraph runs over: `sandbox` (SQLite, seeded from the world) or `stripe`. @default sandbox (PSGRAPH_BILLING_SYSTEM) */
  readonly system: (typeof BILLING_SYSTEMS)[number];
}

export type BillingSystemConfig = { readonly system: 'sandbox' } | { readonly system: 'stripe'; readonly stripe: StripeConfig };

export function loadBillingSystemConfig(env: NodeJS.ProcessEnv = process.env): BillingSystemConfig {
  const system = readChoice(env, 'PSGRAPH_BILLING_SYSTEM', BILLING_SYSTEMS, 'sandbox');
  return system === 'stripe' ? { system, stripe: loadStripeConfig(env) } : { system };
}
