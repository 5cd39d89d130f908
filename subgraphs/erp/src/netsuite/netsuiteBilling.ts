/**
 * Billing over NetSuite (`ErpPostings` billing calls), as the sandbox records it (sandboxErpBilling.ts), in psgraph's
 * records (netsuiteBillingRecords.ts): what is due to be invoiced (posting records not billed, schedule lines without
 * a billed mark), invoices recorded as of their billing event — the newest winning, kept on the invoice record — with
 * the billed marks on their posting records and schedule lines, credit notes once per ID, the job's billing position
 * and the firm's unbilled work. The job's billings in its ledger are the invoice and credit note records themselves:
 * the financials and the report sum them (netsuiteErp.ts, netsuiteReport.ts).
 *
 * NetSuite has no trigger nor a multi-record transaction over REST, so "nothing is billed twice" is checked before
 * anything is written: every source of an invoice is read, and one billed by another invoice refuses the update with
 * nothing written. The marks are written first and the invoice record last, so an update that fails half-way is
 * completed by its retry (a mark the same invoice holds is no conflict). Two invoices billing the same source at the
 * same instant can both pass the check; billing raises an invoice from what is due in one run at a time, which is
 * what keeps that race out (docs/vendors/netsuite.md).
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { groupBy, inputError } from '../../../platform/src/index.js';
import { VendorError } from '../../../platform/src/vendor/vendorError.js';
import type { ErpJob } from '../erpPort.js';
import type {
  DueScheduleLine,
  ErpBillingPosition,
  ErpCreditNote,
  ErpInvoiceRecord,
  ErpInvoiceStatus,
  ErpInvoiceStatusUpdate,
  ProjectBillables,
  UnbilledWip,
} from '../erpPostingsPort.js';
import { type NetSuiteClient, type SuiteQlRow, suiteQlLiteral as literal } from './netsuiteClient.js';
import {
  BILLED_LINE,
  BILLED_LINE_SELECT,
  CREDIT_NOTE,
  INVOICE,
  INVOICE_SELECT,
  type InvoiceRow,
  toInvoice,
  toInvoiceRecord,
} from './netsuiteBillingRecords.js';
import { POSTING, POSTING_SELECT, toPosted } from './netsuitePostingRecords.js';
import { JOB_SELECT, SCHEDULE_LINE_SELECT, SCHEDULE_SELECT, decimalAmount, minorUnits, toJob, toSchedule, toScheduleLines } from './netsuiteRecords.js';

const BILLED_STATUSES: ReadonlySet<ErpInvoiceStatus> = new Set(['OPEN', 'PAID', 'UNCOLLECTIBLE']);
/** `schedule:<projectId>:<sequence>` names a schedule line on an invoice. */
const SCHEDULE_KEY = /^schedule:(prj_[0-9A-Za-z]+):([1-9][0-9]*)$/;
const scheduleSourceKey = (projectId: string, sequence: number) => `schedule:${projectId}:${sequence}`;

/** Posted, billable, not reversed, not billed: what is unbilled work. */
const UNBILLED = `p.${POSTING.reversedAt} IS NULL AND p.${POSTING.billable} = 'T' AND p.${POSTING.billableAmount} > 0 AND p.${POSTING.billedInvoice} IS NULL`;

const eid = (externalId: string) => `eid:${encodeURIComponent(externalId)}`;
const reference = (id: number | string) => ({ id: String(id) });
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

export class NetSuiteBilling {
  constructor(private readonly netsuite: NetSuiteClient) {}

