/**
 * The activation subgraph's own store (SQLite): runs, their step log and status history, idempotency keys, the
 * ID cross-reference, the exception queue, dead letters and the outbox of events to publish. Every change a
 * saga step makes here is one transaction, so a crash leaves either the state before it or the state after it,
 * never half of each; the events a change produces are in the same transaction (outbox), so they are published
 * exactly when the change is committed.
 *
 * The one-run-per-deal rule lives in the schema: a partial UNIQUE index on the opportunity over every status
 * but COMPENSATED and CANCELLED. However many mutations and events race, across however many processes, the
 * database lets one of them create the run and the others find it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type BusEvent, OUTBOX_DDL, appendToOutbox, newEvent, newEventId } from '../../../shared/src/events/index.js';
import { type PageRequest, SqliteStore, WhereBuilder, canonicalProjectId, inputError, jsonList, searchPage } from '../../../shared/src/index.js';
import type { SearchResult } from '../../../shared/src/index.js';
import {
  RELEASED_STATUSES,
  RUN_STATUSES,
  STEP_NAMES,
  type RunStatus,
  type StepName,
  type StepStatus,
  type SystemName,
  assertTransition,
} from '../saga/activationStates.js';
import type { ActivationPlan } from '../saga/activationPlan.js';

const sqlList = (values: readonly string[]) => `(${values.map((value) => `'${value}'`).join(', ')})`;

const DDL = `
CREATE TABLE IF NOT EXISTS activation_run (
  id TEXT PRIMARY KEY,
  opportunity_id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ${sqlList(RUN_STATUSES)}),
  trigger TEXT NOT NULL CHECK (trigger IN ('MUTATION', 'EVENT')),
  region TEXT,
  plan TEXT,
  cause TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  requested_at TEXT NOT NULL,
  closed_won_at TEXT,
  activated_at TEXT,
  finished_at TEXT,
  updated_at TEXT NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER);
-- One deal, one run that is in flight, parked or succeeded: so one deal can never yield two projects.
CREATE UNIQUE INDEX IF NOT EXISTS activation_run_one_per_opportunity ON activation_run(opportunity_id)
  WHERE status NOT IN ${sqlList(RELEASED_STATUSES)};
CREATE INDEX IF NOT EXISTS activation_run_status ON activation_run(status, lease_until);
CREATE INDEX IF NOT EXISTS activation_run_opportunity ON activation_run(opportunity_id, requested_at);
CREATE INDEX IF NOT EXISTS activation_run_project ON activation_run(project_id, requested_at);
CREATE INDEX IF NOT EXISTS activation_run_requested ON activation_run(requested_at, id);
CREATE TABLE IF NOT EXISTS activation_step (
  run_id TEXT NOT NULL REFERENCES activation_run(id),
  sequence INTEGER NOT NULL,
  name TEXT NOT NULL CHECK (name IN ${sqlList(STEP_NAMES)}),
  status TEXT NOT NULL DEFAULT 'PENDING',
  attempts INTEGER NOT NULL DEFAULT 0,
  compensation_attempts INTEGER NOT NULL DEFAULT 0,
  started_at TEXT,
  finished_at TEXT,
  error TEXT,
  output TEXT,
  PRIMARY KEY (run_id, sequence)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS activation_transition (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES activation_run(id),
  from_status TEXT,
  to_status TEXT NOT NULL,
  at TEXT NOT NULL,
  reason TEXT);
CREATE INDEX IF NOT EXISTS activation_transition_run ON activation_transition(run_id, id);
-- A client's key names one request: repeating it returns the same run; reusing it for another deal is refused.
CREATE TABLE IF NOT EXISTS idempotency_key (
  key TEXT PRIMARY KEY,
  opportunity_id TEXT NOT NULL,
  run_id TEXT NOT NULL REFERENCES activation_run(id),
  created_at TEXT NOT NULL);
-- The canonical project ID of a deal, minted once and reused by every run of that deal, and its IDs elsewhere.
CREATE TABLE IF NOT EXISTS project_xref (
  project_id TEXT PRIMARY KEY,
  opportunity_id TEXT NOT NULL UNIQUE,
  account_id TEXT,
  erp_customer_id TEXT,
  erp_project_id TEXT,
  erp_project_code TEXT,
  billing_schedule_id TEXT,
  psa_project_id TEXT,
  updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS integration_exception (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES activation_run(id),
  type TEXT NOT NULL,
  message TEXT NOT NULL,
  system TEXT NOT NULL CHECK (system IN ('CRM', 'ERP', 'PSA', 'ACTIVATION')),
  record_type TEXT NOT NULL,
  record_id TEXT NOT NULL,
  field TEXT,
  region TEXT,
  status TEXT NOT NULL CHECK (status IN ('OPEN', 'RESOLVED', 'WAIVED', 'CANCELLED')),
  occurrences INTEGER NOT NULL DEFAULT 1,
  raised_at TEXT NOT NULL,
  resolved_at TEXT,
  resolution TEXT,
  resolution_note TEXT);
-- One open exception per problem: seeing the same problem again counts an occurrence instead of a duplicate.
CREATE UNIQUE INDEX IF NOT EXISTS integration_exception_open_problem ON integration_exception(run_id, type, record_id, COALESCE(field, ''))
  WHERE status = 'OPEN';
CREATE INDEX IF NOT EXISTS integration_exception_status ON integration_exception(status, type, region);
CREATE INDEX IF NOT EXISTS integration_exception_run ON integration_exception(run_id);
CREATE TABLE IF NOT EXISTS closed_won_seen (
  opportunity_id TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  occurred_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letter (
  id INTEGER PRIMARY KEY,
  event_id TEXT,
  type TEXT,
  reason TEXT NOT NULL,
  payload TEXT NOT NULL,
  received_at TEXT NOT NULL);
`;

export type RunTrigger = 'MUTATION' | 'EVENT';
export type ExceptionStatus = 'OPEN' | 'RESOLVED' | 'WAIVED' | 'CANCELLED';

export interface ActivationRunRecord {
  readonly id: string;
  readonly opportunityId: string;
  readonly projectId: string;
  readonly status: RunStatus;
  readonly trigger: RunTrigger;
  readonly region: string | null;
  readonly plan: ActivationPlan | null;
  readonly cause: string | null;
  readonly cancelRequested: boolean;
  readonly requestedAt: string;
  readonly closedWonAt: string | null;
  readonly activatedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string;
}

export interface StepRecord {
  readonly runId: string;
  readonly sequence: number;
  readonly name: StepName;
  readonly status: StepStatus;
  readonly attempts: number;
  readonly compensationAttempts: number;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly error: string | null;
  readonly output: Record<string, unknown> | null;
}

export interface TransitionRecord {
  readonly runId: string;
  readonly from: RunStatus | null;
  readonly to: RunStatus;
  readonly at: string;
  readonly reason: string | null;
}

export interface ProjectXref {
  readonly projectId: string;
  readonly opportunityId: string;
  readonly accountId: string | null;
  readonly erpCustomerId: string | null;
  readonly erpProjectId: string | null;
  readonly erpProjectCode: string | null;
  readonly billingScheduleId: string | null;
  readonly psaProjectId: string | null;
}

export interface ExceptionRecord {
  readonly id: string;
  readonly runId: string;
  readonly type: string;
  readonly message: string;
  readonly system: SystemName;
  readonly recordType: string;
  readonly recordId: string;
  readonly field: string | null;
  readonly region: string | null;
  readonly status: ExceptionStatus;
  readonly occurrences: number;
  readonly raisedAt: string;
  readonly resolvedAt: string | null;
  readonly resolution: string | null;
  readonly resolutionNote: string | null;
}

/** A problem to record as an exception (validation finds these; a failed compensation raises one too). */
export interface ProblemInput {
  readonly type: string;
  readonly message: string;
  readonly system: SystemName;
  readonly recordType: string;
  readonly recordId: string;
  readonly field: string | null;
}

