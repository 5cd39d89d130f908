/**
 * The invoicing process's records, in the process layer's store: invoice runs, the invoices each plans (with the
 * billing idempotency key each is created under), the claim every billed source holds, and how far each billing
 * status has travelled back to ERP, CRM and the PSA.
 *
 * A source (a posting or a schedule line) is claimed by one planned invoice at a time — the primary key on
 * `billed_source` — so an invoice run never bills anything twice, however often it runs or restarts; a claim is
 * released only when its invoice fails to be created or is voided. Planning an invoice and claiming its sources is
 * one transaction, so a crash leaves either both or neither.
 */
import type { SqliteStore } from '../../../platform/src/index.js';
import { sqlList } from '../store/activationSchema.js';
import { newRecordId } from '../store/activationRecords.js';

export const RUN_INVOICE_STATUSES = ['PLANNED', 'CREATED', 'FINALIZED', 'FAILED', 'VOIDED'] as const;
export type RunInvoiceStatus = (typeof RUN_INVOICE_STATUSES)[number];
export type InvoiceRunStatus = 'RUNNING' | 'COMPLETED' | 'COMPLETED_WITH_FAILURES';
export const SYNC_TARGETS = ['erp', 'crm', 'psa'] as const;
export type SyncTarget = (typeof SYNC_TARGETS)[number];

export const INVOICING_DDL = `
CREATE TABLE IF NOT EXISTS invoice_run (
  id TEXT PRIMARY KEY,
  period_end TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('RUNNING', 'COMPLETED', 'COMPLETED_WITH_FAILURES')),
  started_at TEXT NOT NULL,
  finished_at TEXT);
CREATE TABLE IF NOT EXISTS run_invoice (
  key TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES invoice_run(id),
  project_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  description TEXT NOT NULL,
  service_period_start TEXT NOT NULL,
  service_period_end TEXT NOT NULL,
  lines TEXT NOT NULL,
  total_minor INTEGER NOT NULL CHECK (total_minor > 0),
  status TEXT NOT NULL CHECK (status IN ${sqlList(RUN_INVOICE_STATUSES)}),
  invoice_id TEXT UNIQUE,
  invoice_number TEXT,
  error_code TEXT,
  error TEXT,
  planned_at TEXT NOT NULL,
  finalized_at TEXT,
  updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS run_invoice_run ON run_invoice(run_id);
CREATE INDEX IF NOT EXISTS run_invoice_status ON run_invoice(status);
CREATE INDEX IF NOT EXISTS run_invoice_project ON run_invoice(project_id);
CREATE TABLE IF NOT EXISTS billed_source (
  source_key TEXT PRIMARY KEY,
  invoice_key TEXT NOT NULL REFERENCES run_invoice(key),
  amount_minor INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS billed_source_invoice ON billed_source(invoice_key);
-- Each billing status an invoice reached, and when it reached each system (null: not yet).
CREATE TABLE IF NOT EXISTS invoice_sync (
  invoice_id TEXT NOT NULL,
  status TEXT NOT NULL,
  event_id TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  project_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  erp_at TEXT,
  crm_at TEXT,
  psa_at TEXT,
  -- Why a system was not told (its vendor adapter does not take billing status yet), when it was not.
  skipped TEXT,
  PRIMARY KEY (invoice_id, status)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS invoice_sync_occurred ON invoice_sync(occurred_at);
`;

/** One line of a planned invoice: it bills exactly one source. */
export interface PlannedLine {
  readonly sourceKey: string;
  readonly description: string;
  readonly amountMinor: number;
}

export interface PlannedInvoice {
  /** The billing idempotency key: `inv:<run>:<project>:<part>`. */
  readonly key: string;
  readonly projectId: string;
  readonly currency: string;
  readonly description: string;
  readonly servicePeriodStart: string;
  readonly servicePeriodEnd: string;
  readonly lines: readonly PlannedLine[];
}

export interface RunInvoiceRecord extends PlannedInvoice {
  readonly runId: string;
  readonly totalMinor: number;
  readonly status: RunInvoiceStatus;
  readonly invoiceId: string | null;
  readonly invoiceNumber: string | null;
  readonly errorCode: string | null;
  readonly error: string | null;
  readonly plannedAt: string;
  readonly finalizedAt: string | null;
}

