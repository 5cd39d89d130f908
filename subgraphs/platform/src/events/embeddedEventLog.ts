/**
 * The embedded event bus's SQLite log: its tables (events, consumer groups' positions, pending deliveries, dead
 * letters), its prepared statements and the row format of an event.
 */
import type Database from 'better-sqlite3';
import type { BusEvent, ConsumeOptions } from './eventBus.js';

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
    deadLetters: db.prepare(
      `SELECT d.group_name, d.deliveries, d.reason, d.dead_lettered_at, e.*
       FROM bus_dead_letters d JOIN bus_events e ON e.seq = d.seq
       WHERE ? IS NULL OR d.group_name = ? ORDER BY d.id`,
    ),
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
