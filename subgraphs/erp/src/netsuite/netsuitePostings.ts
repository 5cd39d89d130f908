/**
 * Delivery postings over NetSuite (`erpPostingsPort.ts`). The terms a posting is checked against are read by
 * SuiteQL: the job (its project status, closed by the statuses `PSGRAPH_NETSUITE_CLOSED_PROJECT_STATUSES` names;
 * its subsidiary's region), the contract rates and purchase order from the records the firm keeps them in
 * (`PSGRAPH_NETSUITE_CONTRACT_RATES`, `PSGRAPH_NETSUITE_PURCHASE_ORDERS`), employees by external ID (the PSA
 * resource ID), accounting periods by their start month (closed by the flags `PSGRAPH_NETSUITE_PERIOD_LOCKS` names).
 *
 * Every posting is a psgraph posting record (`customrecord_psgraph_posting`, keyed by the posting's external ID:
 * what it bills and costs, and whether it is reversed), and a time posting is also NetSuite's time transaction
 * (`timebill`, the same external ID: employee, the job as customer, the role's service item, hours, rate,
 * billable). Expenses and milestones are posting records only: expense reports are the employee's reimbursement,
 * which psgraph does not own, and a milestone bills through the job's billing schedule. Posted billable and cost
 * are summed by SuiteQL over the posting records (reversed ones left out) and, for cost, the job's ledger.
 *
 * NetSuite has no multi-record transaction over REST, so a batch is made all-or-nothing as far as it can be: every
 * check is made before anything is written; the time transactions are written first (several at once, within the
 * account's concurrency), then the posting records one by one in the batch's order (a posting record says its
 * posting is made); and if a write fails, what this call wrote is deleted before the failure is answered. Should that clean-up fail too, posting the batch again completes it:
 * an external ID whose posting record exists is left as it is (`created: false`), the rest are upserted by `eid:`.
 * Reversing deletes the time transaction (NetSuite has no reversing time entry) and marks the posting record
 * reversed; it is idempotent, and a reversed posting's external ID stays taken.
 *
 * The billing calls (what is due, invoices and credit notes, billing positions, unbilled WIP) are netsuiteBilling.ts's.
 * A call the port gains before this adapter implements it answers SYSTEM_OPERATION_UNSUPPORTED naming NetSuite.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { groupBy, inputError } from '../../../platform/src/index.js';
import { unsupportedOperations } from '../../../platform/src/vendor/unsupportedOperations.js';
import { VendorError } from '../../../platform/src/vendor/vendorError.js';
import {
  POSTINGS_OPERATIONS,
  type ContractRate,
  type DeliveryPosting,
  type ErpEmployee,
  type ErpPostings,
  type ErpPurchaseOrder,
  type PostedDelivery,
  type PostingTerms,
} from '../erpPostingsPort.js';
import { NetSuiteBilling } from './netsuiteBilling.js';
import { NETSUITE, type NetSuiteClient, type SuiteQlRow, suiteQlLiteral as literal } from './netsuiteClient.js';
import type { NetSuiteConfig } from './netsuiteConfig.js';
import { POSTED_TOTALS_SELECT, POSTING, POSTING_SELECT, TIME_BILL, postingRecord, timeBillRecord, toPosted } from './netsuitePostingRecords.js';
import { COST_SUM, CUSTOM, JOB_COLUMNS, JOB_FROM, LEDGER_FROM, LEDGER_WHERE, minorUnits, toJob } from './netsuiteRecords.js';

/** How the firm's account keeps what the posting checks read (netsuiteConfig.ts). */
export type NetSuitePostingsMapping = Required<Pick<NetSuiteConfig, 'closedProjectStatuses' | 'periodLocks' | 'contractRates' | 'purchaseOrders'>>;

type Implemented =
  | 'postingTermsByProjectId'
  | 'employeesByResourceId'
  | 'periodsClosed'
  | 'postDelivery'
  | 'reverseDelivery'
  | 'postingsByExternalId'
  | 'postingsByProjectId'
  | 'billablesByProjectId'
  | 'recordInvoiceStatus'
  | 'recordCreditNote'
  | 'invoicesByProjectId'
  | 'billingPositionsByProjectId'
  | 'unbilledWip';

const eid = (externalId: string) => `eid:${encodeURIComponent(externalId)}`;

