/**
 * The CRM sandbox: a Salesforce-shaped store in SQLite. It keeps Salesforce's rules that matter to the
 * integration — 18-character IDs, won/closed flags from the stage's metadata (never its label), and an
 * opportunity Amount that is always the sum of its line items (maintained by triggers, as Salesforce does).
 */
import { join } from 'node:path';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type BusEvent, type EventBus, OUTBOX_DDL, appendToOutbox, newEvent, startOutboxRelay } from '../../../platform/src/events/index.js';
import { type PageRequest, type SqliteStore, WhereBuilder, groupBy, jsonList, money, searchPage } from '../../../platform/src/index.js';
import { inputError } from '../../../platform/src/subgraph/errors.js';
import { openSandboxStore } from '../../../sandboxes/src/index.js';
import { ROLES } from '../../../sandboxes/src/world/catalog.js';
import type { WorldOptions } from '../../../sandboxes/src/world/world.js';
import { buildWorld } from '../../../sandboxes/src/world/world.js';
import type {
  AccountBillingStatus,
  AccountBillingStatusUpdate,
  AccountReceivable,
  AccountSearch,
  CrmAccount,
  CrmLineItem,
  CrmOpportunity,
  CrmSystem,
  CrmUser,
  CrmWrites,
  OpportunitySearch,
  ProjectLink,
  SearchResult,
  StageChange,
} from '../crmPort.js';
import { type AccountRow, OPPORTUNITY_COLUMNS, OPPORTUNITY_FROM, type OpportunityRow, toAccount, toOpportunity } from './crmRows.js';
import { installBillingStatus } from './crmBillingStatusSchema.js';
import { DDL } from './crmSchema.js';
import { seedCrm } from './crmSeed.js';

export class SandboxCrm implements CrmSystem, CrmWrites {
  private readonly accountsByIdStatement;
  private readonly childrenStatement;
  private readonly ancestorsStatement;
  private readonly opportunitiesByIdStatement;
  private readonly opportunitiesByAccountStatement;
  private readonly opportunitiesByProjectStatement;
  private readonly lineItemsStatement;
  private readonly usersStatement;
  private readonly billingStatusStatement;

  constructor(readonly store: SqliteStore) {
    // Salesforce's Change Data Capture publishes a change's events with the change itself; the sandbox keeps
    // them in an outbox written in the same transaction, which the subgraph relays to the bus.
    store.exec(OUTBOX_DDL);
    this.accountsByIdStatement = store.prepare<AccountRow>('SELECT * FROM account WHERE id IN (SELECT value FROM json_each(?))');
    this.childrenStatement = store.prepare<AccountRow>('SELECT * FROM account WHERE parent_id IN (SELECT value FROM json_each(?)) ORDER BY name, id');
    // One statement walks every requested account's parent chain, however deep, for the whole batch.
    this.ancestorsStatement = store.prepare<AccountRow & { descendant_id: string; depth: number }>(
      `WITH RECURSIVE chain(descendant_id, ancestor_id, depth) AS (
         SELECT id, parent_id, 1 FROM account WHERE id IN (SELECT value FROM json_each(?)) AND parent_id IS NOT NULL
         UNION ALL
         SELECT chain.descendant_id, account.parent_id, chain.depth + 1 FROM chain JOIN account ON account.id = chain.ancestor_id
         WHERE account.parent_id IS NOT NULL AND chain.depth < 32)
       SELECT account.*, chain.descendant_id, chain.depth FROM chain JOIN account ON account.id = chain.ancestor_id
       ORDER BY chain.descendant_id, chain.depth DESC`,
    );
    this.opportunitiesByIdStatement = store.prepare<OpportunityRow>(
      `SELECT ${OPPORTUNITY_COLUMNS} FROM ${OPPORTUNITY_FROM} WHERE o.id IN (SELECT value FROM json_each(?))`,
    );
    this.opportunitiesByAccountStatement = store.prepare<OpportunityRow>(
      `SELECT ${OPPORTUNITY_COLUMNS} FROM ${OPPORTUNITY_FROM} WHERE o.account_id IN (SELECT value FROM json_each(?)) ORDER BY o.close_date DESC, o.id`,
    );
    this.opportunitiesByProjectStatement = store.prepare<OpportunityRow>(
      `SELECT ${OPPORTUNITY_COLUMNS} FROM ${OPPORTUNITY_FROM} WHERE o.project_id IN (SELECT value FROM json_each(?))`,
    );
    this.lineItemsStatement = store.prepare<{ id: string; opportunity_id: string; role: string; hours: number; unit_price_minor: number; currency: string }>(
      `SELECT l.*, o.currency FROM opportunity_line_item l JOIN opportunity o ON o.id = l.opportunity_id
       WHERE l.opportunity_id IN (SELECT value FROM json_each(?)) ORDER BY l.opportunity_id, l.sort_order`,
    );
    this.usersStatement = store.prepare<CrmUser>('SELECT id, name, email FROM crm_user WHERE id IN (SELECT value FROM json_each(?))');
    this.billingStatusStatement = store.prepare<BillingStatusRow>('SELECT * FROM account_billing_status WHERE account_id IN (SELECT value FROM json_each(?))');
  }

