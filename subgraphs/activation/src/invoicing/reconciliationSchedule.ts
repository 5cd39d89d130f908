/**
 * Reconciliation on a schedule: every interval, each project with delivery or billing activity since the last run
 * (every project the process knows, on the first) is reconciled across the PSA, the process, ERP and billing, and
 * the run is kept with the projects that showed differences — what `latestReconciliation` answers. A project that
 * cannot be reconciled (a system unreachable) is kept with the reason and checked again next time.
 */
import type { SqliteStore } from '../../../platform/src/index.js';
import type { Reconciliation } from '../posting/reconciliation.js';
import { LogCode, type Logger } from '../../../platform/src/logging/index.js';

export const RECONCILIATION_DDL = `
CREATE TABLE IF NOT EXISTS reconciliation_run (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  projects_checked INTEGER NOT NULL DEFAULT 0,
  -- Reconciliations with differences, and projects that could not be checked, as JSON.
  findings TEXT NOT NULL DEFAULT '[]',
  failures TEXT NOT NULL DEFAULT '[]');
`;

export interface ReconciliationRun {
  readonly id: number;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly projectsChecked: number;
  readonly findings: readonly Reconciliation[];
  readonly failures: ReadonlyArray<{ readonly projectId: string; readonly reason: string }>;
}

export class ReconciliationSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReconciliationRun> | undefined;

  constructor(
    private readonly sqlite: SqliteStore,
    private readonly reconcile: (projectId: string) => Promise<Reconciliation>,
    private readonly log?: Logger,
  ) {
    sqlite.exec(RECONCILIATION_DDL);
  }

  /** Runs every `minutes` (not at all when 0); the timer never keeps the process alive. */
  start(minutes: number): void {
    if (minutes <= 0) return;
    this.timer = setInterval(() => {
      void this.runOnce().catch((error: Error) =>
        this.log?.error({ err: error, code: LogCode.PROCESS_FAILED, process: 'reconciliation' }, 'scheduled reconciliation failed'),
      );
    }, minutes * 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One run now (a run already going is joined, not doubled). */
  runOnce(): Promise<ReconciliationRun> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  latest(): ReconciliationRun | null {
    const row = this.sqlite
      .prepare<{ id: number; started_at: string; finished_at: string | null; projects_checked: number; findings: string; failures: string }>(
        'SELECT * FROM reconciliation_run WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1',
      )
      .get([]);
    return row
      ? {
          id: row.id,
          startedAt: row.started_at,
          finishedAt: row.finished_at,
          projectsChecked: row.projects_checked,
          findings: JSON.parse(row.findings) as Reconciliation[],
          failures: JSON.parse(row.failures) as ReconciliationRun['failures'],
        }
      : null;
  }

  private async run(): Promise<ReconciliationRun> {
    const previous = this.latest();
    const since = previous?.startedAt ?? '';
    const startedAt = new Date().toISOString();
    const id = Number(this.sqlite.prepare('INSERT INTO reconciliation_run (started_at) VALUES (?)').run([startedAt]).lastInsertRowid);
    const projects = this.sqlite
      .prepare<{ project_id: string }>(
        `SELECT project_id FROM delivery_line WHERE updated_at >= ?
         UNION SELECT project_id FROM run_invoice WHERE updated_at >= ?
         UNION SELECT project_id FROM invoice_sync WHERE occurred_at >= ?
         ORDER BY project_id`,
      )
      .all([since, since, since])
      .map((row) => row.project_id);
    // Those that could not be checked last time are checked again.
    const retried = (previous?.failures ?? []).map((failure) => failure.projectId);
    const findings: Reconciliation[] = [];
    const failures: Array<{ projectId: string; reason: string }> = [];
    const toCheck = [...new Set([...projects, ...retried])];
    for (const projectId of toCheck) {
      try {
        const report = await this.reconcile(projectId);
        if (report.differences.length > 0) findings.push(report);
      } catch (error) {
        failures.push({ projectId, reason: (error as Error).message });
      }
    }
    this.sqlite
      .prepare('UPDATE reconciliation_run SET finished_at = ?, projects_checked = ?, findings = ?, failures = ? WHERE id = ?')
      .run([new Date().toISOString(), toCheck.length, JSON.stringify(findings), JSON.stringify(failures), id]);
    if (findings.length > 0 || failures.length > 0)
      this.log?.warn(
        { process: 'reconciliation', reconciliation_id: id, findings: findings.length, failures: failures.length },
        `${findings.length} project(s) with differences, ${failures.length} not checked`,
      );
    return this.latest()!;
  }
}
