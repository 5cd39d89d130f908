/**
 * Each run's step log: attempts counted before they are made (so a crash mid-call still shows the call may have
 * happened), each step's outcome and output with the IDs it produced, and compensations.
 */
import { type SqliteStore, jsonList } from '../../../platform/src/index.js';
import type { RunStatus, StepName, StepStatus } from '../saga/activationStates.js';
import type { ProjectXref, StepRecord, TransitionChanges } from './activationRecords.js';
import type { RunStore } from './runStore.js';

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

export class StepLog {
  constructor(
    private readonly sqlite: SqliteStore,
    private readonly iso: () => string,
    private readonly runs: RunStore,
  ) {}

  list(runId: string): StepRecord[] {
    return this.sqlite.prepare<StepRow>('SELECT * FROM activation_step WHERE run_id = ? ORDER BY sequence').all([runId]).map(toStep);
  }

  byRunIds(runIds: readonly string[]): Map<string, StepRecord[]> {
    const map = new Map<string, StepRecord[]>();
    for (const row of this.sqlite
      .prepare<StepRow>('SELECT * FROM activation_step WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, sequence')
      .all([jsonList(runIds)])) {
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
        .prepare(
          `UPDATE activation_step SET status = 'RUNNING', attempts = attempts + 1, started_at = COALESCE(started_at, ?), error = NULL WHERE run_id = ? AND name = ?`,
        )
        .run([this.iso(), runId, step]);
      return this.sqlite.prepare<{ attempts: number }>('SELECT attempts FROM activation_step WHERE run_id = ? AND name = ?').get([runId, step])!.attempts;
    });
  }

  noteAttemptError(runId: string, step: StepName, error: string): void {
    this.sqlite.prepare('UPDATE activation_step SET error = ? WHERE run_id = ? AND name = ?').run([error, runId, step]);
  }

  /** Records a step's success, its output and the IDs it produced, and moves the run on, in one transaction. */
  complete(
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
      const run = this.runs.requireRun(runId);
      const columns = Object.entries(xref).filter(([, value]) => value !== undefined);
      if (columns.length > 0) {
        const assignments = columns.map(([key]) => `${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} = ?`).join(', ');
        this.sqlite
          .prepare(`UPDATE project_xref SET ${assignments}, updated_at = ? WHERE project_id = ?`)
          .run([...columns.map(([, value]) => value), now, run.projectId]);
      }
      if (next) this.runs.transition(runId, next.from, next.to, next.changes);
    });
  }

  /** Records a step's failure; `maybeApplied` when its last answer was lost, so its effect may exist anyway. */
  fail(runId: string, step: StepName, error: string, maybeApplied: boolean, next: { from: RunStatus; to: RunStatus; changes?: TransitionChanges }): void {
    this.sqlite.transaction(() => {
      this.sqlite
        .prepare(`UPDATE activation_step SET status = 'FAILED', finished_at = ?, error = ?, output = ? WHERE run_id = ? AND name = ?`)
        .run([this.iso(), error, JSON.stringify({ maybeApplied }), runId, step]);
      this.runs.transition(runId, next.from, next.to, next.changes);
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
      this.sqlite
        .prepare(`UPDATE activation_step SET status = 'COMPENSATED', finished_at = ?, error = NULL WHERE run_id = ? AND name = ?`)
        .run([this.iso(), runId, step]);
      const run = this.runs.requireRun(runId);
      const columns = Object.entries(xref);
      if (columns.length > 0) {
        const assignments = columns.map(([key]) => `${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} = ?`).join(', ');
        this.sqlite
          .prepare(`UPDATE project_xref SET ${assignments}, updated_at = ? WHERE project_id = ?`)
          .run([...columns.map(([, value]) => value), this.iso(), run.projectId]);
      }
    });
  }

  failCompensation(runId: string, step: StepName, error: string): void {
    this.sqlite.prepare(`UPDATE activation_step SET status = 'COMPENSATION_FAILED', error = ? WHERE run_id = ? AND name = ?`).run([error, runId, step]);
  }

  /** Sets the steps back to PENDING for a new pass (a retried validation), keeping their attempt counts. */
  reset(runId: string, steps: readonly StepName[]): void {
    const reset = this.sqlite.prepare(`UPDATE activation_step SET status = 'PENDING', finished_at = NULL, error = NULL WHERE run_id = ? AND name = ?`);
    for (const step of steps) reset.run([runId, step]);
  }
}
