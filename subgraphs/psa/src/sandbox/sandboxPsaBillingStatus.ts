/**
 * What billing reported back, kept in the PSA sandbox (tables: `psaBillingStatusSchema.ts`). The newer billing
 * event wins inside the store: an upsert whose WHERE keeps a row as new or newer, so a replay or a late event
 * writes nothing, in one statement.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type SqliteStore, jsonList } from '../../../platform/src/index.js';
import { inputError } from '../../../platform/src/subgraph/errors.js';
import type {
  InvoiceStatus,
  MilestoneInvoice,
  MilestoneInvoiceUpdate,
  ProjectBillingStatus,
  ProjectBillingStatusUpdate,
  PsaBillingStatus,
} from '../psaBillingStatusPort.js';

interface ProjectBillingStatusRow {
  project_id: string;
  as_of: string;
  currency: string;
  billed_minor: number;
  unbilled_minor: number;
  last_invoice_id: string | null;
  last_invoice_number: string | null;
  last_invoice_status: InvoiceStatus | null;
  updated_at: string;
}

interface MilestoneInvoiceRow {
  milestone_id: string;
  as_of: string;
  invoice_id: string;
  invoice_number: string | null;
  invoice_status: InvoiceStatus;
  updated_at: string;
}

const toProjectBillingStatus = (row: ProjectBillingStatusRow): ProjectBillingStatus => ({
  projectId: row.project_id,
  asOf: row.as_of,
  currency: row.currency,
  billedMinor: row.billed_minor,
  unbilledMinor: row.unbilled_minor,
  lastInvoiceId: row.last_invoice_id,
  lastInvoiceNumber: row.last_invoice_number,
  lastInvoiceStatus: row.last_invoice_status,
  updatedAt: row.updated_at,
});

const toMilestoneInvoice = (row: MilestoneInvoiceRow): MilestoneInvoice => ({
  milestoneId: row.milestone_id,
  asOf: row.as_of,
  invoiceId: row.invoice_id,
  invoiceNumber: row.invoice_number,
  invoiceStatus: row.invoice_status,
  updatedAt: row.updated_at,
});

export class SandboxPsaBillingStatus implements PsaBillingStatus {
  private readonly projectStatement;
  private readonly milestoneStatement;

  constructor(private readonly store: SqliteStore) {
    this.projectStatement = store.prepare<ProjectBillingStatusRow>('SELECT * FROM project_billing_status WHERE project_id IN (SELECT value FROM json_each(?))');
    this.milestoneStatement = store.prepare<MilestoneInvoiceRow>('SELECT * FROM milestone_invoice WHERE milestone_id IN (SELECT value FROM json_each(?))');
  }

  async projectBillingStatusByProjectId(projectIds: readonly string[]): Promise<Map<string, ProjectBillingStatus>> {
    return new Map(this.projectStatement.all([jsonList(projectIds)]).map((row) => [row.project_id, toProjectBillingStatus(row)]));
  }

  async milestoneInvoiceByMilestoneId(milestoneIds: readonly string[]): Promise<Map<string, MilestoneInvoice>> {
    return new Map(this.milestoneStatement.all([jsonList(milestoneIds)]).map((row) => [row.milestone_id, toMilestoneInvoice(row)]));
  }

  async recordProjectBillingStatus(update: ProjectBillingStatusUpdate): Promise<{ readonly applied: boolean }> {
    const asOf = new Date(update.asOf).toISOString();
    return this.store.transaction(() => {
      if (!this.store.prepare('SELECT 1 FROM project WHERE id = ?').get([update.projectId]))
        throw inputError(ErrorCode.NOT_FOUND, `Project ${update.projectId} does not exist in the PSA.`);
      const changes = this.store
        .prepare(
          `INSERT INTO project_billing_status (project_id, as_of, currency, billed_minor, unbilled_minor, last_invoice_id, last_invoice_number,
             last_invoice_status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (project_id) DO UPDATE SET as_of = excluded.as_of, currency = excluded.currency, billed_minor = excluded.billed_minor,
             unbilled_minor = excluded.unbilled_minor, last_invoice_id = excluded.last_invoice_id, last_invoice_number = excluded.last_invoice_number,
             last_invoice_status = excluded.last_invoice_status, updated_at = excluded.updated_at
           WHERE excluded.as_of > project_billing_status.as_of`,
        )
        .run([
          update.projectId,
          asOf,
          update.currency,
          update.billedMinor,
          update.unbilledMinor,
          update.lastInvoiceId,
          update.lastInvoiceNumber,
          update.lastInvoiceStatus,
          new Date().toISOString(),
        ]).changes;
      return { applied: changes > 0 };
    });
  }

  async recordMilestoneInvoice(update: MilestoneInvoiceUpdate): Promise<{ readonly applied: boolean }> {
    const asOf = new Date(update.asOf).toISOString();
    return this.store.transaction(() => {
      if (!this.store.prepare('SELECT 1 FROM milestone WHERE id = ?').get([update.milestoneId]))
        throw inputError(ErrorCode.NOT_FOUND, `Milestone ${update.milestoneId} does not exist in the PSA.`);
      const changes = this.store
        .prepare(
          `INSERT INTO milestone_invoice (milestone_id, as_of, invoice_id, invoice_number, invoice_status, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (milestone_id) DO UPDATE SET as_of = excluded.as_of, invoice_id = excluded.invoice_id,
             invoice_number = excluded.invoice_number, invoice_status = excluded.invoice_status, updated_at = excluded.updated_at
           WHERE excluded.as_of > milestone_invoice.as_of`,
        )
        .run([update.milestoneId, asOf, update.invoiceId, update.invoiceNumber, update.invoiceStatus, new Date().toISOString()]).changes;
      return { applied: changes > 0 };
    });
  }
}
