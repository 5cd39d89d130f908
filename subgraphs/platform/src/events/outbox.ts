/**
 * A transactional outbox: a system writes the business events a change produces into its own store, in the
 * same transaction as the change, and a relay publishes them to the bus afterwards. So an event is never lost
 * when the process dies between committing and publishing, and never published for a change that rolled back.
 * Delivery is at-least-once (a crash after publishing and before marking re-publishes the same event ID).
 */
import { cutoff, loadRetentionConfig, type RetentionConfig } from '../retentionConfig.js';
import type { SqliteStore } from '../storage/sqliteStore.js';
import { LogCode } from '../logging/logCodes.js';
import { createLogger } from '../logging/logger.js';
import type { BusEvent, EventBus } from './eventBus.js';

export const OUTBOX_DDL = `
CREATE TABLE IF NOT EXISTS event_outbox (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  event TEXT NOT NULL,
  published_at TEXT);
CREATE INDEX IF NOT EXISTS event_outbox_unpublished ON event_outbox(sequence) WHERE published_at IS NULL;`;

/** Records an event; call inside the transaction that makes the change it reports. */
export function appendToOutbox(store: SqliteStore, event: BusEvent): void {
  store.prepare('INSERT INTO event_outbox (event) VALUES (?)').run([JSON.stringify(event)]);
}

export interface OutboxRelayOptions {
  /** How often to look for unpublished events when not woken. @default 200 */
  readonly pollMs?: number;
  /** Published per round. @default 100 */
  readonly batchSize?: number;
  readonly onError?: (error: unknown) => void;
  /**
   * Published events older than `eventRetentionMs` are deleted every `intervalMs`; unpublished ones stay, however
   * old. null: never. @default loadRetentionConfig() (PSGRAPH_EVENT_RETENTION, PSGRAPH_RETENTION_INTERVAL)
   */
  readonly retention?: RetentionConfig | null;
}

export interface OutboxRelay {
  /** Publish now (call after committing a change) instead of waiting for the next poll. */
  notify(): void;
  /** Resolves when everything committed so far has been published. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export function startOutboxRelay(store: SqliteStore, bus: EventBus, options: OutboxRelayOptions = {}): OutboxRelay {
  store.exec(OUTBOX_DDL);
  const pending = store.prepareBackground<{ sequence: number; event: string }>(
    'SELECT sequence, event FROM event_outbox WHERE published_at IS NULL ORDER BY sequence LIMIT ?',
  );
  const markPublished = store.prepareBackground("UPDATE event_outbox SET published_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE sequence = ?");
  let stopped = false;
  let round: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const retention = options.retention === undefined ? loadRetentionConfig() : options.retention;
  const trimmer =
    retention && retention.eventRetentionMs !== null
      ? setInterval(() => {
          try {
            trimOutbox(store, cutoff(retention.eventRetentionMs));
          } catch (error) {
            (options.onError ?? ((e) => console.error('[outbox] trimming published events failed; will retry', e)))(error);
          }
        }, retention.intervalMs).unref()
      : undefined;

  const publishAll = async () => {
    for (;;) {
      const rows = pending.all([options.batchSize ?? 100]);
      if (rows.length === 0 || stopped) return;
      for (const row of rows) {
        await bus.publish(JSON.parse(row.event) as BusEvent);
        markPublished.run([row.sequence]);
      }
    }
  };
  const run = () => {
    round = round
      .then(publishAll)
      .catch((error: unknown) =>
        (options.onError ?? ((e) => createLogger('outbox').warn({ err: e, code: LogCode.EVENTS_FAILED }, 'publish failed; will retry')))(error),
      );
    return round;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void run().then(schedule), options.pollMs ?? 200);
    timer.unref();
  };
  void run().then(schedule);
  return {
    notify: () => void run(),
    flush: () => run(),
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      clearInterval(trimmer);
      await round;
    },
  };
}

/** Deletes the outbox's events published before `before`; an unpublished event stays, however old. Answers how many went. */
export function trimOutbox(store: SqliteStore, before: Date): number {
  store.exec(OUTBOX_DDL);
  return store.prepareBackground('DELETE FROM event_outbox WHERE published_at IS NOT NULL AND published_at < ?').run([before.toISOString()]).changes;
}
