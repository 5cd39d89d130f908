/**
 * The ERP sandbox: a NetSuite-shaped store in SQLite. It keeps NetSuite's rules that matter to the integration:
 * numeric internal IDs; an `externalId` unique per record type (the key of `PUT …/eid:<externalId>` upserts, so a
 * duplicate would make an upsert ambiguous); a job whose customer trades with the job's subsidiary (OneWorld's
 * customer–subsidiary relationship); and amounts in integer minor units. The database enforces each rule, so a
 * seed or a future write path that breaks one fails instead of storing it.
 *
 * The ledger (`posting`) holds one row per job, month and posting type, derived from the same world the PSA and
 * billing sandboxes use: cost from approved time, revenue by the contract's recognition method, billings from
 * the invoices the billing system finalized.
 */
import { join } from 'node:path';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type SqliteStore, WhereBuilder, groupBy, jsonList } from '../../../platform/src/index.js';
import { inputError } from '../../../platform/src/subgraph/errors.js';
import { openSandboxStore } from '../../../sandboxes/src/index.js';
import { type WorldOptions, buildWorld } from '../../../sandboxes/src/world/world.js';
import type {
  BillingReportQuery,
  BillingReportRow,
  BillingScheduleUpsert,
  CustomerUpsert,
  ErpBillingSchedule,
  ErpBillingScheduleLine,
  ErpCustomer,
  ErpJob,
  ErpLedgerTotals,
  ErpLegalEntity,
  ErpRateCard,
  ErpRateCardLine,
  ErpSystem,
  ErpWrites,
  JobUpsert,
  Upserted,
} from '../erpPort.js';
import {
  type CustomerRow,
  type JobRow,
  type LedgerTotalsRow,
  REPORT_DIMENSIONS,
  type ReportRow,
  type ScheduleLineRow,
  type ScheduleRow,
  type SubsidiaryRow,
  inJsonList,
  toCustomer,
  toJob,
  toLegalEntity,
  toSchedule,
} from './erpRows.js';
import { installInvoicing } from './erpInvoicingSchema.js';
import { installPostings } from './erpPostingsSchema.js';
import { DDL } from './erpSchema.js';
import { seedErp } from './erpSeed.js';
import { SandboxErpPostings } from './sandboxErpPostings.js';

export class SandboxErp implements ErpSystem, ErpWrites {
  /** Delivery postings: time, expenses and milestones posted from the PSA, with their terms. */
  readonly postings: SandboxErpPostings;

  private readonly allLegalEntitiesStatement;
  private readonly legalEntitiesStatement;
  private readonly customersStatement;
  private readonly jobsStatement;
  private readonly rateCardsStatement;
  private readonly rateCardLinesStatement;
  private readonly schedulesStatement;
  private readonly scheduleLinesStatement;
  private readonly ledgerTotalsStatement;

  constructor(readonly store: SqliteStore) {
    this.postings = new SandboxErpPostings(store);
    this.allLegalEntitiesStatement = store.prepare<SubsidiaryRow>('SELECT * FROM subsidiary ORDER BY id');
    this.legalEntitiesStatement = store.prepare<SubsidiaryRow>('SELECT * FROM subsidiary WHERE id IN (SELECT value FROM json_each(?))');
    this.customersStatement = store.prepare<CustomerRow>('SELECT * FROM customer WHERE external_id IN (SELECT value FROM json_each(?))');
    this.jobsStatement = store.prepare<JobRow>(
      'SELECT j.*, c.terms_days FROM job j JOIN customer c ON c.id = j.customer_id WHERE j.external_id IN (SELECT value FROM json_each(?))',
    );
    this.rateCardsStatement = store.prepare<{ id: number; name: string; currency: string; subsidiary_id: number }>(
      'SELECT * FROM rate_card WHERE id IN (SELECT value FROM json_each(?))',
    );
    this.rateCardLinesStatement = store.prepare<{ rate_card_id: number; role: string; role_name: string; bill_rate_minor: number; currency: string }>(
      `SELECT l.rate_card_id, l.role, l.role_name, l.bill_rate_minor, r.currency FROM rate_card_line l JOIN rate_card r ON r.id = l.rate_card_id
       WHERE l.rate_card_id IN (SELECT value FROM json_each(?)) ORDER BY l.rate_card_id, l.sort_order`,
    );
    this.schedulesStatement = store.prepare<ScheduleRow>(
      `SELECT s.*, j.external_id AS project_id FROM billing_schedule s JOIN job j ON j.id = s.job_id
       WHERE j.external_id IN (SELECT value FROM json_each(?))`,
    );
    this.scheduleLinesStatement = store.prepare<ScheduleLineRow>(
      `SELECT l.schedule_id, l.sequence, l.line_date, l.description, l.amount_minor, j.currency
       FROM billing_schedule_line l JOIN billing_schedule s ON s.id = l.schedule_id JOIN job j ON j.id = s.job_id
       WHERE l.schedule_id IN (SELECT value FROM json_each(?)) ORDER BY l.schedule_id, l.sequence`,
    );
    this.ledgerTotalsStatement = store.prepare<LedgerTotalsRow>(
      `SELECT j.external_id AS project_id, j.currency, j.budget_minor,
         COALESCE(SUM(CASE WHEN p.type = 'TIME_COST' THEN p.amount_minor END), 0) AS cost_minor,
         COALESCE(SUM(CASE WHEN p.type = 'REVENUE' THEN p.amount_minor END), 0) AS revenue_minor,
         COALESCE(SUM(CASE WHEN p.type = 'BILLING' THEN p.amount_minor END), 0) AS billed_minor
       FROM job j LEFT JOIN posting p ON p.job_id = j.id
       WHERE j.external_id IN (SELECT value FROM json_each(?))
       GROUP BY j.id`,
    );
  }

