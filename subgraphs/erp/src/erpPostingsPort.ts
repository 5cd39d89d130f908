/**
 * What posting delivery to ERP needs from the ERP: the terms a posting is checked against (the contract's rates by
 * role and effective date, its purchase order, whether the job is open, the accounting periods, the employees ERP
 * knows), and the postings themselves — approved time as time transactions (NetSuite `timeBill`), approved
 * expenses (`expenseReport` lines) and milestones approved for billing (billable schedule lines), each with its
 * effect on the job's ledger (cost, and revenue not yet billed).
 *
 * A posting's external ID is its source record and version (`time:<entry>:v<version>`, `expense:<id>:v<n>`,
 * `milestone:<id>:v<n>`), the key of NetSuite's `eid:` upserts: posting it again changes nothing, and a correction
 * (a new version) is a new posting after the old one is reversed. Reversing is idempotent too.
 */
import type { ErpJob } from './erpPort.js';

export type DeliveryPostingKind = 'TIME' | 'EXPENSE' | 'MILESTONE';
export type DeliveryPostingStatus = 'POSTED' | 'REVERSED';
export type ErpJobStatus = 'IN_PROGRESS' | 'CLOSED';

/** One of the contract's bill rates for a role, valid from `effectiveFrom` to `effectiveTo` (open-ended when null). */
export interface ContractRate {
  readonly role: string;
  readonly effectiveFrom: string;
  readonly effectiveTo: string | null;
  readonly billRateMinor: number;
}

export interface ErpPurchaseOrder {
  readonly number: string;
  readonly expiresOn: string;
  readonly amountMinor: number;
  /** Billable amounts posted against the job so far (reversals deducted). */
  readonly consumedMinor: number;
  readonly currency: string;
}

/** Everything a posting to one job is checked against. */
export interface PostingTerms {
  readonly projectId: string;
  readonly job: ErpJob;
  readonly status: ErpJobStatus;
  /** The region of the job's legal entity. */
  readonly region: string;
  readonly contractRates: readonly ContractRate[];
  /** Null when the job has none on file (whether one is required is `job.poRequired`). */
  readonly purchaseOrder: ErpPurchaseOrder | null;
  /** Billable amounts posted so far, for fixed-fee budgets (reversals deducted). */
  readonly postedBillableMinor: number;
  /** What the job's work has cost so far (its ledger's cost, reversals deducted): a fixed fee's budget is checked against it. */
  readonly postedCostMinor: number;
}

export interface ErpEmployee {
  readonly id: number;
  readonly entityId: string;
  /** The PSA resource ID: the employee's `externalId`. */
  readonly resourceId: string;
  readonly active: boolean;
}

export interface DeliveryPosting {
  /** `time:<entry>:v<version>` and so on: the upsert key. */
  readonly externalId: string;
  readonly kind: DeliveryPostingKind;
  readonly projectId: string;
  /** The PSA resource ID (time and expenses); its employee must be known to ERP. */
  readonly resourceId: string | null;
  /** The service item: the role for time, the category for expenses, null for milestones. */
  readonly item: string | null;
  readonly date: string;
  /** Time only. */
  readonly minutes: number | null;
  /** Time only: the bill rate per hour. */
  readonly rateMinor: number | null;
  /** What the customer will be billed (0 when not billable). */
  readonly billableMinor: number;
  /** What it cost the firm. */
  readonly costMinor: number;
  readonly billable: boolean;
  readonly currency: string;
  readonly memo: string;
}

export interface PostedDelivery extends DeliveryPosting {
  readonly id: number;
  readonly status: DeliveryPostingStatus;
  readonly postedAt: string;
  readonly reversedAt: string | null;
}

export interface ErpPostings {
  postingTermsByProjectId(projectIds: readonly string[]): Promise<Map<string, PostingTerms>>;
  employeesByResourceId(resourceIds: readonly string[]): Promise<Map<string, ErpEmployee>>;
  /** `YYYY-MM` → whether the period is closed to posting; a period ERP does not have is absent. */
  periodsClosed(periods: readonly string[]): Promise<Map<string, boolean>>;
  /**
   * Posts all of them or none (one transaction), each once: an external ID already posted is left as it is and
   * reported as not created. Refused (nothing written) when a job, employee or open period is missing.
   */
  postDelivery(postings: readonly DeliveryPosting[]): Promise<Array<{ readonly externalId: string; readonly created: boolean }>>;
  /** Reverses postings by external ID (their ledger effect undone); what is reversed already, or absent, is reported false. */
  reverseDelivery(externalIds: readonly string[]): Promise<Array<{ readonly externalId: string; readonly reversed: boolean }>>;
  postingsByExternalId(externalIds: readonly string[]): Promise<Map<string, PostedDelivery>>;
  /** Ordered by date, then ID. */
  postingsByProjectId(projectIds: readonly string[]): Promise<Map<string, PostedDelivery[]>>;

