/**
 * The billed-vs-unbilled report over NetSuite: the ledger's posting lines (revenue credited to income accounts,
 * billings on invoices) grouped by SuiteQL, and psgraph's billable posting records grouped the same way (revenue not
 * yet billed, in the month of their date, reversed ones counting nothing) — time transactions post no GL lines of
 * their own, and the sandbox's ledger gets a line per posting — and psgraph's invoice and credit note records grouped
 * the same way (billings in the month of the invoice's or credit note's date). Four grouped queries whatever the
 * volume, merged group by group in the order SuiteQL gives each.
 */
import type { BillingReportQuery, BillingReportRow, ErpReportDimension } from '../erpPort.js';
import { CREDIT_NOTE_BILLINGS, INVOICE_BILLINGS } from './netsuiteBillingRecords.js';
import { type NetSuiteClient, suiteQlLiteral as literal } from './netsuiteClient.js';
import { POSTING, POSTING_MONTH, POSTING_REPORT_DIMENSIONS } from './netsuitePostingRecords.js';
import {
  BILLED_SUM,
  LEDGER_FROM,
  LEDGER_WHERE,
  MONTH,
  REGION,
  REPORT_DIMENSIONS,
  REVENUE_SUM,
  type ReportDimension,
  inList,
  minorUnits,
} from './netsuiteRecords.js';

/** Where one of the report's queries reads from, and what it sums. */
interface ReportSource {
  readonly from: string;
  readonly where: readonly string[];
  readonly month: string;
  readonly sums: string;
}

const LEDGER: ReportSource = {
  from: `${LEDGER_FROM} JOIN subsidiary s ON s.id = j.subsidiary JOIN currency c ON c.id = t.currency JOIN accountingperiod ap ON ap.id = t.postingperiod`,
  where: [LEDGER_WHERE, "(a.accttype = 'Income' OR t.type = 'CustInvc')"],
  month: MONTH,
  sums: `${REVENUE_SUM} AS revenue, ${BILLED_SUM} AS billed`,
};

const POSTINGS: ReportSource = {
  from: `FROM ${POSTING.record} p JOIN job j ON j.id = p.${POSTING.job} JOIN subsidiary s ON s.id = j.subsidiary JOIN currency c ON c.id = p.${POSTING.currency}`,
  where: [`p.${POSTING.billableAmount} <> 0`],
  month: POSTING_MONTH,
  sums: `SUM(CASE WHEN p.${POSTING.reversedAt} IS NULL THEN p.${POSTING.billableAmount} ELSE 0 END) AS revenue, 0 AS billed`,
};

/** psgraph's invoice and credit note records: their billings in their months (netsuiteBillingRecords.ts). */
const BILLINGS: readonly ReportSource[] = [INVOICE_BILLINGS, CREDIT_NOTE_BILLINGS].map((billings) => ({
  from: `${billings.from} JOIN subsidiary s ON s.id = j.subsidiary JOIN currency c ON c.id = ${billings.currency}`,
  where: billings.where,
  month: billings.month,
  sums: `0 AS revenue, ${billings.billed} AS billed`,
}));
const BILLING_DIMENSIONS = (month: string): Readonly<Record<ErpReportDimension, ReportDimension>> => ({
  ...REPORT_DIMENSIONS,
  MONTH: { columns: [`${month} AS month`], groupBy: [month], orderBy: month },
});

export async function netsuiteBillingReport(netsuite: NetSuiteClient, query: BillingReportQuery): Promise<BillingReportRow[]> {
  if (query.groupBy.length === 0) throw new Error('billingReport needs at least one dimension to group by');
  const names = [...new Set(query.groupBy)];
  const [ledger, postings, ...billings] = await Promise.all([
    reportQuery(netsuite, query, REPORT_DIMENSIONS, LEDGER),
    reportQuery(netsuite, query, POSTING_REPORT_DIMENSIONS, POSTINGS),
    ...BILLINGS.map((source) => reportQuery(netsuite, query, BILLING_DIMENSIONS(source.month), source)),
  ]);
  const rows = new Map<string, BillingReportRow>();
  for (const row of [...ledger, ...postings, ...billings.flat()]) {
    const key = JSON.stringify([row.projectId, row.region, row.month, row.currency]);
    const seen = rows.get(key);
    rows.set(
      key,
      seen
        ? { ...seen, recognizedRevenueMinor: seen.recognizedRevenueMinor + row.recognizedRevenueMinor, billedMinor: seen.billedMinor + row.billedMinor }
        : row,
    );
  }
  // In the order the dimensions were asked in, then currency: the order SuiteQL gives each query alone.
  const order = (row: BillingReportRow) => [
    ...names.map((name) => (name === 'PROJECT' ? row.projectId : name === 'REGION' ? row.region : row.month) ?? ''),
    row.currency,
  ];
  return [...rows.values()].sort((a, b) => {
    const [left, right] = [order(a), order(b)];
    for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return left[i]! < right[i]! ? -1 : 1;
    return 0;
  });
}

async function reportQuery(
  netsuite: NetSuiteClient,
  query: BillingReportQuery,
  dimensionsByName: Readonly<Record<ErpReportDimension, ReportDimension>>,
  source: ReportSource,
): Promise<BillingReportRow[]> {
  const dimensions = [...new Set(query.groupBy)].map((name) => dimensionsByName[name]);
  const columns = [...new Set(dimensions.flatMap((dimension) => dimension.columns))];
  const grouping = [...new Set(dimensions.flatMap((dimension) => dimension.groupBy)), 'c.symbol'];
  const ordering = [...dimensions.map((dimension) => dimension.orderBy), 'c.symbol'];
  const where = [...source.where];
  if (query.fromMonth) where.push(`${source.month} >= ${literal(query.fromMonth)}`);
  if (query.toMonth) where.push(`${source.month} <= ${literal(query.toMonth)}`);
  if (query.regions) where.push(inList(REGION, query.regions));
  if (query.projectIds) where.push(inList('j.externalid', query.projectIds));
  const rows = await netsuite.suiteql(
    'billingReport',
    `SELECT ${columns.join(', ')}, c.symbol AS currency, ${source.sums} ${source.from}
     WHERE ${where.join(' AND ')} GROUP BY ${grouping.join(', ')} ORDER BY ${ordering.join(', ')}`,
  );
  return rows.map((row) => ({
    projectId: row['projectid'] ?? null,
    region: row['region'] ?? null,
    month: row['month'] ?? null,
    currency: row['currency'] ?? '',
    recognizedRevenueMinor: minorUnits(row['revenue']),
    billedMinor: minorUnits(row['billed']),
  }));
}