  get statementCount(): number {
    return this.store.statementCount;
  }

  async legalEntities(): Promise<ErpLegalEntity[]> {
    return this.allLegalEntitiesStatement.all().map(toLegalEntity);
  }

  async legalEntitiesById(ids: readonly number[]): Promise<Map<number, ErpLegalEntity>> {
    return new Map(this.legalEntitiesStatement.all([jsonList(ids)]).map((row) => [row.id, toLegalEntity(row)]));
  }

  async customersByAccountId(accountIds: readonly string[]): Promise<Map<string, ErpCustomer>> {
    return new Map(this.customersStatement.all([jsonList(accountIds)]).map((row) => [row.external_id!, toCustomer(row)]));
  }

  async jobsByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpJob>> {
    return new Map(this.jobsStatement.all([jsonList(projectIds)]).map((row) => [row.external_id!, toJob(row)]));
  }

  async rateCardsById(ids: readonly number[]): Promise<Map<number, ErpRateCard>> {
    return new Map(
      this.rateCardsStatement
        .all([jsonList(ids)])
        .map((row) => [row.id, { id: row.id, name: row.name, currency: row.currency, subsidiaryId: row.subsidiary_id }]),
    );
  }

  async rateCardLinesByRateCardId(rateCardIds: readonly number[]): Promise<Map<number, ErpRateCardLine[]>> {
    const lines = this.rateCardLinesStatement
      .all([jsonList(rateCardIds)])
      .map((row) => ({ rateCardId: row.rate_card_id, role: row.role, roleName: row.role_name, billRateMinor: row.bill_rate_minor, currency: row.currency }));
    return groupBy(lines, (line) => line.rateCardId);
  }

  async billingSchedulesByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpBillingSchedule>> {
    return new Map(this.schedulesStatement.all([jsonList(projectIds)]).map((row) => [row.project_id, toSchedule(row)]));
  }

  async billingScheduleLinesByScheduleId(scheduleIds: readonly number[]): Promise<Map<number, ErpBillingScheduleLine[]>> {
    const lines = this.scheduleLinesStatement.all([jsonList(scheduleIds)]).map((row) => ({
      scheduleId: row.schedule_id,
      sequence: row.sequence,
      date: row.line_date,
      description: row.description,
      amountMinor: row.amount_minor,
      currency: row.currency,
    }));
    return groupBy(lines, (line) => line.scheduleId);
  }

  async ledgerTotalsByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpLedgerTotals>> {
    return new Map(
      this.ledgerTotalsStatement.all([jsonList(projectIds)]).map((row) => [
        row.project_id,
        {
          projectId: row.project_id,
          currency: row.currency,
          budgetMinor: row.budget_minor,
          costMinor: row.cost_minor,
          recognizedRevenueMinor: row.revenue_minor,
          billedMinor: row.billed_minor,
        },
      ]),
    );
  }

