/**
 * The ERP port over NetSuite: SuiteQL for every read (key lookups batched into `IN` lists, the ledger summed by
 * SuiteQL's own GROUP BY over posting transaction lines, so no read costs a call per record), the record API for
 * writes (`PUT …/eid:<externalId>` upserts, PATCH, DELETE). Every write is checked first against what NetSuite
 * holds, so that it is refused for the same reasons, with the same codes and messages, as the sandbox refuses
 * it; the writes themselves are ones NetSuite deduplicates (an external-ID upsert, the same values PATCHed again,
 * a delete by internal ID), so a write whose answer was lost is safe to send again.
 */
import type { ErpPostings } from '../erpPostingsPort.js';
import { NetSuiteContractTerms } from './netsuiteContractTerms.js';
import { type NetSuitePostingsMapping, netsuitePostings } from './netsuitePostings.js';
import { netsuiteBillingReport } from './netsuiteReport.js';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { groupBy, inputError } from '../../../platform/src/index.js';
import { VendorError } from '../../../platform/src/vendor/vendorError.js';
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
import { CREDIT_NOTE_BILLINGS, INVOICE_BILLINGS } from './netsuiteBillingRecords.js';
import { POSTED_TOTALS_SELECT, POSTING } from './netsuitePostingRecords.js';
import { NETSUITE, type NetSuiteClient, type SuiteQlRow, suiteQlLiteral as literal } from './netsuiteClient.js';
import {
  BILLED_SUM,
  COST_SUM,
  CUSTOM,
  CUSTOMER_SELECT,
  JOB_SELECT,
  LEDGER_FROM,
  LEDGER_WHERE,
  REGION,
  RATE_CARD_LINE_SELECT,
  RATE_CARD_SELECT,
  REVENUE_SUM,
  SCHEDULE_LINE_SELECT,
  SCHEDULE_SELECT,
  SUBSIDIARY_SELECT,
  decimalAmount,
  minorUnits,
  netSuiteFrequency,
  netSuiteScheduleType,
  toCustomer,
  toJob,
  toLegalEntity,
  toRateCard,
  toRateCardLine,
  toSchedule,
  toScheduleLines,
} from './netsuiteRecords.js';

/** A path segment naming a record by external ID. */
const eid = (externalId: string) => `eid:${encodeURIComponent(externalId)}`;
const reference = (id: number | string) => ({ id: String(id) });

export class NetSuiteErp implements ErpSystem, ErpWrites {
  /** Delivery postings (netsuitePostings.ts) and billing (netsuiteBilling.ts): posting, invoice and credit note records. */
  readonly postings: ErpPostings;

  private readonly contractTerms: NetSuiteContractTerms;

  constructor(
    private readonly netsuite: NetSuiteClient,
    mapping: NetSuitePostingsMapping,
  ) {
    this.postings = netsuitePostings(netsuite, mapping);
    this.contractTerms = new NetSuiteContractTerms(netsuite, mapping);
  }

  // ---- reads ----

  /** psgraph's legal entities are the subsidiaries given a region (not the parent or elimination subsidiaries). */
  async legalEntities(): Promise<ErpLegalEntity[]> {
    const rows = await this.netsuite.suiteql('legalEntities', `${SUBSIDIARY_SELECT} WHERE ${REGION} IS NOT NULL ORDER BY s.id`);
    return rows.map(toLegalEntity);
  }

  async legalEntitiesById(ids: readonly number[]): Promise<Map<number, ErpLegalEntity>> {
    const rows = await this.netsuite.suiteqlIn('legalEntitiesById', ids, (list) => `${SUBSIDIARY_SELECT} WHERE s.id IN (${list}) AND ${REGION} IS NOT NULL`);
    return new Map(rows.map((row) => [Number(row['id']), toLegalEntity(row)]));
  }

  async customersByAccountId(accountIds: readonly string[]): Promise<Map<string, ErpCustomer>> {
    return this.customers('customersByAccountId', accountIds);
  }

