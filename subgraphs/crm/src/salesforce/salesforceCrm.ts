/**
 * The CRM port over Salesforce: SOQL for reads (key lookups batched into `IN` lists, lists paged as the sandbox
 * pages them, counts with `COUNT()`), PATCH and composite requests for writes. Every write is checked first
 * against what Salesforce holds, so that it is refused for the same reasons, with the same codes, as the sandbox
 * refuses it; the writes themselves are idempotent (the same values PATCHed again leave the same record), so a
 * write whose answer was lost is safe to send again.
 *
 * Salesforce pages a query with OFFSET no deeper than 2,000 records; a deeper page is read with LIMIT and the
 * records before it skipped (more records read, the same answer).
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type PageRequest, type SearchResult, groupBy, inputError } from '../../../platform/src/index.js';
import { VendorError } from '../../../platform/src/vendor/vendorError.js';
import type {
  AccountBillingStatus,
  AccountBillingStatusUpdate,
  AccountSearch,
  CrmAccount,
  CrmLineItem,
  CrmOpportunity,
  CrmSystem,
  CrmUser,
  CrmWrites,
  OpportunitySearch,
  ProjectLink,
  StageChange,
} from '../crmPort.js';
import { type SalesforceClient, soqlString } from './salesforceClient.js';
import {
  ACCOUNT_FIELDS,
  type AccountRecord,
  BILLING_STATUS_FIELDS,
  type BillingStatusRecord,
  billingStatusFields,
  LINE_ITEM_FIELDS,
  type LineItemRecord,
  OPPORTUNITY_FIELDS,
  type OpportunityRecord,
  USER_FIELDS,
  type UserRecord,
  select,
  instant,
  toAccount,
  toBillingStatus,
  toLineItem,
  toOpportunity,
  toUser,
} from './salesforceRecords.js';

/** The deepest OFFSET SOQL accepts. */
const MAX_SOQL_OFFSET = 2_000;
/** Account hierarchies deeper than this are cut, as the sandbox cuts them. */
const MAX_HIERARCHY_DEPTH = 32;

interface Stage {
  readonly name: string;
  readonly isWon: boolean;
}

export interface SalesforceCrmOptions {
  /** Called after a write psgraph made, so that the change feed picks it up now rather than at the next poll. */
  readonly afterWrite?: () => void;
}

export class SalesforceCrm implements CrmSystem, CrmWrites {
  private stages: Promise<readonly Stage[]> | undefined;

  constructor(
    private readonly salesforce: SalesforceClient,
    private readonly options: SalesforceCrmOptions = {},
  ) {}

  async accountsById(ids: readonly string[]): Promise<Map<string, CrmAccount>> {
    const records = await this.salesforce.queryIn<AccountRecord>('accountsById', select(ACCOUNT_FIELDS, 'Account'), 'Id', ids);
    return new Map(records.map((record) => [String(record.Id), toAccount(record)]));
  }

  async childAccountsByParentId(parentIds: readonly string[]): Promise<Map<string, CrmAccount[]>> {
    const records = await this.salesforce.queryIn<AccountRecord>(
      'childAccounts',
      select(ACCOUNT_FIELDS, 'Account'),
      'ParentId',
      parentIds,
      ' ORDER BY Name, Id',
    );
    return groupBy(records.map(toAccount), (account) => account.parentId!);
  }

  /** One query per level of the hierarchy for the whole batch, top-level account first. */
  async ancestorsByAccountId(ids: readonly string[]): Promise<Map<string, CrmAccount[]>> {
    const known = await this.accountsById(ids);
    const chains = new Map<string, CrmAccount[]>();
    const heads = new Map<string, string>();
    for (const id of ids) {
      const parentId = known.get(id)?.parentId;
      if (parentId) heads.set(id, parentId);
    }
    for (let depth = 0; heads.size > 0 && depth < MAX_HIERARCHY_DEPTH; depth++) {
      const parents = await this.accountsById([...new Set(heads.values())]);
      for (const [descendant, parentId] of [...heads]) {
        const parent = parents.get(parentId);
        if (!parent) {
          heads.delete(descendant);
          continue;
        }
        chains.set(descendant, [parent, ...(chains.get(descendant) ?? [])]);
        if (parent.parentId) heads.set(descendant, parent.parentId);
        else heads.delete(descendant);
      }
    }
    return chains;
  }

  async searchAccounts(search: AccountSearch, page: PageRequest): Promise<SearchResult<CrmAccount>> {
    const where = [
      inList('Id', search.ids),
      inList('Region__c', search.regions),
      equals('ParentId', search.parentId),
      search.type ? `Type = ${soqlString(search.type === 'CUSTOMER' ? 'Customer' : 'Prospect')}` : null,
      contains('Name', search.nameContains),
      search.topLevel === true ? 'ParentId = null' : search.topLevel === false ? 'ParentId != null' : null,
    ];
    return this.searchPage<AccountRecord, CrmAccount>('searchAccounts', select(ACCOUNT_FIELDS, 'Account'), 'Account', where, 'Name, Id', page, toAccount);
  }

