/**
 * Billing as the ERP sandbox records it (`ErpPostings` billing calls): what is due to be invoiced, the invoices
 * billing raised with what each bills, the job's billings and payments in its ledger, and unbilled work. An
 * invoice's status is recorded as of its billing event, the newest winning, so replays and late events change
 * nothing; an invoice counts as billed while open, paid or uncollectible.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type SqliteStore, groupBy, inputError, jsonList } from '../../../platform/src/index.js';
import type { ErpJob } from '../erpPort.js';
import type {
  DueScheduleLine,
  ErpBillingPosition,
  ErpCreditNote,
  ErpInvoiceRecord,
  ErpInvoiceStatus,
  ErpInvoiceStatusUpdate,
  PostedDelivery,
  ProjectBillables,
  UnbilledWip,
} from '../erpPostingsPort.js';

/** What credit notes took off invoice `i`. */
const CREDITED = '(SELECT COALESCE(SUM(c.total_minor), 0) FROM erp_credit_note c WHERE c.invoice_id = i.invoice_id)';
const BILLED_STATUSES: ReadonlySet<ErpInvoiceStatus> = new Set(['OPEN', 'PAID', 'UNCOLLECTIBLE']);
/** `schedule:<projectId>:<sequence>` names a schedule line on an invoice. */
const SCHEDULE_KEY = /^schedule:(prj_[0-9A-Za-z]+):([1-9][0-9]*)$/;

export const scheduleSourceKey = (projectId: string, sequence: number) => `schedule:${projectId}:${sequence}`;

interface InvoiceRow {
  invoice_id: string;
  number: string | null;
  project_id: string;
  job_id: number;
  status: ErpInvoiceStatus;
  trandate: string;
  currency: string;
  total_minor: number;
  amount_paid_minor: number;
  billed: number;
  as_of: string;
  updated_at: string;
  credited_minor: number;
}

export class SandboxErpBilling {
  constructor(
    private readonly store: SqliteStore,
    private readonly postingsOf: (where: string, params: unknown[]) => PostedDelivery[],
  ) {}

  billablesByProjectId(upTo: string, projectIds: readonly string[] | null): ProjectBillables[] {
    const scope = projectIds === null ? '' : 'AND j.external_id IN (SELECT value FROM json_each(?))';
    const scopeParams = projectIds === null ? [] : [jsonList(projectIds)];
    // Time and expenses are due once dated up to the day; a milestone posts on its completion date, so the same.
    const postings = groupBy(
      this.postingsOf(
        `WHERE d.billed_invoice_id IS NULL AND d.status = 'POSTED' AND d.billable = 1 AND d.billable_minor > 0 AND d.trandate <= ? ${scope}
         ORDER BY j.external_id, d.trandate, d.id`,
        [upTo, ...scopeParams],
      ),
      (posting) => posting.projectId,
    );
    const lines = groupBy(
      this.store
        .prepare<{ project_id: string; sequence: number; line_date: string; description: string; amount_minor: number }>(
          `SELECT j.external_id AS project_id, l.sequence, l.line_date, l.description, l.amount_minor
           FROM billing_schedule_line l JOIN billing_schedule s ON s.id = l.schedule_id JOIN job j ON j.id = s.job_id
           LEFT JOIN billed_schedule_line b ON b.job_id = s.job_id AND b.sequence = l.sequence
           WHERE b.invoice_id IS NULL AND s.schedule_type IN ('FIXED_INTERVAL', 'RETAINER') AND l.amount_minor > 0
             -- Instalments once their date has come; a retainer billed in advance by the eve of the period it covers
             -- (a run at November's end bills December's retainer).
             AND l.line_date <= CASE WHEN s.schedule_type = 'RETAINER' AND s.in_arrears = 0 THEN date(?, '+1 day') ELSE ? END ${scope}
           ORDER BY j.external_id, l.sequence`,
        )
        .all([upTo, upTo, ...scopeParams]),
      (line) => line.project_id,
    );
    const projects = [...new Set([...postings.keys(), ...lines.keys()])].sort();
    const jobs = new Map(
      this.store
        .prepare<{ external_id: string; contract_type: ErpJob['contractType']; currency: string }>(
          'SELECT external_id, contract_type, currency FROM job WHERE external_id IN (SELECT value FROM json_each(?))',
        )
        .all([jsonList(projects)])
        .map((job) => [job.external_id, job]),
    );
    return projects.map((projectId) => ({
      projectId,
      contractType: jobs.get(projectId)!.contract_type,
      currency: jobs.get(projectId)!.currency,
      postings: postings.get(projectId) ?? [],
      scheduleLines: (lines.get(projectId) ?? []).map((line): DueScheduleLine => ({
        sourceKey: scheduleSourceKey(projectId, line.sequence),
        sequence: line.sequence,
        date: line.line_date,
        description: line.description,
        amountMinor: line.amount_minor,
      })),
    }));
  }