  get statementCount(): number {
    return this.store.statementCount;
  }

  async accountsById(ids: readonly string[]): Promise<Map<string, CrmAccount>> {
    return new Map(this.accountsByIdStatement.all([jsonList(ids)]).map((row) => [row.id, toAccount(row)]));
  }

  async childAccountsByParentId(parentIds: readonly string[]): Promise<Map<string, CrmAccount[]>> {
    return groupBy(this.childrenStatement.all([jsonList(parentIds)]).map(toAccount), (account) => account.parentId!);
  }

  async ancestorsByAccountId(ids: readonly string[]): Promise<Map<string, CrmAccount[]>> {
    const rows = this.ancestorsStatement.all([jsonList(ids)]);
    const chains = new Map<string, CrmAccount[]>();
    for (const row of rows) {
      const chain = chains.get(row.descendant_id) ?? [];
      chain.push(toAccount(row));
      chains.set(row.descendant_id, chain);
    }
    return chains;
  }

  async searchAccounts(search: AccountSearch, page: PageRequest): Promise<SearchResult<CrmAccount>> {
    const where = new WhereBuilder()
      .add('id IN (SELECT value FROM json_each(:ids))', 'ids', search.ids)
      .add('region IN (SELECT value FROM json_each(:regions))', 'regions', search.regions)
      .add('parent_id = :parentId', 'parentId', search.parentId)
      .add('type = :type', 'type', search.type)
      .contains('name', 'nameContains', search.nameContains)
      .raw('parent_id IS NULL', search.topLevel === true)
      .raw('parent_id IS NOT NULL', search.topLevel === false);
    return searchPage<AccountRow, CrmAccount>(this.store, { from: 'account', where, orderBy: 'name, id' }, page, toAccount);
  }

  async opportunitiesById(ids: readonly string[]): Promise<Map<string, CrmOpportunity>> {
    return new Map(this.opportunitiesByIdStatement.all([jsonList(ids)]).map((row) => [row.id, toOpportunity(row)]));
  }

  async opportunitiesByAccountId(accountIds: readonly string[]): Promise<Map<string, CrmOpportunity[]>> {
    return groupBy(this.opportunitiesByAccountStatement.all([jsonList(accountIds)]).map(toOpportunity), (o) => o.accountId);
  }

  async opportunitiesByProjectId(projectIds: readonly string[]): Promise<Map<string, CrmOpportunity>> {
    return new Map(this.opportunitiesByProjectStatement.all([jsonList(projectIds)]).map((row) => [row.project_id!, toOpportunity(row)]));
  }

  async searchOpportunities(search: OpportunitySearch, page: PageRequest): Promise<SearchResult<CrmOpportunity>> {
    const where = new WhereBuilder()
      .add('o.stage_name IN (SELECT value FROM json_each(:stages))', 'stages', search.stages)
      .add('s.is_won = :isWon', 'isWon', search.isWon)
      .add('s.is_closed = :isClosed', 'isClosed', search.isClosed)
      .add('o.account_id = :accountId', 'accountId', search.accountId)
      .add('o.account_id IN (SELECT value FROM json_each(:accountIds))', 'accountIds', search.accountIds)
      .add('o.delivery_region IN (SELECT value FROM json_each(:regions))', 'regions', search.deliveryRegions)
      .add('o.service_line IN (SELECT value FROM json_each(:serviceLines))', 'serviceLines', search.serviceLines)
      .add('o.contract_type IN (SELECT value FROM json_each(:contractTypes))', 'contractTypes', search.contractTypes)
      .add('o.close_date >= :closeFrom', 'closeFrom', search.closeFrom)
      .add('o.close_date <= :closeTo', 'closeTo', search.closeTo)
      .raw('s.is_won = 1 AND o.project_id IS NULL', search.awaitingActivation === true)
      .raw('NOT (s.is_won = 1 AND o.project_id IS NULL)', search.awaitingActivation === false);
    return searchPage<OpportunityRow, CrmOpportunity>(
      this.store,
      { from: OPPORTUNITY_FROM, where, orderBy: 'o.close_date DESC, o.id', columns: OPPORTUNITY_COLUMNS },
      page,
      toOpportunity,
    );
  }

