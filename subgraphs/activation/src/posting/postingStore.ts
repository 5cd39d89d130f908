/**
 * The posting process's own records, in the process layer's store: each approved delivery line it has taken in
 * (keyed by its source record and version, so a duplicate or replayed event adds nothing) with where it stands,
 * and the billing exceptions that hold lines back. Every change and the events it means go in one transaction
 * with the outbox, so a crash leaves the state before or after it, never between.
 */
import { appendToOutbox, newEvent } from '../../../platform/src/events/index.js';
import { type PageRequest, type SearchResult, type SqliteStore, WhereBuilder, columnsOf, jsonList, searchPage } from '../../../platform/src/index.js';
import { sqlList } from '../store/activationSchema.js';
import { newRecordId } from '../store/activationRecords.js';
import { BILLING_EXCEPTION_TYPES, type BillingExceptionType, type DeliveryKind, type DeliveryLine, type Problem } from './postingChecks.js';

export const LINE_STATUSES = ['PENDING', 'POSTED', 'EXCEPTION', 'REVERSED', 'WITHDRAWN'] as const;
export type LineStatus = (typeof LINE_STATUSES)[number];
export type BillingExceptionStatus = 'OPEN' | 'RESOLVED' | 'WAIVED';

export const POSTING_DDL = `
CREATE TABLE IF NOT EXISTS delivery_line (
  source_key TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('TIME', 'EXPENSE', 'MILESTONE')),
  record_id TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version > 0),
  parent_id TEXT,
  project_id TEXT NOT NULL,
  line TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ${sqlList(LINE_STATUSES)}),
  event_id TEXT NOT NULL,
  approved_at TEXT NOT NULL,
  posted_at TEXT,
  updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS delivery_line_parent ON delivery_line(kind, parent_id, version);
CREATE INDEX IF NOT EXISTS delivery_line_record ON delivery_line(kind, record_id, version);
CREATE INDEX IF NOT EXISTS delivery_line_status ON delivery_line(status, approved_at);
CREATE INDEX IF NOT EXISTS delivery_line_project ON delivery_line(project_id, status);
CREATE TABLE IF NOT EXISTS billing_exception (
  id TEXT PRIMARY KEY,
  source_key TEXT NOT NULL REFERENCES delivery_line(source_key),
  type TEXT NOT NULL CHECK (type IN ${sqlList(BILLING_EXCEPTION_TYPES)}),
  status TEXT NOT NULL CHECK (status IN ('OPEN', 'RESOLVED', 'WAIVED')),
  project_id TEXT NOT NULL,
  region TEXT,
  owner_system TEXT NOT NULL,
  owner_team TEXT NOT NULL,
  entity_type TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  field TEXT NOT NULL,
  expected TEXT,
  actual TEXT,
  message TEXT NOT NULL,
  resolution TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 1,
  detected_at TEXT NOT NULL,
  resolved_at TEXT,
  resolved_by TEXT,
  note TEXT);
-- One open exception per line and problem: seeing it again on a retry counts an attempt.
CREATE UNIQUE INDEX IF NOT EXISTS billing_exception_open ON billing_exception(source_key, type) WHERE status = 'OPEN';
CREATE INDEX IF NOT EXISTS billing_exception_status ON billing_exception(status, detected_at);
CREATE INDEX IF NOT EXISTS billing_exception_project ON billing_exception(project_id, status);
CREATE INDEX IF NOT EXISTS billing_exception_line ON billing_exception(source_key, status);
-- An approval withdrawn by a correction: its lines, should its approval event arrive late, are taken in withdrawn.
CREATE TABLE IF NOT EXISTS withdrawn_approval (
  kind TEXT NOT NULL,
  record_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  reason TEXT NOT NULL,
  withdrawn_at TEXT NOT NULL,
  PRIMARY KEY (kind, record_id, version)) WITHOUT ROWID;
`;

export interface LineRecord {
  readonly line: DeliveryLine;
  readonly status: LineStatus;
  readonly eventId: string;
  readonly postedAt: string | null;
  readonly updatedAt: string;
}

export interface BillingExceptionRecord extends Problem {
  readonly id: string;
  readonly sourceKey: string;
  readonly status: BillingExceptionStatus;
  readonly projectId: string;
  /** The region of the project's legal entity in ERP, when ERP knows the project. */
  readonly region: string | null;
  readonly attempts: number;
  readonly detectedAt: string;
  readonly resolvedAt: string | null;
  readonly resolvedBy: string | null;
  readonly note: string | null;
}