/** The postings port over NetSuite: what is implemented here, every other call refused as unsupported. */
export function netsuitePostings(netsuite: NetSuiteClient, mapping: NetSuitePostingsMapping): ErpPostings {
  const postings = new NetSuiteDeliveryPostings(netsuite, mapping);
  const billing = new NetSuiteBilling(netsuite);
  const implemented: Pick<ErpPostings, Implemented> = {
    postingTermsByProjectId: (projectIds) => postings.postingTermsByProjectId(projectIds),
    employeesByResourceId: (resourceIds) => postings.employeesByResourceId(resourceIds),
    periodsClosed: (periods) => postings.periodsClosed(periods),
    postDelivery: (batch) => postings.postDelivery(batch),
    reverseDelivery: (externalIds) => postings.reverseDelivery(externalIds),
    postingsByExternalId: (externalIds) => postings.postingsByExternalId(externalIds),
    postingsByProjectId: (projectIds) => postings.postingsByProjectId(projectIds),
    billablesByProjectId: (upTo, projectIds) => billing.billablesByProjectId(upTo, projectIds),
    recordInvoiceStatus: (update) => billing.recordInvoiceStatus(update),
    recordCreditNote: (creditNote) => billing.recordCreditNote(creditNote),
    invoicesByProjectId: (projectIds) => billing.invoicesByProjectId(projectIds),
    billingPositionsByProjectId: (projectIds) => billing.billingPositionsByProjectId(projectIds),
    unbilledWip: () => billing.unbilledWip(),
  };
  return { ...unsupportedOperations<ErpPostings>(NETSUITE, POSTINGS_OPERATIONS), ...implemented };
}

/** What one posting of a batch will write, once every check has passed. */
interface PlannedPosting {
  readonly posting: DeliveryPosting;
  readonly record: Record<string, unknown>;
  readonly timeBill: Record<string, unknown> | null;
}

class NetSuiteDeliveryPostings {
  constructor(
    private readonly netsuite: NetSuiteClient,
    private readonly mapping: NetSuitePostingsMapping,
  ) {}

  /** Five queries per batch of jobs: the jobs, their rates, their POs, their posted totals, their ledger cost. */
  async postingTermsByProjectId(projectIds: readonly string[]): Promise<Map<string, PostingTerms>> {
    const operation = 'postingTerms';
    const [jobs, rates, orders, totals, ledger] = await Promise.all([
      this.netsuite.suiteqlIn(
        operation,
        projectIds,
        (list) => `SELECT ${JOB_COLUMNS}, ${this.jobStatus()} AS status, s.${CUSTOM.subsidiaryRegion} AS region
          ${JOB_FROM} JOIN subsidiary s ON s.id = j.subsidiary WHERE j.externalid IN (${list})`,
      ),
      this.contractRates(operation, projectIds),
      this.purchaseOrders(operation, projectIds),
      this.netsuite.suiteqlIn(operation, projectIds, (list) => `${POSTED_TOTALS_SELECT} WHERE j.externalid IN (${list}) GROUP BY j.externalid`),
      this.netsuite.suiteqlIn(
        operation,
        projectIds,
        (list) => `SELECT j.externalid, ${COST_SUM} AS cost ${LEDGER_FROM} WHERE ${LEDGER_WHERE} AND j.externalid IN (${list}) GROUP BY j.externalid`,
      ),
    ]);
    const posted = new Map(totals.map((row) => [row['externalid']!, row]));
    const ledgerCost = new Map(ledger.map((row) => [row['externalid']!, minorUnits(row['cost'])]));
    const terms = new Map<string, PostingTerms>();
    for (const row of jobs) {
      const projectId = row['externalid']!;
      const job = toJob(row);
      const postedBillableMinor = minorUnits(posted.get(projectId)?.['billable']);
      const order = orders.get(projectId);
      const purchaseOrder: ErpPurchaseOrder | null = order ? { ...order, consumedMinor: postedBillableMinor, currency: job.currency } : null;
      terms.set(projectId, {
        projectId,
        job,
        status: row['status'] === 'CLOSED' ? 'CLOSED' : 'IN_PROGRESS',
        region: row['region'] ?? '',
        contractRates: rates.get(projectId) ?? [],
        purchaseOrder,
        postedBillableMinor,
        postedCostMinor: (ledgerCost.get(projectId) ?? 0) + minorUnits(posted.get(projectId)?.['cost']),
      });
    }
    return terms;
  }

