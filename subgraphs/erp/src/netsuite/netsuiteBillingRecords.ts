/**
 * NetSuite's records for billing as psgraph keeps them (`ErpPostings` billing calls): the invoice record
 * (`customrecord_psgraph_invoice`, keyed by the billing system's invoice ID: its status as of the newest billing
 * event, what it bills, and whether its total stands in the job's billings), the billed mark of a schedule line
 * (`customrecord_psgraph_billed_line`, keyed by the line's source key `schedule:<projectId>:<sequence>`, so that a
 * schedule replaced with the same lines keeps its marks), the credit note record (`customrecord_psgraph_credit_note`,
 * keyed by the credit note's ID), and the SuiteQL over each. A posting's billed mark is a field of its posting record
 * (`POSTING.billedInvoice`, netsuitePostingRecords.ts).
 */
import type { ErpInvoiceRecord, ErpInvoiceStatus } from '../erpPostingsPort.js';
import type { SuiteQlRow } from './netsuiteClient.js';
import { minorUnits } from './netsuiteRecords.js';

/** psgraph's invoice record and its fields (created in the account as docs/vendors/netsuite.md says). */
export const INVOICE = {
  record: 'customrecord_psgraph_invoice',
  number: 'custrecord_psgraph_inv_number',
  job: 'custrecord_psgraph_inv_job',
  status: 'custrecord_psgraph_inv_status',
  date: 'custrecord_psgraph_inv_date',
  currency: 'custrecord_psgraph_inv_currency',
  total: 'custrecord_psgraph_inv_total',
  amountPaid: 'custrecord_psgraph_inv_amount_paid',
  asOf: 'custrecord_psgraph_inv_as_of',
  updatedAt: 'custrecord_psgraph_inv_updated_at',
  /** Whether the invoice's total stands in the job's billings (open, paid, uncollectible) and its sources are marked billed. */
  billed: 'custrecord_psgraph_inv_billed',
  /** When it first counted as billed: a voided invoice's billing and its reversal both stay in its period's report row. */
  firstBilledAt: 'custrecord_psgraph_inv_first_billed_at',
  /** What its lines bill, as a JSON list of source keys (posting external IDs, `schedule:<projectId>:<sequence>`). */
  sources: 'custrecord_psgraph_inv_sources',
} as const;

/** The billed mark of a schedule line: its job, its sequence, and the invoice (by billing's ID) that bills it. */
export const BILLED_LINE = {
  record: 'customrecord_psgraph_billed_line',
  job: 'custrecord_psgraph_bl_job',
  sequence: 'custrecord_psgraph_bl_sequence',
  invoice: 'custrecord_psgraph_bl_invoice',
} as const;

/** psgraph's credit note record: the invoice it credits, its job, day, total and what it credits. */
export const CREDIT_NOTE = {
  record: 'customrecord_psgraph_credit_note',
  invoice: 'custrecord_psgraph_cn_invoice',
  job: 'custrecord_psgraph_cn_job',
  date: 'custrecord_psgraph_cn_date',
  currency: 'custrecord_psgraph_cn_currency',
  total: 'custrecord_psgraph_cn_total',
  sources: 'custrecord_psgraph_cn_sources',
  recordedAt: 'custrecord_psgraph_cn_recorded_at',
} as const;

/** What credit notes took off invoice `i`. */
const CREDITED = `(SELECT NVL(SUM(cn.${CREDIT_NOTE.total}), 0) FROM ${CREDIT_NOTE.record} cn WHERE cn.${CREDIT_NOTE.invoice} = i.id)`;