  recordInvoiceStatus(update: ErpInvoiceStatusUpdate): { applied: boolean } {
    return this.store.transaction(() => {
      const job = this.store.prepare<{ id: number; currency: string }>('SELECT id, currency FROM job WHERE external_id = ?').get([update.projectId]);
      if (!job) throw inputError(ErrorCode.NOT_FOUND, `Invoice ${update.invoiceId}: project ${update.projectId} has no job in ERP.`);
      if (job.currency !== update.currency)
        throw inputError(ErrorCode.BAD_USER_INPUT, `Invoice ${update.invoiceId} is in ${update.currency}, the job of ${update.projectId} in ${job.currency}.`);
      const before = this.store
        .prepare<InvoiceRow>('SELECT i.*, ? AS project_id, 0 AS credited_minor FROM erp_invoice i WHERE invoice_id = ?')
        .get([update.projectId, update.invoiceId]);
      if (before && before.as_of >= update.asOf) return { applied: false };
      if (before && before.job_id !== job.id)
        throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Invoice ${update.invoiceId} is recorded on another project in ERP.`);

      const billed = BILLED_STATUSES.has(update.status);
      const wasBilled = before?.billed === 1;
      const now = new Date().toISOString();
      this.store
        .prepare(
          `INSERT INTO erp_invoice (invoice_id, number, job_id, status, trandate, currency, total_minor, amount_paid_minor, billed, as_of, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (invoice_id) DO UPDATE SET number = excluded.number, status = excluded.status, amount_paid_minor = excluded.amount_paid_minor,
             billed = excluded.billed, as_of = excluded.as_of, updated_at = excluded.updated_at`,
        )
        .run([
          update.invoiceId,
          update.number,
          job.id,
          update.status,
          before?.trandate ?? update.date,
          update.currency,
          before?.total_minor ?? update.totalMinor,
          update.amountPaidMinor,
          billed ? 1 : 0,
          update.asOf,
          now,
        ]);
      if (!before) {
        const insertSource = this.store.prepare('INSERT OR IGNORE INTO erp_invoice_source (invoice_id, source_key) VALUES (?, ?)');
        for (const key of update.sourceKeys) insertSource.run([update.invoiceId, key]);
      }
      if (billed && !wasBilled) this.markBilled(update.invoiceId, job.id, update.projectId);
      if (!billed && wasBilled) this.unmarkBilled(update.invoiceId);
      if (billed !== wasBilled) {
        // The billing lands in the invoice's own period; voiding takes it back there, as a reversing journal does.
        const period = (before?.trandate ?? update.date).slice(0, 7);
        const total = before?.total_minor ?? update.totalMinor;
        if (total !== 0)
          this.store
            .prepare("INSERT INTO posting (job_id, period, type, amount_minor) VALUES (?, ?, 'BILLING', ?)")
            .run([job.id, period, billed ? total : -total]);
      }
      return { applied: true };
    });
  }

  recordCreditNote(creditNote: ErpCreditNote): { applied: boolean } {
    return this.store.transaction(() => {
      const invoice = this.store
        .prepare<{ job_id: number; currency: string; total_minor: number; credited: number }>(
          `SELECT i.job_id, i.currency, i.total_minor, COALESCE((SELECT SUM(total_minor) FROM erp_credit_note c WHERE c.invoice_id = i.invoice_id), 0) AS credited
           FROM erp_invoice i JOIN job j ON j.id = i.job_id WHERE i.invoice_id = ? AND j.external_id = ?`,
        )
        .get([creditNote.invoiceId, creditNote.projectId]);
      // Its invoice's status event comes first in billing's order; a credit note arriving before it is retried later.
      if (!invoice)
        throw inputError(
          ErrorCode.NOT_FOUND,
          `Credit note ${creditNote.creditNoteId}: ERP has no invoice ${creditNote.invoiceId} of ${creditNote.projectId} yet.`,
        );
      if (this.store.prepare('SELECT 1 FROM erp_credit_note WHERE credit_note_id = ?').get([creditNote.creditNoteId])) return { applied: false };
      if (invoice.currency !== creditNote.currency)
        throw inputError(ErrorCode.BAD_USER_INPUT, `Credit note ${creditNote.creditNoteId} is in ${creditNote.currency}, its invoice in ${invoice.currency}.`);
      if (invoice.credited + creditNote.totalMinor > invoice.total_minor)
        throw inputError(ErrorCode.BAD_USER_INPUT, `Credit note ${creditNote.creditNoteId} would credit more than invoice ${creditNote.invoiceId}'s total.`);
      this.store
        .prepare('INSERT INTO erp_credit_note (credit_note_id, invoice_id, trandate, total_minor, source_keys, recorded_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run([
          creditNote.creditNoteId,
          creditNote.invoiceId,
          creditNote.date,
          creditNote.totalMinor,
          JSON.stringify(creditNote.sourceKeys),
          new Date().toISOString(),
        ]);
      this.store
        .prepare("INSERT INTO posting (job_id, period, type, amount_minor) VALUES (?, ?, 'BILLING', ?)")
        .run([invoice.job_id, creditNote.date.slice(0, 7), -creditNote.totalMinor]);
      return { applied: true };
    });
  }