  async jobsByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpJob>> {
    return this.jobs('jobsByProjectId', projectIds);
  }

  async rateCardsById(ids: readonly number[]): Promise<Map<number, ErpRateCard>> {
    const rows = await this.netsuite.suiteqlIn('rateCardsById', ids, (list) => `${RATE_CARD_SELECT} WHERE r.id IN (${list})`);
    return new Map(rows.map((row) => [Number(row['id']), toRateCard(row)]));
  }

  /** The active card in the subsidiary's own currency. */
  async rateCardsBySubsidiaryId(subsidiaryIds: readonly number[]): Promise<Map<number, ErpRateCard>> {
    const rows = await this.netsuite.suiteqlIn(
      'rateCardsBySubsidiaryId',
      subsidiaryIds,
      (list) =>
        `${RATE_CARD_SELECT} JOIN subsidiary s ON s.id = r.${CUSTOM.rateCardSubsidiary} AND s.currency = r.${CUSTOM.rateCardCurrency} ` +
        `WHERE r.${CUSTOM.rateCardSubsidiary} IN (${list}) AND r.isinactive = 'F' ORDER BY r.id`,
    );
    const cards = new Map<number, ErpRateCard>();
    for (const card of rows.map(toRateCard)) if (!cards.has(card.subsidiaryId)) cards.set(card.subsidiaryId, card);
    return cards;
  }

  async rateCardLinesByRateCardId(rateCardIds: readonly number[]): Promise<Map<number, ErpRateCardLine[]>> {
    const rows = await this.netsuite.suiteqlIn(
      'rateCardLines',
      rateCardIds,
      (list) => `${RATE_CARD_LINE_SELECT} WHERE l.${CUSTOM.lineRateCard} IN (${list}) ORDER BY l.${CUSTOM.lineRateCard}, l.${CUSTOM.lineSortOrder}`,
    );
    return groupBy(rows.map(toRateCardLine), (line) => line.rateCardId);
  }

  async billingSchedulesByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpBillingSchedule>> {
    return this.schedules('billingSchedules', projectIds);
  }

  async billingScheduleLinesByScheduleId(scheduleIds: readonly number[]): Promise<Map<number, ErpBillingScheduleLine[]>> {
    const rows = await this.netsuite.suiteqlIn(
      'billingScheduleLines',
      scheduleIds,
      (list) => `${SCHEDULE_LINE_SELECT} WHERE m.billingschedule IN (${list}) ORDER BY m.billingschedule, m.id`,
    );
    return groupBy(toScheduleLines(rows), (line) => line.scheduleId);
  }