  /** Four queries: the unbilled postings, the fixed-fee and retainer schedules, their lines and billed marks, and the jobs. */
  async billablesByProjectId(upTo: string, projectIds: readonly string[] | null): Promise<ProjectBillables[]> {
    const operation = 'billables';
    const scoped = (query: (scope: string) => string) =>
      projectIds === null
        ? this.netsuite.suiteql(operation, query(''))
        : this.netsuite.suiteqlIn(operation, projectIds, (list) => query(`AND j.externalid IN (${list})`));
    const [postingRows, scheduleRows] = await Promise.all([
      // Time and expenses are due once dated up to the day; a milestone posts on its completion date, so the same.
      scoped((scope) => `${POSTING_SELECT} WHERE ${UNBILLED} AND TO_CHAR(p.${POSTING.date}, 'YYYY-MM-DD') <= ${literal(upTo)} ${scope}`),
      scoped((scope) => `${SCHEDULE_SELECT} WHERE b.scheduletype IN ('FBI', 'STD') ${scope} ORDER BY b.id`),
    ]);
    const postings = groupBy(
      postingRows.map(toPosted).sort((a, b) => compare(a.date, b.date) || a.id - b.id),
      (posting) => posting.projectId,
    );
    // A job's schedule is the first made, as the adapter reads schedules.
    const schedules = new Map<number, ReturnType<typeof toSchedule>>();
    const seen = new Set<string>();
    for (const schedule of scheduleRows.map(toSchedule)) {
      if (seen.has(schedule.projectId)) continue;
      seen.add(schedule.projectId);
      schedules.set(schedule.id, schedule);
    }
    const [lineRows, billedRows] = await Promise.all([
      this.netsuite.suiteqlIn(
        operation,
        [...schedules.keys()],
        (list) => `${SCHEDULE_LINE_SELECT} WHERE m.billingschedule IN (${list}) ORDER BY m.billingschedule, m.id`,
      ),
      this.netsuite.suiteqlIn(operation, [...seen], (list) => `${BILLED_LINE_SELECT} WHERE j.externalid IN (${list})`),
    ]);
    const billed = new Set(billedRows.map((row) => row['externalid']!));
    const lines = new Map<string, DueScheduleLine[]>();
    for (const line of toScheduleLines(lineRows)) {
      const schedule = schedules.get(line.scheduleId)!;
      const sourceKey = scheduleSourceKey(schedule.projectId, line.sequence);
      // Instalments once their date has come; a retainer billed in advance by the eve of the period it covers.
      const dueBy = schedule.scheduleType === 'RETAINER' && !schedule.inArrears ? nextDay(upTo) : upTo;
      if (billed.has(sourceKey) || line.amountMinor === null || line.amountMinor <= 0 || line.date > dueBy) continue;
      const due: DueScheduleLine = { sourceKey, sequence: line.sequence, date: line.date, description: line.description, amountMinor: line.amountMinor };
      lines.set(schedule.projectId, [...(lines.get(schedule.projectId) ?? []), due]);
    }
    const projects = [...new Set([...postings.keys(), ...lines.keys()])].sort(compare);
    const jobs = new Map(
      (await this.netsuite.suiteqlIn(operation, projects, (list) => `${JOB_SELECT} WHERE j.externalid IN (${list})`)).map((row) => [
        row['externalid']!,
        toJob(row),
      ]),
    );
    return projects.map((projectId) => ({
      projectId,
      contractType: jobs.get(projectId)?.contractType ?? ('TIME_AND_MATERIALS' as ErpJob['contractType']),
      currency: jobs.get(projectId)?.currency ?? '',
      postings: postings.get(projectId) ?? [],
      scheduleLines: lines.get(projectId) ?? [],
    }));
  }