  private markBilled(invoiceId: string, jobId: number, projectId: string): void {
    const keys = this.store.prepare<{ source_key: string }>('SELECT source_key FROM erp_invoice_source WHERE invoice_id = ?').all([invoiceId]);
    const markPosting = this.store.prepare('UPDATE delivery_posting SET billed_invoice_id = ? WHERE external_id = ? AND job_id = ?');
    const markLine = this.store.prepare('INSERT INTO billed_schedule_line (job_id, sequence, invoice_id) VALUES (?, ?, ?)');
    for (const { source_key: key } of keys) {
      const schedule = SCHEDULE_KEY.exec(key);
      if (schedule) {
        if (schedule[1] !== projectId) throw inputError(ErrorCode.BAD_USER_INPUT, `Invoice ${invoiceId} bills ${key}, a line of another project.`);
        const holder = this.store
          .prepare<{ invoice_id: string }>('SELECT invoice_id FROM billed_schedule_line WHERE job_id = ? AND sequence = ?')
          .get([jobId, Number(schedule[2])]);
        if (holder && holder.invoice_id !== invoiceId)
          throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Invoice ${invoiceId} bills ${key}, already billed by ${holder.invoice_id}.`);
        if (!holder) markLine.run([jobId, Number(schedule[2]), invoiceId]);
        continue;
      }
      try {
        if (markPosting.run([invoiceId, key, jobId]).changes === 0)
          throw inputError(ErrorCode.NOT_FOUND, `Invoice ${invoiceId} bills ${key}, which is not a posting of ${projectId} in ERP.`);
      } catch (error) {
        if (error instanceof Error && /already billed/.test(error.message))
          throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Invoice ${invoiceId} bills ${key}, already billed by another invoice.`);
        throw error;
      }
    }
  }

  private unmarkBilled(invoiceId: string): void {
    this.store.prepare('UPDATE delivery_posting SET billed_invoice_id = NULL WHERE billed_invoice_id = ?').run([invoiceId]);
    this.store.prepare('DELETE FROM billed_schedule_line WHERE invoice_id = ?').run([invoiceId]);
  }

  invoicesByProjectId(projectIds: readonly string[]): Map<string, ErpInvoiceRecord[]> {
    const rows = this.store
      .prepare<InvoiceRow>(
        `SELECT i.*, j.external_id AS project_id,
           COALESCE((SELECT SUM(total_minor) FROM erp_credit_note c WHERE c.invoice_id = i.invoice_id), 0) AS credited_minor
         FROM erp_invoice i JOIN job j ON j.id = i.job_id
         WHERE j.external_id IN (SELECT value FROM json_each(?)) ORDER BY i.trandate, i.invoice_id`,
      )
      .all([jsonList(projectIds)]);
    const sources = groupBy(
      this.store
        .prepare<{ invoice_id: string; source_key: string }>(
          'SELECT invoice_id, source_key FROM erp_invoice_source WHERE invoice_id IN (SELECT value FROM json_each(?)) ORDER BY invoice_id, source_key',
        )
        .all([jsonList(rows.map((row) => row.invoice_id))]),
      (source) => source.invoice_id,
    );
    return groupBy(
      rows.map((row): ErpInvoiceRecord => ({
        invoiceId: row.invoice_id,
        number: row.number,
        projectId: row.project_id,
        status: row.status,
        date: row.trandate,
        asOf: row.as_of,
        currency: row.currency,
        totalMinor: row.total_minor,
        amountPaidMinor: row.amount_paid_minor,
        sourceKeys: (sources.get(row.invoice_id) ?? []).map((source) => source.source_key),
        creditedMinor: row.credited_minor,
        updatedAt: row.updated_at,
      })),
      (invoice) => invoice.projectId,
    );
  }

  billingPositionsByProjectId(projectIds: readonly string[]): Map<string, ErpBillingPosition> {
    const rows = this.store
      .prepare<{
        project_id: string;
        currency: string;
        unbilled_minor: number;
        unbilled_postings: number;
        billed_minor: number;
        paid_minor: number;
        receivable_minor: number;
        written_off_minor: number;
      }>(
        `SELECT j.external_id AS project_id, j.currency,
           (SELECT COALESCE(SUM(billable_minor), 0) FROM delivery_posting d
             WHERE d.job_id = j.id AND d.status = 'POSTED' AND d.billable = 1 AND d.billed_invoice_id IS NULL) AS unbilled_minor,
           (SELECT COUNT(*) FROM delivery_posting d
             WHERE d.job_id = j.id AND d.status = 'POSTED' AND d.billable = 1 AND d.billable_minor > 0 AND d.billed_invoice_id IS NULL) AS unbilled_postings,
           COALESCE((SELECT SUM(total_minor - ${CREDITED}) FROM erp_invoice i WHERE i.job_id = j.id AND i.billed = 1), 0) AS billed_minor,
           COALESCE((SELECT SUM(amount_paid_minor) FROM erp_invoice i WHERE i.job_id = j.id AND i.billed = 1), 0) AS paid_minor,
           COALESCE((SELECT SUM(MAX(0, total_minor - ${CREDITED} - amount_paid_minor)) FROM erp_invoice i WHERE i.job_id = j.id AND i.status = 'OPEN'), 0) AS receivable_minor,
           COALESCE((SELECT SUM(MAX(0, total_minor - ${CREDITED} - amount_paid_minor)) FROM erp_invoice i WHERE i.job_id = j.id AND i.status = 'UNCOLLECTIBLE'), 0) AS written_off_minor
         FROM job j WHERE j.external_id IN (SELECT value FROM json_each(?))`,
      )
      .all([jsonList(projectIds)]);
    return new Map(
      rows.map((row) => [
        row.project_id,
        {
          projectId: row.project_id,
          currency: row.currency,
          unbilledMinor: row.unbilled_minor,
          unbilledPostings: row.unbilled_postings,
          billedMinor: row.billed_minor,
          paidMinor: row.paid_minor,
          receivableMinor: row.receivable_minor,
          writtenOffMinor: row.written_off_minor,
        },
      ]),
    );
  }

  unbilledWip(): UnbilledWip[] {
    return this.store
      .prepare<UnbilledWip>(
        `SELECT currency, SUM(billable_minor) AS unbilledMinor, COUNT(*) AS postings, COUNT(DISTINCT job_id) AS projects
         FROM delivery_posting WHERE status = 'POSTED' AND billable = 1 AND billable_minor > 0 AND billed_invoice_id IS NULL
         GROUP BY currency ORDER BY currency`,
      )
      .all([]);
  }
}