  /**
   * The jobs' budgets and currencies, their ledger summed by SuiteQL, and what psgraph's posting records add to it
   * (their cost, and what they bill as revenue not yet billed; reversed ones nothing), and the billings of psgraph's
   * invoice and credit note records (netsuiteBillingRecords.ts): five queries per batch.
   */
  async ledgerTotalsByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpLedgerTotals>> {
    const [jobs, sums, posted, ...billings] = await Promise.all([
      this.netsuite.suiteqlIn(
        'ledgerTotals',
        projectIds,
        (list) =>
          `SELECT j.externalid, c.symbol AS currency, j.${CUSTOM.budget} AS budget FROM job j JOIN currency c ON c.id = j.currency WHERE j.externalid IN (${list})`,
      ),
      this.netsuite.suiteqlIn(
        'ledgerTotals',
        projectIds,
        (list) =>
          `SELECT j.externalid, ${COST_SUM} AS cost, ${REVENUE_SUM} AS revenue, ${BILLED_SUM} AS billed ${LEDGER_FROM} ` +
          `WHERE ${LEDGER_WHERE} AND j.externalid IN (${list}) GROUP BY j.externalid`,
      ),
      this.netsuite.suiteqlIn('ledgerTotals', projectIds, (list) => `${POSTED_TOTALS_SELECT} WHERE j.externalid IN (${list}) GROUP BY j.externalid`),
      ...[INVOICE_BILLINGS, CREDIT_NOTE_BILLINGS].map((source) =>
        this.netsuite.suiteqlIn(
          'ledgerTotals',
          projectIds,
          (list) =>
            `SELECT j.externalid, ${source.billed} AS billed ${source.from} WHERE ${[...source.where, `j.externalid IN (${list})`].join(' AND ')} GROUP BY j.externalid`,
        ),
      ),
    ]);
    const billedByProject = new Map<string, number>();
    for (const row of billings.flat()) billedByProject.set(row['externalid']!, (billedByProject.get(row['externalid']!) ?? 0) + minorUnits(row['billed']));
    const sumsByProject = new Map(sums.map((row) => [row['externalid']!, row]));
    const postedByProject = new Map(posted.map((row) => [row['externalid']!, row]));
    const totals = new Map<string, ErpLedgerTotals>();
    for (const job of jobs) {
      const projectId = job['externalid']!;
      const sum = sumsByProject.get(projectId);
      const postings = postedByProject.get(projectId);
      totals.set(projectId, {
        projectId,
        currency: job['currency'] ?? '',
        budgetMinor: minorUnits(job['budget']),
        costMinor: minorUnits(sum?.['cost']) + minorUnits(postings?.['cost']),
        recognizedRevenueMinor: minorUnits(sum?.['revenue']) + minorUnits(postings?.['billable']),
        billedMinor: minorUnits(sum?.['billed']) + (billedByProject.get(projectId) ?? 0),
      });
    }
    return totals;
  }

  /** The ledger's grouped lines merged with psgraph's grouped posting records (netsuiteReport.ts). */
  async billingReport(query: BillingReportQuery): Promise<BillingReportRow[]> {
    return netsuiteBillingReport(this.netsuite, query);
  }

  // ---- writes ----

  async upsertCustomer(upsert: CustomerUpsert): Promise<Upserted<ErpCustomer>> {
    const keys = upsert.parentExternalId === null ? [upsert.externalId] : [upsert.externalId, upsert.parentExternalId];
    const [customers, relationships] = await Promise.all([
      this.customers('upsertCustomer', keys),
      this.netsuite.suiteql(
        'upsertCustomer',
        `SELECT r.subsidiary FROM customersubsidiaryrelationship r JOIN customer cu ON cu.id = r.entity WHERE cu.externalid = ${literal(upsert.externalId)}`,
      ),
    ]);
    const existing = customers.get(upsert.externalId);
    let parentId: number | null = null;
    if (upsert.parentExternalId !== null) {
      const parent = customers.get(upsert.parentExternalId);
      if (!parent) throw inputError(ErrorCode.NOT_FOUND, `Parent customer eid:${upsert.parentExternalId} does not exist in the ERP; upsert the parent first.`);
      parentId = parent.id;
    }
    const fields: Record<string, unknown> = {
      companyName: upsert.companyName,
      parent: parentId === null ? null : reference(parentId),
      // A tax ID psgraph does not know leaves the one NetSuite holds.
      ...(upsert.taxId === null ? {} : { vatRegNumber: upsert.taxId }),
    };
    if (!existing) {
      // The primary subsidiary, currency and terms are set once: NetSuite locks the first two once the customer
      // has transactions, and finance owns the terms.
      const [currencyId, termId] = await Promise.all([this.currencyId('upsertCustomer', upsert.currency), this.termId(upsert.paymentTermsDays)]);
      Object.assign(fields, {
        isPerson: false,
        subsidiary: reference(upsert.subsidiaryId),
        currency: reference(currencyId),
        terms: reference(termId),
        taxable: true,
      });
    }
    await this.netsuite.record('upsertCustomer', true, 'PUT', `customer/${eid(upsert.externalId)}`, fields);
    const customer = (await this.customers('upsertCustomer', [upsert.externalId])).get(upsert.externalId);
    if (!customer) throw new VendorError(NETSUITE, 'UNAVAILABLE', `NetSuite: customer eid:${upsert.externalId} was saved but cannot be read back.`);
    const related = new Set(existing ? relationships.map((row) => Number(row['subsidiary'])) : [customer.subsidiaryId]);
    // OneWorld: one customer–subsidiary relationship per further subsidiary, each upserted by an external ID of its own.
    await Promise.all(
      [...new Set(upsert.additionalSubsidiaryIds)]
        .filter((subsidiaryId) => !related.has(subsidiaryId))
        .map((subsidiaryId) =>
          this.netsuite.record('upsertCustomer', true, 'PUT', `customerSubsidiaryRelationship/${eid(`${upsert.externalId}-${subsidiaryId}`)}`, {
            entity: reference(customer.id),
            subsidiary: reference(subsidiaryId),
          }),
        ),
    );
    return { record: customer, created: !existing };
  }

