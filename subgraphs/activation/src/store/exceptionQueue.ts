/**
 * The exception queue: one open exception per problem (seeing it again counts an occurrence), each saying what
 * is wrong, in which system and record, and closed when fixed at the source, retried, waived or cancelled.
 */
import { type PageRequest, type SearchResult, type SqliteStore, WhereBuilder, jsonList, searchPage } from '../../../platform/src/index.js';
import type { Region } from '../saga/activationPlan.js';
import type { SystemName } from '../saga/activationStates.js';
import type { ProblemInput } from '../saga/activationValidation.js';
import { type ExceptionRecord, type ExceptionSearch, type ExceptionStatus, newRecordId } from './activationRecords.js';

interface ExceptionRow {
  id: string;
  run_id: string;
  type: string;
  message: string;
  system: SystemName;
  record_type: string;
  record_id: string;
  field: string | null;
  region: Region | null;
  status: ExceptionStatus;
  occurrences: number;
  raised_at: string;
  resolved_at: string | null;
  resolution: string | null;
  resolution_note: string | null;
  /** Absent in a store opened before the journal added it. */
  assignee?: string | null;
}

const toException = (row: ExceptionRow): ExceptionRecord => ({
  id: row.id,
  runId: row.run_id,
  type: row.type,
  message: row.message,
  system: row.system,
  recordType: row.record_type,
  recordId: row.record_id,
  field: row.field,
  region: row.region,
  status: row.status,
  occurrences: row.occurrences,
  raisedAt: row.raised_at,
  resolvedAt: row.resolved_at,
  resolution: row.resolution,
  resolutionNote: row.resolution_note,
  assignee: row.assignee ?? null,
});

export class ExceptionQueue {
  constructor(
    private readonly sqlite: SqliteStore,
    private readonly iso: () => string,
  ) {}

  /**
   * Records the run's current validation problems: each one already open counts another occurrence, new ones
   * are opened, and open ones no longer found are resolved as fixed at the source. Call inside the transaction
   * that records the validation's outcome.
   */
  syncValidation(runId: string, region: Region | null, problems: readonly ProblemInput[]): { opened: ExceptionRecord[]; resolved: ExceptionRecord[] } {
    const now = this.iso();
    const open = this.list({ runId, statuses: ['OPEN'] }).filter((exception) => exception.system !== 'ACTIVATION');
    const key = (problem: { type: string; recordId: string; field: string | null }) => `${problem.type}|${problem.recordId}|${problem.field ?? ''}`;
    const stillFound = new Set(problems.map(key));
    const gone = open.filter((exception) => !stillFound.has(key(exception)));
    for (const exception of gone) {
      this.sqlite
        .prepare(`UPDATE integration_exception SET status = 'RESOLVED', resolved_at = ?, resolution = 'FIXED_AT_SOURCE', resolution_note = ? WHERE id = ?`)
        .run([now, 'No longer found when the run was validated again.', exception.id]);
    }
    const openKeys = new Map(open.map((exception) => [key(exception), exception]));
    const opened: ExceptionRecord[] = [];
    for (const problem of problems) {
      const existing = openKeys.get(key(problem));
      if (existing) {
        this.sqlite.prepare('UPDATE integration_exception SET occurrences = occurrences + 1, message = ? WHERE id = ?').run([problem.message, existing.id]);
      } else {
        opened.push(this.raise(runId, region, problem));
      }
    }
    const resolved = [...this.byIds(gone.map((exception) => exception.id)).values()];
    return { opened, resolved };
  }

  raise(runId: string, region: Region | null, problem: ProblemInput): ExceptionRecord {
    const id = newRecordId('exc');
    this.sqlite
      .prepare(
        `INSERT INTO integration_exception (id, run_id, type, message, system, record_type, record_id, field, region, status, raised_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'OPEN', ?)`,
      )
      .run([id, runId, problem.type, problem.message, problem.system, problem.recordType, problem.recordId, problem.field, region, this.iso()]);
    return this.byIds([id]).get(id)!;
  }

  close(ids: readonly string[], status: Exclude<ExceptionStatus, 'OPEN'>, resolution: string, note: string | null): void {
    this.sqlite
      .prepare(
        `UPDATE integration_exception SET status = ?, resolved_at = ?, resolution = ?, resolution_note = ? WHERE status = 'OPEN' AND id IN (SELECT value FROM json_each(?))`,
      )
      .run([status, this.iso(), resolution, note, jsonList(ids)]);
  }

  byIds(ids: readonly string[]): Map<string, ExceptionRecord> {
    return new Map(
      this.sqlite
        .prepare<ExceptionRow>('SELECT * FROM integration_exception WHERE id IN (SELECT value FROM json_each(?))')
        .all([jsonList(ids)])
        .map((row) => [row.id, toException(row)]),
    );
  }

  byRunIds(runIds: readonly string[]): Map<string, ExceptionRecord[]> {
    const map = new Map<string, ExceptionRecord[]>();
    for (const row of this.sqlite
      .prepare<ExceptionRow>('SELECT * FROM integration_exception WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, raised_at, id')
      .all([jsonList(runIds)])) {
      const list = map.get(row.run_id) ?? [];
      list.push(toException(row));
      map.set(row.run_id, list);
    }
    return map;
  }

  list(search: ExceptionSearch): ExceptionRecord[] {
    const where = exceptionWhere(search);
    return this.sqlite.prepare<ExceptionRow>(`SELECT * FROM integration_exception ${where} ORDER BY raised_at, id`).all(where.params).map(toException);
  }

  search(search: ExceptionSearch, page: PageRequest): SearchResult<ExceptionRecord> {
    return searchPage<ExceptionRow, ExceptionRecord>(
      this.sqlite,
      { from: 'integration_exception', where: exceptionWhere(search), orderBy: 'raised_at DESC, id DESC' },
      page,
      toException,
    );
  }

  /** Exceptions counted by type, region and owning system (one grouped statement). */
  counts(statuses: readonly string[]): Array<{ type: string; region: Region | null; system: SystemName; count: number }> {
    return this.sqlite
      .prepare<{ type: string; region: Region | null; system: SystemName; count: number }>(
        `SELECT type, region, system, COUNT(*) AS count FROM integration_exception WHERE status IN (SELECT value FROM json_each(?))
         GROUP BY type, region, system ORDER BY count DESC, type, region`,
      )
      .all([jsonList(statuses)]);
  }

  /** Run IDs that had at least one exception (the complement is the touchless share). */
  runIdsWithExceptions(runIds: readonly string[]): Set<string> {
    return new Set(
      this.sqlite
        .prepare<{ run_id: string }>('SELECT DISTINCT run_id FROM integration_exception WHERE run_id IN (SELECT value FROM json_each(?))')
        .all([jsonList(runIds)])
        .map((row) => row.run_id),
    );
  }
}

function exceptionWhere(search: ExceptionSearch): WhereBuilder {
  return new WhereBuilder()
    .add('status IN (SELECT value FROM json_each(:statuses))', 'statuses', search.statuses)
    .add('type IN (SELECT value FROM json_each(:types))', 'types', search.types)
    .add('region IN (SELECT value FROM json_each(:regions))', 'regions', search.regions)
    .add('system IN (SELECT value FROM json_each(:systems))', 'systems', search.systems)
    .add('run_id = :runId', 'runId', search.runId);
}