  async lineItemsByOpportunityId(opportunityIds: readonly string[]): Promise<Map<string, CrmLineItem[]>> {
    const rows = this.lineItemsStatement.all([jsonList(opportunityIds)]);
    return groupBy(
      rows.map((row) => ({
        id: row.id,
        opportunityId: row.opportunity_id,
        role: row.role,
        roleName: roleNameOf(row.role),
        hours: row.hours,
        unitPriceMinor: row.unit_price_minor,
        currency: row.currency,
      })),
      (line) => line.opportunityId,
    );
  }

  async usersById(ids: readonly string[]): Promise<Map<string, CrmUser>> {
    return new Map(this.usersStatement.all([jsonList(ids)]).map((user) => [user.id, user]));
  }

  async accountBillingStatusByAccountId(accountIds: readonly string[]): Promise<Map<string, AccountBillingStatus>> {
    return new Map(this.billingStatusStatement.all([jsonList(accountIds)]).map((row) => [row.account_id, toBillingStatus(row)]));
  }

  async setOpportunityStage(opportunityId: string, stageName: string): Promise<StageChange> {
    return this.store.transaction(() => {
      const before = this.requireOpportunity(opportunityId);
      const stage = this.store.prepare<{ is_won: number }>('SELECT is_won FROM opportunity_stage WHERE name = ?').get([stageName]);
      if (!stage) {
        const stages = this.store
          .prepare<{ name: string }>('SELECT name FROM opportunity_stage ORDER BY sort_order')
          .all()
          .map((row) => row.name);
        throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "stage" is not a configured stage: "${stageName}". Configured: ${stages.join(', ')}.`, {
          argument: 'stage',
        });
      }
      if (before.isWon && before.projectId !== null && stage.is_won === 0) {
        throw inputError(
          ErrorCode.INVALID_STATE_TRANSITION,
          `Opportunity ${opportunityId} is already activated as project ${before.projectId}; it cannot be reopened.`,
        );
      }
      this.store.prepare('UPDATE opportunity SET stage_name = ? WHERE id = ?').run([stageName, opportunityId]);
      const after = this.requireOpportunity(opportunityId);
      // Won is read from the stage's metadata (IsWon), never from its label, exactly as CDC consumers must.
      const wonTransition = !before.isWon && after.isWon ? 'WON' : before.isWon && !after.isWon ? 'REOPENED' : null;
      if (wonTransition === 'WON') this.emit(opportunityEvent('opportunity.closed_won', after, { stage: after.stageName }));
      if (wonTransition === 'REOPENED') this.emit(opportunityEvent('opportunity.reopened', after, { stage: after.stageName, previousStage: before.stageName }));
      return { opportunity: after, wonTransition };
    });
  }

  async setOpportunityPoNumber(opportunityId: string, poNumber: string | null): Promise<CrmOpportunity> {
    return this.store.transaction(() => {
      this.requireOpportunity(opportunityId);
      this.store.prepare('UPDATE opportunity SET po_number = ? WHERE id = ?').run([poNumber, opportunityId]);
      return this.requireOpportunity(opportunityId);
    });
  }

  async setAccountTaxId(accountId: string, taxId: string | null): Promise<CrmAccount> {
    return this.store.transaction(() => {
      const changed = this.store.prepare('UPDATE account SET tax_id = ? WHERE id = ?').run([taxId, accountId]).changes;
      if (changed === 0) throw inputError(ErrorCode.NOT_FOUND, `Account ${accountId} does not exist in the CRM.`);
      return toAccount(this.accountsByIdStatement.all([jsonList([accountId])])[0]!);
    });
  }

  async linkProject(link: ProjectLink): Promise<CrmOpportunity> {
    return this.store.transaction(() => {
      const opportunity = this.requireOpportunity(link.opportunityId);
      // A deal reopened while its activation was in flight must not be linked: the activation compensates.
      if (!opportunity.isWon)
        throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Opportunity ${link.opportunityId} is not won; a project cannot be linked to it.`);
      if (opportunity.projectId !== null && opportunity.projectId !== link.projectId) {
        throw inputError(
          ErrorCode.CONFLICT,
          `Opportunity ${link.opportunityId} is already linked to project ${opportunity.projectId}; one deal yields one project.`,
        );
      }
      const taken = this.store.prepare<{ id: string }>('SELECT id FROM opportunity WHERE project_id = ? AND id <> ?').get([link.projectId, link.opportunityId]);
      if (taken) throw inputError(ErrorCode.CONFLICT, `Project ${link.projectId} is already linked to opportunity ${taken.id}.`);
      this.store
        .prepare('UPDATE opportunity SET project_id = ?, erp_project_id = ?, psa_project_id = ? WHERE id = ?')
        .run([link.projectId, link.erpProjectId, link.psaProjectId, link.opportunityId]);
      this.store.prepare('UPDATE account SET erp_customer_id = ? WHERE id = ?').run([link.erpCustomerId, opportunity.accountId]);
      return this.requireOpportunity(link.opportunityId);
    });
  }

