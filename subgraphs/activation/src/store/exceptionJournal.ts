/**
 * What operators do with integration exceptions — assign, note, retry, waive — recorded with who and when, so the
 * queue says who owns a problem and what was tried. The assignee is kept on the exception itself (the queue's
 * rows carry it); every action is a row of its history.
 */
import { type SqliteStore, hasColumn, jsonList } from '../../../platform/src/index.js';

export type ExceptionAction = 'ASSIGNED' | 'UNASSIGNED' | 'NOTED' | 'RETRIED' | 'WAIVED';

export interface ExceptionHistoryEntry {
  readonly action: ExceptionAction;
  readonly by: string;
  readonly at: string;
  readonly detail: string | null;
}

const JOURNAL_DDL = `
CREATE TABLE IF NOT EXISTS integration_exception_action (
  id INTEGER PRIMARY KEY,
  exception_id TEXT NOT NULL REFERENCES integration_exception(id),
  action TEXT NOT NULL CHECK (action IN ('ASSIGNED', 'UNASSIGNED', 'NOTED', 'RETRIED', 'WAIVED')),
  by TEXT NOT NULL,
  at TEXT NOT NULL,
  detail TEXT);
CREATE INDEX IF NOT EXISTS integration_exception_action_exception ON integration_exception_action(exception_id, id);
`;

export class ExceptionJournal {
  constructor(
    private readonly sqlite: SqliteStore,
    private readonly iso: () => string,
  ) {
    sqlite.transaction(() => {
      // Stores from before assignment: nobody is assigned.
      if (!hasColumn(sqlite, 'integration_exception', 'assignee')) sqlite.exec('ALTER TABLE integration_exception ADD COLUMN assignee TEXT');
      sqlite.exec(JOURNAL_DDL);
    });
  }

  /** Sets (or, with null, clears) the exception's assignee and records it, in one transaction. */
  assign(exceptionId: string, assignee: string | null, by: string): void {
    this.sqlite.transaction(() => {
      this.sqlite.prepare('UPDATE integration_exception SET assignee = ? WHERE id = ?').run([assignee, exceptionId]);
      this.record(exceptionId, assignee === null ? 'UNASSIGNED' : 'ASSIGNED', by, assignee);
    });
  }

  record(exceptionId: string, action: ExceptionAction, by: string, detail: string | null): void {
    this.sqlite
      .prepare('INSERT INTO integration_exception_action (exception_id, action, by, at, detail) VALUES (?, ?, ?, ?, ?)')
      .run([exceptionId, action, by, this.iso(), detail]);
  }

  /** The history of each exception, oldest first (one statement for a page of exceptions). */
  historyByExceptionIds(exceptionIds: readonly string[]): Map<string, ExceptionHistoryEntry[]> {
    const map = new Map<string, ExceptionHistoryEntry[]>();
    for (const row of this.sqlite
      .prepare<ExceptionHistoryEntry & { exception_id: string }>(
        'SELECT exception_id, action, by, at, detail FROM integration_exception_action WHERE exception_id IN (SELECT value FROM json_each(?)) ORDER BY id',
      )
      .all([jsonList(exceptionIds)])) {
      const { exception_id: exceptionId, ...entry } = row;
      const list = map.get(exceptionId) ?? [];
      list.push(entry);
      map.set(exceptionId, list);
    }
    return map;
  }
}
