/** The CRM sandbox's rows and the port records they map to. */
import type { CrmAccount, CrmOpportunity } from '../crmPort.js';

export interface AccountRow {
  id: string;
  name: string;
  type: 'CUSTOMER' | 'PROSPECT';
  industry: string | null;
  region: string;
  currency: string;
  street: string;
  city: string;
  state: string | null;
  postal_code: string;
  country: string;
  owner_id: string;
  parent_id: string | null;
  tax_id: string | null;
  erp_customer_id: string | null;
  billing_customer_id: string | null;
}

export interface OpportunityRow {
  id: string;
  account_id: string;
  name: string;
  stage_name: string;
  is_won: number;
  is_closed: number;
  probability: number;
  forecast_category: string;
  amount_minor: number;
  currency: string;
  close_date: string;
  contract_type: string;
  service_line: string;
  delivery_region: string;
  po_required: number;
  po_number: string | null;
  owner_id: string;
  project_id: string | null;
  erp_project_id: string | null;
  psa_project_id: string | null;
}

export const toAccount = (row: AccountRow): CrmAccount => ({
  id: row.id,
  name: row.name,
  type: row.type,
  industry: row.industry,
  region: row.region,
  currency: row.currency,
  street: row.street,
  city: row.city,
  state: row.state,
  postalCode: row.postal_code,
  country: row.country,
  ownerId: row.owner_id,
  parentId: row.parent_id,
  taxId: row.tax_id,
  erpCustomerId: row.erp_customer_id,
  billingCustomerId: row.billing_customer_id,
});

export const toOpportunity = (row: OpportunityRow): CrmOpportunity => ({
  id: row.id,
  accountId: row.account_id,
  name: row.name,
  stageName: row.stage_name,
  isWon: row.is_won === 1,
  isClosed: row.is_closed === 1,
  probability: row.probability,
  forecastCategory: row.forecast_category,
  amountMinor: row.amount_minor,
  currency: row.currency,
  closeDate: row.close_date,
  contractType: row.contract_type,
  serviceLine: row.service_line,
  deliveryRegion: row.delivery_region,
  poRequired: row.po_required === 1,
  poNumber: row.po_number,
  ownerId: row.owner_id,
  projectId: row.project_id,
  erpProjectId: row.erp_project_id,
  psaProjectId: row.psa_project_id,
});

export const OPPORTUNITY_COLUMNS = `o.*, s.is_won, s.is_closed, s.probability, s.forecast_category`;
export const OPPORTUNITY_FROM = `opportunity o JOIN opportunity_stage s ON s.name = o.stage_name`;
