/**
 * NetSuite's records for delivery postings as psgraph reads and writes them: the posting record psgraph keeps for
 * every posting (`customrecord_psgraph_posting`, keyed by the posting's external ID), the time transaction
 * (`timebill`) a time posting also is, the employees, accounting periods and service items the checks read, and
 * the SuiteQL over each. The firm-specific records (contract rates, purchase orders) are read through the
 * mappings of `netsuiteConfig.ts`.
 */
import type { DeliveryPosting, PostedDelivery } from '../erpPostingsPort.js';
import type { SuiteQlRow } from './netsuiteClient.js';
import { REGION, type ReportDimension, decimalAmount, minorUnits } from './netsuiteRecords.js';

/** psgraph's posting record and its fields (created in the account as docs/vendors/netsuite.md says). */
export const POSTING = {
  record: 'customrecord_psgraph_posting',
  kind: 'custrecord_psgraph_dp_kind',
  job: 'custrecord_psgraph_dp_job',
  employee: 'custrecord_psgraph_dp_employee',
  item: 'custrecord_psgraph_dp_item',
  date: 'custrecord_psgraph_dp_date',
  minutes: 'custrecord_psgraph_dp_minutes',
  rate: 'custrecord_psgraph_dp_rate',
  billableAmount: 'custrecord_psgraph_dp_billable_amount',
  costAmount: 'custrecord_psgraph_dp_cost_amount',
  billable: 'custrecord_psgraph_dp_billable',
  currency: 'custrecord_psgraph_dp_currency',
  memo: 'custrecord_psgraph_dp_memo',
  postedAt: 'custrecord_psgraph_dp_posted_at',
  reversedAt: 'custrecord_psgraph_dp_reversed_at',
  /** The billing invoice ID (`in_…`) of the invoice that bills the posting; empty while it is unbilled. */
  billedInvoice: 'custrecord_psgraph_dp_billed_invoice',
} as const;

/** The REST record type of a time transaction. */
export const TIME_BILL = 'timebill';

export const POSTING_SELECT = `SELECT p.id, p.externalid, p.${POSTING.kind} AS kind, j.externalid AS projectid, e.externalid AS resourceid,
  p.${POSTING.item} AS item, TO_CHAR(p.${POSTING.date}, 'YYYY-MM-DD') AS trandate, p.${POSTING.minutes} AS minutes, p.${POSTING.rate} AS rate,
  p.${POSTING.billableAmount} AS billableamount, p.${POSTING.costAmount} AS costamount, p.${POSTING.billable} AS billable, c.symbol AS currency,
  p.${POSTING.memo} AS memo, p.${POSTING.postedAt} AS postedat, p.${POSTING.reversedAt} AS reversedat, p.${POSTING.billedInvoice} AS billedinvoice
  FROM ${POSTING.record} p JOIN job j ON j.id = p.${POSTING.job} JOIN currency c ON c.id = p.${POSTING.currency}
  LEFT JOIN employee e ON e.id = p.${POSTING.employee}`;

/** Per job: what it has posted to bill and what its postings cost, reversals left out. */
export const POSTED_TOTALS_SELECT = `SELECT j.externalid,
  SUM(CASE WHEN p.${POSTING.reversedAt} IS NULL THEN p.${POSTING.billableAmount} ELSE 0 END) AS billable,
  SUM(CASE WHEN p.${POSTING.reversedAt} IS NULL THEN p.${POSTING.costAmount} ELSE 0 END) AS cost
  FROM ${POSTING.record} p JOIN job j ON j.id = p.${POSTING.job}`;

/** The month a posting lands in: its date's, as the sandbox's ledger line's period. */
export const POSTING_MONTH = `TO_CHAR(p.${POSTING.date}, 'YYYY-MM')`;

/** The report's dimensions over posting records (`p`, its job `j`, the job's subsidiary `s`). */
export const POSTING_REPORT_DIMENSIONS: Readonly<Record<'PROJECT' | 'REGION' | 'MONTH', ReportDimension>> = {
  PROJECT: { columns: ['j.externalid AS projectid', `${REGION} AS region`], groupBy: ['j.externalid', REGION], orderBy: 'j.externalid' },
  REGION: { columns: [`${REGION} AS region`], groupBy: [REGION], orderBy: REGION },
  MONTH: { columns: [`${POSTING_MONTH} AS month`], groupBy: [POSTING_MONTH], orderBy: POSTING_MONTH },
};

const optional = (value: string | undefined): string | null => (value === undefined || value === '' ? null : value);

export const toPosted = (row: SuiteQlRow): PostedDelivery => ({
  id: Number(row['id']),
  externalId: row['externalid'] ?? '',
  kind: (row['kind'] ?? 'TIME') as PostedDelivery['kind'],
  projectId: row['projectid'] ?? '',
  resourceId: optional(row['resourceid']),
  item: optional(row['item']),
  date: row['trandate'] ?? '',
  minutes: row['minutes'] === undefined ? null : Number(row['minutes']),
  rateMinor: row['rate'] === undefined ? null : minorUnits(row['rate']),
  billableMinor: minorUnits(row['billableamount']),
  costMinor: minorUnits(row['costamount']),
  billable: row['billable'] === 'T',
  currency: row['currency'] ?? '',
  memo: row['memo'] ?? '',
  status: row['reversedat'] === undefined ? 'POSTED' : 'REVERSED',
  postedAt: row['postedat'] ?? '',
  reversedAt: optional(row['reversedat']),
});

const reference = (id: number | string) => ({ id: String(id) });

/** NetSuite's duration fields take hours as `H:MM`. */
export const duration = (minutes: number): string => `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, '0')}`;

/** The posting record of one posting: what it bills (nothing when not billable) and costs, and when it was posted. */
export function postingRecord(
  posting: DeliveryPosting,
  ids: { readonly jobId: number; readonly employeeId: number | null; readonly currencyId: number },
  postedAt: string,
): Record<string, unknown> {
  return {
    name: posting.externalId,
    [POSTING.kind]: posting.kind,
    [POSTING.job]: reference(ids.jobId),
    [POSTING.employee]: ids.employeeId === null ? null : reference(ids.employeeId),
    [POSTING.item]: posting.item,
    [POSTING.date]: posting.date,
    [POSTING.minutes]: posting.minutes,
    [POSTING.rate]: posting.rateMinor === null ? null : decimalAmount(posting.rateMinor),
    [POSTING.billableAmount]: decimalAmount(posting.billable ? posting.billableMinor : 0),
    [POSTING.costAmount]: decimalAmount(posting.costMinor),
    [POSTING.billable]: posting.billable,
    [POSTING.currency]: reference(ids.currencyId),
    [POSTING.memo]: posting.memo,
    [POSTING.postedAt]: postedAt,
  };
}

/** The time transaction of a time posting: employee, the job as customer, the role's service item, hours at the rate. */
export function timeBillRecord(
  posting: DeliveryPosting,
  ids: { readonly jobId: number; readonly employeeId: number; readonly itemId: number; readonly subsidiaryId: number },
): Record<string, unknown> {
  return {
    employee: reference(ids.employeeId),
    customer: reference(ids.jobId),
    item: reference(ids.itemId),
    subsidiary: reference(ids.subsidiaryId),
    hours: duration(posting.minutes ?? 0),
    rate: decimalAmount(posting.rateMinor ?? 0),
    isBillable: posting.billable,
    tranDate: posting.date,
    memo: posting.memo,
  };
}
