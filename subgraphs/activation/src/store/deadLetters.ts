/**
 * Incoming events the process layer could not accept (malformed, breaking their contract, or refused by a system),
 * kept as received, and replayed by an operator — as they were, or edited — with an audit record of who did what
 * and when. Replaying publishes the event on the bus again: every consumer group that takes its type handles it
 * (each handles an event it already applied as a duplicate), and one that still cannot accept it dead-letters it
 * afresh with the new reason.
 */
import type { BusEvent } from '../../../platform/src/events/index.js';
import { type SqliteStore, hasColumn } from '../../../platform/src/index.js';
import type { DeadLetterRecord } from './activationRecords.js';

export type DeadLetterStatus = 'OPEN' | 'REPLAYED';

export interface DeadLetterView extends DeadLetterRecord {
  readonly id: string;
  readonly status: DeadLetterStatus;
  readonly replayedAt: string | null;
  readonly replayedBy: string | null;
}

export interface DeadLetterAction {
  readonly action: 'REPLAYED' | 'REPLAYED_EDITED';
  readonly by: string;
  readonly at: string;
}

const AUDIT_DDL = `
CREATE TABLE IF NOT EXISTS dead_letter_action (
  id INTEGER PRIMARY KEY,
  dead_letter_id INTEGER NOT NULL REFERENCES dead_letter(id),
  action TEXT NOT NULL CHECK (action IN ('REPLAYED', 'REPLAYED_EDITED')),
  by TEXT NOT NULL,
  at TEXT NOT NULL,
  payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS dead_letter_action_letter ON dead_letter_action(dead_letter_id);
`;

interface Row {
  id: number;
  event_id: string | null;
  type: string | null;
  reason: string;
  payload: string;
  received_at: string;
  status: DeadLetterStatus;
  replayed_at: string | null;
  replayed_by: string | null;
}

const toView = (row: Row): DeadLetterView => ({
  id: String(row.id),
  eventId: row.event_id,
  type: row.type,
  reason: row.reason,
  payload: row.payload,
  receivedAt: row.received_at,
  status: row.status,
  replayedAt: row.replayed_at,
  replayedBy: row.replayed_by,
});

export class DeadLetters {
  constructor(
    private readonly sqlite: SqliteStore,
    private readonly iso: () => string,
  ) {
    sqlite.transaction(() => {
      // Stores from before replay: the letters they hold are open.
      if (!hasColumn(sqlite, 'dead_letter', 'status')) {
        sqlite.exec(`ALTER TABLE dead_letter ADD COLUMN status TEXT NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'REPLAYED'));
          ALTER TABLE dead_letter ADD COLUMN replayed_at TEXT;
          ALTER TABLE dead_letter ADD COLUMN replayed_by TEXT;`);
      }
      sqlite.exec(AUDIT_DDL);
    });
  }

  record(letter: Omit<DeadLetterRecord, 'receivedAt'>): void {
    this.sqlite
      .prepare('INSERT INTO dead_letter (event_id, type, reason, payload, received_at) VALUES (?, ?, ?, ?, ?)')
      .run([letter.eventId, letter.type, letter.reason, letter.payload, this.iso()]);
  }

  list(limit: number): DeadLetterRecord[] {
    return this.search({ statuses: null, type: null }, limit);
  }

  /** Newest first. */
  search(filter: { statuses: readonly DeadLetterStatus[] | null; type: string | null }, limit: number): DeadLetterView[] {
    return this.sqlite
      .prepare<Row>(
        `SELECT * FROM dead_letter WHERE (? IS NULL OR status IN (SELECT value FROM json_each(?))) AND (? IS NULL OR type = ?) ORDER BY id DESC LIMIT ?`,
      )
      .all([filter.statuses ? 1 : null, JSON.stringify(filter.statuses ?? []), filter.type, filter.type, limit])
      .map(toView);
  }

  byId(id: string): DeadLetterView | null {
    const row = this.sqlite.prepare<Row>('SELECT * FROM dead_letter WHERE id = ?').get([Number(id)]);
    return row ? toView(row) : null;
  }

  actions(id: string): DeadLetterAction[] {
    return this.sqlite.prepare<DeadLetterAction>('SELECT action, by, at FROM dead_letter_action WHERE dead_letter_id = ? ORDER BY id').all([Number(id)]);
  }

  /**
   * Publishes the letter's event again (or `edited`, the operator's corrected event) and records who replayed it.
   * The event goes out first: if the bus refuses it, nothing is recorded and the letter stays open.
   */
  async replay(id: string, by: string, publish: (event: BusEvent) => Promise<void>, edited?: BusEvent): Promise<DeadLetterView> {
    const letter = this.byId(id)!;
    const event = edited ?? (JSON.parse(letter.payload) as BusEvent);
    await publish(event);
    const now = this.iso();
    this.sqlite.transaction(() => {
      this.sqlite.prepare("UPDATE dead_letter SET status = 'REPLAYED', replayed_at = ?, replayed_by = ? WHERE id = ?").run([now, by, Number(id)]);
      this.sqlite
        .prepare('INSERT INTO dead_letter_action (dead_letter_id, action, by, at, payload) VALUES (?, ?, ?, ?, ?)')
        .run([Number(id), edited ? 'REPLAYED_EDITED' : 'REPLAYED', by, now, JSON.stringify(event)]);
    });
    return this.byId(id)!;
  }
}