  async billingReport(query: BillingReportQuery): Promise<BillingReportRow[]> {
    if (query.groupBy.length === 0) throw new Error('billingReport needs at least one dimension to group by');
    const dimensions = [...new Set(query.groupBy)].map((name) => REPORT_DIMENSIONS[name]);
    const columns = [...new Set(dimensions.flatMap((dimension) => dimension.columns))];
    const grouping = [...new Set(dimensions.flatMap((dimension) => dimension.groupBy)), 'j.currency'];
    const ordering = [...dimensions.map((dimension) => dimension.orderBy), 'j.currency'];
    const where = new WhereBuilder()
      .raw("p.type IN ('REVENUE', 'BILLING')", true)
      .add('p.period >= :fromMonth', 'fromMonth', query.fromMonth)
      .add('p.period <= :toMonth', 'toMonth', query.toMonth)
      .add(inJsonList('s.region', 'regions'), 'regions', query.regions)
      .add(inJsonList('j.external_id', 'projectIds'), 'projectIds', query.projectIds);
    const rows = this.store
      .prepare<ReportRow>(
        `SELECT ${columns.join(', ')}, j.currency AS currency,
           COALESCE(SUM(CASE WHEN p.type = 'REVENUE' THEN p.amount_minor END), 0) AS revenue_minor,
           COALESCE(SUM(CASE WHEN p.type = 'BILLING' THEN p.amount_minor END), 0) AS billed_minor
         FROM posting p JOIN job j ON j.id = p.job_id JOIN subsidiary s ON s.id = j.subsidiary_id
         ${where}
         GROUP BY ${grouping.join(', ')}
         ORDER BY ${ordering.join(', ')}`,
      )
      .all(where.params);
    return rows.map((row) => ({
      projectId: row.project_id ?? null,
      region: row.region ?? null,
      month: row.month ?? null,
      currency: row.currency,
      recognizedRevenueMinor: row.revenue_minor,
      billedMinor: row.billed_minor,
    }));
  }