  /**
   * The job, then its contract rates in the firm's contract-rate record (`PSGRAPH_NETSUITE_CONTRACT_RATES`), each
   * upserted by `eid:<projectId>:<role>:<effective from>`: a new job's are its rate card's lines, from its start,
   * with the deal's negotiated rates (`upsert.contractRates`) in place of those roles'; an existing job gets only the
   * negotiated ones. A new job's purchase order (a PO number, the contract's value, valid a quarter past its end) is
   * written where the firm keeps POs (`PSGRAPH_NETSUITE_PURCHASE_ORDERS`).
   */
  async upsertJob(upsert: JobUpsert): Promise<Upserted<ErpJob>> {
    const [customers, rateCards, existing] = await Promise.all([
      this.netsuite.suiteql(
        'upsertJob',
        `SELECT cu.id, cu.entityid, r.id AS relationship FROM customer cu
         LEFT JOIN customersubsidiaryrelationship r ON r.entity = cu.id AND r.subsidiary = ${literal(upsert.subsidiaryId)}
         WHERE cu.externalid = ${literal(upsert.customerExternalId)}`,
      ),
      this.netsuite.suiteql(
        'upsertJob',
        `${RATE_CARD_SELECT} WHERE r.${CUSTOM.rateCardSubsidiary} = ${literal(upsert.subsidiaryId)} AND c.symbol = ${literal(upsert.currency)} ` +
          `AND r.isinactive = 'F' ORDER BY r.id`,
      ),
      this.netsuite.suiteql('upsertJob', `SELECT j.id FROM job j WHERE j.externalid = ${literal(upsert.externalId)}`),
    ]);
    const customer = customers[0];
    if (!customer) throw inputError(ErrorCode.NOT_FOUND, `Customer eid:${upsert.customerExternalId} does not exist in the ERP; upsert it first.`);
    const rateCard = rateCards[0];
    if (!rateCard) throw inputError(ErrorCode.NOT_FOUND, `Subsidiary ${upsert.subsidiaryId} has no rate card in ${upsert.currency}.`);
    if (customer['relationship'] === undefined) {
      throw inputError(
        ErrorCode.INVALID_STATE_TRANSITION,
        `Customer ${customer['entityid']} does not trade with subsidiary ${upsert.subsidiaryId}; relate them first.`,
      );
    }
    const created = existing.length === 0;
    const order = created ? this.contractTerms.purchaseOrderOf(upsert) : null;
    await this.netsuite.record('upsertJob', true, 'PUT', `job/${eid(upsert.externalId)}`, {
      ...this.contractTerms.jobFields(order),
      companyName: upsert.name,
      parent: reference(customer['id']!),
      subsidiary: reference(upsert.subsidiaryId),
      currency: reference(rateCard['currencyid']!),
      startDate: upsert.startDate,
      projectedEndDate: upsert.endDate,
      [CUSTOM.contractType]: upsert.contractType,
      [CUSTOM.contractValue]: decimalAmount(upsert.valueMinor),
      // The budget is the contract value until finance revises it in NetSuite.
      [CUSTOM.budget]: decimalAmount(upsert.valueMinor),
      [CUSTOM.poRequired]: upsert.poRequired,
      [CUSTOM.poNumber]: upsert.poNumber,
      [CUSTOM.rateCard]: reference(rateCard['id']!),
    });
    const job = (await this.jobs('upsertJob', [upsert.externalId])).get(upsert.externalId);
    if (!job) throw new VendorError(NETSUITE, 'UNAVAILABLE', `NetSuite: job eid:${upsert.externalId} was saved but cannot be read back.`);
    await this.contractTerms.write(upsert, job.id, created ? Number(rateCard['id']) : null, order);
    return { record: job, created };
  }

