/**
 * NetSuite's records as the ERP port knows them: the SuiteQL that reads each (standard fields, and the custom
 * fields and records docs/vendors/netsuite.md asks the account to create), and the mapping of its rows to the
 * port's records. SuiteQL answers every value as text (booleans `T`/`F`, dates in the account's display format,
 * hence `TO_CHAR` to ISO) and leaves null columns out; money is a decimal in NetSuite and minor units in psgraph.
 */
import type {
  ErpBillingSchedule,
  ErpBillingScheduleLine,
  ErpBillingScheduleType,
  ErpContractType,
  ErpCustomer,
  ErpJob,
  ErpLegalEntity,
  ErpRateCard,
  ErpRateCardLine,
} from '../erpPort.js';
import { type SuiteQlRow, suiteQlLiteral } from './netsuiteClient.js';

/** The custom fields and records psgraph reads and writes (created in the account as docs/vendors/netsuite.md says). */
export const CUSTOM = {
  subsidiaryRegion: 'custrecord_psgraph_region',
  subsidiaryTaxRegime: 'custrecord_psgraph_tax_regime',
  subsidiaryServiceTaxBp: 'custrecord_psgraph_service_tax_bp',
  contractType: 'custentity_psgraph_contract_type',
  contractValue: 'custentity_psgraph_contract_value',
  budget: 'custentity_psgraph_budget',
  poRequired: 'custentity_psgraph_po_required',
  poNumber: 'custentity_psgraph_po_number',
  rateCard: 'custentity_psgraph_rate_card',
  rateCardRecord: 'customrecord_psgraph_rate_card',
  rateCardSubsidiary: 'custrecord_psgraph_rc_subsidiary',
  rateCardCurrency: 'custrecord_psgraph_rc_currency',
  rateCardLineRecord: 'customrecord_psgraph_rate_card_line',
  lineRateCard: 'custrecord_psgraph_rcl_rate_card',
  lineRole: 'custrecord_psgraph_rcl_role',
  lineRoleName: 'custrecord_psgraph_rcl_role_name',
  lineSortOrder: 'custrecord_psgraph_rcl_sort_order',
  lineBillRate: 'custrecord_psgraph_rcl_bill_rate',
} as const;

export const SUBSIDIARY_SELECT = `SELECT s.id, s.name, s.country, c.symbol AS currency, s.${CUSTOM.subsidiaryRegion} AS region,
  s.${CUSTOM.subsidiaryTaxRegime} AS taxregime, s.${CUSTOM.subsidiaryServiceTaxBp} AS servicetaxbp
  FROM subsidiary s JOIN currency c ON c.id = s.currency`;

export const CUSTOMER_SELECT = `SELECT cu.id, cu.entityid, cu.companyname, cu.parent, cu.subsidiary, c.symbol AS currency, cu.externalid,
  t.daysuntilnetdue AS termsdays, cu.vatregnumber, cu.taxable, cu.creditholdoverride
  FROM customer cu JOIN currency c ON c.id = cu.currency LEFT JOIN term t ON t.id = cu.terms`;

/** A job's columns as `toJob` reads them, over `JOB_FROM`. */
export const JOB_COLUMNS = `j.id, j.entityid, j.companyname, j.externalid, j.customer, j.subsidiary, c.symbol AS currency,
  j.${CUSTOM.contractType} AS contracttype, j.${CUSTOM.contractValue} AS contractvalue, j.${CUSTOM.budget} AS budget,
  j.${CUSTOM.poRequired} AS porequired, j.${CUSTOM.poNumber} AS ponumber,
  TO_CHAR(j.startdate, 'YYYY-MM-DD') AS startdate, TO_CHAR(j.projectedenddate, 'YYYY-MM-DD') AS enddate,
  j.${CUSTOM.rateCard} AS ratecard, t.daysuntilnetdue AS termsdays`;
export const JOB_FROM = 'FROM job j JOIN currency c ON c.id = j.currency JOIN customer cu ON cu.id = j.customer LEFT JOIN term t ON t.id = cu.terms';
export const JOB_SELECT = `SELECT ${JOB_COLUMNS} ${JOB_FROM}`;

export const RATE_CARD_SELECT = `SELECT r.id, r.name, c.symbol AS currency, r.${CUSTOM.rateCardCurrency} AS currencyid, r.${CUSTOM.rateCardSubsidiary} AS subsidiary
  FROM ${CUSTOM.rateCardRecord} r JOIN currency c ON c.id = r.${CUSTOM.rateCardCurrency}`;

