/**
 * What the ERP subgraph needs from the ERP system. The sandbox implements it over SQLite; the NetSuite adapter
 * (`netsuite/`) over SuiteTalk REST and SuiteQL. Every lookup takes a batch of keys, because every lookup is
 * called from a DataLoader, and is keyed by what the supergraph knows: the CRM account ID and the canonical
 * project ID are the NetSuite `externalId`s of the customer and the job, so no lookup needs an ERP ID first.
 *
 * Money is in integer minor units of the record's currency; dates are ISO `YYYY-MM-DD`; periods are `YYYY-MM`.
 * Internal IDs are numbers, as NetSuite's are (its REST API carries them as numeric strings).
 */
import type { SystemAdapter } from '../../platform/src/index.js';
import type { ErpPostings } from './erpPostingsPort.js';

export type ErpContractType = 'FIXED_FEE' | 'TIME_AND_MATERIALS' | 'MILESTONE' | 'RETAINER';
export type ErpBillingScheduleType = 'TIME_AND_MATERIALS' | 'FIXED_INTERVAL' | 'MILESTONE' | 'RETAINER';
export type ErpCreditStatus = 'GOOD' | 'ON_HOLD';
export type ErpReportDimension = 'PROJECT' | 'REGION' | 'MONTH';

/** A NetSuite subsidiary: the legal entity that contracts, bills and posts. */
export interface ErpLegalEntity {
  readonly id: number;
  readonly name: string;
  readonly country: string;
  readonly currency: string;
  readonly region: string;
  readonly taxRegime: string;
  /** VAT/GST on services in basis points (2000 = 20 %), so no float is ever stored. */
  readonly serviceTaxRateBasisPoints: number;
}

export interface ErpCustomer {
  readonly id: number;
  /** The customer number people quote, e.g. `CUST-5012`. */
  readonly entityId: string;
  readonly companyName: string;
  readonly parentId: number | null;
  /** The primary subsidiary. */
  readonly subsidiaryId: number;
  readonly currency: string;
  /** The CRM (Salesforce) account ID. */
  readonly externalId: string | null;
  readonly paymentTermsDays: number;
  readonly taxId: string | null;
  readonly taxExempt: boolean;
  readonly creditStatus: ErpCreditStatus;
}

/** A NetSuite job (financial project) with the commercial terms of its contract. */
export interface ErpJob {
  readonly id: number;
  readonly entityId: string;
  readonly name: string;
  /** The canonical project ID (`prj_…`). */
  readonly externalId: string | null;
  readonly customerId: number;
  readonly subsidiaryId: number;
  readonly contractType: ErpContractType;
  readonly currency: string;
  readonly valueMinor: number;
  readonly budgetMinor: number;
  readonly poRequired: boolean;
  readonly poNumber: string | null;
  readonly startDate: string;
  readonly endDate: string;
  readonly rateCardId: number;
  /** The customer's terms, which the job bills on. */
  readonly paymentTermsDays: number;
}

export interface ErpRateCard {
  readonly id: number;
  readonly name: string;
  readonly currency: string;
  readonly subsidiaryId: number;
}

export interface ErpRateCardLine {
  readonly rateCardId: number;
  readonly role: string;
  readonly roleName: string;
  readonly billRateMinor: number;
  readonly currency: string;
}

export interface ErpBillingSchedule {
  readonly id: number;
  readonly jobId: number;
  /** The canonical project ID of the job the schedule bills. */
  readonly projectId: string;
  readonly scheduleType: ErpBillingScheduleType;
  readonly frequency: 'MONTHLY' | 'MILESTONE';
  readonly inArrears: boolean;
}

export interface ErpBillingScheduleLine {
  readonly scheduleId: number;
  readonly sequence: number;
  readonly date: string;
  readonly description: string;
  /** Null on time-and-materials lines: their amount is the period's approved time, known only once approved. */
  readonly amountMinor: number | null;
  readonly currency: string;
}

/** A job's ledger summed by posting type, in the job's currency. */
export interface ErpLedgerTotals {
  readonly projectId: string;
  readonly currency: string;
  readonly budgetMinor: number;
  readonly costMinor: number;
  readonly recognizedRevenueMinor: number;
  readonly billedMinor: number;
}

export interface BillingReportQuery {
  /** At least one dimension; rows are always also split by currency, since amounts never mix currencies. */
  readonly groupBy: readonly ErpReportDimension[];
  readonly fromMonth?: string | null;
  readonly toMonth?: string | null;
  readonly regions?: readonly string[] | null;
  readonly projectIds?: readonly string[] | null;
}

export interface BillingReportRow {
  readonly projectId: string | null;
  readonly region: string | null;
  readonly month: string | null;
  readonly currency: string;
  readonly recognizedRevenueMinor: number;
  readonly billedMinor: number;
}

