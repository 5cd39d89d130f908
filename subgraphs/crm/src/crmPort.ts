/**
 * What the CRM subgraph needs from the CRM system. The sandbox implements it over SQLite; a Salesforce adapter
 * would implement it over the REST and SOQL APIs (jsforce). Every lookup takes a batch of keys, because every
 * lookup is called from a DataLoader. Methods are async because a vendor adapter's are.
 */
import type { PageRequest, SearchResult, SystemAdapter } from '../../platform/src/index.js';

export type { SearchResult };

export interface CrmAccount {
  readonly id: string;
  readonly name: string;
  readonly type: 'CUSTOMER' | 'PROSPECT';
  readonly industry: string | null;
  readonly region: string;
  readonly currency: string;
  readonly street: string;
  readonly city: string;
  readonly state: string | null;
  readonly postalCode: string;
  readonly country: string;
  readonly ownerId: string;
  readonly parentId: string | null;
  readonly taxId: string | null;
  readonly erpCustomerId: string | null;
  readonly billingCustomerId: string | null;
}

export interface CrmOpportunity {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly stageName: string;
  readonly isWon: boolean;
  readonly isClosed: boolean;
  readonly probability: number;
  readonly forecastCategory: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly closeDate: string;
  readonly contractType: string;
  readonly serviceLine: string;
  readonly deliveryRegion: string;
  readonly poRequired: boolean;
  readonly poNumber: string | null;
  readonly ownerId: string;
  readonly projectId: string | null;
  readonly erpProjectId: string | null;
  readonly psaProjectId: string | null;
}

export interface CrmLineItem {
  readonly id: string;
  readonly opportunityId: string;
  /** The role sold, as its code (the rate-card role). */
  readonly role: string;
  /** The role's display name (the CRM's product name for the service). */
  readonly roleName: string;
  readonly hours: number;
  readonly unitPriceMinor: number;
  readonly currency: string;
}

export interface CrmUser {
  readonly id: string;
  readonly name: string;
  readonly email: string;
}

export interface AccountSearch {
  /** Only these accounts (a client user's): how row-level access narrows a search. */
  readonly ids?: readonly string[] | null;
  readonly regions?: readonly string[] | null;
  readonly parentId?: string | null;
  readonly topLevel?: boolean | null;
  readonly type?: 'CUSTOMER' | 'PROSPECT' | null;
  readonly nameContains?: string | null;
}

export interface OpportunitySearch {
  readonly stages?: readonly string[] | null;
  readonly isWon?: boolean | null;
  readonly isClosed?: boolean | null;
  readonly accountId?: string | null;
  /** Only deals of these accounts (a client user's): how row-level access narrows a search. */
  readonly accountIds?: readonly string[] | null;
  readonly deliveryRegions?: readonly string[] | null;
  readonly serviceLines?: readonly string[] | null;
  readonly contractTypes?: readonly string[] | null;
  readonly closeFrom?: string | null;
  readonly closeTo?: string | null;
  readonly awaitingActivation?: boolean | null;
}

export interface CrmSystem {
  accountsById(ids: readonly string[]): Promise<Map<string, CrmAccount>>;
  childAccountsByParentId(parentIds: readonly string[]): Promise<Map<string, CrmAccount[]>>;
  /** Each account's ancestors, top-level account first (the account itself excluded). */
  ancestorsByAccountId(ids: readonly string[]): Promise<Map<string, CrmAccount[]>>;
  searchAccounts(search: AccountSearch, page: PageRequest): Promise<SearchResult<CrmAccount>>;
  opportunitiesById(ids: readonly string[]): Promise<Map<string, CrmOpportunity>>;
  opportunitiesByAccountId(accountIds: readonly string[]): Promise<Map<string, CrmOpportunity[]>>;
  opportunitiesByProjectId(projectIds: readonly string[]): Promise<Map<string, CrmOpportunity>>;
  searchOpportunities(search: OpportunitySearch, page: PageRequest): Promise<SearchResult<CrmOpportunity>>;
  lineItemsByOpportunityId(opportunityIds: readonly string[]): Promise<Map<string, CrmLineItem[]>>;
  usersById(ids: readonly string[]): Promise<Map<string, CrmUser>>;
  /** The billing status last recorded on each account (accounts never given one are absent). */
  accountBillingStatusByAccountId(accountIds: readonly string[]): Promise<Map<string, AccountBillingStatus>>;
}