  async unlinkProject(opportunityId: string, projectId: string): Promise<CrmOpportunity> {
    return this.store.transaction(() => {
      this.requireOpportunity(opportunityId);
      this.store
        .prepare('UPDATE opportunity SET project_id = NULL, erp_project_id = NULL, psa_project_id = NULL WHERE id = ? AND project_id = ?')
        .run([opportunityId, projectId]);
      return this.requireOpportunity(opportunityId);
    });
  }

  async recordAccountBillingStatus(update: AccountBillingStatusUpdate): Promise<{ readonly applied: boolean }> {
    const asOf = new Date(update.asOf).toISOString();
    return this.store.transaction(() => {
      if (this.accountsByIdStatement.all([jsonList([update.accountId])]).length === 0)
        throw inputError(ErrorCode.NOT_FOUND, `Account ${update.accountId} does not exist in the CRM.`);
      // Newer asOf wins: a replay, or an event overtaken by a later one, changes nothing.
      const changed = this.store
        .prepare(
          `INSERT INTO account_billing_status (account_id, as_of, receivables, last_invoice_id, last_invoice_number, last_invoice_status, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (account_id) DO UPDATE SET as_of = excluded.as_of, receivables = excluded.receivables,
             last_invoice_id = excluded.last_invoice_id, last_invoice_number = excluded.last_invoice_number,
             last_invoice_status = excluded.last_invoice_status, updated_at = excluded.updated_at
           WHERE excluded.as_of > account_billing_status.as_of`,
        )
        .run([
          update.accountId,
          asOf,
          JSON.stringify(update.receivables.map(({ currency, outstandingMinor, overdueMinor }) => ({ currency, outstandingMinor, overdueMinor }))),
          update.lastInvoiceId,
          update.lastInvoiceNumber,
          update.lastInvoiceStatus,
          new Date().toISOString(),
        ]).changes;
      return { applied: changed > 0 };
    });
  }

  private requireOpportunity(id: string): CrmOpportunity {
    const row = this.opportunitiesByIdStatement.all([jsonList([id])])[0];
    if (!row) throw inputError(ErrorCode.NOT_FOUND, `Opportunity ${id} does not exist in the CRM.`);
    return toOpportunity(row);
  }

  relayEvents(bus: EventBus): { stop(): Promise<void>; flush(): Promise<void> } {
    return startOutboxRelay(this.store, bus, { pollMs: 100 });
  }

  private emit(event: BusEvent): void {
    appendToOutbox(this.store, event);
  }

  close(): void {
    this.store.close();
  }
}

/** An opportunity event as CDC would report it: the business key, the account, and when it happened. */
function opportunityEvent(type: string, opportunity: CrmOpportunity, extra: Record<string, unknown>): BusEvent {
  return newEvent(type, {
    source: 'crm',
    subject: opportunity.id,
    data: {
      opportunityId: opportunity.id,
      accountId: opportunity.accountId,
      isWon: opportunity.isWon,
      amount: money(opportunity.amountMinor, opportunity.currency),
      deliveryRegion: opportunity.deliveryRegion,
      ...extra,
    },
  });
}

interface BillingStatusRow {
  account_id: string;
  as_of: string;
  receivables: string;
  last_invoice_id: string;
  last_invoice_number: string | null;
  last_invoice_status: AccountBillingStatus['lastInvoiceStatus'];
  updated_at: string;
}

const toBillingStatus = (row: BillingStatusRow): AccountBillingStatus => ({
  accountId: row.account_id,
  asOf: row.as_of,
  receivables: JSON.parse(row.receivables) as AccountReceivable[],
  lastInvoiceId: row.last_invoice_id,
  lastInvoiceNumber: row.last_invoice_number,
  lastInvoiceStatus: row.last_invoice_status,
  updatedAt: row.updated_at,
});

/** Opens (creating and seeding on first use) the CRM sandbox in `dataDir/crm.db`. */
export function openSandboxCrm(dataDir: string, world: WorldOptions): SandboxCrm {
  const store = openSandboxStore({ file: join(dataDir, 'crm.db'), ddl: DDL, world, seed: (fresh) => seedCrm(fresh, buildWorld(world)) });
  installBillingStatus(store);
  return new SandboxCrm(store);
}

/** A role code's display name (the CRM's product name for the service). */
function roleNameOf(code: string): string {
  return ROLES.find((role) => role.code === code)?.name ?? code;
}
