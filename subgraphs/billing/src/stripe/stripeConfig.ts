/**
 * The Stripe adapter's settings, from the environment (secrets also from files: `<NAME>_FILE`), validated at
 * start-up. docs/vendors/stripe.md says what to set up in the Stripe account for each.
 */
import { ConfigError, readNumber } from '../../../platform/src/config.js';
import { type Secret, requireSecret } from '../../../platform/src/vendor/secrets.js';

export interface StripeConfig {
  /** Where the Stripe API is (a proxy, or a local server in tests). @default https://api.stripe.com (PSGRAPH_STRIPE_API_URL) */
  readonly apiUrl: string;
  /** A secret or restricted API key (`sk_…`, `rk_…`; or PSGRAPH_STRIPE_API_KEY_FILE). (PSGRAPH_STRIPE_API_KEY) */
  readonly apiKey: Secret;
  /** The signing secret (`whsec_…`) of the webhook endpoint that points at `/webhooks/stripe` (or PSGRAPH_STRIPE_WEBHOOK_SECRET_FILE). (PSGRAPH_STRIPE_WEBHOOK_SECRET) */
  readonly webhookSecret: Secret;
  /** How old, in seconds, a webhook's signed timestamp may be (replays of older deliveries are refused). @default 300 (PSGRAPH_STRIPE_WEBHOOK_TOLERANCE_SECONDS) */
  readonly webhookToleranceSeconds: number;
  /** API calls in flight at once. @default 8 (PSGRAPH_STRIPE_MAX_CONCURRENCY) */
  readonly maxConcurrency: number;
  /** Deadline of one API call. @default 20000 (PSGRAPH_STRIPE_TIMEOUT_MS) */
  readonly timeoutMs: number;
}

export function loadStripeConfig(env: NodeJS.ProcessEnv = process.env): StripeConfig {
  const apiKey = requireSecret(env, 'PSGRAPH_STRIPE_API_KEY', 'the Stripe API key psgraph calls Stripe with');
  if (!/^(sk|rk)_(test|live)_/.test(apiKey.reveal())) {
    // The message names the kind of key expected, never the value given.
    throw new ConfigError('PSGRAPH_STRIPE_API_KEY is not a Stripe secret or restricted key: expected sk_live_…, rk_live_… (or sk_test_…, rk_test_…).');
  }
  const webhookSecret = requireSecret(env, 'PSGRAPH_STRIPE_WEBHOOK_SECRET', "the signing secret of psgraph's webhook endpoint in Stripe");
  if (!webhookSecret.reveal().startsWith('whsec_')) throw new ConfigError('PSGRAPH_STRIPE_WEBHOOK_SECRET is not a webhook signing secret: expected whsec_….');
  return {
    apiUrl: readApiUrl(env),
    apiKey,
    webhookSecret,
    // At least one second: the SDK reads a tolerance of 0 as "do not check the timestamp at all".
    webhookToleranceSeconds: readNumber(env, 'PSGRAPH_STRIPE_WEBHOOK_TOLERANCE_SECONDS', 300, 1, 3_600),
    maxConcurrency: readNumber(env, 'PSGRAPH_STRIPE_MAX_CONCURRENCY', 8, 1, 50),
    timeoutMs: readNumber(env, 'PSGRAPH_STRIPE_TIMEOUT_MS', 20_000, 100, 300_000),
  };
}

function readApiUrl(env: NodeJS.ProcessEnv): string {
  const variable = 'PSGRAPH_STRIPE_API_URL';
  const value = env[variable] || 'https://api.stripe.com';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${variable}=${value} is not a URL: expected e.g. https://api.stripe.com.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${variable}=${value} is not an http(s) URL.`);
  if (url.pathname !== '/' || url.search) throw new ConfigError(`${variable}=${value} has a path: the SDK adds /v1/…; give only the scheme, host and port.`);
  return `${url.protocol}//${url.host}`;
}
