/**
 * What the Stripe adapter's tests share: a wire server that speaks Stripe's API over the sandbox's world, the
 * adapter's settings for it, and the adapter's webhook endpoint served over HTTP so that the wire server's
 * webhooks reach it as Stripe's reach a deployed billing subgraph.
 */
import type { Server } from 'node:http';
import { createHttpServer, listen } from '../../platform/src/index.js';
import type { VendorCallsOptions } from '../../platform/src/vendor/vendorCalls.js';
import { Secret } from '../../platform/src/vendor/secrets.js';
import type { WorldOptions } from '../../sandboxes/src/index.js';
import { StripeWireServer } from '../../../test/wire/stripe/stripeWireServer.js';
import type { BillingAdapter } from '../src/billingPort.js';
import { openStripeBilling } from '../src/stripe/stripeAdapter.js';
import type { StripeConfig } from '../src/stripe/stripeConfig.js';
import { STRIPE_WEBHOOK_PATH } from '../src/stripe/stripeWebhooks.js';

export const API_KEY = 'sk_test_51PsgraphWireAccountKey0000000000';
export const READ_ONLY_KEY = 'rk_test_51PsgraphWireReadOnlyKey000000000';
export const WEBHOOK_SECRET = 'whsec_psgraphWireEndpointSecret0001';

export function startStripeWire(world: WorldOptions, dataDir: string, clock?: () => Date): Promise<StripeWireServer> {
  return StripeWireServer.start({
    world,
    dataDir,
    apiKey: API_KEY,
    readOnlyKey: READ_ONLY_KEY,
    webhookSecret: WEBHOOK_SECRET,
    ...(clock ? { clock } : {}),
    webhookRetryDelaysMs: [50, 100, 200, 400, 800, 1_600],
  });
}

export function stripeConfig(wire: StripeWireServer, overrides: Partial<StripeConfig> = {}): StripeConfig {
  return {
    apiUrl: wire.url,
    apiKey: new Secret(API_KEY),
    webhookSecret: new Secret(WEBHOOK_SECRET),
    webhookToleranceSeconds: 300,
    maxConcurrency: 4,
    timeoutMs: 5_000,
    ...overrides,
  };
}

export interface ServedAdapter {
  readonly adapter: BillingAdapter;
  /** The adapter's webhook endpoint, as Stripe is told to call it. */
  readonly webhookUrl: string;
  close(): Promise<void>;
}

/** Opens the adapter and serves its routes (the webhook endpoint) on a free port. */
export async function openServedAdapter(
  wire: StripeWireServer,
  dataDir: string,
  options: { readonly config?: Partial<StripeConfig>; readonly resilience?: Partial<VendorCallsOptions>; readonly clock?: () => Date } = {},
): Promise<ServedAdapter> {
  const adapter = openStripeBilling(stripeConfig(wire, options.config), {
    dataDir,
    ...(options.resilience ? { resilience: options.resilience } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const server: Server = createHttpServer({ ...adapter.routes });
  const base = await listen(server, 0, '127.0.0.1');
  return {
    adapter,
    webhookUrl: `${base}${STRIPE_WEBHOOK_PATH}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await adapter.close();
    },
  };
}