  async recordInvoiceStatus(update: ErpInvoiceStatusUpdate): Promise<{ applied: boolean }> {
    const operation = 'recordInvoiceStatus';
    const [[job], [beforeRow]] = await Promise.all([
      this.netsuite.suiteql(
        operation,
        `SELECT j.id, j.externalid, j.currency AS currencyid, c.symbol AS currency FROM job j JOIN currency c ON c.id = j.currency
         WHERE j.externalid = ${literal(update.projectId)}`,
      ),
      this.netsuite.suiteql(operation, `${INVOICE_SELECT} WHERE i.externalid = ${literal(update.invoiceId)}`),
    ]);
    if (!job) throw inputError(ErrorCode.NOT_FOUND, `Invoice ${update.invoiceId}: project ${update.projectId} has no job in ERP.`);
    if (job['currency'] !== update.currency)
      throw inputError(ErrorCode.BAD_USER_INPUT, `Invoice ${update.invoiceId} is in ${update.currency}, the job of ${update.projectId} in ${job['currency']}.`);
    const before = beforeRow ? toInvoice(beforeRow) : null;
    if (before && before.asOf >= update.asOf) return { applied: false };
    const jobId = Number(job['id']);
    if (before && before.jobId !== jobId)
      throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Invoice ${update.invoiceId} is recorded on another project in ERP.`);

    const billed = BILLED_STATUSES.has(update.status);
    const wasBilled = before?.billed ?? false;
    // What it bills is what it billed when first recorded, in key order (as the sandbox keeps them).
    const sources = before ? before.sourceKeys : [...new Set(update.sourceKeys)].sort(compare);
    const now = new Date().toISOString();
    if (billed && !wasBilled) await this.markBilled(operation, update.invoiceId, jobId, update.projectId, sources);
    if (!billed && wasBilled) await this.unmarkBilled(operation, update.invoiceId);
    const changes: Record<string, unknown> = {
      [INVOICE.number]: update.number,
      [INVOICE.status]: update.status,
      [INVOICE.amountPaid]: decimalAmount(update.amountPaidMinor),
      [INVOICE.billed]: billed,
      [INVOICE.asOf]: update.asOf,
      [INVOICE.updatedAt]: now,
      ...(billed && !beforeRow?.['firstbilledat'] ? { [INVOICE.firstBilledAt]: now } : {}),
    };
    // The invoice record last: it says the update is made, so a retry after a failure above completes the marks.
    if (before) await this.netsuite.record(operation, true, 'PATCH', `${INVOICE.record}/${before.internalId}`, changes);
    else
      await this.netsuite.record(operation, true, 'PUT', `${INVOICE.record}/${eid(update.invoiceId)}`, {
        name: update.number ?? update.invoiceId,
        ...changes,
        [INVOICE.job]: reference(jobId),
        [INVOICE.date]: update.date,
        [INVOICE.currency]: reference(job['currencyid']!),
        [INVOICE.total]: decimalAmount(update.totalMinor),
        [INVOICE.sources]: JSON.stringify(sources),
      });
    return { applied: true };
  }

  async recordCreditNote(creditNote: ErpCreditNote): Promise<{ applied: boolean }> {
    const operation = 'recordCreditNote';
    const [[invoiceRow], [existing]] = await Promise.all([
      this.netsuite.suiteql(
        operation,
        `${INVOICE_SELECT} WHERE i.externalid = ${literal(creditNote.invoiceId)} AND j.externalid = ${literal(creditNote.projectId)}`,
      ),
      this.netsuite.suiteql(operation, `SELECT cn.id FROM ${CREDIT_NOTE.record} cn WHERE cn.externalid = ${literal(creditNote.creditNoteId)}`),
    ]);
    // Its invoice's status event comes first in billing's order; a credit note arriving before it is retried later.
    if (!invoiceRow)
      throw inputError(
        ErrorCode.NOT_FOUND,
        `Credit note ${creditNote.creditNoteId}: ERP has no invoice ${creditNote.invoiceId} of ${creditNote.projectId} yet.`,
      );
    if (existing) return { applied: false };
    const invoice = toInvoice(invoiceRow);
    if (invoice.currency !== creditNote.currency)
      throw inputError(ErrorCode.BAD_USER_INPUT, `Credit note ${creditNote.creditNoteId} is in ${creditNote.currency}, its invoice in ${invoice.currency}.`);
    if (invoice.creditedMinor + creditNote.totalMinor > invoice.totalMinor)
      throw inputError(ErrorCode.BAD_USER_INPUT, `Credit note ${creditNote.creditNoteId} would credit more than invoice ${creditNote.invoiceId}'s total.`);
    await this.netsuite.record(operation, true, 'PUT', `${CREDIT_NOTE.record}/${eid(creditNote.creditNoteId)}`, {
      name: creditNote.creditNoteId,
      [CREDIT_NOTE.invoice]: reference(invoice.internalId),
      [CREDIT_NOTE.job]: reference(invoice.jobId),
      [CREDIT_NOTE.date]: creditNote.date,
      [CREDIT_NOTE.currency]: reference(invoiceRow['currencyid']!),
      [CREDIT_NOTE.total]: decimalAmount(creditNote.totalMinor),
      [CREDIT_NOTE.sources]: JSON.stringify(creditNote.sourceKeys),
      [CREDIT_NOTE.recordedAt]: new Date().toISOString(),
    });
    return { applied: true };
  }