export interface DeadLetterRecord {
  readonly eventId: string | null;
  readonly type: string | null;
  readonly reason: string;
  readonly payload: string;
  readonly receivedAt: string;
}

export interface RunSearch {
  readonly statuses?: readonly string[] | null;
  readonly opportunityId?: string | null;
  readonly region?: readonly string[] | null;
  readonly requestedFrom?: string | null;
  readonly requestedTo?: string | null;
}

export interface ExceptionSearch {
  readonly statuses?: readonly string[] | null;
  readonly types?: readonly string[] | null;
  readonly regions?: readonly string[] | null;
  readonly systems?: readonly string[] | null;
  readonly runId?: string | null;
}

/** What a transition also writes, in the same transaction. */
export interface TransitionChanges {
  readonly reason?: string;
  readonly cause?: string | null;
  readonly region?: string | null;
  readonly plan?: ActivationPlan;
  readonly activatedAt?: string;
  readonly events?: readonly BusEvent[];
}

interface RunRow {
  id: string;
  opportunity_id: string;
  project_id: string;
  status: RunStatus;
  trigger: RunTrigger;
  region: string | null;
  plan: string | null;
  cause: string | null;
  cancel_requested: number;
  requested_at: string;
  closed_won_at: string | null;
  activated_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

interface StepRow {
  run_id: string;
  sequence: number;
  name: StepName;
  status: StepStatus;
  attempts: number;
  compensation_attempts: number;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  output: string | null;
}

interface ExceptionRow {
  id: string;
  run_id: string;
  type: string;
  message: string;
  system: SystemName;
  record_type: string;
  record_id: string;
  field: string | null;
  region: string | null;
  status: ExceptionStatus;
  occurrences: number;
  raised_at: string;
  resolved_at: string | null;
  resolution: string | null;
  resolution_note: string | null;
}

const toRun = (row: RunRow): ActivationRunRecord => ({
  id: row.id,
  opportunityId: row.opportunity_id,
  projectId: row.project_id,
  status: row.status,
  trigger: row.trigger,
  region: row.region,
  plan: row.plan === null ? null : (JSON.parse(row.plan) as ActivationPlan),
  cause: row.cause,
  cancelRequested: row.cancel_requested === 1,
  requestedAt: row.requested_at,
  closedWonAt: row.closed_won_at,
  activatedAt: row.activated_at,
  finishedAt: row.finished_at,
  updatedAt: row.updated_at,
});

const toStep = (row: StepRow): StepRecord => ({
  runId: row.run_id,
  sequence: row.sequence,
  name: row.name,
  status: row.status,
  attempts: row.attempts,
  compensationAttempts: row.compensation_attempts,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  error: row.error,
  output: row.output === null ? null : (JSON.parse(row.output) as Record<string, unknown>),
});

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
});