  async upsertBillingSchedule(upsert: BillingScheduleUpsert): Promise<Upserted<ErpBillingSchedule>> {
    const [jobs, existing] = await Promise.all([
      this.netsuite.suiteql('upsertBillingSchedule', `SELECT j.id, j.entityid FROM job j WHERE j.externalid = ${literal(upsert.projectExternalId)}`),
      this.schedules('upsertBillingSchedule', [upsert.projectExternalId]),
    ]);
    const job = jobs[0];
    if (!job) throw inputError(ErrorCode.NOT_FOUND, `Job eid:${upsert.projectExternalId} does not exist in the ERP.`);
    const schedule = existing.get(upsert.projectExternalId);
    const fields = {
      name: `${job['entityid']} billing schedule`,
      scheduleType: { id: netSuiteScheduleType(upsert.scheduleType) },
      frequency: { id: netSuiteFrequency(upsert.frequency) },
      inArrears: upsert.inArrears,
      project: reference(job['id']!),
      // psgraph's lines are the schedule's milestone lines (date, amount, comments); a T&M line has no amount.
      milestone: {
        items: upsert.lines.map((line) => ({
          milestoneDate: line.date,
          comments: line.description,
          ...(line.amountMinor === null ? {} : { milestoneAmount: decimalAmount(line.amountMinor) }),
        })),
      },
    };
    // `replace=milestone`: the lines sent replace the schedule's lines rather than being added to them.
    if (schedule) await this.netsuite.record('upsertBillingSchedule', true, 'PATCH', `billingSchedule/${schedule.id}?replace=milestone`, fields);
    else await this.netsuite.record('upsertBillingSchedule', true, 'PUT', `billingSchedule/${eid(upsert.projectExternalId)}?replace=milestone`, fields);
    const saved = (await this.schedules('upsertBillingSchedule', [upsert.projectExternalId])).get(upsert.projectExternalId);
    if (!saved) throw new VendorError(NETSUITE, 'UNAVAILABLE', `NetSuite: the billing schedule of eid:${upsert.projectExternalId} cannot be read back.`);
    return { record: saved, created: !schedule };
  }

  async deleteBillingSchedule(projectExternalId: string): Promise<boolean> {
    const schedule = (await this.schedules('deleteBillingSchedule', [projectExternalId])).get(projectExternalId);
    if (!schedule) return false;
    await this.delete('deleteBillingSchedule', `billingSchedule/${schedule.id}`);
    return true;
  }