export interface BillingExceptionSearch {
  readonly statuses?: readonly BillingExceptionStatus[] | null;
  readonly types?: readonly BillingExceptionType[] | null;
  readonly regions?: readonly string[] | null;
  readonly projectId?: string | null;
  readonly ownerTeam?: string | null;
  readonly ownerSystem?: string | null;
}

interface LineRow {
  source_key: string;
  line: string;
  status: LineStatus;
  event_id: string;
  posted_at: string | null;
  updated_at: string;
}

interface ExceptionRow {
  id: string;
  source_key: string;
  type: BillingExceptionType;
  status: BillingExceptionStatus;
  project_id: string;
  region: string | null;
  owner_system: Problem['ownerSystem'];
  owner_team: string;
  entity_type: Problem['entityType'];
  entity_id: string;
  field: string;
  expected: string | null;
  actual: string | null;
  message: string;
  resolution: string;
  attempts: number;
  detected_at: string;
  resolved_at: string | null;
  resolved_by: string | null;
  note: string | null;
}

const toLine = (row: LineRow): LineRecord => ({
  line: JSON.parse(row.line) as DeliveryLine,
  status: row.status,
  eventId: row.event_id,
  postedAt: row.posted_at,
  updatedAt: row.updated_at,
});

const toException = (row: ExceptionRow): BillingExceptionRecord => ({
  id: row.id,
  sourceKey: row.source_key,
  type: row.type,
  status: row.status,
  projectId: row.project_id,
  region: row.region,
  ownerSystem: row.owner_system,
  ownerTeam: row.owner_team,
  entityType: row.entity_type,
  entityId: row.entity_id,
  field: row.field,
  expected: row.expected,
  actual: row.actual,
  message: row.message,
  resolution: row.resolution,
  attempts: row.attempts,
  detectedAt: row.detected_at,
  resolvedAt: row.resolved_at,
  resolvedBy: row.resolved_by,
  note: row.note,
});

/**
 * A store made before a billing exception type was added refuses it (SQLite cannot alter a CHECK constraint): the
 * table is rebuilt under the current definition with every row kept.
 */
function widenExceptionTypes(sqlite: SqliteStore): void {
  const table = sqlite.prepare<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'billing_exception'").get([]);
  if (!table || BILLING_EXCEPTION_TYPES.every((type) => table.sql.includes(`'${type}'`))) return;
  const columns = columnsOf(sqlite, 'billing_exception');
  sqlite.exec('ALTER TABLE billing_exception RENAME TO billing_exception_before');
  // Its indexes went with it under their names: drop them so the DDL makes them on the new table.
  for (const index of sqlite.db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'billing_exception_before' AND sql IS NOT NULL")
    .pluck()
    .all() as string[])
    sqlite.exec(`DROP INDEX ${index}`);
  sqlite.exec(POSTING_DDL);
  const kept = columns.join(', ');
  sqlite.exec(`INSERT INTO billing_exception (${kept}) SELECT ${kept} FROM billing_exception_before; DROP TABLE billing_exception_before;`);
}

export class PostingStore {
  constructor(
    readonly sqlite: SqliteStore,
    private readonly iso: () => string,
  ) {
    sqlite.transaction(() => {
      widenExceptionTypes(sqlite);
      sqlite.exec(POSTING_DDL);
    });
  }

