/** Incoming events the activation process could not accept (malformed, or breaking their contract), kept as received. */
import type { SqliteStore } from '../../../platform/src/index.js';
import type { DeadLetterRecord } from './activationRecords.js';

export class DeadLetters {
  constructor(
    private readonly sqlite: SqliteStore,
    private readonly iso: () => string,
  ) {}

  record(letter: Omit<DeadLetterRecord, 'receivedAt'>): void {
    this.sqlite
      .prepare('INSERT INTO dead_letter (event_id, type, reason, payload, received_at) VALUES (?, ?, ?, ?, ?)')
      .run([letter.eventId, letter.type, letter.reason, letter.payload, this.iso()]);
  }

  list(limit: number): DeadLetterRecord[] {
    return this.sqlite
      .prepare<{ event_id: string | null; type: string | null; reason: string; payload: string; received_at: string }>(
        'SELECT * FROM dead_letter ORDER BY id DESC LIMIT ?',
      )
      .all([limit])
      .map((row) => ({ eventId: row.event_id, type: row.type, reason: row.reason, payload: row.payload, receivedAt: row.received_at }));
  }
}