const toXref = (row: Record<string, string | null>): ProjectXref => ({
  projectId: row['project_id']!,
  opportunityId: row['opportunity_id']!,
  accountId: row['account_id'] ?? null,
  erpCustomerId: row['erp_customer_id'] ?? null,
  erpProjectId: row['erp_project_id'] ?? null,
  erpProjectCode: row['erp_project_code'] ?? null,
  billingScheduleId: row['billing_schedule_id'] ?? null,
  psaProjectId: row['psa_project_id'] ?? null,
});

/** IDs of psgraph's own records: a prefix and a time-ordered ULID. */
function newId(prefix: 'act' | 'exc'): string {
  return `${prefix}_${newEventId().slice('evt_'.length)}`;
}

export class ActivationStore {
  readonly sqlite: SqliteStore;
  private readonly now: () => Date;

  constructor(file: string, options: { now?: () => Date } = {}) {
    mkdirSync(join(file, '..'), { recursive: true });
    this.sqlite = new SqliteStore(file);
    this.sqlite.exec(DDL);
    this.sqlite.exec(OUTBOX_DDL);
    this.now = options.now ?? (() => new Date());
  }

  get statementCount(): number {
    return this.sqlite.statementCount;
  }

  private iso(): string {
    return this.now().toISOString();
  }