  async opportunitiesById(ids: readonly string[]): Promise<Map<string, CrmOpportunity>> {
    const records = await this.salesforce.queryIn<OpportunityRecord>('opportunitiesById', select(OPPORTUNITY_FIELDS, 'Opportunity'), 'Id', ids);
    return new Map(records.map((record) => [String(record.Id), toOpportunity(record)]));
  }

  async opportunitiesByAccountId(accountIds: readonly string[]): Promise<Map<string, CrmOpportunity[]>> {
    const records = await this.salesforce.queryIn<OpportunityRecord>(
      'opportunitiesByAccount',
      select(OPPORTUNITY_FIELDS, 'Opportunity'),
      'AccountId',
      accountIds,
      ' ORDER BY CloseDate DESC, Id',
    );
    return groupBy(records.map(toOpportunity), (opportunity) => opportunity.accountId);
  }

  async opportunitiesByProjectId(projectIds: readonly string[]): Promise<Map<string, CrmOpportunity>> {
    const records = await this.salesforce.queryIn<OpportunityRecord>(
      'opportunitiesByProject',
      select(OPPORTUNITY_FIELDS, 'Opportunity'),
      'Project_Id__c',
      projectIds,
    );
    return new Map(records.map((record) => [String(record.Project_Id__c), toOpportunity(record)]));
  }

  async searchOpportunities(search: OpportunitySearch, page: PageRequest): Promise<SearchResult<CrmOpportunity>> {
    const where = [
      inList('StageName', search.stages),
      search.isWon === true || search.isWon === false ? `IsWon = ${search.isWon}` : null,
      search.isClosed === true || search.isClosed === false ? `IsClosed = ${search.isClosed}` : null,
      equals('AccountId', search.accountId),
      inList('AccountId', search.accountIds),
      inList('Delivery_Region__c', search.deliveryRegions),
      inList('Service_Line__c', search.serviceLines),
      inList('Contract_Type__c', search.contractTypes),
      search.closeFrom ? `CloseDate >= ${soqlDate(search.closeFrom)}` : null,
      search.closeTo ? `CloseDate <= ${soqlDate(search.closeTo)}` : null,
      search.awaitingActivation === true ? '(IsWon = true AND Project_Id__c = null)' : null,
      search.awaitingActivation === false ? '(IsWon = false OR Project_Id__c != null)' : null,
    ];
    return this.searchPage<OpportunityRecord, CrmOpportunity>(
      'searchOpportunities',
      select(OPPORTUNITY_FIELDS, 'Opportunity'),
      'Opportunity',
      where,
      'CloseDate DESC, Id',
      page,
      toOpportunity,
    );
  }

  async lineItemsByOpportunityId(opportunityIds: readonly string[]): Promise<Map<string, CrmLineItem[]>> {
    const records = await this.salesforce.queryIn<LineItemRecord>(
      'lineItems',
      select(LINE_ITEM_FIELDS, 'OpportunityLineItem'),
      'OpportunityId',
      opportunityIds,
      ' ORDER BY OpportunityId, SortOrder',
    );
    return groupBy(records.map(toLineItem), (line) => line.opportunityId);
  }

  async usersById(ids: readonly string[]): Promise<Map<string, CrmUser>> {
    const records = await this.salesforce.queryIn<UserRecord>('usersById', select(USER_FIELDS, 'User'), 'Id', ids);
    return new Map(records.map((record) => [String(record.Id), toUser(record)]));
  }

  async accountBillingStatusByAccountId(accountIds: readonly string[]): Promise<Map<string, AccountBillingStatus>> {
    const records = await this.salesforce.queryIn<BillingStatusRecord>('billingStatus', select(BILLING_STATUS_FIELDS, 'Account'), 'Id', accountIds);
    const statuses = new Map<string, AccountBillingStatus>();
    for (const record of records) {
      const status = toBillingStatus(record);
      if (status) statuses.set(status.accountId, status);
    }
    return statuses;
  }

  // ---- writes ----