export const RATE_CARD_LINE_SELECT = `SELECT l.${CUSTOM.lineRateCard} AS ratecard, l.${CUSTOM.lineRole} AS role, l.${CUSTOM.lineRoleName} AS rolename,
  l.${CUSTOM.lineBillRate} AS billrate, c.symbol AS currency
  FROM ${CUSTOM.rateCardLineRecord} l JOIN ${CUSTOM.rateCardRecord} r ON r.id = l.${CUSTOM.lineRateCard}
  JOIN currency c ON c.id = r.${CUSTOM.rateCardCurrency}`;

export const SCHEDULE_SELECT = `SELECT b.id, b.scheduletype, b.frequency, b.inarrears, j.id AS job, j.externalid AS projectid
  FROM billingschedule b JOIN job j ON j.id = b.job`;

/** A schedule's lines are its milestone lines, in the order NetSuite keeps them (their line IDs). */
export const SCHEDULE_LINE_SELECT = `SELECT m.billingschedule, m.id, TO_CHAR(m.milestonedate, 'YYYY-MM-DD') AS milestonedate, m.comments,
  m.milestoneamount, c.symbol AS currency
  FROM billingschedulemilestone m JOIN billingschedule b ON b.id = m.billingschedule JOIN job j ON j.id = b.job
  JOIN currency c ON c.id = j.currency`;

/**
 * The ledger lines psgraph sums: posting lines (primary book) of transactions that are not void, attributed to a
 * job by the line's entity. Recognized revenue is what is credited to income accounts, cost what is debited to
 * cost-of-goods accounts, and billed what invoices credit (their non-summary, non-tax lines).
 */
export const LEDGER_FROM = `FROM transactionaccountingline tal
  JOIN transaction t ON t.id = tal.transaction
  JOIN transactionline tl ON tl.transaction = tal.transaction AND tl.id = tal.transactionline
  JOIN account a ON a.id = tal.account
  JOIN job j ON j.id = tl.entity`;
export const LEDGER_WHERE = `tal.posting = 'T' AND t.voided = 'F' AND tl.mainline = 'F' AND tl.taxline = 'F'`;
export const REVENUE_SUM = `SUM(CASE WHEN a.accttype = 'Income' THEN -tl.foreignamount ELSE 0 END)`;
export const BILLED_SUM = `SUM(CASE WHEN t.type = 'CustInvc' THEN -tl.foreignamount ELSE 0 END)`;
export const COST_SUM = `SUM(CASE WHEN a.accttype = 'COGS' THEN tl.foreignamount ELSE 0 END)`;

export const MONTH = "TO_CHAR(ap.startdate, 'YYYY-MM')";
export const REGION = `s.${CUSTOM.subsidiaryRegion}`;

/** A report dimension in SuiteQL: the columns it selects, groups by and orders by. */
export interface ReportDimension {
  readonly columns: readonly string[];
  readonly groupBy: readonly string[];
  readonly orderBy: string;
}

/** The SuiteQL of each report dimension; PROJECT also yields the region, which a project determines (as the sandbox's). */
export const REPORT_DIMENSIONS: Readonly<Record<'PROJECT' | 'REGION' | 'MONTH', ReportDimension>> = {
  PROJECT: { columns: ['j.externalid AS projectid', `${REGION} AS region`], groupBy: ['j.externalid', REGION], orderBy: 'j.externalid' },
  REGION: { columns: [`${REGION} AS region`], groupBy: [REGION], orderBy: REGION },
  MONTH: { columns: [`${MONTH} AS month`], groupBy: [MONTH], orderBy: MONTH },
};

/** `column IN (…)`, or a condition nothing meets for an empty list (SuiteQL has no empty `IN ()`). */
export const inList = (column: string, values: ReadonlyArray<string | number>) =>
  values.length === 0 ? '1 = 0' : `${column} IN (${values.map(suiteQlLiteral).join(', ')})`;

/** psgraph's billing schedule types as NetSuite's project schedule types (a retainer is a standard schedule). */
const SCHEDULE_TYPE_IN_NETSUITE: Readonly<Record<ErpBillingScheduleType, string>> = {
  TIME_AND_MATERIALS: 'TM',
  FIXED_INTERVAL: 'FBI',
  MILESTONE: 'FBM',
  RETAINER: 'STD',
};
/** A milestone schedule has no period of its own: its dates are its lines', a `CUSTOM` frequency in NetSuite. */
const FREQUENCY_IN_NETSUITE = { MONTHLY: 'MONTHLY', MILESTONE: 'CUSTOM' } as const;

export const netSuiteScheduleType = (type: ErpBillingScheduleType) => SCHEDULE_TYPE_IN_NETSUITE[type];
export const netSuiteFrequency = (frequency: keyof typeof FREQUENCY_IN_NETSUITE) => FREQUENCY_IN_NETSUITE[frequency];