  /**
   * Starts the deal's activation, or finds the one already under way (Temporal's USE_EXISTING conflict policy):
   * the idempotency key first (a repeated request), then the deal's run that holds it, else a new run with the
   * deal's canonical project ID (minted on its first run, reused by later ones).
   */
  startRun(
    input: { opportunityId: string; idempotencyKey: string; trigger: RunTrigger },
    eventsOfNewRun: (run: ActivationRunRecord) => readonly BusEvent[] = () => [],
  ): { run: ActivationRunRecord; created: boolean } {
    return this.sqlite.transaction(() => {
      const keyed = this.sqlite.prepare<{ opportunity_id: string; run_id: string }>('SELECT opportunity_id, run_id FROM idempotency_key WHERE key = ?').get([input.idempotencyKey]);
      if (keyed) {
        if (keyed.opportunity_id !== input.opportunityId) {
          throw inputError(ErrorCode.IDEMPOTENCY_KEY_REUSED, `Idempotency key "${input.idempotencyKey}" was used to activate opportunity ${keyed.opportunity_id}, not ${input.opportunityId}.`, {
            argument: 'input.idempotencyKey',
          });
        }
        return { run: this.requireRun(keyed.run_id), created: false };
      }
      const now = this.iso();
      const holding = this.sqlite
        .prepare<RunRow>(`SELECT * FROM activation_run WHERE opportunity_id = ? AND status NOT IN ${sqlList(RELEASED_STATUSES)}`)
        .get([input.opportunityId]);
      let run: ActivationRunRecord;
      let created = false;
      if (holding) {
        run = toRun(holding);
      } else {
        const projectId = this.projectIdOf(input.opportunityId, now);
        const id = newId('act');
        const seen = this.sqlite.prepare<{ occurred_at: string }>('SELECT occurred_at FROM closed_won_seen WHERE opportunity_id = ?').get([input.opportunityId]);
        this.sqlite
          .prepare(
            `INSERT INTO activation_run (id, opportunity_id, project_id, status, trigger, requested_at, closed_won_at, updated_at)
             VALUES (?, ?, ?, 'REQUESTED', ?, ?, ?, ?)`,
          )
          .run([id, input.opportunityId, projectId, input.trigger, now, seen?.occurred_at ?? null, now]);
        const insertStep = this.sqlite.prepare('INSERT INTO activation_step (run_id, sequence, name) VALUES (?, ?, ?)');
        STEP_NAMES.forEach((name, i) => insertStep.run([id, i + 1, name]));
        this.sqlite.prepare('INSERT INTO activation_transition (run_id, from_status, to_status, at, reason) VALUES (?, NULL, ?, ?, ?)').run([id, 'REQUESTED', now, `requested by ${input.trigger.toLowerCase()}`]);
        run = this.requireRun(id);
        created = true;
        for (const event of eventsOfNewRun(run)) appendToOutbox(this.sqlite, event);
      }
      this.sqlite.prepare('INSERT INTO idempotency_key (key, opportunity_id, run_id, created_at) VALUES (?, ?, ?, ?)').run([input.idempotencyKey, input.opportunityId, run.id, now]);
      return { run, created };
    });
  }

  private projectIdOf(opportunityId: string, now: string): string {
    const existing = this.sqlite.prepare<{ project_id: string }>('SELECT project_id FROM project_xref WHERE opportunity_id = ?').get([opportunityId]);
    if (existing) return existing.project_id;
    const projectId = canonicalProjectId(this.now().getTime(), Math.random);
    this.sqlite.prepare('INSERT INTO project_xref (project_id, opportunity_id, updated_at) VALUES (?, ?, ?)').run([projectId, opportunityId, now]);
    return projectId;
  }

  /** Remembers when the deal was won (the start of its cycle time), and stamps its run if one is open. */
  recordClosedWon(opportunityId: string, eventId: string, occurredAt: string): void {
    this.sqlite.transaction(() => {
      this.sqlite
        .prepare(
          `INSERT INTO closed_won_seen (opportunity_id, event_id, occurred_at) VALUES (?, ?, ?)
           ON CONFLICT (opportunity_id) DO UPDATE SET event_id = excluded.event_id, occurred_at = excluded.occurred_at
           WHERE excluded.occurred_at > closed_won_seen.occurred_at`,
        )
        .run([opportunityId, eventId, occurredAt]);
      this.sqlite
        .prepare(`UPDATE activation_run SET closed_won_at = ? WHERE opportunity_id = ? AND closed_won_at IS NULL AND status NOT IN ${sqlList(RELEASED_STATUSES)}`)
        .run([occurredAt, opportunityId]);
    });
  }

  getRun(id: string): ActivationRunRecord | null {
    const row = this.sqlite.prepare<RunRow>('SELECT * FROM activation_run WHERE id = ?').get([id]);
    return row ? toRun(row) : null;
  }