  /** Oldest first: by date, then billing's invoice ID. */
  async invoicesByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpInvoiceRecord[]>> {
    const invoices = await this.invoices('invoicesByProjectId', projectIds);
    return groupBy(invoices.map(toInvoiceRecord), (invoice) => invoice.projectId);
  }

  /** Three queries per batch: the jobs, their unbilled posting records, their invoice records with what credit notes took off. */
  async billingPositionsByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpBillingPosition>> {
    const operation = 'billingPositions';
    const [jobs, unbilled, invoices] = await Promise.all([
      this.netsuite.suiteqlIn(
        operation,
        projectIds,
        (list) => `SELECT j.externalid, c.symbol AS currency FROM job j JOIN currency c ON c.id = j.currency WHERE j.externalid IN (${list})`,
      ),
      this.netsuite.suiteqlIn(
        operation,
        projectIds,
        (list) =>
          `SELECT j.externalid, SUM(p.${POSTING.billableAmount}) AS unbilled, COUNT(*) AS postings FROM ${POSTING.record} p JOIN job j ON j.id = p.${POSTING.job}
           WHERE ${UNBILLED} AND j.externalid IN (${list}) GROUP BY j.externalid`,
      ),
      this.invoices(operation, projectIds),
    ]);
    const unbilledOf = new Map(unbilled.map((row) => [row['externalid']!, row]));
    const invoicesOf = groupBy(invoices, (invoice) => invoice.projectId);
    const positions = new Map<string, ErpBillingPosition>();
    for (const job of jobs) {
      const projectId = job['externalid']!;
      const position = { billedMinor: 0, paidMinor: 0, receivableMinor: 0, writtenOffMinor: 0 };
      for (const invoice of invoicesOf.get(projectId) ?? []) {
        const outstanding = Math.max(0, invoice.totalMinor - invoice.creditedMinor - invoice.amountPaidMinor);
        if (invoice.billed) {
          position.billedMinor += invoice.totalMinor - invoice.creditedMinor;
          position.paidMinor += invoice.amountPaidMinor;
        }
        if (invoice.status === 'OPEN') position.receivableMinor += outstanding;
        if (invoice.status === 'UNCOLLECTIBLE') position.writtenOffMinor += outstanding;
      }
      positions.set(projectId, {
        projectId,
        currency: job['currency'] ?? '',
        unbilledMinor: minorUnits(unbilledOf.get(projectId)?.['unbilled']),
        unbilledPostings: Number(unbilledOf.get(projectId)?.['postings'] ?? 0),
        ...position,
      });
    }
    return positions;
  }

  /** One grouped query over the posting records. */
  async unbilledWip(): Promise<UnbilledWip[]> {
    const rows = await this.netsuite.suiteql(
      'unbilledWip',
      `SELECT c.symbol AS currency, SUM(p.${POSTING.billableAmount}) AS unbilled, COUNT(*) AS postings, COUNT(DISTINCT p.${POSTING.job}) AS projects
       FROM ${POSTING.record} p JOIN currency c ON c.id = p.${POSTING.currency} WHERE ${UNBILLED} GROUP BY c.symbol ORDER BY c.symbol`,
    );
    return rows.map((row) => ({
      currency: row['currency'] ?? '',
      unbilledMinor: minorUnits(row['unbilled']),
      postings: Number(row['postings'] ?? 0),
      projects: Number(row['projects'] ?? 0),
    }));
  }

  // ---- helpers ----

  private async invoices(operation: string, projectIds: readonly string[]): Promise<InvoiceRow[]> {
    const rows = await this.netsuite.suiteqlIn(operation, projectIds, (list) => `${INVOICE_SELECT} WHERE j.externalid IN (${list})`);
    return rows.map(toInvoice).sort((a, b) => compare(a.date, b.date) || compare(a.invoiceId, b.invoiceId));
  }

