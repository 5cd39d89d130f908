/**
 * Delivery postings in the ERP sandbox (`erpPostingsPort.ts`): the terms they are checked against, and the
 * postings, each with its ledger lines in the same transaction — cost (TIME_COST) and revenue not yet billed
 * (REVENUE) in the period of its date — so that the job's financials and the billed-versus-unbilled report move
 * with every posting and every reversal. The store refuses a posting in a closed period or on a closed job.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type SqliteStore, groupBy, inputError, jsonList } from '../../../platform/src/index.js';
import type { ErpJob } from '../erpPort.js';
import type {
  ContractRate,
  DeliveryPosting,
  ErpEmployee,
  ErpJobStatus,
  ErpPostings,
  ErpPurchaseOrder,
  PostedDelivery,
  PostingTerms,
  ErpBillingPosition,
  ErpCreditNote,
  ErpInvoiceRecord,
  ErpInvoiceStatusUpdate,
  ProjectBillables,
  UnbilledWip,
} from '../erpPostingsPort.js';
import { SandboxErpBilling } from './sandboxErpBilling.js';
import { type JobRow, toJob } from './erpRows.js';

interface PostingRow {
  id: number;
  external_id: string;
  kind: DeliveryPosting['kind'];
  project_id: string;
  resource_id: string | null;
  item: string | null;
  trandate: string;
  minutes: number | null;
  rate_minor: number | null;
  billable_minor: number;
  cost_minor: number;
  billable: number;
  currency: string;
  memo: string;
  status: PostedDelivery['status'];
  posted_at: string;
  reversed_at: string | null;
}

const POSTING_SELECT = `SELECT d.*, j.external_id AS project_id, e.external_id AS resource_id
  FROM delivery_posting d JOIN job j ON j.id = d.job_id LEFT JOIN employee e ON e.id = d.employee_id`;

const toPosted = (row: PostingRow): PostedDelivery => ({
  id: row.id,
  externalId: row.external_id,
  kind: row.kind,
  projectId: row.project_id,
  resourceId: row.resource_id,
  item: row.item,
  date: row.trandate,
  minutes: row.minutes,
  rateMinor: row.rate_minor,
  billableMinor: row.billable_minor,
  costMinor: row.cost_minor,
  billable: row.billable === 1,
  currency: row.currency,
  memo: row.memo,
  status: row.status,
  postedAt: row.posted_at,
  reversedAt: row.reversed_at,
});

export class SandboxErpPostings implements ErpPostings {
  private readonly billing: SandboxErpBilling;

  constructor(private readonly store: SqliteStore) {
    this.billing = new SandboxErpBilling(store, (where, params) => store.prepare<PostingRow>(`${POSTING_SELECT} ${where}`).all(params).map(toPosted));
  }

  async postingTermsByProjectId(projectIds: readonly string[]): Promise<Map<string, PostingTerms>> {
    const jobs = this.store
      .prepare<JobRow & { status: ErpJobStatus; region: string }>(
        `SELECT j.*, c.terms_days, s.region FROM job j JOIN customer c ON c.id = j.customer_id JOIN subsidiary s ON s.id = j.subsidiary_id
         WHERE j.external_id IN (SELECT value FROM json_each(?))`,
      )
      .all([jsonList(projectIds)]);
    const jobIds = jsonList(jobs.map((job) => job.id));
    const rates = groupBy(
      this.store
        .prepare<ContractRate & { jobId: number }>(
          `SELECT job_id AS jobId, role, effective_from AS effectiveFrom, effective_to AS effectiveTo, bill_rate_minor AS billRateMinor
           FROM contract_rate WHERE job_id IN (SELECT value FROM json_each(?)) ORDER BY job_id, role, effective_from`,
        )
        .all([jobIds]),
      (rate) => rate.jobId,
    );
    const totals = new Map(
      this.store
        .prepare<{ jobId: number; billable: number; cost: number }>(
          'SELECT job_id AS jobId, billable_minor AS billable, cost_minor AS cost FROM job_posted_total WHERE job_id IN (SELECT value FROM json_each(?))',
        )
        .all([jobIds])
        .map((row) => [row.jobId, row]),
    );
    const posted = new Map([...totals].map(([jobId, total]) => [jobId, total.billable]));
    const orders = new Map(
      this.store
        .prepare<{ job_id: number; po_number: string; expires_on: string; amount_minor: number }>(
          'SELECT * FROM purchase_order WHERE job_id IN (SELECT value FROM json_each(?))',
        )
        .all([jobIds])
        .map((row) => [row.job_id, row]),
    );
    return new Map(
      jobs.map((row) => {
        const job: ErpJob = toJob(row);
        const order = orders.get(row.id);
        const purchaseOrder: ErpPurchaseOrder | null = order
          ? {
              number: order.po_number,
              expiresOn: order.expires_on,
              amountMinor: order.amount_minor,
              consumedMinor: posted.get(row.id) ?? 0,
              currency: job.currency,
            }
          : null;
        const contractRates = (rates.get(row.id) ?? []).map(({ role, effectiveFrom, effectiveTo, billRateMinor }) => ({
          role,
          effectiveFrom,
          effectiveTo,
          billRateMinor,
        }));
        return [
          row.external_id!,
          {
            projectId: row.external_id!,
            job,
            status: row.status,
            region: row.region,
            contractRates,
            purchaseOrder,
            postedBillableMinor: posted.get(row.id) ?? 0,
            postedCostMinor: totals.get(row.id)?.cost ?? 0,
          },
        ];
      }),
    );
  }

  async employeesByResourceId(resourceIds: readonly string[]): Promise<Map<string, ErpEmployee>> {
    const rows = this.store
      .prepare<{ id: number; entity_id: string; external_id: string; inactive: number }>(
        'SELECT id, entity_id, external_id, inactive FROM employee WHERE external_id IN (SELECT value FROM json_each(?))',
      )
      .all([jsonList(resourceIds)]);
    return new Map(rows.map((row) => [row.external_id, { id: row.id, entityId: row.entity_id, resourceId: row.external_id, active: row.inactive === 0 }]));
  }

  async periodsClosed(periods: readonly string[]): Promise<Map<string, boolean>> {
    const rows = this.store
      .prepare<{ period: string; closed: number }>('SELECT period, closed FROM accounting_period WHERE period IN (SELECT value FROM json_each(?))')
      .all([jsonList(periods)]);
    return new Map(rows.map((row) => [row.period, row.closed === 1]));
  }

  async postDelivery(postings: readonly DeliveryPosting[]): Promise<Array<{ externalId: string; created: boolean }>> {
    return this.store.transaction(() => {
      const insert = this.store.prepare(
        `INSERT INTO delivery_posting (external_id, kind, job_id, employee_id, item, trandate, minutes, rate_minor, billable_minor, cost_minor, billable,
           currency, memo, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      // Prepared once per batch, not once per posting: a quarter-end batch is 500 postings.
      const posted = this.store.prepare('SELECT 1 FROM delivery_posting WHERE external_id = ?');
      const jobOf = this.store.prepare<{ id: number; status: string; currency: string }>('SELECT id, status, currency FROM job WHERE external_id = ?');
      const periodOf = this.store.prepare<{ closed: number }>('SELECT closed FROM accounting_period WHERE period = ?');
      const employeeOf = this.store.prepare<{ id: number; inactive: number }>('SELECT id, inactive FROM employee WHERE external_id = ?');
      const ledger = this.ledgerWriter();
      const postedAt = new Date().toISOString();
      return postings.map((posting) => {
        if (posted.get([posting.externalId])) return { externalId: posting.externalId, created: false };
        const job = jobOf.get([posting.projectId]);
        if (!job) throw inputError(ErrorCode.NOT_FOUND, `Posting ${posting.externalId}: project ${posting.projectId} has no job in ERP.`);
        if (job.currency !== posting.currency)
          throw inputError(ErrorCode.BAD_USER_INPUT, `Posting ${posting.externalId}: it is in ${posting.currency}, its job in ${job.currency}.`);
        const period = posting.date.slice(0, 7);
        const closed = periodOf.get([period]);
        if (!closed || closed.closed === 1)
          throw inputError(
            ErrorCode.INVALID_STATE_TRANSITION,
            `Posting ${posting.externalId}: the accounting period ${period} is ${closed ? 'closed' : 'not open in ERP'}.`,
          );
        if (job.status !== 'IN_PROGRESS')
          throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Posting ${posting.externalId}: the job of ${posting.projectId} is closed.`);
        let employeeId: number | null = null;
        if (posting.resourceId !== null) {
          const employee = employeeOf.get([posting.resourceId]);
          if (!employee || employee.inactive === 1)
            throw inputError(ErrorCode.NOT_FOUND, `Posting ${posting.externalId}: consultant ${posting.resourceId} is not an active employee in ERP.`);
          employeeId = employee.id;
        }
        insert.run([
          posting.externalId,
          posting.kind,
          job.id,
          employeeId,
          posting.item,
          posting.date,
          posting.minutes,
          posting.rateMinor,
          posting.billable ? posting.billableMinor : 0,
          posting.costMinor,
          posting.billable ? 1 : 0,
          posting.currency,
          posting.memo,
          postedAt,
        ]);
        ledger(job.id, period, posting.billable ? posting.billableMinor : 0, posting.costMinor);
        return { externalId: posting.externalId, created: true };
      });
    });
  }

  async reverseDelivery(externalIds: readonly string[]): Promise<Array<{ externalId: string; reversed: boolean }>> {
    return this.store.transaction(() => {
      const reversedAt = new Date().toISOString();
      const postingOf = this.store.prepare<PostingRow & { job_id: number }>(`${POSTING_SELECT} WHERE d.external_id = ?`);
      const reverse = this.store.prepare("UPDATE delivery_posting SET status = 'REVERSED', reversed_at = ? WHERE id = ?");
      const ledger = this.ledgerWriter();
      return externalIds.map((externalId) => {
        const row = postingOf.get([externalId]);
        if (!row || row.status === 'REVERSED') return { externalId, reversed: false };
        reverse.run([reversedAt, row.id]);
        // The reversal lands in the original's period, as a reversing journal in the same period would.
        ledger(row.job_id, row.trandate.slice(0, 7), -row.billable_minor, -row.cost_minor);
        return { externalId, reversed: true };
      });
    });
  }

  async postingsByExternalId(externalIds: readonly string[]): Promise<Map<string, PostedDelivery>> {
    const rows = this.store.prepare<PostingRow>(`${POSTING_SELECT} WHERE d.external_id IN (SELECT value FROM json_each(?))`).all([jsonList(externalIds)]);
    return new Map(rows.map((row) => [row.external_id, toPosted(row)]));
  }

  async postingsByProjectId(projectIds: readonly string[]): Promise<Map<string, PostedDelivery[]>> {
    const rows = this.store
      .prepare<PostingRow>(`${POSTING_SELECT} WHERE j.external_id IN (SELECT value FROM json_each(?)) ORDER BY d.trandate, d.id`)
      .all([jsonList(projectIds)]);
    return groupBy(rows.map(toPosted), (posting) => posting.projectId);
  }

  async billablesByProjectId(upTo: string, projectIds: readonly string[] | null): Promise<ProjectBillables[]> {
    return this.billing.billablesByProjectId(upTo, projectIds);
  }

  async recordInvoiceStatus(update: ErpInvoiceStatusUpdate): Promise<{ applied: boolean }> {
    return this.billing.recordInvoiceStatus(update);
  }

  async recordCreditNote(creditNote: ErpCreditNote): Promise<{ applied: boolean }> {
    return this.billing.recordCreditNote(creditNote);
  }

  async invoicesByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpInvoiceRecord[]>> {
    return this.billing.invoicesByProjectId(projectIds);
  }

  async billingPositionsByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpBillingPosition>> {
    return this.billing.billingPositionsByProjectId(projectIds);
  }

  async unbilledWip(): Promise<UnbilledWip[]> {
    return this.billing.unbilledWip();
  }

  /** Writes the job's ledger lines for one posting (or, negative, its reversal): revenue not yet billed, and cost. */
  private ledgerWriter(): (jobId: number, period: string, revenueMinor: number, costMinor: number) => void {
    const insert = this.store.prepare('INSERT INTO posting (job_id, period, type, amount_minor) VALUES (?, ?, ?, ?)');
    return (jobId, period, revenueMinor, costMinor) => {
      if (revenueMinor !== 0) insert.run([jobId, period, 'REVENUE', revenueMinor]);
      if (costMinor !== 0) insert.run([jobId, period, 'TIME_COST', costMinor]);
    };
  }
}