  /**
   * What is due to be invoiced up to a day, per project (all projects with something due when `projectIds` is
   * null): billable postings not yet billed (time and expenses dated up to then, milestones approved by then) and
   * the fixed-fee instalments dated up to then and retainer lines not yet billed — a retainer billed in advance, by
   * the eve of the period it covers (a run at November's end bills December's retainer). Projects with nothing due are absent.
   */
  billablesByProjectId(upTo: string, projectIds: readonly string[] | null): Promise<ProjectBillables[]>;
  /**
   * Records a billing invoice's status as of a billing event, the newest event winning: an update as old as the
   * one recorded (a replay, or an event that arrived late) changes nothing and answers `applied: false`. An invoice
   * that counts as billed (open, paid, uncollectible) marks its sources billed and adds its total to the job's
   * billings; voiding it takes both back, so its sources are billable again. A source already billed on another
   * invoice is refused (INVALID_STATE_TRANSITION): nothing is billed twice.
   */
  recordInvoiceStatus(update: ErpInvoiceStatusUpdate): Promise<{ readonly applied: boolean }>;
  /**
   * Records a billing credit note against its invoice, once per credit note: the job's billings fall by its total in
   * its period, and the invoice's credited amount rises. What it credits stays marked billed (a posting corrected
   * after billing is reversed by its correction; a credit for a price concession bills nothing again).
   */
  recordCreditNote(creditNote: ErpCreditNote): Promise<{ readonly applied: boolean }>;
  /** Each project's invoices as ERP knows them, oldest first. */
  invoicesByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpInvoiceRecord[]>>;
  /** Each job's billing position: unbilled work (postings), billings, payments and what is receivable. */
  billingPositionsByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpBillingPosition>>;
  /** The firm's unbilled work in progress, live from the postings, per currency. */
  unbilledWip(): Promise<UnbilledWip[]>;
}

/** A fixed-fee instalment or retainer line of a job's billing schedule, due and not yet billed. */
export interface DueScheduleLine {
  /** `schedule:<projectId>:<sequence>`: how an invoice line names it. */
  readonly sourceKey: string;
  readonly sequence: number;
  readonly date: string;
  readonly description: string;
  readonly amountMinor: number;
}

export interface ProjectBillables {
  readonly projectId: string;
  readonly contractType: ErpJob['contractType'];
  readonly currency: string;
  /** Posted, billable, not reversed, not billed; by date. */
  readonly postings: readonly PostedDelivery[];
  readonly scheduleLines: readonly DueScheduleLine[];
}

export type ErpInvoiceStatus = 'DRAFT' | 'OPEN' | 'PAID' | 'VOID' | 'UNCOLLECTIBLE';

export interface ErpInvoiceStatusUpdate {
  /** The billing system's invoice ID (`in_…`). */
  readonly invoiceId: string;
  readonly number: string | null;
  readonly projectId: string;
  readonly status: ErpInvoiceStatus;
  /** The invoice's date (its finalization), whose period its billing lands in. */
  readonly date: string;
  /** The instant of the billing event this reflects. */
  readonly asOf: string;
  readonly currency: string;
  readonly totalMinor: number;
  readonly amountPaidMinor: number;
  /** What the invoice's lines bill: posting external IDs and schedule lines (`schedule:<projectId>:<sequence>`). */
  readonly sourceKeys: readonly string[];
}

export interface ErpInvoiceRecord extends ErpInvoiceStatusUpdate {
  /** What credit notes took off the invoice. */
  readonly creditedMinor: number;
  readonly updatedAt: string;
}

export interface ErpCreditNote {
  /** The billing system's credit note ID (`cn_…`). */
  readonly creditNoteId: string;
  readonly invoiceId: string;
  readonly projectId: string;
  /** The day it was issued, whose period its effect lands in. */
  readonly date: string;
  readonly currency: string;
  readonly totalMinor: number;
  /** The invoice lines' sources it credits. */
  readonly sourceKeys: readonly string[];
}

export interface ErpBillingPosition {
  readonly projectId: string;
  readonly currency: string;
  /** Billable postings not on a billed invoice. */
  readonly unbilledMinor: number;
  readonly unbilledPostings: number;
  /** Invoices recorded as billed (open, paid, uncollectible), less their credit notes. */
  readonly billedMinor: number;
  readonly paidMinor: number;
  /** Open invoices' unpaid amounts. */
  readonly receivableMinor: number;
  /** Uncollectible invoices' unpaid amounts. */
  readonly writtenOffMinor: number;
}

export interface UnbilledWip {
  readonly currency: string;
  readonly unbilledMinor: number;
  readonly postings: number;
  readonly projects: number;
}

/** Every call of the postings port, by what it does (as a refusal names it). */
export const POSTINGS_OPERATIONS: Record<keyof ErpPostings, string> = {
  postingTermsByProjectId: 'Reading posting terms',
  employeesByResourceId: 'Reading employees',
  periodsClosed: 'Reading accounting periods',
  postDelivery: 'Posting delivery',
  reverseDelivery: 'Reversing delivery postings',
  postingsByExternalId: 'Reading delivery postings',
  postingsByProjectId: 'Reading delivery postings',
  billablesByProjectId: 'Reading what is due to be invoiced',
  recordInvoiceStatus: 'Recording an invoice in ERP',
  recordCreditNote: 'Recording a credit note in ERP',
  invoicesByProjectId: 'Reading invoices in ERP',
  billingPositionsByProjectId: 'Reading billing positions',
  unbilledWip: 'Reading unbilled work in progress',
};