  async upsertCustomer(upsert: CustomerUpsert): Promise<Upserted<ErpCustomer>> {
    return this.store.transaction(() => {
      const existing = this.customersStatement.all([jsonList([upsert.externalId])])[0];
      let parentId: number | null = null;
      if (upsert.parentExternalId !== null) {
        const parent = this.customersStatement.all([jsonList([upsert.parentExternalId])])[0];
        if (!parent)
          throw inputError(ErrorCode.NOT_FOUND, `Parent customer eid:${upsert.parentExternalId} does not exist in the ERP; upsert the parent first.`);
        parentId = parent.id;
      }
      let id: number;
      if (existing) {
        id = existing.id;
        // The primary subsidiary, currency and agreed terms stay as they are: NetSuite locks them once the
        // customer has transactions, and finance owns the terms.
        this.store
          .prepare('UPDATE customer SET company_name = ?, parent_id = ?, tax_id = COALESCE(?, tax_id) WHERE id = ?')
          .run([upsert.companyName, parentId, upsert.taxId, id]);
      } else {
        id = this.nextId('customer');
        this.store
          .prepare(
            `INSERT INTO customer (id, entity_id, company_name, parent_id, subsidiary_id, currency, external_id, terms_days, tax_id, tax_exempt)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
          )
          .run([
            id,
            `CUST-${id}`,
            upsert.companyName,
            parentId,
            upsert.subsidiaryId,
            upsert.currency,
            upsert.externalId,
            upsert.paymentTermsDays,
            upsert.taxId,
          ]);
      }
      const relate = this.store.prepare('INSERT OR IGNORE INTO customer_subsidiary (customer_id, subsidiary_id, is_primary) VALUES (?, ?, 0)');
      for (const subsidiaryId of upsert.additionalSubsidiaryIds) relate.run([id, subsidiaryId]);
      return { record: toCustomer(this.customersStatement.all([jsonList([upsert.externalId])])[0]!), created: !existing };
    });
  }

  async upsertJob(upsert: JobUpsert): Promise<Upserted<ErpJob>> {
    return this.store.transaction(() => {
      const customer = this.customersStatement.all([jsonList([upsert.customerExternalId])])[0];
      if (!customer) throw inputError(ErrorCode.NOT_FOUND, `Customer eid:${upsert.customerExternalId} does not exist in the ERP; upsert it first.`);
      const rateCard = this.store
        .prepare<{ id: number }>('SELECT id FROM rate_card WHERE subsidiary_id = ? AND currency = ?')
        .get([upsert.subsidiaryId, upsert.currency]);
      if (!rateCard) throw inputError(ErrorCode.NOT_FOUND, `Subsidiary ${upsert.subsidiaryId} has no rate card in ${upsert.currency}.`);
      const related = this.store
        .prepare('SELECT 1 FROM customer_subsidiary WHERE customer_id = ? AND subsidiary_id = ?')
        .get([customer.id, upsert.subsidiaryId]);
      if (!related) {
        throw inputError(
          ErrorCode.INVALID_STATE_TRANSITION,
          `Customer ${customer.entity_id} does not trade with subsidiary ${upsert.subsidiaryId}; relate them first.`,
        );
      }
      const existing = this.jobsStatement.all([jsonList([upsert.externalId])])[0];
      const fields = [
        upsert.name,
        customer.id,
        upsert.subsidiaryId,
        upsert.contractType,
        upsert.currency,
        upsert.valueMinor,
        upsert.valueMinor,
        upsert.poRequired ? 1 : 0,
        upsert.poNumber,
        upsert.startDate,
        upsert.endDate,
        rateCard.id,
      ];
      if (existing) {
        this.store
          .prepare(
            `UPDATE job SET company_name = ?, customer_id = ?, subsidiary_id = ?, contract_type = ?, currency = ?, value_minor = ?, budget_minor = ?,
               po_required = ?, po_number = ?, start_date = ?, end_date = ?, rate_card_id = ? WHERE id = ?`,
          )
          .run([...fields, existing.id]);
        this.recordContractRates(existing.id, upsert);
      } else {
        const id = this.nextId('job');
        this.store
          .prepare(
            `INSERT INTO job (company_name, customer_id, subsidiary_id, contract_type, currency, value_minor, budget_minor, po_required, po_number,
               start_date, end_date, rate_card_id, id, entity_id, external_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run([...fields, id, `PRJ-${id}`, upsert.externalId]);
        // A new contract bills at its subsidiary's standard rates from its start, until finance records the
        // negotiated ones; a deal's PO becomes the job's, valid until a quarter after the contract ends.
        this.store
          .prepare(
            'INSERT INTO contract_rate (job_id, role, effective_from, bill_rate_minor) SELECT ?, role, ?, bill_rate_minor FROM rate_card_line WHERE rate_card_id = ?',
          )
          .run([id, upsert.startDate, rateCard.id]);
        this.recordContractRates(id, upsert);
        if (upsert.poRequired && upsert.poNumber && upsert.valueMinor > 0)
          this.store
            .prepare("INSERT INTO purchase_order (job_id, po_number, expires_on, amount_minor) VALUES (?, ?, date(?, '+90 days'), ?)")
            .run([id, upsert.poNumber, upsert.endDate, upsert.valueMinor]);
      }
      return { record: toJob(this.jobsStatement.all([jsonList([upsert.externalId])])[0]!), created: !existing };
    });
  }

  /** The deal's negotiated rates, from the contract's start, in place of what the job had from then for those roles. */
  private recordContractRates(jobId: number, upsert: JobUpsert): void {
    const upsertRate = this.store.prepare(
      `INSERT INTO contract_rate (job_id, role, effective_from, bill_rate_minor) VALUES (?, ?, ?, ?)
       ON CONFLICT (job_id, role, effective_from) DO UPDATE SET bill_rate_minor = excluded.bill_rate_minor`,
    );
    for (const rate of upsert.contractRates ?? []) upsertRate.run([jobId, rate.role, upsert.startDate, rate.billRateMinor]);
  }

  async upsertBillingSchedule(upsert: BillingScheduleUpsert): Promise<Upserted<ErpBillingSchedule>> {
    return this.store.transaction(() => {
      const job = this.jobsStatement.all([jsonList([upsert.projectExternalId])])[0];
      if (!job) throw inputError(ErrorCode.NOT_FOUND, `Job eid:${upsert.projectExternalId} does not exist in the ERP.`);
      const existing = this.schedulesStatement.all([jsonList([upsert.projectExternalId])])[0];
      let scheduleId: number;
      if (existing) {
        scheduleId = existing.id;
        this.store.prepare('DELETE FROM billing_schedule_line WHERE schedule_id = ?').run([scheduleId]);
        this.store
          .prepare('UPDATE billing_schedule SET schedule_type = ?, frequency = ?, in_arrears = ? WHERE id = ?')
          .run([upsert.scheduleType, upsert.frequency, upsert.inArrears ? 1 : 0, scheduleId]);
      } else {
        scheduleId = Number(
          this.store
            .prepare('INSERT INTO billing_schedule (job_id, schedule_type, frequency, in_arrears) VALUES (?, ?, ?, ?)')
            .run([job.id, upsert.scheduleType, upsert.frequency, upsert.inArrears ? 1 : 0]).lastInsertRowid,
        );
      }
      const insertLine = this.store.prepare(
        'INSERT INTO billing_schedule_line (schedule_id, sequence, line_date, description, amount_minor, milestone_ref) VALUES (?, ?, ?, ?, ?, NULL)',
      );
      upsert.lines.forEach((line, i) => insertLine.run([scheduleId, i + 1, line.date, line.description, line.amountMinor]));
      return { record: toSchedule(this.schedulesStatement.all([jsonList([upsert.projectExternalId])])[0]!), created: !existing };
    });
  }

  async deleteBillingSchedule(projectExternalId: string): Promise<boolean> {
    return this.store.transaction(() => {
      const schedule = this.schedulesStatement.all([jsonList([projectExternalId])])[0];
      if (!schedule) return false;
      this.store.prepare('DELETE FROM billing_schedule_line WHERE schedule_id = ?').run([schedule.id]);
      this.store.prepare('DELETE FROM billing_schedule WHERE id = ?').run([schedule.id]);
      return true;
    });
  }

  async deleteJob(projectExternalId: string): Promise<boolean> {
    return this.store.transaction(() => {
      const job = this.jobsStatement.all([jsonList([projectExternalId])])[0];
      if (!job) return false;
      // NetSuite: "This record cannot be deleted because it has dependent records."
      const dependents = this.store
        .prepare<{ schedules: number; postings: number }>(
          `SELECT (SELECT COUNT(*) FROM billing_schedule WHERE job_id = ?) AS schedules,
             (SELECT COUNT(*) FROM posting WHERE job_id = ?) + (SELECT COUNT(*) FROM delivery_posting WHERE job_id = ?) AS postings`,
        )
        .get([job.id, job.id, job.id])!;
      if (dependents.schedules > 0 || dependents.postings > 0) {
        throw inputError(
          ErrorCode.INVALID_STATE_TRANSITION,
          `Job ${job.entity_id} cannot be deleted: it has ${dependents.schedules} billing schedule(s) and ${dependents.postings} posting(s).`,
        );
      }
      this.store.prepare('DELETE FROM contract_rate WHERE job_id = ?').run([job.id]);
      this.store.prepare('DELETE FROM purchase_order WHERE job_id = ?').run([job.id]);
      this.store.prepare('DELETE FROM job WHERE id = ?').run([job.id]);
      return true;
    });
  }

  async rateCardsBySubsidiaryId(subsidiaryIds: readonly number[]): Promise<Map<number, ErpRateCard>> {
    const rows = this.store
      .prepare<{ id: number; name: string; currency: string; subsidiary_id: number }>(
        `SELECT r.* FROM rate_card r JOIN subsidiary s ON s.id = r.subsidiary_id AND s.currency = r.currency
         WHERE r.subsidiary_id IN (SELECT value FROM json_each(?))`,
      )
      .all([jsonList(subsidiaryIds)]);
    return new Map(rows.map((row) => [row.subsidiary_id, { id: row.id, name: row.name, currency: row.currency, subsidiaryId: row.subsidiary_id }]));
  }

  /** NetSuite issues internal IDs in sequence; the sandbox continues after the highest one in use. */
  private nextId(table: 'customer' | 'job'): number {
    return this.store.prepare<{ next: number }>(`SELECT COALESCE(MAX(id), 0) + 1 AS next FROM ${table}`).get()!.next;
  }

  close(): void {
    this.store.close();
  }
}

/** Opens (creating and seeding on first use) the ERP sandbox in `dataDir/erp.db`. */
export function openSandboxErp(dataDir: string, world: WorldOptions): SandboxErp {
  const store = openSandboxStore({ file: join(dataDir, 'erp.db'), ddl: DDL, world, seed: (fresh) => seedErp(fresh, buildWorld(world)) });
  let built: ReturnType<typeof buildWorld> | undefined;
  const worldOnce = () => (built ??= buildWorld(world));
  installPostings(store, worldOnce);
  installInvoicing(store, worldOnce);
  return new SandboxErp(store);
}
