/**
 * Activation runs: starting one (once per deal, whatever races), their status changes checked against the state
 * machine and recorded with the event that reports each, leases that say which driver drives a run, idempotency
 * keys, and the cross-reference of a project's IDs in every system.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type BusEvent, appendToOutbox, newEvent } from '../../../platform/src/events/index.js';
import {
  type PageRequest,
  type SearchResult,
  type SqliteStore,
  WhereBuilder,
  canonicalProjectId,
  inputError,
  jsonList,
  searchPage,
} from '../../../platform/src/index.js';
import type { ActivationPlan, Region } from '../saga/activationPlan.js';
import { RELEASED_STATUSES, type RunStatus, STEP_NAMES, assertTransition } from '../saga/activationStates.js';
import {
  type ActivationRunRecord,
  type ProjectXref,
  type RunSearch,
  type RunTrigger,
  type TransitionChanges,
  type TransitionRecord,
  newRecordId,
} from './activationRecords.js';
import { sqlList } from './activationSchema.js';

interface RunRow {
  id: string;
  opportunity_id: string;
  project_id: string;
  status: RunStatus;
  trigger: RunTrigger;
  region: Region | null;
  plan: string | null;
  cause: string | null;
  cancel_requested: number;
  requested_at: string;
  closed_won_at: string | null;
  activated_at: string | null;
  finished_at: string | null;
  updated_at: string;
  trace_parent: string | null;
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
  traceParent: row.trace_parent,
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

export class RunStore {
  constructor(
    private readonly sqlite: SqliteStore,
    private readonly iso: () => string,
    private readonly now: () => Date,
  ) {}

  /**
   * Starts the deal's activation, or finds the one already under way (Temporal's USE_EXISTING conflict policy):
   * the idempotency key first (a repeated request), then the deal's run that holds it, else a new run with the
   * deal's canonical project ID (minted on its first run, reused by later ones).
   */
  startRun(
    input: { opportunityId: string; idempotencyKey: string; trigger: RunTrigger; traceParent?: string | undefined },
    eventsOfNewRun: (run: ActivationRunRecord) => readonly BusEvent[] = () => [],
  ): { run: ActivationRunRecord; created: boolean } {
    return this.sqlite.transaction(() => {
      const keyed = this.sqlite
        .prepare<{ opportunity_id: string; run_id: string }>('SELECT opportunity_id, run_id FROM idempotency_key WHERE key = ?')
        .get([input.idempotencyKey]);
      if (keyed) {
        if (keyed.opportunity_id !== input.opportunityId) {
          throw inputError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            `Idempotency key "${input.idempotencyKey}" was used to activate opportunity ${keyed.opportunity_id}, not ${input.opportunityId}.`,
            {
              argument: 'input.idempotencyKey',
            },
          );
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
        const id = newRecordId('act');
        const seen = this.sqlite
          .prepare<{ occurred_at: string }>('SELECT occurred_at FROM closed_won_seen WHERE opportunity_id = ?')
          .get([input.opportunityId]);
        this.sqlite
          .prepare(
            `INSERT INTO activation_run (id, opportunity_id, project_id, status, trigger, requested_at, closed_won_at, updated_at, trace_parent)
             VALUES (?, ?, ?, 'REQUESTED', ?, ?, ?, ?, ?)`,
          )
          .run([id, input.opportunityId, projectId, input.trigger, now, seen?.occurred_at ?? null, now, input.traceParent ?? null]);
        const insertStep = this.sqlite.prepare('INSERT INTO activation_step (run_id, sequence, name) VALUES (?, ?, ?)');
        STEP_NAMES.forEach((name, i) => insertStep.run([id, i + 1, name]));
        this.sqlite
          .prepare('INSERT INTO activation_transition (run_id, from_status, to_status, at, reason) VALUES (?, NULL, ?, ?, ?)')
          .run([id, 'REQUESTED', now, `requested by ${input.trigger.toLowerCase()}`]);
        run = this.requireRun(id);
        created = true;
        for (const event of eventsOfNewRun(run)) appendToOutbox(this.sqlite, event);
      }
      this.sqlite
        .prepare('INSERT INTO idempotency_key (key, opportunity_id, run_id, created_at) VALUES (?, ?, ?, ?)')
        .run([input.idempotencyKey, input.opportunityId, run.id, now]);
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
        .prepare(
          `UPDATE activation_run SET closed_won_at = ? WHERE opportunity_id = ? AND closed_won_at IS NULL AND status NOT IN ${sqlList(RELEASED_STATUSES)}`,
        )
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
    return new Map(
      this.sqlite
        .prepare<RunRow>('SELECT * FROM activation_run WHERE id IN (SELECT value FROM json_each(?))')
        .all([jsonList(ids)])
        .map((row) => [row.id, toRun(row)]),
    );
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
      this.sqlite
        .prepare('INSERT INTO activation_transition (run_id, from_status, to_status, at, reason) VALUES (?, ?, ?, ?, ?)')
        .run([runId, from, to, now, changes.reason ?? null]);
      // Every status change is also an event, for the apps that watch a run's progress (activationUpdated).
      appendToOutbox(
        this.sqlite,
        newEvent('activation.progressed', {
          source: 'activation',
          subject: runId,
          data: {
            runId,
            opportunityId: current.opportunityId,
            projectId: current.projectId,
            previousStatus: from,
            status: to,
            reason: changes.reason ?? null,
            at: now,
          },
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
    this.sqlite
      .prepare('UPDATE activation_run SET cancel_requested = 1, cause = COALESCE(cause, ?), updated_at = ? WHERE id = ?')
      .run([cause, this.iso(), runId]);
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

  /** Activated runs in a window, for cycle-time figures. */
  activatedRuns(from: string | null, to: string | null, regions: readonly string[] | null): ActivationRunRecord[] {
    const where = new WhereBuilder()
      .raw("status = 'ACTIVE'", true)
      .add('activated_at >= :from', 'from', from)
      .add('activated_at <= :to', 'to', to)
      .add('region IN (SELECT value FROM json_each(:regions))', 'regions', regions);
    return this.sqlite.prepare<RunRow>(`SELECT * FROM activation_run ${where}`).all(where.params).map(toRun);
  }

  xrefByProjectId(projectIds: readonly string[]): Map<string, ProjectXref> {
    return new Map(
      this.sqlite
        .prepare<Record<string, string | null>>('SELECT * FROM project_xref WHERE project_id IN (SELECT value FROM json_each(?))')
        .all([jsonList(projectIds)])
        .map((row) => [row['project_id']!, toXref(row)]),
    );
  }
}
