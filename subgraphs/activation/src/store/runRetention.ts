/**
 * Trimming finished process runs by age (PSGRAPH_RUN_RETENTION). Only runs that ended before the cutoff and have no
 * open integration exception go; a run in flight, parked or waiting for an operator is never touched.
 *
 * - A run that released its deal (COMPENSATED, CANCELLED) goes entirely: its step log, status history, closed
 *   exceptions and idempotency keys with it.
 * - A run that succeeded (ACTIVE) keeps its row: that row is what stops a second run — and a second project — for
 *   the same deal (the one-run-per-deal index). Its step log and status history go.
 * - Reconciliation runs finished before the cutoff go, except the latest: the schedule reads its start.
 *
 * Invoice runs are not trimmed: their planned invoices are what keeps an invoice from being raised twice.
 */
import type { SqliteStore } from '../../../platform/src/index.js';
import { RECONCILIATION_DDL } from '../invoicing/reconciliationSchedule.js';
import { RELEASED_STATUSES } from '../saga/activationStates.js';
import { sqlList } from './activationSchema.js';

export interface RunTrimOutcome {
  /** Runs deleted (released their deal). */
  readonly runs: number;
  /** Succeeded runs whose step log and history were deleted (the run row stays). */
  readonly runLogs: number;
  readonly reconciliationRuns: number;
}

/** Rows one statement deletes, so that a trim never holds the store's write lock for long. */
const BATCH = 500;

export function trimFinishedRuns(sqlite: SqliteStore, before: Date): RunTrimOutcome {
  const cutoff = before.toISOString();
  sqlite.exec(RECONCILIATION_DDL);
  const finishedBefore = (statuses: string) => `
    SELECT r.id FROM activation_run r
    WHERE r.status IN ${statuses} AND r.finished_at IS NOT NULL AND r.finished_at < ?
      AND NOT EXISTS (SELECT 1 FROM integration_exception x WHERE x.run_id = r.id AND x.status = 'OPEN')`;
  let runs = 0;
  let runLogs = 0;
  for (;;) {
    const released = sqlite.prepareBackground<{ id: string }>(`${finishedBefore(sqlList(RELEASED_STATUSES))} LIMIT ${BATCH}`).all([cutoff]);
    if (released.length === 0) break;
    sqlite.transaction(() => {
      const ids = JSON.stringify(released.map((run) => run.id));
      for (const table of ['activation_step', 'activation_transition', 'integration_exception', 'idempotency_key', 'activation_run'])
        sqlite.prepareBackground(`DELETE FROM ${table} WHERE ${table === 'activation_run' ? 'id' : 'run_id'} IN (SELECT value FROM json_each(?))`).run([ids]);
    });
    runs += released.length;
  }
  for (;;) {
    const succeeded = sqlite
      .prepareBackground<{ id: string }>(
        `${finishedBefore("('ACTIVE')")} AND (EXISTS (SELECT 1 FROM activation_step s WHERE s.run_id = r.id)
           OR EXISTS (SELECT 1 FROM activation_transition t WHERE t.run_id = r.id)) LIMIT ${BATCH}`,
      )
      .all([cutoff]);
    if (succeeded.length === 0) break;
    sqlite.transaction(() => {
      const ids = JSON.stringify(succeeded.map((run) => run.id));
      for (const table of ['activation_step', 'activation_transition'])
        sqlite.prepareBackground(`DELETE FROM ${table} WHERE run_id IN (SELECT value FROM json_each(?))`).run([ids]);
    });
    runLogs += succeeded.length;
  }
  const { changes: reconciliationRuns } = sqlite
    .prepareBackground(
      `DELETE FROM reconciliation_run WHERE finished_at IS NOT NULL AND finished_at < ?
         AND id <> (SELECT max(id) FROM reconciliation_run WHERE finished_at IS NOT NULL)`,
    )
    .run([cutoff]);
  return { runs, runLogs, reconciliationRuns };
}