  async employeesByResourceId(resourceIds: readonly string[]): Promise<Map<string, ErpEmployee>> {
    const rows = await this.employees('employees', resourceIds);
    return new Map(
      rows.map((row) => [
        row['externalid']!,
        { id: Number(row['id']), entityId: row['entityid'] ?? '', resourceId: row['externalid']!, active: row['isinactive'] !== 'T' },
      ]),
    );
  }

  async periodsClosed(periods: readonly string[]): Promise<Map<string, boolean>> {
    return this.periods('accountingPeriods', periods);
  }

  async postDelivery(postings: readonly DeliveryPosting[]): Promise<Array<{ externalId: string; created: boolean }>> {
    if (postings.length === 0) return [];
    const operation = 'postDelivery';
    const timeItems = postings.filter((posting) => posting.kind === 'TIME' && posting.item !== null).map((posting) => posting.item!);
    const [existing, jobs, employees, periods, items] = await Promise.all([
      this.netsuite.suiteqlIn(
        operation,
        postings.map((posting) => posting.externalId),
        (list) => `SELECT p.externalid FROM ${POSTING.record} p WHERE p.externalid IN (${list})`,
      ),
      this.netsuite.suiteqlIn(
        operation,
        postings.map((posting) => posting.projectId),
        (list) => `SELECT j.id, j.externalid, j.subsidiary, j.currency AS currencyid, c.symbol AS currency, ${this.jobStatus()} AS status
          FROM job j JOIN currency c ON c.id = j.currency WHERE j.externalid IN (${list})`,
      ),
      this.employees(
        operation,
        postings.flatMap((posting) => (posting.resourceId === null ? [] : [posting.resourceId])),
      ),
      this.periods(
        operation,
        postings.map((posting) => posting.date.slice(0, 7)),
      ),
      this.netsuite.suiteqlIn(
        operation,
        timeItems,
        (list) => `SELECT i.id, i.itemid FROM item i WHERE i.itemtype = 'Service' AND i.isinactive = 'F' AND i.itemid IN (${list}) ORDER BY i.id`,
      ),
    ]);
    const taken = new Set(existing.map((row) => row['externalid']!));
    const jobOf = new Map(jobs.map((row) => [row['externalid']!, row]));
    const employeeOf = new Map(employees.map((row) => [row['externalid']!, row]));
    const itemOf = new Map<string, number>();
    for (const row of items) if (!itemOf.has(row['itemid']!)) itemOf.set(row['itemid']!, Number(row['id']));

    // Every check before any write, in the order the sandbox makes them, so a refusal names the same first fault.
    const postedAt = new Date().toISOString();
    const plans: PlannedPosting[] = [];
    const results = postings.map((posting) => {
      const { externalId } = posting;
      if (taken.has(externalId)) return { externalId, created: false };
      const job = jobOf.get(posting.projectId);
      if (!job) throw inputError(ErrorCode.NOT_FOUND, `Posting ${externalId}: project ${posting.projectId} has no job in ERP.`);
      if (job['currency'] !== posting.currency)
        throw inputError(ErrorCode.BAD_USER_INPUT, `Posting ${externalId}: it is in ${posting.currency}, its job in ${job['currency']}.`);
      const period = posting.date.slice(0, 7);
      const closed = periods.get(period);
      if (closed !== false)
        throw inputError(
          ErrorCode.INVALID_STATE_TRANSITION,
          `Posting ${externalId}: the accounting period ${period} is ${closed === undefined ? 'not open in ERP' : 'closed'}.`,
        );
      if (job['status'] === 'CLOSED') throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Posting ${externalId}: the job of ${posting.projectId} is closed.`);
      let employeeId: number | null = null;
      if (posting.resourceId !== null) {
        const employee = employeeOf.get(posting.resourceId);
        if (!employee || employee['isinactive'] === 'T')
          throw inputError(ErrorCode.NOT_FOUND, `Posting ${externalId}: consultant ${posting.resourceId} is not an active employee in ERP.`);
        employeeId = Number(employee['id']);
      }
      const jobId = Number(job['id']);
      let timeBill: Record<string, unknown> | null = null;
      if (posting.kind === 'TIME') {
        const itemId = posting.item === null ? undefined : itemOf.get(posting.item);
        if (employeeId === null || itemId === undefined || posting.minutes === null || posting.rateMinor === null)
          throw inputError(
            ErrorCode.BAD_USER_INPUT,
            `Posting ${externalId}: time needs a consultant, minutes, a rate and a role that is an active service item in NetSuite (${posting.item ?? 'none'}).`,
          );
        timeBill = timeBillRecord(posting, { jobId, employeeId, itemId, subsidiaryId: Number(job['subsidiary']) });
      }
      taken.add(externalId);
      plans.push({ posting, timeBill, record: postingRecord(posting, { jobId, employeeId, currencyId: Number(job['currencyid']) }, postedAt) });
      return { externalId, created: true };
    });

    try {
      // The time transactions at once (within the account's concurrency), then the posting records in the batch's
      // order, so that their internal IDs follow it.
      const times = await Promise.allSettled(
        plans.flatMap((plan) =>
          plan.timeBill ? [this.netsuite.record(operation, true, 'PUT', `${TIME_BILL}/${eid(plan.posting.externalId)}`, plan.timeBill)] : [],
        ),
      );
      const failed = times.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failed) throw failed.reason;
      for (const plan of plans) await this.netsuite.record(operation, true, 'PUT', `${POSTING.record}/${eid(plan.posting.externalId)}`, plan.record);
    } catch (error) {
      await this.undo(plans.map((plan) => plan.posting.externalId));
      throw error;
    }
    return results;
  }

  async reverseDelivery(externalIds: readonly string[]): Promise<Array<{ externalId: string; reversed: boolean }>> {
    const operation = 'reverseDelivery';
    const rows = await this.netsuite.suiteqlIn(operation, externalIds, (list) => `${POSTING_SELECT} WHERE p.externalid IN (${list})`);
    const open = new Map(
      rows
        .map(toPosted)
        .filter((posting) => posting.status === 'POSTED')
        .map((posting) => [posting.externalId, posting]),
    );
    const reversedAt = new Date().toISOString();
    const toReverse: PostedDelivery[] = [];
    const results = externalIds.map((externalId) => {
      const posting = open.get(externalId);
      if (!posting) return { externalId, reversed: false };
      open.delete(externalId);
      toReverse.push(posting);
      return { externalId, reversed: true };
    });
    await Promise.all(
      toReverse.map(async (posting) => {
        // The time transaction goes first: should the flag not be written, reversing again finishes the job.
        if (posting.kind === 'TIME') await this.deleteIfPresent(operation, `${TIME_BILL}/${eid(posting.externalId)}`);
        await this.netsuite.record(operation, true, 'PATCH', `${POSTING.record}/${posting.id}`, { [POSTING.reversedAt]: reversedAt });
      }),
    );
    return results;
  }

  async postingsByExternalId(externalIds: readonly string[]): Promise<Map<string, PostedDelivery>> {
    const rows = await this.netsuite.suiteqlIn('postingsByExternalId', externalIds, (list) => `${POSTING_SELECT} WHERE p.externalid IN (${list})`);
    return new Map(rows.map((row) => [row['externalid']!, toPosted(row)]));
  }

  /** Ordered by date, then internal ID (the order they were posted in). */
  async postingsByProjectId(projectIds: readonly string[]): Promise<Map<string, PostedDelivery[]>> {
    const rows = await this.netsuite.suiteqlIn('postingsByProjectId', projectIds, (list) => `${POSTING_SELECT} WHERE j.externalid IN (${list}) ORDER BY p.id`);
    const postings = rows.map(toPosted).sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.id - b.id));
    return groupBy(postings, (posting) => posting.projectId);
  }

  // ---- helpers ----

  /** `CLOSED` when the job's project status is one the firm closes jobs with. */
  private jobStatus(): string {
    return `CASE WHEN j.entitystatus IN (${this.mapping.closedProjectStatuses.map(literal).join(', ')}) THEN 'CLOSED' ELSE 'IN_PROGRESS' END`;
  }

  private employees(operation: string, resourceIds: readonly string[]): Promise<SuiteQlRow[]> {
    return this.netsuite.suiteqlIn(
      operation,
      resourceIds,
      (list) => `SELECT e.id, e.entityid, e.externalid, e.isinactive FROM employee e WHERE e.externalid IN (${list})`,
    );
  }

  /** The base periods (not quarters, years or adjustment periods) starting in those months: closed if any lock the firm counts is on. */
  private async periods(operation: string, periods: readonly string[]): Promise<Map<string, boolean>> {
    const month = "TO_CHAR(ap.startdate, 'YYYY-MM')";
    const locks = this.mapping.periodLocks.map((lock) => `ap.${lock} = 'T'`).join(' OR ');
    const rows = await this.netsuite.suiteqlIn(
      operation,
      periods,
      (list) =>
        `SELECT ${month} AS period, CASE WHEN ${locks} THEN 'T' ELSE 'F' END AS locked FROM accountingperiod ap
         WHERE ap.isquarter = 'F' AND ap.isyear = 'F' AND ap.isadjust = 'F' AND ${month} IN (${list})`,
    );
    const closed = new Map<string, boolean>();
    for (const row of rows) closed.set(row['period']!, (closed.get(row['period']!) ?? false) || row['locked'] === 'T');
    return closed;
  }

  private async contractRates(operation: string, projectIds: readonly string[]): Promise<Map<string, ContractRate[]>> {
    const { record, fields } = this.mapping.contractRates;
    const rows = await this.netsuite.suiteqlIn(
      operation,
      projectIds,
      (list) =>
        `SELECT j.externalid, r.${fields.role} AS role, TO_CHAR(r.${fields.from}, 'YYYY-MM-DD') AS effectivefrom,
           TO_CHAR(r.${fields.to}, 'YYYY-MM-DD') AS effectiveto, r.${fields.rate} AS billrate
         FROM ${record} r JOIN job j ON j.id = r.${fields.job} WHERE j.externalid IN (${list}) AND r.isinactive = 'F' ORDER BY r.id`,
    );
    const rates = rows
      .map((row) => ({
        projectId: row['externalid']!,
        rate: {
          role: row['role'] ?? '',
          effectiveFrom: row['effectivefrom'] ?? '',
          effectiveTo: row['effectiveto'] ?? null,
          billRateMinor: minorUnits(row['billrate']),
        },
      }))
      .sort((a, b) => compare(a.rate.role, b.rate.role) || compare(a.rate.effectiveFrom, b.rate.effectiveFrom));
    const byProject = new Map<string, ContractRate[]>();
    for (const { projectId, rate } of rates) byProject.set(projectId, [...(byProject.get(projectId) ?? []), rate]);
    return byProject;
  }

  /** The job's purchase order, from its own fields or a custom record (the first made, should there be several). */
  private async purchaseOrders(operation: string, projectIds: readonly string[]): Promise<Map<string, Omit<ErpPurchaseOrder, 'consumedMinor' | 'currency'>>> {
    const { record, fields } = this.mapping.purchaseOrders;
    const columns = (alias: string) =>
      `j.externalid, ${alias}.${fields.number} AS ponumber, TO_CHAR(${alias}.${fields.expires}, 'YYYY-MM-DD') AS expireson, ${alias}.${fields.amount} AS amount`;
    const rows = await this.netsuite.suiteqlIn(operation, projectIds, (list) =>
      record === 'job'
        ? `SELECT ${columns('j')} FROM job j WHERE j.externalid IN (${list}) AND j.${fields.number} IS NOT NULL AND j.${fields.amount} IS NOT NULL`
        : `SELECT ${columns('po')} FROM ${record} po JOIN job j ON j.id = po.${fields.job}
           WHERE j.externalid IN (${list}) AND po.isinactive = 'F' ORDER BY po.id`,
    );
    const orders = new Map<string, Omit<ErpPurchaseOrder, 'consumedMinor' | 'currency'>>();
    for (const row of rows) {
      if (orders.has(row['externalid']!)) continue;
      orders.set(row['externalid']!, { number: row['ponumber'] ?? '', expiresOn: row['expireson'] ?? '', amountMinor: minorUnits(row['amount']) });
    }
    return orders;
  }

  /**
   * Compensation of a failed batch: whatever of it may have been written (none of it existed before the call),
   * deleted — each posting record first, then its time transaction. What cannot be deleted is left for a re-post
   * of the batch to complete: its upserts by external ID finish what is left.
   */
  private async undo(externalIds: readonly string[]): Promise<void> {
    await Promise.allSettled(
      externalIds.map(async (externalId) => {
        await this.deleteIfPresent('postDelivery', `${POSTING.record}/${eid(externalId)}`);
        await this.deleteIfPresent('postDelivery', `${TIME_BILL}/${eid(externalId)}`);
      }),
    );
  }

  private async deleteIfPresent(operation: string, path: string): Promise<void> {
    try {
      await this.netsuite.record(operation, true, 'DELETE', path);
    } catch (error) {
      if (!(error instanceof VendorError && error.failure === 'NOT_FOUND')) throw error;
    }
  }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