export interface InvoiceRunRecord {
  readonly id: string;
  readonly periodEnd: string;
  readonly requestedBy: string;
  readonly status: InvoiceRunStatus;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

export interface InvoiceSyncRecord {
  readonly invoiceId: string;
  readonly status: string;
  readonly eventId: string;
  readonly occurredAt: string;
  readonly projectId: string;
  readonly accountId: string;
  readonly erpAt: string | null;
  readonly crmAt: string | null;
  readonly psaAt: string | null;
  readonly skipped: string | null;
}

interface RunInvoiceRow {
  key: string;
  run_id: string;
  project_id: string;
  currency: string;
  description: string;
  service_period_start: string;
  service_period_end: string;
  lines: string;
  total_minor: number;
  status: RunInvoiceStatus;
  invoice_id: string | null;
  invoice_number: string | null;
  error_code: string | null;
  error: string | null;
  planned_at: string;
  finalized_at: string | null;
}

const toRunInvoice = (row: RunInvoiceRow): RunInvoiceRecord => ({
  key: row.key,
  runId: row.run_id,
  projectId: row.project_id,
  currency: row.currency,
  description: row.description,
  servicePeriodStart: row.service_period_start,
  servicePeriodEnd: row.service_period_end,
  lines: JSON.parse(row.lines) as PlannedLine[],
  totalMinor: row.total_minor,
  status: row.status,
  invoiceId: row.invoice_id,
  invoiceNumber: row.invoice_number,
  errorCode: row.error_code,
  error: row.error,
  plannedAt: row.planned_at,
  finalizedAt: row.finalized_at,
});

interface RunRow {
  id: string;
  period_end: string;
  requested_by: string;
  status: InvoiceRunStatus;
  started_at: string;
  finished_at: string | null;
}

const toRun = (row: RunRow): InvoiceRunRecord => ({
  id: row.id,
  periodEnd: row.period_end,
  requestedBy: row.requested_by,
  status: row.status,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
});

export class InvoicingStore {
  constructor(
    readonly sqlite: SqliteStore,
    private readonly iso: () => string,
  ) {
    sqlite.exec(INVOICING_DDL);
  }

  /** Of these sources, those a planned, created or finalized invoice holds already. */
  claimed(sourceKeys: readonly string[]): Set<string> {
    const held = this.sqlite
      .prepare<{ source_key: string }>('SELECT source_key FROM billed_source WHERE source_key IN (SELECT value FROM json_each(?))')
      .all([JSON.stringify(sourceKeys)]);
    return new Set(held.map((row) => row.source_key));
  }

  /**
   * Starts a run and plans its invoices, claiming every source of each, in one transaction. A source another
   * invoice holds meanwhile is left out of its invoice (it is billed there); an invoice left with no line is dropped.
   */
  startRun(
    periodEnd: string,
    requestedBy: string,
    invoices: ReadonlyArray<Omit<PlannedInvoice, 'key'>>,
  ): { run: InvoiceRunRecord; planned: RunInvoiceRecord[] } {
    return this.sqlite.transaction(() => {
      const id = newRecordId('ivr');
      const now = this.iso();
      this.sqlite
        .prepare("INSERT INTO invoice_run (id, period_end, requested_by, status, started_at) VALUES (?, ?, ?, 'RUNNING', ?)")
        .run([id, periodEnd, requestedBy, now]);
      const claim = this.sqlite.prepare('INSERT OR IGNORE INTO billed_source (source_key, invoice_key, amount_minor) VALUES (?, ?, ?)');
      const insert = this.sqlite.prepare(
        `INSERT INTO run_invoice (key, run_id, project_id, currency, description, service_period_start, service_period_end, lines, total_minor, status,
           planned_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'PLANNED', ?, ?)`,
      );
      const parts = new Map<string, number>();
      for (const invoice of invoices) {
        const part = (parts.get(invoice.projectId) ?? 0) + 1;
        parts.set(invoice.projectId, part);
        const key = `inv:${id}:${invoice.projectId}:${part}`;
        // The row goes first (the claims reference it), then each claim; lines whose source is held elsewhere drop out.
        insert.run([
          key,
          id,
          invoice.projectId,
          invoice.currency,
          invoice.description,
          invoice.servicePeriodStart,
          invoice.servicePeriodEnd,
          '[]',
          1,
          now,
          now,
        ]);
        const lines = invoice.lines.filter((line) => claim.run([line.sourceKey, key, line.amountMinor]).changes === 1);
        if (lines.length === 0) {
          this.sqlite.prepare('DELETE FROM run_invoice WHERE key = ?').run([key]);
          continue;
        }
        this.sqlite
          .prepare('UPDATE run_invoice SET lines = ?, total_minor = ? WHERE key = ?')
          .run([JSON.stringify(lines), lines.reduce((sum, line) => sum + line.amountMinor, 0), key]);
      }
      return { run: this.run(id)!, planned: this.invoicesOfRun(id) };
    });
  }

  run(id: string): InvoiceRunRecord | null {
    const row = this.sqlite.prepare<RunRow>('SELECT * FROM invoice_run WHERE id = ?').get([id]);
    return row ? toRun(row) : null;
  }

  runs(limit: number): InvoiceRunRecord[] {
    return this.sqlite.prepare<RunRow>('SELECT * FROM invoice_run ORDER BY started_at DESC, id DESC LIMIT ?').all([limit]).map(toRun);
  }

  invoicesOfRun(runId: string): RunInvoiceRecord[] {
    return this.sqlite.prepare<RunInvoiceRow>('SELECT * FROM run_invoice WHERE run_id = ? ORDER BY key').all([runId]).map(toRunInvoice);
  }