  async deleteJob(projectExternalId: string): Promise<boolean> {
    const [job] = await this.netsuite.suiteql('deleteJob', `SELECT j.id, j.entityid FROM job j WHERE j.externalid = ${literal(projectExternalId)}`);
    if (!job) return false;
    const jobId = literal(Number(job['id']));
    const [[schedules], [postings], [deliveries]] = await Promise.all([
      this.netsuite.suiteql('deleteJob', `SELECT COUNT(*) AS n FROM billingschedule b WHERE b.job = ${jobId}`),
      this.netsuite.suiteql('deleteJob', `SELECT COUNT(DISTINCT tl.transaction) AS n FROM transactionline tl WHERE tl.entity = ${jobId}`),
      this.netsuite.suiteql('deleteJob', `SELECT COUNT(*) AS n FROM ${POSTING.record} p WHERE p.${POSTING.job} = ${jobId}`),
    ]);
    const scheduleCount = Number(schedules?.['n'] ?? 0);
    const postingCount = Number(postings?.['n'] ?? 0) + Number(deliveries?.['n'] ?? 0);
    // NetSuite: "This record cannot be deleted because it has dependent records."; psgraph says which.
    if (scheduleCount > 0 || postingCount > 0) {
      throw inputError(
        ErrorCode.INVALID_STATE_TRANSITION,
        `Job ${job['entityid']} cannot be deleted: it has ${scheduleCount} billing schedule(s) and ${postingCount} posting(s).`,
      );
    }
    // The job's contract rates and purchase order go with it (records that only describe the job).
    await Promise.all((await this.contractTerms.recordsOf(Number(job['id']))).map((path) => this.delete('deleteJob', path)));
    await this.delete('deleteJob', `job/${job['id']}`);
    return true;
  }

  // ---- helpers ----

  private async customers(operation: string, externalIds: readonly string[]): Promise<Map<string, ErpCustomer>> {
    const rows = await this.netsuite.suiteqlIn(operation, externalIds, (list) => `${CUSTOMER_SELECT} WHERE cu.externalid IN (${list})`);
    return new Map(rows.map((row) => [row['externalid']!, toCustomer(row)]));
  }

  private async jobs(operation: string, externalIds: readonly string[]): Promise<Map<string, ErpJob>> {
    const rows = await this.netsuite.suiteqlIn(operation, externalIds, (list) => `${JOB_SELECT} WHERE j.externalid IN (${list})`);
    return new Map(rows.map((row) => [row['externalid']!, toJob(row)]));
  }

  /** A job's schedule; should NetSuite hold several for one job, the first made. */
  private async schedules(operation: string, projectIds: readonly string[]): Promise<Map<string, ErpBillingSchedule>> {
    const rows = await this.netsuite.suiteqlIn(operation, projectIds, (list) => `${SCHEDULE_SELECT} WHERE j.externalid IN (${list}) ORDER BY b.id`);
    const schedules = new Map<string, ErpBillingSchedule>();
    for (const schedule of rows.map(toSchedule)) if (!schedules.has(schedule.projectId)) schedules.set(schedule.projectId, schedule);
    return schedules;
  }

  private async currencyId(operation: string, symbol: string): Promise<string> {
    const [row] = await this.netsuite.suiteql<SuiteQlRow>(operation, `SELECT c.id FROM currency c WHERE c.symbol = ${literal(symbol)}`);
    if (!row) throw inputError(ErrorCode.BAD_USER_INPUT, `Currency ${symbol} is not set up in NetSuite.`, { argument: 'currency' });
    return row['id']!;
  }

  /** The payment term of that many days; NetSuite's terms are a list finance keeps, which psgraph never adds to. */
  private async termId(days: number): Promise<string> {
    const [row] = await this.netsuite.suiteql(
      'upsertCustomer',
      `SELECT t.id FROM term t WHERE t.daysuntilnetdue = ${literal(days)} AND t.isinactive = 'F' ORDER BY t.id`,
    );
    if (!row) {
      throw inputError(ErrorCode.BAD_USER_INPUT, `NetSuite has no active payment term of ${days} days; finance adds terms in NetSuite.`, {
        argument: 'paymentTermsDays',
      });
    }
    return row['id']!;
  }

  /** A delete by internal ID: if its answer was lost and the retry finds the record gone, it is done. */
  private async delete(operation: string, path: string): Promise<void> {
    try {
      await this.netsuite.record(operation, true, 'DELETE', path);
    } catch (error) {
      if (!(error instanceof VendorError && error.failure === 'NOT_FOUND')) throw error;
    }
  }
}