  /**
   * Marks what the invoice bills: every source checked first, in key order as the sandbox checks them (a schedule
   * line of another project, a posting not of the job, one billed by another invoice refuse it, nothing written).
   */
  private async markBilled(operation: string, invoiceId: string, jobId: number, projectId: string, sources: readonly string[]): Promise<void> {
    const postingKeys = sources.filter((key) => !SCHEDULE_KEY.test(key));
    const lineKeys = sources.filter((key) => SCHEDULE_KEY.test(key));
    const [postingRows, lineRows] = await Promise.all([
      this.netsuite.suiteqlIn(
        operation,
        postingKeys,
        (list) =>
          `SELECT p.id, p.externalid, p.${POSTING.billedInvoice} AS billedinvoice FROM ${POSTING.record} p WHERE p.externalid IN (${list}) AND p.${POSTING.job} = ${jobId}`,
      ),
      this.netsuite.suiteqlIn(operation, lineKeys, (list) => `${BILLED_LINE_SELECT} WHERE b.externalid IN (${list})`),
    ]);
    const postingOf = new Map(postingRows.map((row) => [row['externalid']!, row]));
    const holderOf = new Map(lineRows.map((row) => [row['externalid']!, row['invoiceid'] ?? '']));
    const writes: Array<() => Promise<void>> = [];
    for (const key of sources) {
      const schedule = SCHEDULE_KEY.exec(key);
      if (schedule) {
        if (schedule[1] !== projectId) throw inputError(ErrorCode.BAD_USER_INPUT, `Invoice ${invoiceId} bills ${key}, a line of another project.`);
        const holder = holderOf.get(key);
        if (holder !== undefined && holder !== invoiceId)
          throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Invoice ${invoiceId} bills ${key}, already billed by ${holder}.`);
        if (holder === undefined)
          writes.push(() =>
            this.netsuite.record(operation, true, 'PUT', `${BILLED_LINE.record}/${eid(key)}`, {
              name: key,
              [BILLED_LINE.job]: reference(jobId),
              [BILLED_LINE.sequence]: Number(schedule[2]),
              [BILLED_LINE.invoice]: invoiceId,
            }),
          );
        continue;
      }
      const posting = postingOf.get(key);
      if (!posting) throw inputError(ErrorCode.NOT_FOUND, `Invoice ${invoiceId} bills ${key}, which is not a posting of ${projectId} in ERP.`);
      const holder = posting['billedinvoice'];
      if (holder !== undefined && holder !== '' && holder !== invoiceId)
        throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Invoice ${invoiceId} bills ${key}, already billed by another invoice.`);
      if (holder !== invoiceId)
        writes.push(() => this.netsuite.record(operation, true, 'PATCH', `${POSTING.record}/${posting['id']!}`, { [POSTING.billedInvoice]: invoiceId }));
    }
    await Promise.all(writes.map((write) => write()));
  }

  /** Voided: the invoice's marks taken off, so that what it billed is billable again. */
  private async unmarkBilled(operation: string, invoiceId: string): Promise<void> {
    const [postings, lines] = await Promise.all([
      this.netsuite.suiteql(operation, `SELECT p.id FROM ${POSTING.record} p WHERE p.${POSTING.billedInvoice} = ${literal(invoiceId)}`),
      this.netsuite.suiteql(operation, `SELECT b.id FROM ${BILLED_LINE.record} b WHERE b.${BILLED_LINE.invoice} = ${literal(invoiceId)}`),
    ]);
    await Promise.all([
      ...postings.map((row: SuiteQlRow) =>
        this.netsuite.record(operation, true, 'PATCH', `${POSTING.record}/${row['id']!}`, { [POSTING.billedInvoice]: null }),
      ),
      ...lines.map((row: SuiteQlRow) => this.deleteIfPresent(operation, `${BILLED_LINE.record}/${row['id']!}`)),
    ]);
  }

  private async deleteIfPresent(operation: string, path: string): Promise<void> {
    try {
      await this.netsuite.record(operation, true, 'DELETE', path);
    } catch (error) {
      if (!(error instanceof VendorError && error.failure === 'NOT_FOUND')) throw error;
    }
  }
}