  /** Invoices planned or created but not finalized: what a restart (or the next run) carries on with. */
  unfinished(): RunInvoiceRecord[] {
    return this.sqlite
      .prepare<RunInvoiceRow>("SELECT * FROM run_invoice WHERE status IN ('PLANNED', 'CREATED') ORDER BY planned_at, key")
      .all([])
      .map(toRunInvoice);
  }

  created(key: string, invoiceId: string): void {
    this.sqlite
      .prepare("UPDATE run_invoice SET status = 'CREATED', invoice_id = ?, updated_at = ? WHERE key = ? AND status = 'PLANNED'")
      .run([invoiceId, this.iso(), key]);
  }

  finalized(key: string, invoiceNumber: string | null): void {
    const now = this.iso();
    this.sqlite
      .prepare(
        "UPDATE run_invoice SET status = 'FINALIZED', invoice_number = ?, finalized_at = ?, updated_at = ? WHERE key = ? AND status IN ('PLANNED', 'CREATED')",
      )
      .run([invoiceNumber, now, now, key]);
  }

  /** Billing refused the invoice: it is failed with the reason, and its sources are free to be billed again. */
  failed(key: string, code: string, message: string): void {
    this.sqlite.transaction(() => {
      this.sqlite
        .prepare("UPDATE run_invoice SET status = 'FAILED', error_code = ?, error = ?, updated_at = ? WHERE key = ?")
        .run([code, message, this.iso(), key]);
      this.sqlite.prepare('DELETE FROM billed_source WHERE invoice_key = ?').run([key]);
    });
  }

  /** The invoice was voided in billing: its sources are free to be billed again. Idempotent. */
  voided(invoiceId: string): void {
    this.sqlite.transaction(() => {
      const row = this.sqlite.prepare<{ key: string }>('SELECT key FROM run_invoice WHERE invoice_id = ?').get([invoiceId]);
      if (!row) return;
      this.sqlite.prepare("UPDATE run_invoice SET status = 'VOIDED', updated_at = ? WHERE key = ?").run([this.iso(), row.key]);
      this.sqlite.prepare('DELETE FROM billed_source WHERE invoice_key = ?').run([row.key]);
    });
  }

  finishRun(id: string): InvoiceRunRecord {
    const { failed } = this.sqlite.prepare<{ failed: number }>("SELECT COUNT(*) AS failed FROM run_invoice WHERE run_id = ? AND status = 'FAILED'").get([id])!;
    this.sqlite
      .prepare('UPDATE invoice_run SET status = ?, finished_at = ? WHERE id = ?')
      .run([failed > 0 ? 'COMPLETED_WITH_FAILURES' : 'COMPLETED', this.iso(), id]);
    return this.run(id)!;
  }

  /** Records that a billing status (by its event) was seen; a status seen before keeps its first event. */
  syncSeen(record: Pick<InvoiceSyncRecord, 'invoiceId' | 'status' | 'eventId' | 'occurredAt' | 'projectId' | 'accountId'>): void {
    this.sqlite
      .prepare(
        `INSERT OR IGNORE INTO invoice_sync (invoice_id, status, event_id, occurred_at, project_id, account_id)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run([record.invoiceId, record.status, record.eventId, record.occurredAt, record.projectId, record.accountId]);
  }

  /** Records that a system has the status (its first arrival is kept). */
  syncReached(invoiceId: string, status: string, target: SyncTarget, skippedBecause?: string): void {
    const column = `${target}_at`;
    this.sqlite.prepare(`UPDATE invoice_sync SET ${column} = COALESCE(${column}, ?) WHERE invoice_id = ? AND status = ?`).run([this.iso(), invoiceId, status]);
    if (skippedBecause)
      this.sqlite
        .prepare(
          "UPDATE invoice_sync SET skipped = COALESCE(skipped || '; ', '') || ? WHERE invoice_id = ? AND status = ? AND (skipped IS NULL OR instr(skipped, ?) = 0)",
        )
        .run([skippedBecause, invoiceId, status, skippedBecause]);
  }

  syncOf(invoiceId: string): InvoiceSyncRecord[] {
    return this.sqlite
      .prepare<Record<string, string | null>>('SELECT * FROM invoice_sync WHERE invoice_id = ? ORDER BY occurred_at')
      .all([invoiceId])
      .map(toSync);
  }
}

const toSync = (row: Record<string, string | null>): InvoiceSyncRecord => ({
  invoiceId: row['invoice_id']!,
  status: row['status']!,
  eventId: row['event_id']!,
  occurredAt: row['occurred_at']!,
  projectId: row['project_id']!,
  accountId: row['account_id']!,
  erpAt: row['erp_at'] ?? null,
  crmAt: row['crm_at'] ?? null,
  psaAt: row['psa_at'] ?? null,
  skipped: row['skipped'] ?? null,
});