  requireRun(id: string): ActivationRunRecord {
    const run = this.getRun(id);
    if (!run) throw inputError(ErrorCode.NOT_FOUND, `Activation run ${id} does not exist.`);
    return run;
  }

  runsById(ids: readonly string[]): Map<string, ActivationRunRecord> {
    return new Map(this.sqlite.prepare<RunRow>('SELECT * FROM activation_run WHERE id IN (SELECT value FROM json_each(?))').all([jsonList(ids)]).map((row) => [row.id, toRun(row)]));
  }

  /** Each project's activation: the run that holds its deal, else its latest run. */
  runsByProjectId(projectIds: readonly string[]): Map<string, ActivationRunRecord> {
    const rows = this.sqlite
      .prepare<RunRow>(
        `SELECT * FROM activation_run WHERE project_id IN (SELECT value FROM json_each(?))
         ORDER BY project_id, status IN ${sqlList(RELEASED_STATUSES)} DESC, requested_at, id`,
      )
      .all([jsonList(projectIds)]);
    // Rows are ordered so that the preferred run of each project comes last.
    return new Map(rows.map((row) => [row.project_id, toRun(row)]));
  }

  searchRuns(search: RunSearch, page: PageRequest): SearchResult<ActivationRunRecord> {
    const where = new WhereBuilder()
      .add('status IN (SELECT value FROM json_each(:statuses))', 'statuses', search.statuses)
      .add('opportunity_id = :opportunityId', 'opportunityId', search.opportunityId)
      .add('region IN (SELECT value FROM json_each(:regions))', 'regions', search.region)
      .add('requested_at >= :requestedFrom', 'requestedFrom', search.requestedFrom)
      .add('requested_at <= :requestedTo', 'requestedTo', search.requestedTo);
    return searchPage<RunRow, ActivationRunRecord>(this.sqlite, { from: 'activation_run', where, orderBy: 'requested_at DESC, id DESC' }, page, toRun);
  }

  /** Runs a driver should pick up: in flight and not leased by a live driver. */
  runsToResume(nowMs: number, limit: number): string[] {
    return this.sqlite
      .prepare<{ id: string }>(
        `SELECT id FROM activation_run WHERE status IN ('REQUESTED', 'VALIDATING', 'ERP_PROVISIONING', 'PSA_PROVISIONING', 'LINKING', 'COMPENSATING')
           AND (lease_until IS NULL OR lease_until < ?) ORDER BY requested_at LIMIT ?`,
      )
      .all([nowMs, limit])
      .map((row) => row.id);
  }

  /** Takes (or renews) the run's lease: only the holder drives it. False when another live driver holds it. */
  acquireLease(runId: string, owner: string, nowMs: number, ttlMs: number): boolean {
    return (
      this.sqlite
        .prepare('UPDATE activation_run SET lease_owner = ?, lease_until = ? WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)')
        .run([owner, nowMs + ttlMs, runId, owner, nowMs]).changes === 1
    );
  }

  releaseLease(runId: string, owner: string): void {
    this.sqlite.prepare('UPDATE activation_run SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?').run([runId, owner]);
  }

