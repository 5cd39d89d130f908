/**
 * Salesforce's records as the CRM port knows them: the fields psgraph reads (standard fields and the custom fields
 * docs/vendors/salesforce.md asks the org to create), and the mapping to the port's records. Money is a decimal in
 * Salesforce and minor units in psgraph.
 */
import { formatMinor, parseMinor } from '../../../platform/src/index.js';
import type { AccountBillingStatus, AccountBillingStatusUpdate, CrmAccount, CrmLineItem, CrmOpportunity, CrmUser } from '../crmPort.js';

export const ACCOUNT_FIELDS = [
  'Id',
  'Name',
  'Type',
  'Industry',
  'Region__c',
  'CurrencyIsoCode',
  'BillingStreet',
  'BillingCity',
  'BillingState',
  'BillingPostalCode',
  'BillingCountry',
  'OwnerId',
  'ParentId',
  'Tax_Id__c',
  'ERP_Customer_Id__c',
  'Billing_Customer_Id__c',
] as const;

export const OPPORTUNITY_FIELDS = [
  'Id',
  'AccountId',
  'Name',
  'StageName',
  'IsWon',
  'IsClosed',
  'Probability',
  'ForecastCategoryName',
  'Amount',
  'CurrencyIsoCode',
  'CloseDate',
  'Contract_Type__c',
  'Service_Line__c',
  'Delivery_Region__c',
  'PO_Required__c',
  'PO_Number__c',
  'OwnerId',
  'Project_Id__c',
  'ERP_Project_Id__c',
  'PSA_Project_Id__c',
] as const;

export const LINE_ITEM_FIELDS = ['Id', 'OpportunityId', 'SortOrder', 'ProductCode', 'Name', 'Quantity', 'UnitPrice', 'CurrencyIsoCode'] as const;

export const USER_FIELDS = ['Id', 'Name', 'Email'] as const;

/**
 * The account's billing status, in custom fields on the Account that psgraph alone writes: the receivables as JSON
 * (a long text area, one entry per currency, amounts as decimals so that a person reading the field sees money),
 * the last invoice, and two DateTimes — the billing event's instant (which decides what is newer) and when
 * psgraph wrote it.
 */
export const BILLING_STATUS_FIELDS = [
  'Id',
  'psgraph_Receivables__c',
  'psgraph_Last_Invoice_Id__c',
  'psgraph_Last_Invoice_Number__c',
  'psgraph_Last_Invoice_Status__c',
  'psgraph_Billing_Status_As_Of__c',
  'psgraph_Billing_Status_Updated__c',
] as const;

export type SalesforceRecord<Fields extends readonly string[]> = { readonly [Field in Fields[number]]: unknown };
export type AccountRecord = SalesforceRecord<typeof ACCOUNT_FIELDS>;
export type OpportunityRecord = SalesforceRecord<typeof OPPORTUNITY_FIELDS>;
export type LineItemRecord = SalesforceRecord<typeof LINE_ITEM_FIELDS>;
export type UserRecord = SalesforceRecord<typeof USER_FIELDS>;
export type BillingStatusRecord = SalesforceRecord<typeof BILLING_STATUS_FIELDS>;

/** `SELECT <fields> FROM <sObject>`. */
export const select = (fields: readonly string[], sObject: string) => `SELECT ${fields.join(', ')} FROM ${sObject}`;

const text = (value: unknown): string => (value === null || value === undefined ? '' : String(value));
const optional = (value: unknown): string | null => (value === null || value === undefined || value === '' ? null : String(value));
/** A Salesforce currency amount (a decimal) in minor units. */
export const minorUnits = (value: unknown): number => Math.round(Number(value ?? 0) * 100);

export const toAccount = (record: AccountRecord): CrmAccount => ({
  id: text(record.Id),
  name: text(record.Name),
  // The org's account types; anything but a customer is a prospect to psgraph.
  type: record.Type === 'Customer' ? 'CUSTOMER' : 'PROSPECT',
  industry: optional(record.Industry),
  region: text(record.Region__c),
  currency: text(record.CurrencyIsoCode),
  street: text(record.BillingStreet),
  city: text(record.BillingCity),
  state: optional(record.BillingState),
  postalCode: text(record.BillingPostalCode),
  country: text(record.BillingCountry),
  ownerId: text(record.OwnerId),
  parentId: optional(record.ParentId),
  taxId: optional(record.Tax_Id__c),
  erpCustomerId: optional(record.ERP_Customer_Id__c),
  billingCustomerId: optional(record.Billing_Customer_Id__c),
});

