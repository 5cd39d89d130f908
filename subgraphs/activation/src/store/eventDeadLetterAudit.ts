/**
 * The audit of event dead-letter replays: the event bus's dead letters (a consumer group gave up on an event after
 * its maximum deliveries) live in the bus, which knows when one was replayed but not by whom. This table says who
 * replayed which, when, and what was sent — the same record `deadLetters.ts` keeps for the process layer's own.
 */
import type { BusDeadLetter, BusEvent } from '../../../platform/src/events/index.js';
import type { SqliteStore } from '../../../platform/src/index.js';
import type { DeadLetterAction, DeadLetterStatus } from './deadLetters.js';

/** An event dead letter as the process API shows it. */
export interface EventDeadLetterView {
  readonly id: string;
  readonly group: string;
  readonly eventId: string | null;
  readonly type: string | null;
  readonly reason: string;
  readonly deliveries: number;
  readonly deadLetteredAt: string;
  /** The event as JSON. */
  readonly event: string;
  readonly status: DeadLetterStatus;
  readonly replayedAt: string | null;
  readonly replayedBy: string | null;
}

const AUDIT_DDL = `
CREATE TABLE IF NOT EXISTS event_dead_letter_action (
  id INTEGER PRIMARY KEY,
  dead_letter_id TEXT NOT NULL,
  consumer_group TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('REPLAYED', 'REPLAYED_EDITED')),
  by TEXT NOT NULL,
  at TEXT NOT NULL,
  payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS event_dead_letter_action_letter ON event_dead_letter_action(dead_letter_id);
`;

export class EventDeadLetterAudit {
  constructor(
    private readonly sqlite: SqliteStore,
    private readonly iso: () => string,
  ) {
    sqlite.exec(AUDIT_DDL);
  }

  /** Records a replay the bus has made. */
  recordReplay(letter: BusDeadLetter, by: string, sent: BusEvent, edited: boolean): void {
    this.sqlite
      .prepare('INSERT INTO event_dead_letter_action (dead_letter_id, consumer_group, action, by, at, payload) VALUES (?, ?, ?, ?, ?, ?)')
      .run([letter.id, letter.group, edited ? 'REPLAYED_EDITED' : 'REPLAYED', by, letter.replayedAt ?? this.iso(), JSON.stringify(sent)]);
  }

  actions(id: string): DeadLetterAction[] {
    return this.sqlite.prepare<DeadLetterAction>('SELECT action, by, at FROM event_dead_letter_action WHERE dead_letter_id = ? ORDER BY id').all([id]);
  }

  /** Who replayed each of `ids` (the last replay recorded), by dead-letter ID. */
  replayedBy(ids: readonly string[]): Map<string, string> {
    const rows = this.sqlite
      .prepare<{ dead_letter_id: string; by: string }>(
        'SELECT dead_letter_id, by FROM event_dead_letter_action WHERE dead_letter_id IN (SELECT value FROM json_each(?)) ORDER BY id',
      )
      .all([JSON.stringify(ids)]);
    return new Map(rows.map((row) => [row.dead_letter_id, row.by]));
  }

  /** Forgets the audit of dead letters recorded before `before` (the retention trims the letters themselves). */
  trim(before: string): number {
    return this.sqlite.prepare('DELETE FROM event_dead_letter_action WHERE at < ?').run([before]).changes;
  }

  view(letter: BusDeadLetter, replayedBy: string | null): EventDeadLetterView {
    return {
      id: letter.id,
      group: letter.group,
      eventId: typeof letter.event.id === 'string' ? letter.event.id : null,
      type: typeof letter.event.type === 'string' ? letter.event.type : null,
      reason: letter.reason,
      deliveries: letter.deliveries,
      deadLetteredAt: letter.deadLetteredAt,
      event: JSON.stringify(letter.event),
      status: letter.replayedAt === null ? 'OPEN' : 'REPLAYED',
      replayedAt: letter.replayedAt,
      replayedBy,
    };
  }
}