  async setOpportunityStage(opportunityId: string, stageName: string): Promise<StageChange> {
    const before = await this.requireOpportunity(opportunityId);
    const stages = await this.stageMetadata();
    const stage = stages.find((candidate) => candidate.name === stageName);
    if (!stage) {
      throw inputError(
        ErrorCode.BAD_USER_INPUT,
        `Argument "stage" is not a configured stage: "${stageName}". Configured: ${stages.map((s) => s.name).join(', ')}.`,
        {
          argument: 'stage',
        },
      );
    }
    if (before.isWon && before.projectId !== null && !stage.isWon) {
      throw inputError(
        ErrorCode.INVALID_STATE_TRANSITION,
        `Opportunity ${opportunityId} is already activated as project ${before.projectId}; it cannot be reopened.`,
      );
    }
    await this.patch('setOpportunityStage', 'Opportunity', opportunityId, { StageName: stageName });
    const after = await this.requireOpportunity(opportunityId);
    // Won is read from the stage's metadata (IsWon), never from its label.
    const wonTransition = !before.isWon && after.isWon ? 'WON' : before.isWon && !after.isWon ? 'REOPENED' : null;
    if (wonTransition) this.options.afterWrite?.();
    return { opportunity: after, wonTransition };
  }

  async setOpportunityPoNumber(opportunityId: string, poNumber: string | null): Promise<CrmOpportunity> {
    await this.requireOpportunity(opportunityId);
    await this.patch('setOpportunityPoNumber', 'Opportunity', opportunityId, { PO_Number__c: poNumber });
    return this.requireOpportunity(opportunityId);
  }

  async setAccountTaxId(accountId: string, taxId: string | null): Promise<CrmAccount> {
    try {
      await this.patch('setAccountTaxId', 'Account', accountId, { Tax_Id__c: taxId });
    } catch (error) {
      if (error instanceof VendorError && error.failure === 'NOT_FOUND')
        throw inputError(ErrorCode.NOT_FOUND, `Account ${accountId} does not exist in the CRM.`);
      throw error;
    }
    const account = (await this.accountsById([accountId])).get(accountId);
    if (!account) throw inputError(ErrorCode.NOT_FOUND, `Account ${accountId} does not exist in the CRM.`);
    return account;
  }

