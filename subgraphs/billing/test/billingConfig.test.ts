/**
 * Which billing system the subgraph runs over, from the environment: the sandbox unless told otherwise, Stripe's
 * settings validated at start-up with messages that name the variable and never the secret.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../platform/src/index.js';
import { temporaryDataDir } from '../../platform/test/testSupport.js';
import { loadBillingSystemConfig } from '../src/billingConfig.js';

const stripeEnv = {
  PSGRAPH_BILLING_SYSTEM: 'stripe',
  PSGRAPH_STRIPE_API_KEY: 'sk_live_51NotARealKeyButShapedLikeOne',
  PSGRAPH_STRIPE_WEBHOOK_SECRET: 'whsec_notARealSecret',
};

describe('the billing system configuration', () => {
  it('runs over the sandbox by default', () => {
    expect(loadBillingSystemConfig({})).toEqual({ system: 'sandbox' });
  });

  it('reads Stripe’s settings, with their defaults, and keeps the secrets out of sight', () => {
    const config = loadBillingSystemConfig(stripeEnv);
    expect(config.system).toBe('stripe');
    if (config.system !== 'stripe') return;
    expect(config.stripe).toMatchObject({ apiUrl: 'https://api.stripe.com', webhookToleranceSeconds: 300, maxConcurrency: 8, timeoutMs: 20_000 });
    expect(config.stripe.apiKey.reveal()).toBe(stripeEnv.PSGRAPH_STRIPE_API_KEY);
    expect(JSON.stringify(config)).not.toContain('NotARealKey');
    expect(JSON.stringify(config)).not.toContain('notARealSecret');
  });

  it('reads the secrets from files, as Docker and Kubernetes mount them', () => {
    const data = temporaryDataDir('billing-config');
    try {
      writeFileSync(`${data.dir}/key`, 'rk_live_51RestrictedKeyFromAFile\n');
      writeFileSync(`${data.dir}/secret`, 'whsec_fromAFile\n');
      const config = loadBillingSystemConfig({
        PSGRAPH_BILLING_SYSTEM: 'stripe',
        PSGRAPH_STRIPE_API_KEY_FILE: `${data.dir}/key`,
        PSGRAPH_STRIPE_WEBHOOK_SECRET_FILE: `${data.dir}/secret`,
      });
      expect(config.system === 'stripe' && config.stripe.apiKey.reveal()).toBe('rk_live_51RestrictedKeyFromAFile');
      expect(config.system === 'stripe' && config.stripe.webhookSecret.reveal()).toBe('whsec_fromAFile');
    } finally {
      data.remove();
    }
  });

  it.each([
    [{ PSGRAPH_BILLING_SYSTEM: 'chargebee' }, /PSGRAPH_BILLING_SYSTEM=chargebee is not one psgraph knows: expected sandbox or stripe/],
    [{ PSGRAPH_BILLING_SYSTEM: 'stripe' }, /PSGRAPH_STRIPE_API_KEY \(or PSGRAPH_STRIPE_API_KEY_FILE\) is not set/],
    [{ ...stripeEnv, PSGRAPH_STRIPE_API_KEY: 'pk_live_51PublishableKeyLeaks' }, /PSGRAPH_STRIPE_API_KEY is not a Stripe secret or restricted key/],
    [{ ...stripeEnv, PSGRAPH_STRIPE_WEBHOOK_SECRET: 'endpointSecretLeaks' }, /PSGRAPH_STRIPE_WEBHOOK_SECRET is not a webhook signing secret/],
    [{ ...stripeEnv, PSGRAPH_STRIPE_WEBHOOK_TOLERANCE_SECONDS: '0' }, /PSGRAPH_STRIPE_WEBHOOK_TOLERANCE_SECONDS=0 is out of range/],
    [{ ...stripeEnv, PSGRAPH_STRIPE_API_URL: 'https://proxy.example/v1' }, /PSGRAPH_STRIPE_API_URL=https:\/\/proxy.example\/v1 has a path/],
  ])('refuses %j with a message naming the variable', (env, message) => {
    let error: unknown;
    try {
      loadBillingSystemConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/Leaks/);
  });
});
