/**
 * Changes from a vendor system that has no push psgraph can rely on (Salesforce, NetSuite, Kantata), read by
 * polling on a modification high-water mark (`SystemModstamp`, `lastModifiedDate`, `updated_at`). Each page of
 * changes becomes business events in the adapter's outbox in the same transaction that advances the mark (and
 * updates whatever snapshot the adapter keeps to tell a transition from a mere edit), so a process killed at any
 * point resumes from the last committed page: a change is neither missed nor turned into an event twice. The
 * outbox relay then publishes the events exactly as the sandbox's are published.
 */
import { type BusEvent, appendToOutbox } from '../events/index.js';
import { LogCode } from '../logging/logCodes.js';
import { createLogger } from '../logging/logger.js';
import type { SqliteStore } from '../storage/sqliteStore.js';

const MARK_DDL = `
CREATE TABLE IF NOT EXISTS change_feed_mark (
  feed TEXT PRIMARY KEY,
  mark TEXT NOT NULL,
  updated_at TEXT NOT NULL);`;

/** One page of changes read after a mark. */
export interface ChangePage {
  /** The business events the page's changes mean (often fewer than the changes: most edits mean nothing). */
  readonly events: readonly BusEvent[];
  /** The mark after the last change read: where the next poll starts. */
  readonly mark: string;
  /** Whether more changes wait after this page (poll again at once). */
  readonly more: boolean;
  /** Recorded in the transaction that records the page: the adapter's snapshot of what it has seen. */
  readonly record?: () => void;
}

export interface ChangeFeedOptions {
  /** The adapter's own store, holding the outbox, the marks and its snapshot. */
  readonly store: SqliteStore;
  /** The feed's name, e.g. `salesforce:Opportunity`. */
  readonly feed: string;
  /** Reads one page of changes after `mark` (null: never polled; the adapter decides where to start). */
  readonly poll: (mark: string | null) => Promise<ChangePage>;
  /** Pause between polls that found nothing more. @default 5_000 */
  readonly intervalMs?: number;
  /** Called after each committed page that produced events (the outbox relay's notify). */
  readonly onEvents?: () => void;
  readonly onError?: (error: unknown) => void;
}

export interface ChangeFeed {
  /** Polls until nothing more waits, now (tests; and after a write psgraph made itself). */
  pollNow(): Promise<void>;
  /** The committed mark. */
  mark(): string | null;
  stop(): Promise<void>;
}

export function startChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { store, feed } = options;
  store.exec(MARK_DDL);
  const readMark = store.prepareBackground<{ mark: string }>('SELECT mark FROM change_feed_mark WHERE feed = ?');
  const writeMark = store.prepareBackground(
    `INSERT INTO change_feed_mark (feed, mark, updated_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
     ON CONFLICT (feed) DO UPDATE SET mark = excluded.mark, updated_at = excluded.updated_at`,
  );
  const mark = () => readMark.get([feed])?.mark ?? null;
  let stopped = false;
  let round: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const pollAll = async () => {
    for (;;) {
      if (stopped) return;
      const page = await options.poll(mark());
      if (stopped) return;
      store.transaction(() => {
        page.record?.();
        for (const event of page.events) appendToOutbox(store, event);
        writeMark.run([feed, page.mark]);
      });
      if (page.events.length > 0) options.onEvents?.();
      if (!page.more) return;
    }
  };
  const run = () => {
    round = round
      .then(pollAll)
      .catch((error: unknown) =>
        (options.onError ?? ((e) => createLogger(feed).warn({ err: e, code: LogCode.EVENTS_FAILED }, 'polling failed; will retry')))(error),
      );
    return round;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void run().then(schedule), options.intervalMs ?? 5_000);
    timer.unref();
  };
  void run().then(schedule);
  return {
    pollNow: () => run(),
    mark,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await round;
    },
  };
}