  /**
   * Takes lines in as PENDING — or WITHDRAWN when a correction of their approval arrived first; a line already known
   * (same record and version) is left as it is. Returns the new ones.
   */
  admit(lines: readonly DeliveryLine[], eventId: string): DeliveryLine[] {
    const now = this.iso();
    const insert = this.sqlite.prepare(
      `INSERT OR IGNORE INTO delivery_line (source_key, kind, record_id, version, parent_id, project_id, line, status, event_id, approved_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const withdrawn = this.sqlite.prepare('SELECT 1 FROM withdrawn_approval WHERE kind = ? AND record_id = ? AND version = ?');
    return lines.filter((line) => {
      const status: LineStatus = withdrawn.get([line.kind, line.parentId ?? line.recordId, line.version]) ? 'WITHDRAWN' : 'PENDING';
      const row = [
        line.sourceKey,
        line.kind,
        line.recordId,
        line.version,
        line.parentId,
        line.projectId,
        JSON.stringify(line),
        status,
        eventId,
        line.approvedAt,
        now,
      ];
      return insert.run(row).changes === 1;
    });
  }

  lines(sourceKeys: readonly string[]): LineRecord[] {
    return this.sqlite
      .prepare<LineRow>('SELECT * FROM delivery_line WHERE source_key IN (SELECT value FROM json_each(?)) ORDER BY source_key')
      .all([jsonList(sourceKeys)])
      .map(toLine);
  }

  /** The lines of one approval of a timesheet (or of an expense or milestone, by its own ID). */
  linesOfApproval(kind: DeliveryKind, id: string, version: number): LineRecord[] {
    const column = kind === 'TIME' ? 'parent_id' : 'record_id';
    return this.sqlite
      .prepare<LineRow>(`SELECT * FROM delivery_line WHERE kind = ? AND ${column} = ? AND version = ? ORDER BY source_key`)
      .all([kind, id, version])
      .map(toLine);
  }

  /** Every line of a project, in key order. */
  linesOfProject(projectId: string): LineRecord[] {
    return this.sqlite.prepare<LineRow>('SELECT * FROM delivery_line WHERE project_id = ? ORDER BY source_key').all([projectId]).map(toLine);
  }

  /** The day (`YYYY-MM-DD`) of the earliest approval the process took in, or null before any. */
  firstApprovalDate(): string | null {
    return this.sqlite.prepare<{ first: string | null }>('SELECT substr(MIN(approved_at), 1, 10) AS first FROM delivery_line').get()!.first;
  }

  /** Lines waiting to post (new, or held by exceptions), oldest approval first. */
  waiting(limit: number): LineRecord[] {
    return this.sqlite
      .prepare<LineRow>("SELECT * FROM delivery_line WHERE status IN ('PENDING', 'EXCEPTION') ORDER BY approved_at, source_key LIMIT ?")
      .all([limit])
      .map(toLine);
  }

  countsByStatus(projectId?: string): Map<LineStatus, number> {
    const rows = this.sqlite
      .prepare<{ status: LineStatus; n: number }>(`SELECT status, COUNT(*) AS n FROM delivery_line ${projectId ? 'WHERE project_id = ?' : ''} GROUP BY status`)
      .all(projectId ? [projectId] : []);
    return new Map(rows.map((row) => [row.status, row.n]));
  }

  /**
   * The health of posting for lines approved in a window (ISO instants, either end open; optionally one project):
   * lines by status, how many were ever held back, each posted line's approval-to-ERP time in seconds, and the
   * open exceptions by type.
   */
  figures(window: { from: string | null; to: string | null; projectId: string | null }) {
    const inWindow = () =>
      new WhereBuilder()
        .add('l.approved_at >= :from', 'from', window.from)
        .add('l.approved_at <= :to', 'to', window.to)
        .add('l.project_id = :projectId', 'projectId', window.projectId);
    const where = inWindow();
    const byStatus = new Map(
      this.sqlite
        .prepare<{ status: LineStatus; n: number }>(`SELECT l.status, COUNT(*) AS n FROM delivery_line l ${where} GROUP BY l.status`)
        .all(where.params)
        .map((row) => [row.status, row.n]),
    );
    const held = inWindow().raw('EXISTS (SELECT 1 FROM billing_exception e WHERE e.source_key = l.source_key)', true);
    const everHeldBack = this.sqlite.prepare<{ n: number }>(`SELECT COUNT(*) AS n FROM delivery_line l ${held}`).get(held.params)!.n;
    const posted = inWindow().raw('l.posted_at IS NOT NULL', true);
    const latencies = this.sqlite
      .prepare<{ seconds: number }>(`SELECT (julianday(l.posted_at) - julianday(l.approved_at)) * 86400.0 AS seconds FROM delivery_line l ${posted}`)
      .all(posted.params)
      .map((row) => Math.max(0, row.seconds));
    const openByType = this.sqlite
      .prepare<{ type: BillingExceptionType; n: number }>(
        `SELECT type, COUNT(*) AS n FROM billing_exception WHERE status = 'OPEN' ${window.projectId ? 'AND project_id = :projectId' : ''} GROUP BY type ORDER BY n DESC, type`,
      )
      .all(window.projectId ? { projectId: window.projectId } : {});
    return { byStatus, everHeldBack, latencies, openByType };
  }

  /** Lines approved before `approvedBefore` and still not in ERP (pending or held back), oldest first: the stuck list. */
  stuck(approvedBefore: string, limit: number): LineRecord[] {
    return this.sqlite
      .prepare<LineRow>("SELECT * FROM delivery_line WHERE status IN ('PENDING', 'EXCEPTION') AND approved_at < ? ORDER BY approved_at, source_key LIMIT ?")
      .all([approvedBefore, limit])
      .map(toLine);
  }

  /** The waived problem types of a line: those are not checked again (the line posts as it is). */
  waivedTypes(sourceKey: string): Set<BillingExceptionType> {
    return new Set(
      this.sqlite
        .prepare<{ type: BillingExceptionType }>("SELECT DISTINCT type FROM billing_exception WHERE source_key = ? AND status = 'WAIVED'")
        .all([sourceKey])
        .map((row) => row.type),
    );
  }

  /**
   * Records a line's problems: each already open counts an attempt, new ones open (billing_exception.raised), open
   * ones no longer found resolve as fixed at the source (billing_exception.resolved). The line is EXCEPTION.
   */
  holdBack(line: DeliveryLine, problems: readonly Problem[], region: string | null): void {
    const now = this.iso();
    const open = this.exceptionsOfLine(line.sourceKey, ['OPEN']);
    const found = new Set(problems.map((problem) => problem.type));
    for (const exception of open.filter((candidate) => !found.has(candidate.type)))
      this.close(exception, 'RESOLVED', 'No longer found when the line was checked again.', null, now);
    const openTypes = new Map(open.map((exception) => [exception.type, exception]));
    for (const problem of problems) {
      const existing = openTypes.get(problem.type);
      if (existing) {
        this.sqlite
          .prepare('UPDATE billing_exception SET attempts = attempts + 1, expected = ?, actual = ?, message = ? WHERE id = ?')
          .run([problem.expected, problem.actual, problem.message, existing.id]);
        continue;
      }
      const id = newRecordId('exc').replace(/^exc_/, 'bex_');
      this.sqlite
        .prepare(
          `INSERT INTO billing_exception (id, source_key, type, status, project_id, region, owner_system, owner_team, entity_type, entity_id, field, expected,
             actual, message, resolution, detected_at) VALUES (?, ?, ?, 'OPEN', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run([
          id,
          line.sourceKey,
          problem.type,
          line.projectId,
          region,
          problem.ownerSystem,
          problem.ownerTeam,
          problem.entityType,
          problem.entityId,
          problem.field,
          problem.expected,
          problem.actual,
          problem.message,
          problem.resolution,
          now,
        ]);
      appendToOutbox(
        this.sqlite,
        newEvent('billing_exception.raised', {
          source: 'activation',
          subject: id,
          data: {
            exceptionId: id,
            type: problem.type,
            projectId: line.projectId,
            entityType: problem.entityType,
            entityId: problem.entityId,
            sourceKey: line.sourceKey,
            ownerSystem: problem.ownerSystem,
            ownerTeam: problem.ownerTeam,
            field: problem.field,
            expected: problem.expected,
            actual: problem.actual,
            region,
            detectedAt: now,
          },
        }),
      );
    }
    this.setStatus(line.sourceKey, 'EXCEPTION', now);
  }

  /** Marks lines posted, resolving what held them back (their causes fixed), and announces each approval's posting. */
  markPosted(posted: readonly DeliveryLine[]): void {
    const now = this.iso();
    // Only lines not marked yet (a retry racing the consumer may post the same line twice in ERP, where it is one).
    const current = new Map(this.lines(posted.map((line) => line.sourceKey)).map((record) => [record.line.sourceKey, record.status]));
    const lines = posted.filter((line) => current.get(line.sourceKey) === 'PENDING' || current.get(line.sourceKey) === 'EXCEPTION');
    for (const line of lines) {
      for (const exception of this.exceptionsOfLine(line.sourceKey, ['OPEN']))
        this.close(exception, 'RESOLVED', 'Posted after the cause was fixed.', null, now);
      this.sqlite.prepare("UPDATE delivery_line SET status = 'POSTED', posted_at = ?, updated_at = ? WHERE source_key = ?").run([now, now, line.sourceKey]);
    }
    const byApproval = new Map<string, DeliveryLine[]>();
    for (const line of lines) {
      const key = `${line.kind}|${line.parentId ?? line.recordId}|${line.version}`;
      byApproval.set(key, [...(byApproval.get(key) ?? []), line]);
    }
    for (const group of byApproval.values()) {
      const first = group[0]!;
      appendToOutbox(
        this.sqlite,
        newEvent('delivery.posted_to_erp', {
          source: 'activation',
          subject: first.parentId ?? first.recordId,
          data: {
            kind: first.kind,
            recordId: first.parentId ?? first.recordId,
            version: first.version,
            projectId: first.projectId,
            sourceKeys: group.map((line) => line.sourceKey),
            approvedAt: group.reduce((earliest, line) => (line.approvedAt < earliest ? line.approvedAt : earliest), first.approvedAt),
            postedAt: now,
          },
        }),
      );
    }
  }

  /**
   * A correction withdrew an approval: its posted lines are REVERSED (ERP reversed them), the rest WITHDRAWN with their
   * exceptions closed, and the approval is remembered, so that its lines arriving later are taken in withdrawn.
   */
  withdraw(approval: { kind: DeliveryKind; id: string; version: number }, records: readonly LineRecord[], reason: string): void {
    const now = this.iso();
    this.sqlite
      .prepare('INSERT OR IGNORE INTO withdrawn_approval (kind, record_id, version, reason, withdrawn_at) VALUES (?, ?, ?, ?, ?)')
      .run([approval.kind, approval.id, approval.version, reason, now]);
    for (const record of records) {
      if (record.status === 'REVERSED' || record.status === 'WITHDRAWN') continue;
      for (const exception of this.exceptionsOfLine(record.line.sourceKey, ['OPEN'])) this.close(exception, 'RESOLVED', `Withdrawn: ${reason}`, null, now);
      this.setStatus(record.line.sourceKey, record.status === 'POSTED' ? 'REVERSED' : 'WITHDRAWN', now);
    }
  }

  exceptionsById(ids: readonly string[]): Map<string, BillingExceptionRecord> {
    const rows = this.sqlite.prepare<ExceptionRow>('SELECT * FROM billing_exception WHERE id IN (SELECT value FROM json_each(?))').all([jsonList(ids)]);
    return new Map(rows.map((row) => [row.id, toException(row)]));
  }

  exceptionsOfLine(sourceKey: string, statuses: readonly BillingExceptionStatus[]): BillingExceptionRecord[] {
    return this.sqlite
      .prepare<ExceptionRow>('SELECT * FROM billing_exception WHERE source_key = ? AND status IN (SELECT value FROM json_each(?)) ORDER BY detected_at, id')
      .all([sourceKey, jsonList(statuses)])
      .map(toException);
  }

  /** Newest first. */
  searchExceptions(search: BillingExceptionSearch, page: PageRequest): SearchResult<BillingExceptionRecord> {
    const where = new WhereBuilder()
      .add('status IN (SELECT value FROM json_each(:statuses))', 'statuses', search.statuses)
      .add('type IN (SELECT value FROM json_each(:types))', 'types', search.types)
      .add('region IN (SELECT value FROM json_each(:regions))', 'regions', search.regions)
      .add('project_id = :projectId', 'projectId', search.projectId)
      .add('owner_team = :ownerTeam', 'ownerTeam', search.ownerTeam)
      .add('owner_system = :ownerSystem', 'ownerSystem', search.ownerSystem);
    return searchPage<ExceptionRow, BillingExceptionRecord>(
      this.sqlite,
      { from: 'billing_exception', where, orderBy: 'detected_at DESC, id DESC' },
      page,
      toException,
    );
  }

  /** Waives an open exception: its problem is accepted and no longer checked on its line. */
  waive(exception: BillingExceptionRecord, note: string, by: string): void {
    this.close(exception, 'WAIVED', note, by, this.iso());
  }

  private close(exception: BillingExceptionRecord, status: 'RESOLVED' | 'WAIVED', note: string, by: string | null, now: string): void {
    this.sqlite
      .prepare("UPDATE billing_exception SET status = ?, resolved_at = ?, resolved_by = ?, note = ? WHERE id = ? AND status = 'OPEN'")
      .run([status, now, by, note, exception.id]);
    appendToOutbox(
      this.sqlite,
      newEvent('billing_exception.resolved', {
        source: 'activation',
        subject: exception.id,
        data: {
          exceptionId: exception.id,
          type: exception.type,
          projectId: exception.projectId,
          ownerSystem: exception.ownerSystem,
          ownerTeam: exception.ownerTeam,
          region: exception.region,
          resolution: status,
          note,
          resolvedAt: now,
        },
      }),
    );
  }

  private setStatus(sourceKey: string, status: LineStatus, now: string): void {
    this.sqlite.prepare('UPDATE delivery_line SET status = ?, updated_at = ? WHERE source_key = ?').run([status, now, sourceKey]);
  }
}
