/**
 * The PSA subgraph over a Kantata OX account: the port on the REST API and the local replica, and the PSA's
 * business events found by the replica's sync (and written by psgraph's own writes) into a local outbox
 * (`<data dir>/kantata.db`, with the replica and the sync's high-water marks), relayed to the bus as the
 * sandbox's are.
 *
 * The sync starts when first needed — the first read the replica answers, the first write, or the relay — so an
 * adapter opened and never used costs Kantata nothing.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BusEvent, OUTBOX_DDL, type OutboxRelay, appendToOutbox, startOutboxRelay } from '../../../platform/src/events/index.js';
import { SqliteStore } from '../../../platform/src/storage/sqliteStore.js';
import { type ChangeFeed, startChangeFeed } from '../../../platform/src/vendor/changeFeed.js';
import type { VendorCallsOptions } from '../../../platform/src/vendor/vendorCalls.js';
import { VendorError } from '../../../platform/src/vendor/vendorError.js';
import type { PsaAdapter } from '../psaPort.js';
import { KantataCatalog } from './kantataCatalog.js';
import { KANTATA, KantataClient } from './kantataClient.js';
import type { KantataConfig } from './kantataConfig.js';
import { KantataPsa } from './kantataPsa.js';
import { KantataReplica } from './kantataReplica.js';
import { isLive, kantataSync } from './kantataSync.js';

export interface KantataAdapterOptions {
  /** Folder of the adapter's own store (replica, sync marks, outbox). */
  readonly dataDir: string;
  readonly log?: (message: string) => void;
  /** Overrides of the retry, deadline and circuit-breaker settings (tests; unusual accounts). */
  readonly resilience?: Partial<VendorCallsOptions>;
}

const FEED = 'kantata:replica';

export function openKantataPsa(config: KantataConfig, options: KantataAdapterOptions): PsaAdapter {
  mkdirSync(options.dataDir, { recursive: true });
  const store = new SqliteStore(join(options.dataDir, 'kantata.db'));
  store.exec(OUTBOX_DDL);
  const client = new KantataClient(config, {
    ...(options.log ? { log: options.log } : {}),
    ...(options.resilience ? { resilience: options.resilience } : {}),
  });
  const catalog = new KantataCatalog(client);
  const replica = new KantataReplica(store);
  const sync = kantataSync(client, catalog, replica, config.serviceName);
  let outbox: OutboxRelay | undefined;
  let feed: ChangeFeed | undefined;
  let lastSyncError: unknown;
  let filling: Promise<void> | undefined;

  const startFeed = (): ChangeFeed =>
    (feed ??= startChangeFeed({
      store,
      feed: FEED,
      poll: async (mark) => {
        const page = await sync.poll(mark);
        lastSyncError = undefined;
        return page;
      },
      intervalMs: config.pollIntervalMs,
      onEvents: () => outbox?.notify(),
      onError: (error) => {
        lastSyncError = error;
        options.log?.(`[psa] syncing from Kantata failed; will retry: ${error instanceof Error ? error.message : String(error)}`);
      },
    }));

  /** The replica, filled once: reads it answers wait for the first listing (and fail if it cannot finish). */
  const replicaReady = async (): Promise<void> => {
    const running = startFeed();
    if (isLive(running.mark())) return;
    filling ??= running.pollNow().finally(() => (filling = undefined));
    await filling;
    if (isLive(running.mark())) return;
    if (lastSyncError instanceof VendorError) throw lastSyncError;
    throw new VendorError(KANTATA, 'UNAVAILABLE', "Kantata: psgraph's local copy of staffing and time could not be filled yet; try again shortly.");
  };

  const commit = (work: (events: BusEvent[]) => void): void => {
    const events: BusEvent[] = [];
    store.transaction(() => {
      work(events);
      for (const event of events) appendToOutbox(store, event);
    });
    if (events.length > 0) outbox?.notify();
  };

  const psa = new KantataPsa(client, catalog, replica, {
    serviceName: config.serviceName,
    replicaReady,
    syncNow: async () => {
      await replicaReady();
      await startFeed().pollNow();
    },
    commit,
  });

  return {
    kind: KANTATA,
    port: psa,
    relayEvents(bus) {
      const relay = startOutboxRelay(store, bus, { pollMs: 200 });
      outbox = relay;
      const changes = startFeed();
      return {
        notify: () => void changes.pollNow(),
        flush: async () => {
          await changes.pollNow();
          await relay.flush();
        },
        stop: async () => {
          await relay.stop();
          if (outbox === relay) outbox = undefined;
        },
      };
    },
    instrument: (metrics) => client.instrument(metrics),
    close: async () => {
      await feed?.stop();
      await outbox?.stop();
      store.close();
    },
  };
}