export const INVOICE_SELECT = `SELECT i.id, i.externalid, i.${INVOICE.number} AS invoicenumber, j.id AS jobid, j.externalid AS projectid,
  i.${INVOICE.status} AS status, TO_CHAR(i.${INVOICE.date}, 'YYYY-MM-DD') AS trandate, c.symbol AS currency, i.${INVOICE.currency} AS currencyid,
  i.${INVOICE.total} AS total,
  i.${INVOICE.amountPaid} AS amountpaid, i.${INVOICE.asOf} AS asof, i.${INVOICE.updatedAt} AS updatedat, i.${INVOICE.billed} AS billed,
  i.${INVOICE.firstBilledAt} AS firstbilledat, i.${INVOICE.sources} AS sources, ${CREDITED} AS credited
  FROM ${INVOICE.record} i JOIN job j ON j.id = i.${INVOICE.job} JOIN currency c ON c.id = i.${INVOICE.currency}`;

export const BILLED_LINE_SELECT = `SELECT b.id, b.externalid, j.externalid AS projectid, b.${BILLED_LINE.sequence} AS sequence, b.${BILLED_LINE.invoice} AS invoiceid
  FROM ${BILLED_LINE.record} b JOIN job j ON j.id = b.${BILLED_LINE.job}`;

/** An invoice record as read, with what the calls need beyond the port's record. */
export interface InvoiceRow extends ErpInvoiceRecord {
  readonly internalId: number;
  readonly jobId: number;
  readonly billed: boolean;
}

const sourceKeys = (json: string | undefined): string[] => {
  if (json === undefined || json === '') return [];
  const parsed = JSON.parse(json) as unknown;
  return Array.isArray(parsed) ? parsed.map(String) : [];
};

export const toInvoice = (row: SuiteQlRow): InvoiceRow => ({
  internalId: Number(row['id']),
  jobId: Number(row['jobid']),
  billed: row['billed'] === 'T',
  invoiceId: row['externalid'] ?? '',
  number: row['invoicenumber'] === undefined || row['invoicenumber'] === '' ? null : row['invoicenumber'],
  projectId: row['projectid'] ?? '',
  status: (row['status'] ?? 'DRAFT') as ErpInvoiceStatus,
  date: row['trandate'] ?? '',
  asOf: row['asof'] ?? '',
  currency: row['currency'] ?? '',
  totalMinor: minorUnits(row['total']),
  amountPaidMinor: minorUnits(row['amountpaid']),
  sourceKeys: sourceKeys(row['sources']),
  creditedMinor: minorUnits(row['credited']),
  updatedAt: row['updatedat'] ?? '',
});

/** The port's record of an invoice row. */
export const toInvoiceRecord = ({ internalId: _id, jobId: _job, billed: _billed, ...record }: InvoiceRow): ErpInvoiceRecord => record;

/**
 * The job's billings as psgraph's invoice and credit note records put them in its ledger, for the financials and the
 * report: an invoice that counts as billed adds its total in its date's month (one billed and voided since, nothing,
 * its row kept as the sandbox's reversing line keeps it), a credit note takes its total off in its own month.
 * Each is a `FROM` over records aliased `x` with the job `j`, and the billed amount and month as `billed`, `x_month`.
 */
export const INVOICE_BILLINGS = {
  from: `FROM ${INVOICE.record} x JOIN job j ON j.id = x.${INVOICE.job}`,
  currency: `x.${INVOICE.currency}`,
  where: [`x.${INVOICE.firstBilledAt} IS NOT NULL`, `x.${INVOICE.total} <> 0`],
  month: `TO_CHAR(x.${INVOICE.date}, 'YYYY-MM')`,
  billed: `SUM(CASE WHEN x.${INVOICE.billed} = 'T' THEN x.${INVOICE.total} ELSE 0 END)`,
} as const;

export const CREDIT_NOTE_BILLINGS = {
  from: `FROM ${CREDIT_NOTE.record} x JOIN job j ON j.id = x.${CREDIT_NOTE.job}`,
  currency: `x.${CREDIT_NOTE.currency}`,
  where: [`x.${CREDIT_NOTE.total} <> 0`],
  month: `TO_CHAR(x.${CREDIT_NOTE.date}, 'YYYY-MM')`,
  billed: `SUM(-x.${CREDIT_NOTE.total})`,
} as const;