export const toOpportunity = (record: OpportunityRecord): CrmOpportunity => ({
  id: text(record.Id),
  accountId: text(record.AccountId),
  name: text(record.Name),
  stageName: text(record.StageName),
  isWon: record.IsWon === true,
  isClosed: record.IsClosed === true,
  probability: Number(record.Probability ?? 0),
  forecastCategory: text(record.ForecastCategoryName),
  amountMinor: minorUnits(record.Amount),
  currency: text(record.CurrencyIsoCode),
  closeDate: text(record.CloseDate),
  contractType: text(record.Contract_Type__c),
  serviceLine: text(record.Service_Line__c),
  deliveryRegion: text(record.Delivery_Region__c),
  poRequired: record.PO_Required__c === true,
  poNumber: optional(record.PO_Number__c),
  ownerId: text(record.OwnerId),
  projectId: optional(record.Project_Id__c),
  erpProjectId: optional(record.ERP_Project_Id__c),
  psaProjectId: optional(record.PSA_Project_Id__c),
});

export const toLineItem = (record: LineItemRecord): CrmLineItem => ({
  id: text(record.Id),
  opportunityId: text(record.OpportunityId),
  role: text(record.ProductCode),
  roleName: text(record.Name),
  hours: Number(record.Quantity ?? 0),
  unitPriceMinor: minorUnits(record.UnitPrice),
  currency: text(record.CurrencyIsoCode),
});

export const toUser = (record: UserRecord): CrmUser => ({ id: text(record.Id), name: text(record.Name), email: text(record.Email) });

/** A Salesforce DateTime (`2026-11-02T09:30:00.000+0000`) as an ISO instant in UTC; null when empty. */
export const instant = (value: unknown): string | null =>
  value === null || value === undefined || value === '' ? null : new Date(String(value)).toISOString();

interface ReceivableJson {
  readonly currency: string;
  readonly outstanding: string;
  readonly overdue: string;
}

/** Null for an account psgraph never wrote a billing status on. */
export const toBillingStatus = (record: BillingStatusRecord): AccountBillingStatus | null => {
  const asOf = instant(record.psgraph_Billing_Status_As_Of__c);
  if (asOf === null) return null;
  const receivables = JSON.parse(text(record.psgraph_Receivables__c) || '[]') as ReceivableJson[];
  return {
    accountId: text(record.Id),
    asOf,
    receivables: receivables.map((entry) => ({
      currency: entry.currency,
      outstandingMinor: parseMinor(entry.outstanding),
      overdueMinor: parseMinor(entry.overdue),
    })),
    lastInvoiceId: text(record.psgraph_Last_Invoice_Id__c),
    lastInvoiceNumber: optional(record.psgraph_Last_Invoice_Number__c),
    lastInvoiceStatus: text(record.psgraph_Last_Invoice_Status__c) as AccountBillingStatus['lastInvoiceStatus'],
    updatedAt: instant(record.psgraph_Billing_Status_Updated__c) ?? asOf,
  };
};

/** The fields a billing status update PATCHes onto the Account. */
export const billingStatusFields = (update: AccountBillingStatusUpdate, asOf: string, updatedAt: string): Record<string, unknown> => ({
  psgraph_Receivables__c: JSON.stringify(
    update.receivables.map((receivable): ReceivableJson => ({
      currency: receivable.currency,
      outstanding: formatMinor(receivable.outstandingMinor),
      overdue: formatMinor(receivable.overdueMinor),
    })),
  ),
  psgraph_Last_Invoice_Id__c: update.lastInvoiceId,
  psgraph_Last_Invoice_Number__c: update.lastInvoiceNumber,
  psgraph_Last_Invoice_Status__c: update.lastInvoiceStatus,
  psgraph_Billing_Status_As_Of__c: asOf,
  psgraph_Billing_Status_Updated__c: updatedAt,
});
