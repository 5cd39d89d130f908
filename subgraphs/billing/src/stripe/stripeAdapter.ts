/**
 * The billing subgraph over a Stripe account: the port on the Stripe API and a local replica
 * (`<data dir>/stripe.db`, which also holds the outbox and the IDs of the webhook events acted on), and billing's
 * business events from Stripe's webhooks, served at `/webhooks/stripe` beside `/graphql` and relayed to the bus
 * as the sandbox's are.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type OutboxRelay, startOutboxRelay } from '../../../platform/src/events/index.js';
import { SqliteStore } from '../../../platform/src/storage/sqliteStore.js';
import type { VendorCallsOptions } from '../../../platform/src/vendor/vendorCalls.js';
import type { BillingAdapter } from '../billingPort.js';
import { StripeBilling } from './stripeBilling.js';
import { StripeClient } from './stripeClient.js';
import type { StripeConfig } from './stripeConfig.js';
import { StripeReplica } from './stripeReplica.js';
import { StripeSync } from './stripeSync.js';
import { STRIPE_WEBHOOK_PATH, stripeWebhookEndpoint } from './stripeWebhooks.js';

export interface StripeAdapterOptions {
  /** Folder of the adapter's own store (replica, outbox, webhook events seen). */
  readonly dataDir: string;
  readonly log?: (message: string) => void;
  /** Overrides of the retry, deadline and circuit-breaker settings (tests; unusual accounts). */
  readonly resilience?: Partial<VendorCallsOptions>;
  /** The billing calendar's "now" (tests pin it). @default the system clock */
  readonly clock?: () => Date;
}

export function openStripeBilling(config: StripeConfig, options: StripeAdapterOptions): BillingAdapter {
  mkdirSync(options.dataDir, { recursive: true });
  const store = new SqliteStore(join(options.dataDir, 'stripe.db'));
  const client = new StripeClient(config, {
    ...(options.log ? { log: options.log } : {}),
    ...(options.resilience ? { resilience: options.resilience } : {}),
  });
  const replica = new StripeReplica(store);
  const sync = new StripeSync(client, replica);
  let relay: OutboxRelay | undefined;
  const billing = new StripeBilling(client, replica, sync, { ...(options.clock ? { clock: options.clock } : {}), afterWrite: () => relay?.notify() });
  const webhooks = stripeWebhookEndpoint({
    stripe: client.stripe,
    secret: config.webhookSecret,
    toleranceSeconds: config.webhookToleranceSeconds,
    replica,
    sync,
    onEvents: () => relay?.notify(),
    ...(options.log ? { log: options.log } : {}),
  });
  // The replica is filled from the start, not at the first read; a fill that fails is tried again by the next read.
  sync.ready().catch((error: unknown) => options.log?.(`[billing] filling the Stripe replica failed; will retry: ${(error as Error).message}`));
  return {
    kind: 'Stripe',
    port: billing,
    relayEvents(bus) {
      const outbox = startOutboxRelay(store, bus, { pollMs: 200 });
      relay = outbox;
      return {
        notify: () => outbox.notify(),
        flush: () => outbox.flush(),
        stop: () => outbox.stop(),
      };
    },
    instrument: (metrics) => client.instrument(metrics),
    routes: { [STRIPE_WEBHOOK_PATH]: webhooks.handle },
    close: async () => {
      await sync.close();
      await webhooks.settle();
      await relay?.stop();
      store.close();
    },
  };
}
