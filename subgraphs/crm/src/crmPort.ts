/**
 * What the CRM subgraph needs from the CRM system. The sandbox implements it over SQLite; a Salesforce adapter
 * would implement it over the REST and SOQL APIs (jsforce). Every lookup takes a batch of keys, because every
 * lookup is called from a DataLoader. Methods are async because a vendor adapter's are.
 */
import type { PageRequest, SearchResult } from '../../shared/src/index.js';

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
  readonly role: string;
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
  /** SQL statements executed so far (the sandbox's instrumentation). */
  readonly statementCount: number;
  close(): void;
}
