/**
 * The embedded event bus's SQLite log: its tables (events, consumer groups' positions, pending deliveries, dead
 * letters), its prepared statements and the row format of an event.
 */
import type Database from 'better-sqlite3';
import type { BusDeadLetter, BusEvent, ConsumeOptions } from './eventBus.js';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS bus_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  type TEXT NOT NULL,
  version INTEGER NOT NULL,
  occurred_at TEXT NOT NULL,
  source TEXT NOT NULL,
  subject TEXT NOT NULL,
  data TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  traceparent TEXT);
CREATE TABLE IF NOT EXISTS bus_groups (
  group_name TEXT PRIMARY KEY,
  next_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bus_pending (
  group_name TEXT NOT NULL,
  seq INTEGER NOT NULL,
  consumer TEXT,
  deliveries INTEGER NOT NULL,
  available_at INTEGER NOT NULL,
  last_error TEXT,
  PRIMARY KEY (group_name, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bus_pending_available ON bus_pending(group_name, available_at);
CREATE TABLE IF NOT EXISTS bus_dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_name TEXT NOT NULL,
  seq INTEGER NOT NULL,
  deliveries INTEGER NOT NULL,
  reason TEXT NOT NULL,
  dead_lettered_at TEXT NOT NULL);`;

export interface EventRow {
  seq: number;
  event_id: string;
  type: string;
  version: number;
  occurred_at: string;
  source: string;
  subject: string;
  data: string;
  traceparent: string | null;
}

export interface PendingRow {
  seq: number;
  deliveries: number;
  last_error: string | null;
}

export interface Claimed {
  readonly seq: number;
  readonly event: BusEvent;
  readonly deliveries: number;
}

/** Events a claim may skip (types the group does not want) before committing and yielding to the event loop. */
export const SKIP_LIMIT = 500;
/** Events a subscriber poll reads at once. */
export const FANOUT_BATCH = 500;

/** A log written before events carried trace context gains the column (once; other processes may race to it). */
export function addTraceparentColumn(db: Database.Database): void {
  const columns = (db.prepare('PRAGMA table_info(bus_events)').all() as Array<{ name: string }>).map((column) => column.name);
  if (columns.includes('traceparent')) return;
  try {
    db.exec('ALTER TABLE bus_events ADD COLUMN traceparent TEXT');
  } catch (error) {
    if (!/duplicate column/i.test((error as Error).message)) throw error;
  }
}

export function prepareStatements(db: Database.Database) {
  return {
    insert: db.prepare(
      `INSERT INTO bus_events (event_id, type, version, occurred_at, source, subject, data, traceparent, recorded_at)
       VALUES (@id, @type, @version, @occurredAt, @source, @subject, @data, @traceparent, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`,
    ),
    lastSeq: db.prepare(`SELECT coalesce(max(seq), 0) AS seq FROM bus_events`).pluck(),
    eventsAfter: db.prepare(`SELECT * FROM bus_events WHERE seq > ? ORDER BY seq LIMIT ?`),
    event: db.prepare(`SELECT * FROM bus_events WHERE seq = ?`),
    ensureGroup: db.prepare(`INSERT OR IGNORE INTO bus_groups (group_name, next_seq) VALUES (?, 1)`),
    releaseOwn: db.prepare(`UPDATE bus_pending SET available_at = 0 WHERE group_name = ? AND consumer = ?`),
    probe: db.prepare(
      `SELECT (SELECT coalesce(max(seq), 0) FROM bus_events) >= g.next_seq AS has_new,
              (SELECT min(available_at) FROM bus_pending p WHERE p.group_name = g.group_name) AS next_available
       FROM bus_groups g WHERE g.group_name = ?`,
    ),
    nextAvailable: db.prepare(`SELECT seq, deliveries, last_error FROM bus_pending WHERE group_name = ? AND available_at <= ? ORDER BY seq LIMIT 1`),
    takeOver: db.prepare(`UPDATE bus_pending SET consumer = ?, deliveries = deliveries + 1, available_at = ? WHERE group_name = ? AND seq = ?`),
    nextSeq: db.prepare(`SELECT next_seq FROM bus_groups WHERE group_name = ?`).pluck(),
    newEvents: db.prepare(`SELECT * FROM bus_events WHERE seq >= ? ORDER BY seq LIMIT ?`),
    advance: db.prepare(`UPDATE bus_groups SET next_seq = ? WHERE group_name = ?`),
    hold: db.prepare(`INSERT INTO bus_pending (group_name, seq, consumer, deliveries, available_at) VALUES (?, ?, ?, 1, ?)`),
    renew: db.prepare(`UPDATE bus_pending SET available_at = ? WHERE group_name = ? AND seq = ? AND consumer = ?`),
    ack: db.prepare(`DELETE FROM bus_pending WHERE group_name = ? AND seq = ?`),
    pending: db.prepare(`SELECT seq, deliveries, last_error FROM bus_pending WHERE group_name = ? AND seq = ?`),
    backOff: db.prepare(`UPDATE bus_pending SET consumer = NULL, available_at = ?, last_error = ? WHERE group_name = ? AND seq = ?`),
    deadLetter: db.prepare(`INSERT INTO bus_dead_letters (group_name, seq, deliveries, reason, dead_lettered_at) VALUES (?, ?, ?, ?, ?)`),
  };
}

export function toEvent(row: EventRow): BusEvent {
  return {
    id: row.event_id,
    type: row.type,
    version: row.version,
    occurredAt: row.occurred_at,
    source: row.source,
    subject: row.subject,
    data: JSON.parse(row.data) as Record<string, unknown>,
    ...(row.traceparent ? { traceparent: row.traceparent } : {}),
  };
}

/**
 * What a consumer uses of its bus (`EmbeddedEventBus` is the one implementation; the consumer depends on this,
 * not on the bus, so that the bus can own its consumers without an import cycle).
 */
export interface EmbeddedConsumerHost {
  readonly isClosed: boolean;
  /** Creates the group if new, and makes this consumer's own unfinished deliveries available again. */
  prepareConsumer(group: string, consumer: string): void;
  /** How long the group's consumer may sleep before something can be claimed. */
  idleDelay(group: string): number;
  /** The next event for the group, leased to this consumer; undefined when there is none. */
  claim(options: ConsumeOptions, maxDeliveries: number): Claimed | undefined;
  renew(group: string, seq: number, consumer: string): void;
  ack(group: string, seq: number): void;
  fail(group: string, seq: number, reason: string, maxDeliveries: number): void;
}

/**
 * Columns replay added to logs created before it: the event a replay hands its group when an operator edited
 * it (on the pending delivery, and on a dead letter of that delivery), and when a dead letter was replayed.
 */
export function addReplayColumns(db: Database.Database): void {
  const has = (table: string, column: string) =>
    (db.prepare(`SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`).pluck().get(table, column) as number) > 0;
  db.transaction(() => {
    if (!has('bus_pending', 'event')) db.exec('ALTER TABLE bus_pending ADD COLUMN event TEXT');
    if (!has('bus_dead_letters', 'event')) db.exec('ALTER TABLE bus_dead_letters ADD COLUMN event TEXT');
    if (!has('bus_dead_letters', 'replayed_at')) db.exec('ALTER TABLE bus_dead_letters ADD COLUMN replayed_at TEXT');
    db.exec('CREATE INDEX IF NOT EXISTS bus_dead_letters_seq ON bus_dead_letters(seq)');
  }).immediate();
}

/** A dead letter joined with its event: `event` is the edited event it carried, when a replay edited it. */
export type DeadLetterRow = EventRow & {
  id: number;
  group_name: string;
  deliveries: number;
  reason: string;
  dead_lettered_at: string;
  replayed_at: string | null;
  edited: string | null;
};

/** Rows a trim deletes per statement, so that other processes' writes wait one short transaction at most. */
export const TRIM_BATCH = 5_000;

export function prepareReplayStatements(db: Database.Database) {
  const letterColumns = `d.id, d.group_name, d.deliveries, d.reason, d.dead_lettered_at, d.replayed_at, d.event AS edited,
    e.seq, e.event_id, e.type, e.version, e.occurred_at, e.source, e.subject, e.data`;
  return {
    pendingEvent: db.prepare(`SELECT event FROM bus_pending WHERE group_name = ? AND seq = ?`).pluck(),
    letters: db.prepare(`SELECT ${letterColumns} FROM bus_dead_letters d JOIN bus_events e ON e.seq = d.seq WHERE ? IS NULL OR d.group_name = ? ORDER BY d.id`),
    letter: db.prepare(`SELECT ${letterColumns} FROM bus_dead_letters d JOIN bus_events e ON e.seq = d.seq WHERE d.id = ?`),
    keepEdited: db.prepare(`UPDATE bus_dead_letters SET event = ? WHERE id = ?`),
    markReplayed: db.prepare(`UPDATE bus_dead_letters SET replayed_at = ? WHERE id = ? AND replayed_at IS NULL`),
    // The group's own delivery: deliveries 0, so the replay gets the whole budget; available now, to any consumer.
    redeliver: db.prepare(
      `INSERT OR REPLACE INTO bus_pending (group_name, seq, consumer, deliveries, available_at, last_error, event) VALUES (?, ?, NULL, 0, 0, NULL, ?)`,
    ),
    groups: db.prepare(
      `SELECT g.group_name AS name,
              (SELECT count(*) FROM bus_pending p WHERE p.group_name = g.group_name) AS pending,
              (SELECT count(*) FROM bus_events e WHERE e.seq >= g.next_seq) AS undelivered,
              (SELECT min(recorded_at) FROM bus_events e
                WHERE e.seq = (SELECT min(seq) FROM bus_pending p WHERE p.group_name = g.group_name)
                   OR e.seq = (SELECT min(seq) FROM bus_events WHERE seq >= g.next_seq)) AS oldest,
              (SELECT count(*) FROM bus_dead_letters d WHERE d.group_name = g.group_name AND d.replayed_at IS NULL) AS dead_letters
       FROM bus_groups g ORDER BY g.group_name`,
    ),
    trimDeadLetters: db.prepare(`DELETE FROM bus_dead_letters WHERE id IN (SELECT id FROM bus_dead_letters WHERE dead_lettered_at < ? LIMIT ${TRIM_BATCH})`),
    // Processed by every group: behind every group's cursor, held by no group, in no dead letter.
    trimEvents: db.prepare(
      `DELETE FROM bus_events WHERE seq IN (
         SELECT seq FROM bus_events
         WHERE recorded_at < ? AND seq < (SELECT coalesce(min(next_seq), 9223372036854775807) FROM bus_groups)
           AND NOT EXISTS (SELECT 1 FROM bus_pending p WHERE p.seq = bus_events.seq)
           AND NOT EXISTS (SELECT 1 FROM bus_dead_letters d WHERE d.seq = bus_events.seq)
         ORDER BY seq LIMIT ${TRIM_BATCH})`,
    ),
  };
}

export function toDeadLetter(row: DeadLetterRow): BusDeadLetter {
  return {
    id: String(row.id),
    event: row.edited === null ? toEvent(row) : (JSON.parse(row.edited) as BusEvent),
    group: row.group_name,
    deliveries: row.deliveries,
    reason: row.reason,
    deadLetteredAt: row.dead_lettered_at,
    replayedAt: row.replayed_at,
  };
}
