/** The ERP sandbox's rows and the port records they map to. */
import type { ErpBillingSchedule, ErpBillingScheduleType, ErpContractType, ErpCreditStatus, ErpCustomer, ErpJob, ErpLegalEntity } from '../erpPort.js';

export interface SubsidiaryRow {
  id: number;
  name: string;
  country: string;
  currency: string;
  region: string;
  tax_regime: string;
  service_tax_rate_bp: number;
}

export interface CustomerRow {
  id: number;
  entity_id: string;
  company_name: string;
  parent_id: number | null;
  subsidiary_id: number;
  currency: string;
  external_id: string | null;
  terms_days: number;
  tax_id: string | null;
  tax_exempt: number;
  credit_status: ErpCreditStatus;
}

export interface JobRow {
  id: number;
  entity_id: string;
  company_name: string;
  external_id: string | null;
  customer_id: number;
  subsidiary_id: number;
  contract_type: ErpContractType;
  currency: string;
  value_minor: number;
  budget_minor: number;
  po_required: number;
  po_number: string | null;
  start_date: string;
  end_date: string;
  rate_card_id: number;
  terms_days: number;
}

export interface ScheduleRow {
  id: number;
  job_id: number;
  project_id: string;
  schedule_type: ErpBillingScheduleType;
  frequency: 'MONTHLY' | 'MILESTONE';
  in_arrears: number;
}

export interface ScheduleLineRow {
  schedule_id: number;
  sequence: number;
  line_date: string;
  description: string;
  amount_minor: number | null;
  currency: string;
}

export interface LedgerTotalsRow {
  project_id: string;
  currency: string;
  budget_minor: number;
  cost_minor: number;
  revenue_minor: number;
  billed_minor: number;
}

export interface ReportRow {
  project_id?: string;
  region?: string;
  month?: string;
  currency: string;
  revenue_minor: number;
  billed_minor: number;
}

export const toLegalEntity = (row: SubsidiaryRow): ErpLegalEntity => ({
  id: row.id,
  name: row.name,
  country: row.country,
  currency: row.currency,
  region: row.region,
  taxRegime: row.tax_regime,
  serviceTaxRateBasisPoints: row.service_tax_rate_bp,
});

export const toCustomer = (row: CustomerRow): ErpCustomer => ({
  id: row.id,
  entityId: row.entity_id,
  companyName: row.company_name,
  parentId: row.parent_id,
  subsidiaryId: row.subsidiary_id,
  currency: row.currency,
  externalId: row.external_id,
  paymentTermsDays: row.terms_days,
  taxId: row.tax_id,
  taxExempt: row.tax_exempt === 1,
  creditStatus: row.credit_status,
});

export const toJob = (row: JobRow): ErpJob => ({
  id: row.id,
  entityId: row.entity_id,
  name: row.company_name,
  externalId: row.external_id,
  customerId: row.customer_id,
  subsidiaryId: row.subsidiary_id,
  contractType: row.contract_type,
  currency: row.currency,
  valueMinor: row.value_minor,
  budgetMinor: row.budget_minor,
  poRequired: row.po_required === 1,
  poNumber: row.po_number,
  startDate: row.start_date,
  endDate: row.end_date,
  rateCardId: row.rate_card_id,
  paymentTermsDays: row.terms_days,
});

/** The SQL of each report dimension; PROJECT also yields the region, which a project determines. */
export const REPORT_DIMENSIONS = {
  PROJECT: { columns: ['j.external_id AS project_id', 's.region AS region'], groupBy: ['j.id', 's.region'], orderBy: 'j.external_id' },
  REGION: { columns: ['s.region AS region'], groupBy: ['s.region'], orderBy: 's.region' },
  MONTH: { columns: ['p.period AS month'], groupBy: ['p.period'], orderBy: 'p.period' },
} as const;

export const inJsonList = (column: string, parameter: string) => `${column} IN (SELECT value FROM json_each(:${parameter}))`;

export const toSchedule = (row: ScheduleRow): ErpBillingSchedule => ({
  id: row.id,
  jobId: row.job_id,
  projectId: row.project_id,
  scheduleType: row.schedule_type,
  frequency: row.frequency,
  inArrears: row.in_arrears === 1,
});