  /** The project's IDs onto the opportunity and the ERP customer ID onto its account, in one all-or-none composite. */
  async linkProject(link: ProjectLink): Promise<CrmOpportunity> {
    const opportunity = await this.requireOpportunity(link.opportunityId);
    // A deal reopened while its activation was in flight must not be linked: the activation compensates.
    if (!opportunity.isWon)
      throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Opportunity ${link.opportunityId} is not won; a project cannot be linked to it.`);
    if (opportunity.projectId !== null && opportunity.projectId !== link.projectId) {
      throw inputError(
        ErrorCode.CONFLICT,
        `Opportunity ${link.opportunityId} is already linked to project ${opportunity.projectId}; one deal yields one project.`,
      );
    }
    const taken = await this.salesforce.query<{ Id: string }>(
      'linkProject',
      `SELECT Id FROM Opportunity WHERE Project_Id__c = ${soqlString(link.projectId)} AND Id != ${soqlString(link.opportunityId)}`,
    );
    if (taken[0]) throw inputError(ErrorCode.CONFLICT, `Project ${link.projectId} is already linked to opportunity ${taken[0].Id}.`);
    await this.composite('linkProject', [
      {
        url: `Opportunity/${link.opportunityId}`,
        body: { Project_Id__c: link.projectId, ERP_Project_Id__c: link.erpProjectId, PSA_Project_Id__c: link.psaProjectId },
      },
      { url: `Account/${opportunity.accountId}`, body: { ERP_Customer_Id__c: link.erpCustomerId } },
    ]);
    return this.requireOpportunity(link.opportunityId);
  }

  async unlinkProject(opportunityId: string, projectId: string): Promise<CrmOpportunity> {
    const opportunity = await this.requireOpportunity(opportunityId);
    if (opportunity.projectId !== projectId) return opportunity;
    await this.patch('unlinkProject', 'Opportunity', opportunityId, { Project_Id__c: null, ERP_Project_Id__c: null, PSA_Project_Id__c: null });
    return this.requireOpportunity(opportunityId);
  }

  /**
   * Reads the Account's As-Of first and PATCHes only when this update is newer. The read and the write are two
   * requests, not one atomic step: two writers racing on one account could let the older land last. The process
   * layer has a single consumer per flow, so updates to one account arrive one at a time.
   */
  async recordAccountBillingStatus(update: AccountBillingStatusUpdate): Promise<{ readonly applied: boolean }> {
    const asOf = new Date(update.asOf).toISOString();
    const [current] = await this.salesforce.query<BillingStatusRecord>(
      'recordAccountBillingStatus',
      `${select(BILLING_STATUS_FIELDS, 'Account')} WHERE Id = ${soqlString(update.accountId)}`,
    );
    if (!current) throw inputError(ErrorCode.NOT_FOUND, `Account ${update.accountId} does not exist in the CRM.`);
    const storedAsOf = instant(current.psgraph_Billing_Status_As_Of__c);
    if (storedAsOf !== null && storedAsOf >= asOf) return { applied: false };
    await this.patch('recordAccountBillingStatus', 'Account', update.accountId, billingStatusFields(update, asOf, new Date().toISOString()));
    return { applied: true };
  }

  // ---- helpers ----

  private async requireOpportunity(id: string): Promise<CrmOpportunity> {
    const opportunity = (await this.opportunitiesById([id])).get(id);
    if (!opportunity) throw inputError(ErrorCode.NOT_FOUND, `Opportunity ${id} does not exist in the CRM.`);
    return opportunity;
  }

  /** The org's stages and which are won (OpportunityStage metadata), read once. */
  private stageMetadata(): Promise<readonly Stage[]> {
    this.stages ??= this.salesforce
      .query<{ ApiName: string; IsWon: boolean }>('stages', 'SELECT ApiName, IsWon FROM OpportunityStage WHERE IsActive = true ORDER BY SortOrder')
      .then(
        (records) => records.map((record) => ({ name: record.ApiName, isWon: record.IsWon })),
        (error: unknown) => {
          this.stages = undefined;
          throw error;
        },
      );
    return this.stages;
  }

  /** A PATCH of the same values leaves the same record: safe to send again. */
  private async patch(operation: string, sObject: string, id: string, fields: Record<string, unknown>): Promise<void> {
    await this.salesforce.request(operation, true, { method: 'PATCH', url: `/sobjects/${sObject}/${id}`, body: fields });
  }

  /** Several PATCHes that belong together, all or none (`/composite`, allOrNone). */
  private async composite(operation: string, updates: ReadonlyArray<{ url: string; body: Record<string, unknown> }>): Promise<void> {
    const result = await this.salesforce.request<{ compositeResponse: Array<{ httpStatusCode: number; body: unknown; referenceId: string }> }>(
      operation,
      true,
      {
        method: 'POST',
        url: '/composite',
        body: {
          allOrNone: true,
          compositeRequest: updates.map((update, i) => ({
            method: 'PATCH',
            url: `${this.salesforce.apiPath}/sobjects/${update.url}`,
            referenceId: `update${i}`,
            body: update.body,
          })),
        },
      },
    );
    const failed = result.compositeResponse.find((response) => response.httpStatusCode >= 300 && !isHalted(response.body));
    if (!failed) return;
    const [error] = Array.isArray(failed.body) ? (failed.body as Array<{ errorCode?: string; message?: string }>) : [];
    const failure = error?.errorCode === 'DUPLICATE_VALUE' ? 'CONFLICT' : failed.httpStatusCode === 404 ? 'NOT_FOUND' : 'VALIDATION';
    throw new VendorError('Salesforce', failure, `Salesforce: ${error?.message ?? `HTTP ${failed.httpStatusCode}`}`, {
      status: failed.httpStatusCode,
      ...(error?.errorCode ? { vendorCode: error.errorCode } : {}),
    });
  }

  /** One page of a search and its total: `LIMIT`/`OFFSET` (or, past OFFSET's reach, `LIMIT` and a skip) and `COUNT()`. */
  private async searchPage<Record_, T>(
    operation: string,
    selectFrom: string,
    sObject: string,
    conditions: ReadonlyArray<string | null>,
    orderBy: string,
    page: PageRequest,
    map: (record: Record_) => T,
  ): Promise<SearchResult<T>> {
    const where = conditions.filter((condition): condition is string => condition !== null);
    const whereClause = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
    const window = page.offset <= MAX_SOQL_OFFSET ? ` LIMIT ${page.limit} OFFSET ${page.offset}` : ` LIMIT ${page.offset + page.limit}`;
    const [records, totalCount] = await Promise.all([
      this.salesforce.query<Record_>(operation, `${selectFrom}${whereClause} ORDER BY ${orderBy}${window}`),
      this.salesforce.count(operation, `SELECT COUNT() FROM ${sObject}${whereClause}`),
    ]);
    const rows = page.offset <= MAX_SOQL_OFFSET ? records : records.slice(page.offset);
    return { rows: rows.map(map), totalCount };
  }
}

const isHalted = (body: unknown) => Array.isArray(body) && (body as Array<{ errorCode?: string }>)[0]?.errorCode === 'PROCESSING_HALTED';

function inList(field: string, values: readonly string[] | null | undefined): string | null {
  if (!values) return null;
  if (values.length === 0) return `${field} = null AND ${field} != null`;
  return `${field} IN (${values.map(soqlString).join(', ')})`;
}

function equals(field: string, value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : `${field} = ${soqlString(value)}`;
}

/** A case-insensitive substring filter; `%` and `_` in the value match themselves. */
function contains(field: string, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    .replace(/([%_])/g, '\\$1');
  return `${field} LIKE '%${escaped}%'`;
}

/** A SOQL date literal (unquoted); the port's dates are ISO already, checked by the resolvers. */
function soqlDate(date: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw inputError(ErrorCode.BAD_USER_INPUT, `"${date}" is not a date (YYYY-MM-DD).`);
  return date;
}