  /** Changes the run's status (checked against the state machine), with whatever else belongs to the change. */
  transition(runId: string, from: RunStatus, to: RunStatus, changes: TransitionChanges = {}, also?: () => void): ActivationRunRecord {
    return this.sqlite.transaction(() => {
      const current = this.requireRun(runId);
      if (current.status !== from) {
        throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Activation run ${runId} is ${current.status}, not ${from}.`, { from: current.status, to });
      }
      assertTransition(from, to, runId);
      const now = this.iso();
      const final = to === 'ACTIVE' || to === 'COMPENSATED' || to === 'CANCELLED';
      this.sqlite
        .prepare(
          `UPDATE activation_run SET status = ?, updated_at = ?,
             cause = CASE WHEN ? THEN ? ELSE cause END,
             region = COALESCE(?, region),
             plan = COALESCE(?, plan),
             activated_at = COALESCE(?, activated_at),
             finished_at = CASE WHEN ? THEN ? ELSE finished_at END
           WHERE id = ?`,
        )
        .run([
          to,
          now,
          changes.cause !== undefined ? 1 : 0,
          changes.cause ?? null,
          changes.region ?? null,
          changes.plan ? JSON.stringify(changes.plan) : null,
          changes.activatedAt ?? null,
          final ? 1 : 0,
          now,
          runId,
        ]);
      this.sqlite.prepare('INSERT INTO activation_transition (run_id, from_status, to_status, at, reason) VALUES (?, ?, ?, ?, ?)').run([runId, from, to, now, changes.reason ?? null]);
      // Every status change is also an event, for the apps that watch a run's progress (activationUpdated).
      appendToOutbox(
        this.sqlite,
        newEvent('activation.progressed', {
          source: 'activation',
          subject: runId,
          data: { runId, opportunityId: current.opportunityId, projectId: current.projectId, previousStatus: from, status: to, reason: changes.reason ?? null, at: now },
        }),
      );
      also?.();
      for (const event of changes.events ?? []) appendToOutbox(this.sqlite, event);
      return this.requireRun(runId);
    });
  }

  /** Appends events to the outbox; call inside the transaction of the change they report. */
  appendEvents(events: readonly BusEvent[]): void {
    for (const event of events) appendToOutbox(this.sqlite, event);
  }

  requestCancel(runId: string, cause: string): ActivationRunRecord {
    this.sqlite.prepare('UPDATE activation_run SET cancel_requested = 1, cause = COALESCE(cause, ?), updated_at = ? WHERE id = ?').run([cause, this.iso(), runId]);
    return this.requireRun(runId);
  }

  transitionsByRunId(runIds: readonly string[]): Map<string, TransitionRecord[]> {
    const rows = this.sqlite
      .prepare<{ run_id: string; from_status: RunStatus | null; to_status: RunStatus; at: string; reason: string | null }>(
        'SELECT * FROM activation_transition WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, id',
      )
      .all([jsonList(runIds)]);
    const map = new Map<string, TransitionRecord[]>();
    for (const row of rows) {
      const list = map.get(row.run_id) ?? [];
      list.push({ runId: row.run_id, from: row.from_status, to: row.to_status, at: row.at, reason: row.reason });
      map.set(row.run_id, list);
    }
    return map;
  }

  // ---- steps ----

  steps(runId: string): StepRecord[] {
    return this.sqlite.prepare<StepRow>('SELECT * FROM activation_step WHERE run_id = ? ORDER BY sequence').all([runId]).map(toStep);
  }

  stepsByRunId(runIds: readonly string[]): Map<string, StepRecord[]> {
    const map = new Map<string, StepRecord[]>();
    for (const row of this.sqlite.prepare<StepRow>('SELECT * FROM activation_step WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, sequence').all([jsonList(runIds)])) {
      const list = map.get(row.run_id) ?? [];
      list.push(toStep(row));
      map.set(row.run_id, list);
    }
    return map;
  }

  /** Counts an attempt before it is made, so a crash mid-call still shows that the call may have happened. */
  beginAttempt(runId: string, step: StepName): number {
    return this.sqlite.transaction(() => {
      this.sqlite
        .prepare(`UPDATE activation_step SET status = 'RUNNING', attempts = attempts + 1, started_at = COALESCE(started_at, ?), error = NULL WHERE run_id = ? AND name = ?`)
        .run([this.iso(), runId, step]);
      return this.sqlite.prepare<{ attempts: number }>('SELECT attempts FROM activation_step WHERE run_id = ? AND name = ?').get([runId, step])!.attempts;
    });
  }

  noteAttemptError(runId: string, step: StepName, error: string): void {
    this.sqlite.prepare('UPDATE activation_step SET error = ? WHERE run_id = ? AND name = ?').run([error, runId, step]);
  }

  /** Records a step's success, its output and the IDs it produced, and moves the run on, in one transaction. */
  completeStep(
    runId: string,
    step: StepName,
    output: Record<string, unknown>,
    xref: Partial<Omit<ProjectXref, 'projectId' | 'opportunityId'>> = {},
    next?: { from: RunStatus; to: RunStatus; changes?: TransitionChanges },
  ): void {
    this.sqlite.transaction(() => {
      const now = this.iso();
      this.sqlite
        .prepare(`UPDATE activation_step SET status = 'SUCCEEDED', finished_at = ?, error = NULL, output = ? WHERE run_id = ? AND name = ?`)
        .run([now, JSON.stringify(output), runId, step]);
      const run = this.requireRun(runId);
      const columns = Object.entries(xref).filter(([, value]) => value !== undefined);
      if (columns.length > 0) {
        const assignments = columns.map(([key]) => `${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} = ?`).join(', ');
        this.sqlite.prepare(`UPDATE project_xref SET ${assignments}, updated_at = ? WHERE project_id = ?`).run([...columns.map(([, value]) => value), now, run.projectId]);
      }
      if (next) this.transition(runId, next.from, next.to, next.changes);
    });
  }

  /** Records a step's failure; `maybeApplied` when its last answer was lost, so its effect may exist anyway. */
  failStep(runId: string, step: StepName, error: string, maybeApplied: boolean, next: { from: RunStatus; to: RunStatus; changes?: TransitionChanges }): void {
    this.sqlite.transaction(() => {
      this.sqlite
        .prepare(`UPDATE activation_step SET status = 'FAILED', finished_at = ?, error = ?, output = ? WHERE run_id = ? AND name = ?`)
        .run([this.iso(), error, JSON.stringify({ maybeApplied }), runId, step]);
      this.transition(runId, next.from, next.to, next.changes);
    });
  }

  beginCompensation(runId: string, step: StepName): number {
    return this.sqlite.transaction(() => {
      this.sqlite
        .prepare(`UPDATE activation_step SET status = 'COMPENSATING', compensation_attempts = compensation_attempts + 1 WHERE run_id = ? AND name = ?`)
        .run([runId, step]);
      return this.sqlite.prepare<{ n: number }>('SELECT compensation_attempts AS n FROM activation_step WHERE run_id = ? AND name = ?').get([runId, step])!.n;
    });
  }

  completeCompensation(runId: string, step: StepName, xref: Partial<Omit<ProjectXref, 'projectId' | 'opportunityId'>> = {}): void {
    this.sqlite.transaction(() => {
      this.sqlite.prepare(`UPDATE activation_step SET status = 'COMPENSATED', finished_at = ?, error = NULL WHERE run_id = ? AND name = ?`).run([this.iso(), runId, step]);
      const run = this.requireRun(runId);
      const columns = Object.entries(xref);
      if (columns.length > 0) {
        const assignments = columns.map(([key]) => `${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} = ?`).join(', ');
        this.sqlite.prepare(`UPDATE project_xref SET ${assignments}, updated_at = ? WHERE project_id = ?`).run([...columns.map(([, value]) => value), this.iso(), run.projectId]);
      }
    });
  }

  failCompensation(runId: string, step: StepName, error: string): void {
    this.sqlite.prepare(`UPDATE activation_step SET status = 'COMPENSATION_FAILED', error = ? WHERE run_id = ? AND name = ?`).run([error, runId, step]);
  }

  /** Sets the steps back to PENDING for a new pass (a retried validation), keeping their attempt counts. */
  resetSteps(runId: string, steps: readonly StepName[]): void {
    const reset = this.sqlite.prepare(`UPDATE activation_step SET status = 'PENDING', finished_at = NULL, error = NULL WHERE run_id = ? AND name = ?`);
    for (const step of steps) reset.run([runId, step]);
  }

  // ---- cross-reference ----

  xrefByProjectId(projectIds: readonly string[]): Map<string, ProjectXref> {
    return new Map(
      this.sqlite
        .prepare<Record<string, string | null>>('SELECT * FROM project_xref WHERE project_id IN (SELECT value FROM json_each(?))')
        .all([jsonList(projectIds)])
        .map((row) => [row['project_id']!, toXref(row)]),
    );
  }

  // ---- exceptions ----

  /**
   * Records the run's current validation problems: each one already open counts another occurrence, new ones
   * are opened, and open ones no longer found are resolved as fixed at the source. Call inside the transaction
   * that records the validation's outcome.
   */
  syncValidationExceptions(runId: string, region: string | null, problems: readonly ProblemInput[]): { opened: ExceptionRecord[]; resolved: ExceptionRecord[] } {
    const now = this.iso();
    const open = this.exceptions({ runId, statuses: ['OPEN'] }).filter((exception) => exception.system !== 'ACTIVATION');
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
        opened.push(this.raiseException(runId, region, problem));
      }
    }
    const resolved = [...this.exceptionsById(gone.map((exception) => exception.id)).values()];
    return { opened, resolved };
  }

  raiseException(runId: string, region: string | null, problem: ProblemInput): ExceptionRecord {
    const id = newId('exc');
    this.sqlite
      .prepare(
        `INSERT INTO integration_exception (id, run_id, type, message, system, record_type, record_id, field, region, status, raised_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'OPEN', ?)`,
      )
      .run([id, runId, problem.type, problem.message, problem.system, problem.recordType, problem.recordId, problem.field, region, this.iso()]);
    return this.exceptionsById([id]).get(id)!;
  }

  closeExceptions(ids: readonly string[], status: Exclude<ExceptionStatus, 'OPEN'>, resolution: string, note: string | null): void {
    this.sqlite
      .prepare(`UPDATE integration_exception SET status = ?, resolved_at = ?, resolution = ?, resolution_note = ? WHERE status = 'OPEN' AND id IN (SELECT value FROM json_each(?))`)
      .run([status, this.iso(), resolution, note, jsonList(ids)]);
  }

  exceptionsById(ids: readonly string[]): Map<string, ExceptionRecord> {
    return new Map(
      this.sqlite.prepare<ExceptionRow>('SELECT * FROM integration_exception WHERE id IN (SELECT value FROM json_each(?))').all([jsonList(ids)]).map((row) => [row.id, toException(row)]),
    );
  }

  exceptionsByRunId(runIds: readonly string[]): Map<string, ExceptionRecord[]> {
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

  exceptions(search: ExceptionSearch): ExceptionRecord[] {
    const where = exceptionWhere(search);
    return this.sqlite.prepare<ExceptionRow>(`SELECT * FROM integration_exception ${where} ORDER BY raised_at, id`).all(where.params).map(toException);
  }

  searchExceptions(search: ExceptionSearch, page: PageRequest): SearchResult<ExceptionRecord> {
    return searchPage<ExceptionRow, ExceptionRecord>(this.sqlite, { from: 'integration_exception', where: exceptionWhere(search), orderBy: 'raised_at DESC, id DESC' }, page, toException);
  }

  /** Exceptions counted by type, region and owning system (one grouped statement). */
  exceptionCounts(statuses: readonly string[]): Array<{ type: string; region: string | null; system: SystemName; count: number }> {
    return this.sqlite
      .prepare<{ type: string; region: string | null; system: SystemName; count: number }>(
        `SELECT type, region, system, COUNT(*) AS count FROM integration_exception WHERE status IN (SELECT value FROM json_each(?))
         GROUP BY type, region, system ORDER BY count DESC, type, region`,
      )
      .all([jsonList(statuses)]);
  }

  /** Activated runs in a window, for cycle-time figures. */
  activatedRuns(from: string | null, to: string | null, regions: readonly string[] | null): ActivationRunRecord[] {
    const where = new WhereBuilder()
      .raw("status = 'ACTIVE'", true)
      .add('activated_at >= :from', 'from', from)
      .add('activated_at <= :to', 'to', to)
      .add('region IN (SELECT value FROM json_each(:regions))', 'regions', regions);
    return this.sqlite.prepare<RunRow>(`SELECT * FROM activation_run ${where}`).all(where.params).map(toRun);
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

  // ---- dead letters ----

  recordDeadLetter(letter: Omit<DeadLetterRecord, 'receivedAt'>): void {
    this.sqlite.prepare('INSERT INTO dead_letter (event_id, type, reason, payload, received_at) VALUES (?, ?, ?, ?, ?)').run([letter.eventId, letter.type, letter.reason, letter.payload, this.iso()]);
  }

  deadLetters(limit: number): DeadLetterRecord[] {
    return this.sqlite
      .prepare<{ event_id: string | null; type: string | null; reason: string; payload: string; received_at: string }>('SELECT * FROM dead_letter ORDER BY id DESC LIMIT ?')
      .all([limit])
      .map((row) => ({ eventId: row.event_id, type: row.type, reason: row.reason, payload: row.payload, receivedAt: row.received_at }));
  }

  close(): void {
    this.sqlite.close();
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

/** Opens (creating on first use) the activation store in `dataDir/activation.db`. */
export function openActivationStore(dataDir: string, options: { now?: () => Date } = {}): ActivationStore {
  return new ActivationStore(join(dataDir, 'activation.db'), options);
}