/** An invoice's status as billing reports it (Stripe's invoice statuses). */
export type InvoiceStatus = 'DRAFT' | 'OPEN' | 'PAID' | 'VOID' | 'UNCOLLECTIBLE';

/** What an account owes in one currency, in minor units. */
export interface AccountReceivable {
  readonly currency: string;
  readonly outstandingMinor: number;
  /** The part of the outstanding amount past its due date. */
  readonly overdueMinor: number;
}

/**
 * The account's billing position as the process layer pushes it to the CRM on each invoice event
 * (`invoice.posted`, `.paid`, `.voided`, `.marked_uncollectible`), so that an account leader sees it in the CRM.
 */
export interface AccountBillingStatusUpdate {
  /** 18-character Salesforce Account ID. */
  readonly accountId: string;
  /** ISO instant of the billing event this reflects; kept and answered as UTC (`2026-11-02T09:30:00.000Z`). */
  readonly asOf: string;
  /** Per currency; empty when nothing is owed. */
  readonly receivables: readonly AccountReceivable[];
  readonly lastInvoiceId: string;
  readonly lastInvoiceNumber: string | null;
  readonly lastInvoiceStatus: InvoiceStatus;
}

export interface AccountBillingStatus extends AccountBillingStatusUpdate {
  /** When the CRM last took an update (its own clock). */
  readonly updatedAt: string;
}

/** A change of an opportunity's stage, and what it meant for its won flag. */
export interface StageChange {
  readonly opportunity: CrmOpportunity;
  /** `WON` when IsWon turned true, `REOPENED` when it turned false, null when it did not change. */
  readonly wonTransition: 'WON' | 'REOPENED' | null;
}

/** The IDs activation writes back onto a won deal (Salesforce external-ID fields such as `Project_Id__c`). */
export interface ProjectLink {
  readonly opportunityId: string;
  readonly projectId: string;
  readonly erpProjectId: string;
  readonly psaProjectId: string;
  readonly erpCustomerId: string;
}

/**
 * The writes psgraph makes to the CRM. Each is idempotent the way Salesforce's are: a PATCH of the same values
 * leaves the same record, and the external-ID link is an upsert keyed by the canonical project ID, so writing a
 * link twice is a no-op while linking a second, different project to one deal is refused.
 */
export interface CrmWrites {
  /** Moves the opportunity to a configured stage; emits `opportunity.closed_won` / `opportunity.reopened`. */
  setOpportunityStage(opportunityId: string, stageName: string): Promise<StageChange>;
  /** Sets (or, with null, clears) the PO number. */
  setOpportunityPoNumber(opportunityId: string, poNumber: string | null): Promise<CrmOpportunity>;
  /** Sets (or, with null, clears) the account's tax registration (`Tax_Id__c`). */
  setAccountTaxId(accountId: string, taxId: string | null): Promise<CrmAccount>;
  /** Writes the project's IDs onto the opportunity and the ERP customer ID onto its account. */
  linkProject(link: ProjectLink): Promise<CrmOpportunity>;
  /** Clears the link when it points at `projectId`; a no-op otherwise (compensation). */
  unlinkProject(opportunityId: string, projectId: string): Promise<CrmOpportunity>;
  /**
   * Records the account's billing status unless the one stored is as new or newer (its `asOf` >= this one's):
   * then nothing is written and `applied` is false, so events arriving out of order never move it back and a
   * replay is a no-op. NOT_FOUND for an unknown account.
   */
  recordAccountBillingStatus(update: AccountBillingStatusUpdate): Promise<{ readonly applied: boolean }>;
}

/**
 * The CRM as the subgraph runs over it: the port, and where its business events (`opportunity.closed_won`,
 * `opportunity.reopened`) come from — the sandbox's outbox, or Salesforce's changes, polled.
 */
export type CrmAdapter = SystemAdapter<CrmSystem & CrmWrites>;