export interface ErpSystem {
  legalEntities(): Promise<ErpLegalEntity[]>;
  legalEntitiesById(ids: readonly number[]): Promise<Map<number, ErpLegalEntity>>;
  customersByAccountId(accountIds: readonly string[]): Promise<Map<string, ErpCustomer>>;
  jobsByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpJob>>;
  rateCardsById(ids: readonly number[]): Promise<Map<number, ErpRateCard>>;
  /** The rate card each subsidiary bills by, in the subsidiary's own currency. */
  rateCardsBySubsidiaryId(subsidiaryIds: readonly number[]): Promise<Map<number, ErpRateCard>>;
  rateCardLinesByRateCardId(rateCardIds: readonly number[]): Promise<Map<number, ErpRateCardLine[]>>;
  billingSchedulesByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpBillingSchedule>>;
  billingScheduleLinesByScheduleId(scheduleIds: readonly number[]): Promise<Map<number, ErpBillingScheduleLine[]>>;
  ledgerTotalsByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpLedgerTotals>>;
  /** Recognized revenue and billings summed per group, in one grouped query whatever the volume. */
  billingReport(query: BillingReportQuery): Promise<BillingReportRow[]>;
}

/** What `PUT customer/eid:<accountId>` carries: the CRM account as ERP needs it. */
export interface CustomerUpsert {
  /** The CRM account ID: the customer's `externalId`, the upsert key. */
  readonly externalId: string;
  readonly companyName: string;
  /** The parent account's ID; its customer must already exist (NetSuite sub-customer hierarchy). */
  readonly parentExternalId: string | null;
  /** The primary subsidiary; fixed once the customer exists (NetSuite refuses to change it after use). */
  readonly subsidiaryId: number;
  /** Further subsidiaries the customer trades with (OneWorld customer–subsidiary relationships). */
  readonly additionalSubsidiaryIds: readonly number[];
  readonly currency: string;
  readonly taxId: string | null;
  /** Terms for a new customer; an existing customer keeps the terms finance agreed with it. */
  readonly paymentTermsDays: number;
}

/** What `PUT job/eid:<projectId>` carries. */
export interface JobUpsert {
  /** The canonical project ID: the job's `externalId`, the upsert key. */
  readonly externalId: string;
  readonly name: string;
  readonly customerExternalId: string;
  readonly subsidiaryId: number;
  readonly contractType: ErpContractType;
  readonly currency: string;
  readonly valueMinor: number;
  readonly poRequired: boolean;
  readonly poNumber: string | null;
  readonly startDate: string;
  readonly endDate: string;
  /**
   * The deal's negotiated bill rate per role, effective from the start: the contract's rates for those roles (others
   * keep the subsidiary's standard rates). Absent: a new job gets the standard rates, an existing one keeps its own.
   */
  readonly contractRates?: ReadonlyArray<{ readonly role: string; readonly billRateMinor: number }>;
}

export interface BillingScheduleUpsert {
  readonly projectExternalId: string;
  readonly scheduleType: ErpBillingScheduleType;
  readonly frequency: 'MONTHLY' | 'MILESTONE';
  readonly inArrears: boolean;
  readonly lines: ReadonlyArray<{ readonly date: string; readonly description: string; readonly amountMinor: number | null }>;
}

/** The outcome of an upsert: the record, and whether this call created it. */
export interface Upserted<T> {
  readonly record: T;
  readonly created: boolean;
}

/**
 * The writes psgraph makes to the ERP, idempotent as NetSuite's `eid:` upserts are: the same call twice leaves
 * one record. Deletes are idempotent too (deleting what is gone reports false) and refuse records that other
 * records depend on, as NetSuite does.
 */
export interface ErpWrites {
  upsertCustomer(upsert: CustomerUpsert): Promise<Upserted<ErpCustomer>>;
  upsertJob(upsert: JobUpsert): Promise<Upserted<ErpJob>>;
  upsertBillingSchedule(upsert: BillingScheduleUpsert): Promise<Upserted<ErpBillingSchedule>>;
  /** Deletes the job's billing schedule; false when it has none. */
  deleteBillingSchedule(projectExternalId: string): Promise<boolean>;
  /** Deletes the job; false when there is none. Refused while a billing schedule or postings depend on it. */
  deleteJob(projectExternalId: string): Promise<boolean>;
}

/** The ERP as the subgraph runs over it: the sandbox, or NetSuite. */
export type ErpAdapter = SystemAdapter<ErpPort>;

/** Everything the ERP subgraph asks of the ERP: its reads, activation's writes, and delivery postings (erpPostingsPort.ts). */
export interface ErpPort extends ErpSystem, ErpWrites {
  readonly postings: ErpPostings;
}