const text = (value: string | undefined): string => value ?? '';
const optional = (value: string | undefined): string | null => (value === undefined || value === '' ? null : value);
const integer = (value: string | undefined): number => Number(value ?? 0);
const flag = (value: string | undefined): boolean => value === 'T' || value === 'true';
/** A NetSuite currency amount (a decimal) in minor units: every psgraph currency has two decimals. */
export const minorUnits = (value: string | undefined): number => Math.round(Number(value ?? 0) * 100);
/** Minor units as the decimal NetSuite's currency fields take. */
export const decimalAmount = (minor: number): number => minor / 100;

export const toLegalEntity = (row: SuiteQlRow): ErpLegalEntity => ({
  id: integer(row['id']),
  name: text(row['name']),
  country: text(row['country']),
  currency: text(row['currency']),
  region: text(row['region']),
  taxRegime: text(row['taxregime']),
  serviceTaxRateBasisPoints: integer(row['servicetaxbp']),
});

export const toCustomer = (row: SuiteQlRow): ErpCustomer => ({
  id: integer(row['id']),
  entityId: text(row['entityid']),
  companyName: text(row['companyname']),
  parentId: row['parent'] === undefined ? null : integer(row['parent']),
  subsidiaryId: integer(row['subsidiary']),
  currency: text(row['currency']),
  externalId: optional(row['externalid']),
  paymentTermsDays: integer(row['termsdays']),
  taxId: optional(row['vatregnumber']),
  // A customer NetSuite does not tax is exempt; one it taxes (or whose flag is unset) is not.
  taxExempt: row['taxable'] === 'F',
  // Finance puts a customer on hold with the credit hold override; AUTO and OFF let orders through.
  creditStatus: row['creditholdoverride'] === 'ON' ? 'ON_HOLD' : 'GOOD',
});

export const toJob = (row: SuiteQlRow): ErpJob => ({
  id: integer(row['id']),
  entityId: text(row['entityid']),
  name: text(row['companyname']),
  externalId: optional(row['externalid']),
  customerId: integer(row['customer']),
  subsidiaryId: integer(row['subsidiary']),
  contractType: text(row['contracttype']) as ErpContractType,
  currency: text(row['currency']),
  valueMinor: minorUnits(row['contractvalue']),
  budgetMinor: minorUnits(row['budget']),
  poRequired: flag(row['porequired']),
  poNumber: optional(row['ponumber']),
  startDate: text(row['startdate']),
  endDate: text(row['enddate']),
  rateCardId: integer(row['ratecard']),
  paymentTermsDays: integer(row['termsdays']),
});

export const toRateCard = (row: SuiteQlRow): ErpRateCard => ({
  id: integer(row['id']),
  name: text(row['name']),
  currency: text(row['currency']),
  subsidiaryId: integer(row['subsidiary']),
});

export const toRateCardLine = (row: SuiteQlRow): ErpRateCardLine => ({
  rateCardId: integer(row['ratecard']),
  role: text(row['role']),
  roleName: text(row['rolename']),
  billRateMinor: minorUnits(row['billrate']),
  currency: text(row['currency']),
});

const SCHEDULE_TYPE_OF_NETSUITE: Readonly<Record<string, ErpBillingScheduleType>> = Object.fromEntries(
  Object.entries(SCHEDULE_TYPE_IN_NETSUITE).map(([type, netsuite]) => [netsuite, type as ErpBillingScheduleType]),
);

export const toSchedule = (row: SuiteQlRow): ErpBillingSchedule => ({
  id: integer(row['id']),
  jobId: integer(row['job']),
  projectId: text(row['projectid']),
  // A charge-based schedule (NetSuite's other project type) bills time and expenses as they are charged.
  scheduleType: SCHEDULE_TYPE_OF_NETSUITE[text(row['scheduletype'])] ?? 'TIME_AND_MATERIALS',
  frequency: row['frequency'] === 'MONTHLY' ? 'MONTHLY' : 'MILESTONE',
  inArrears: flag(row['inarrears']),
});

/** Lines in NetSuite's order; the sequence is a line's place in its schedule (1, 2, …). */
export function toScheduleLines(rows: readonly SuiteQlRow[]): ErpBillingScheduleLine[] {
  const placed = new Map<number, number>();
  return rows.map((row) => {
    const scheduleId = integer(row['billingschedule']);
    const sequence = (placed.get(scheduleId) ?? 0) + 1;
    placed.set(scheduleId, sequence);
    return {
      scheduleId,
      sequence,
      date: text(row['milestonedate']),
      description: text(row['comments']),
      amountMinor: row['milestoneamount'] === undefined ? null : minorUnits(row['milestoneamount']),
      currency: text(row['currency']),
    };
  });
}
