/**
 * The CRM sandbox: a Salesforce-shaped store in SQLite. It keeps Salesforce's rules that matter to the
 * integration — 18-character IDs, won/closed flags from the stage's metadata (never its label), and an
 * opportunity Amount that is always the sum of its line items (maintained by triggers, as Salesforce does).
 */
import { join } from 'node:path';
import {
  type PageRequest,
  type SqliteStore,
  WhereBuilder,
  groupBy,
  money,
  isoFromDay,
  jsonList,
  openSandboxStore,
  searchPage,
} from '../../../shared/src/index.js';
import { OPPORTUNITY_STAGES, ROLES } from '../../../shared/src/world/catalog.js';
import { type World, billingCustomerIdOf, buildWorld } from '../../../shared/src/world/world.js';
import type { WorldOptions } from '../../../shared/src/world/world.js';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from '../../../shared/src/errors.js';
import { type BusEvent, type EventBus, OUTBOX_DDL, appendToOutbox, newEvent, startOutboxRelay } from '../../../shared/src/events/index.js';
import type {
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

const DDL = `
CREATE TABLE crm_user (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE);
CREATE TABLE opportunity_stage (
  name TEXT PRIMARY KEY, sort_order INTEGER NOT NULL, probability INTEGER NOT NULL,
  is_closed INTEGER NOT NULL, is_won INTEGER NOT NULL, forecast_category TEXT NOT NULL);
CREATE TABLE account (
  id TEXT PRIMARY KEY CHECK (length(id) = 18 AND substr(id, 1, 3) = '001'),
  name TEXT NOT NULL, type TEXT NOT NULL CHECK (type IN ('CUSTOMER', 'PROSPECT')), industry TEXT,
  region TEXT NOT NULL, currency TEXT NOT NULL,
  street TEXT NOT NULL, city TEXT NOT NULL, state TEXT, postal_code TEXT NOT NULL, country TEXT NOT NULL,
  owner_id TEXT NOT NULL REFERENCES crm_user(id), parent_id TEXT REFERENCES account(id),
  tax_id TEXT, erp_customer_id TEXT, billing_customer_id TEXT);
CREATE INDEX account_parent ON account(parent_id);
CREATE INDEX account_region ON account(region);
CREATE TABLE opportunity (
  id TEXT PRIMARY KEY CHECK (length(id) = 18 AND substr(id, 1, 3) = '006'),
  account_id TEXT NOT NULL REFERENCES account(id), name TEXT NOT NULL,
  stage_name TEXT NOT NULL REFERENCES opportunity_stage(name),
  amount_minor INTEGER NOT NULL DEFAULT 0, currency TEXT NOT NULL, close_date TEXT NOT NULL,
  contract_type TEXT NOT NULL, service_line TEXT NOT NULL, delivery_region TEXT NOT NULL,
  po_required INTEGER NOT NULL, po_number TEXT, owner_id TEXT NOT NULL REFERENCES crm_user(id),
  project_id TEXT UNIQUE, erp_project_id TEXT, psa_project_id TEXT);
CREATE INDEX opportunity_account ON opportunity(account_id);
CREATE INDEX opportunity_close ON opportunity(close_date);
CREATE TABLE opportunity_line_item (
  id TEXT PRIMARY KEY CHECK (length(id) = 18 AND substr(id, 1, 3) = '00k'),
  opportunity_id TEXT NOT NULL REFERENCES opportunity(id), sort_order INTEGER NOT NULL,
  role TEXT NOT NULL, hours REAL NOT NULL CHECK (hours > 0), unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0));
CREATE INDEX line_item_opportunity ON opportunity_line_item(opportunity_id);
-- Salesforce: an opportunity with products has Amount = sum of its line items; direct updates are ignored.
CREATE TRIGGER line_item_insert AFTER INSERT ON opportunity_line_item BEGIN
  UPDATE opportunity SET amount_minor = (SELECT COALESCE(SUM(CAST(ROUND(hours * unit_price_minor) AS INTEGER)), 0)
    FROM opportunity_line_item WHERE opportunity_id = NEW.opportunity_id) WHERE id = NEW.opportunity_id; END;
CREATE TRIGGER line_item_update AFTER UPDATE ON opportunity_line_item BEGIN
  UPDATE opportunity SET amount_minor = (SELECT COALESCE(SUM(CAST(ROUND(hours * unit_price_minor) AS INTEGER)), 0)
    FROM opportunity_line_item WHERE opportunity_id = NEW.opportunity_id) WHERE id = NEW.opportunity_id; END;
CREATE TRIGGER line_item_delete AFTER DELETE ON opportunity_line_item BEGIN
  UPDATE opportunity SET amount_minor = (SELECT COALESCE(SUM(CAST(ROUND(hours * unit_price_minor) AS INTEGER)), 0)
    FROM opportunity_line_item WHERE opportunity_id = OLD.opportunity_id) WHERE id = OLD.opportunity_id; END;
CREATE TRIGGER opportunity_amount_is_derived AFTER UPDATE OF amount_minor ON opportunity
  WHEN EXISTS (SELECT 1 FROM opportunity_line_item WHERE opportunity_id = NEW.id)
   AND NEW.amount_minor <> (SELECT SUM(CAST(ROUND(hours * unit_price_minor) AS INTEGER)) FROM opportunity_line_item WHERE opportunity_id = NEW.id)
  BEGIN
    UPDATE opportunity SET amount_minor = (SELECT SUM(CAST(ROUND(hours * unit_price_minor) AS INTEGER)) FROM opportunity_line_item WHERE opportunity_id = NEW.id) WHERE id = NEW.id;
  END;
`;

export function seedCrm(store: SqliteStore, world: World): void {
  const insertUser = store.prepare('INSERT INTO crm_user (id, name, email) VALUES (?, ?, ?)');
  world.users.forEach((id, i) => insertUser.run([id, `Sales Rep ${i + 1}`, `sales.rep.${i + 1}@meridian-advisory.example`]));
  const insertStage = store.prepare('INSERT INTO opportunity_stage VALUES (?, ?, ?, ?, ?, ?)');
  OPPORTUNITY_STAGES.forEach((stage, i) =>
    insertStage.run([stage.name, i, stage.probability, stage.isClosed ? 1 : 0, stage.isWon ? 1 : 0, stage.forecastCategory]),
  );
  const insertAccount = store.prepare(
    `INSERT INTO account (id, name, type, industry, region, currency, street, city, state, postal_code, country, owner_id, parent_id,
       tax_id, erp_customer_id, billing_customer_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const account of world.accounts) {
    insertAccount.run([
      account.crmId,
      account.name,
      account.type === 'Customer' ? 'CUSTOMER' : 'PROSPECT',
      account.industry,
      account.region,
      account.currency,
      account.street,
      account.city,
      account.state || null,
      account.postalCode,
      account.country,
      world.users[account.ownerUserIndex],
      account.parentIndex === null ? null : world.accounts[account.parentIndex]!.crmId,
      account.taxId,
      account.erpCustomerId === null ? null : String(account.erpCustomerId),
      billingCustomerIdOf(world, account),
    ]);
  }
  const insertOpportunity = store.prepare(
    `INSERT INTO opportunity (id, account_id, name, stage_name, currency, close_date, contract_type, service_line, delivery_region,
       po_required, po_number, owner_id, project_id, erp_project_id, psa_project_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertLine = store.prepare('INSERT INTO opportunity_line_item (id, opportunity_id, sort_order, role, hours, unit_price_minor) VALUES (?, ?, ?, ?, ?, ?)');
  for (const opportunity of world.opportunities) {
    const project = opportunity.projectIndex === null ? null : world.projects[opportunity.projectIndex]!;
    insertOpportunity.run([
      opportunity.crmId,
      world.accounts[opportunity.accountIndex]!.crmId,
      opportunity.name,
      opportunity.stageName,
      opportunity.currency,
      isoFromDay(opportunity.closeDay),
      opportunity.contractType,
      opportunity.serviceLine,
      opportunity.deliveryRegion,
      opportunity.poRequired ? 1 : 0,
      opportunity.poNumber,
      world.users[opportunity.ownerUserIndex],
      project?.id ?? null,
      project ? String(project.erpId) : null,
      project?.psaId ?? null,
    ]);
    opportunity.lines.forEach((line, i) => insertLine.run([line.crmId, opportunity.crmId, i, line.role, line.hours, line.unitPriceMinor]));
  }
}

interface AccountRow {
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

interface OpportunityRow {
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

const toAccount = (row: AccountRow): CrmAccount => ({
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

const toOpportunity = (row: OpportunityRow): CrmOpportunity => ({
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

const OPPORTUNITY_COLUMNS = `o.*, s.is_won, s.is_closed, s.probability, s.forecast_category`;
const OPPORTUNITY_FROM = `opportunity o JOIN opportunity_stage s ON s.name = o.stage_name`;

export class SandboxCrm implements CrmSystem, CrmWrites {
  private readonly accountsByIdStatement;
  private readonly childrenStatement;
  private readonly ancestorsStatement;
  private readonly opportunitiesByIdStatement;
  private readonly opportunitiesByAccountStatement;
  private readonly opportunitiesByProjectStatement;
  private readonly lineItemsStatement;
  private readonly usersStatement;

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
    this.opportunitiesByIdStatement = store.prepare<OpportunityRow>(`SELECT ${OPPORTUNITY_COLUMNS} FROM ${OPPORTUNITY_FROM} WHERE o.id IN (SELECT value FROM json_each(?))`);
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
      .add('o.delivery_region IN (SELECT value FROM json_each(:regions))', 'regions', search.deliveryRegions)
      .add('o.service_line IN (SELECT value FROM json_each(:serviceLines))', 'serviceLines', search.serviceLines)
      .add('o.contract_type IN (SELECT value FROM json_each(:contractTypes))', 'contractTypes', search.contractTypes)
      .add('o.close_date >= :closeFrom', 'closeFrom', search.closeFrom)
      .add('o.close_date <= :closeTo', 'closeTo', search.closeTo)
      .raw('s.is_won = 1 AND o.project_id IS NULL', search.awaitingActivation === true)
      .raw('NOT (s.is_won = 1 AND o.project_id IS NULL)', search.awaitingActivation === false);
    return searchPage<OpportunityRow, CrmOpportunity>(this.store, { from: OPPORTUNITY_FROM, where, orderBy: 'o.close_date DESC, o.id', columns: OPPORTUNITY_COLUMNS }, page, toOpportunity);
  }

  async lineItemsByOpportunityId(opportunityIds: readonly string[]): Promise<Map<string, CrmLineItem[]>> {
    const rows = this.lineItemsStatement.all([jsonList(opportunityIds)]);
    return groupBy(
      rows.map((row) => ({ id: row.id, opportunityId: row.opportunity_id, role: row.role, hours: row.hours, unitPriceMinor: row.unit_price_minor, currency: row.currency })),
      (line) => line.opportunityId,
    );
  }

  async usersById(ids: readonly string[]): Promise<Map<string, CrmUser>> {
    return new Map(this.usersStatement.all([jsonList(ids)]).map((user) => [user.id, user]));
  }

  async setOpportunityStage(opportunityId: string, stageName: string): Promise<StageChange> {
    return this.store.transaction(() => {
      const before = this.requireOpportunity(opportunityId);
      const stage = this.store.prepare<{ is_won: number }>('SELECT is_won FROM opportunity_stage WHERE name = ?').get([stageName]);
      if (!stage) {
        const stages = this.store.prepare<{ name: string }>('SELECT name FROM opportunity_stage ORDER BY sort_order').all().map((row) => row.name);
        throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "stage" is not a configured stage: "${stageName}". Configured: ${stages.join(', ')}.`, { argument: 'stage' });
      }
      if (before.isWon && before.projectId !== null && stage.is_won === 0) {
        throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Opportunity ${opportunityId} is already activated as project ${before.projectId}; it cannot be reopened.`);
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
      if (!opportunity.isWon) throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Opportunity ${link.opportunityId} is not won; a project cannot be linked to it.`);
      if (opportunity.projectId !== null && opportunity.projectId !== link.projectId) {
        throw inputError(ErrorCode.CONFLICT, `Opportunity ${link.opportunityId} is already linked to project ${opportunity.projectId}; one deal yields one project.`);
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

/** Opens (creating and seeding on first use) the CRM sandbox in `dataDir/crm.db`. */
export function openSandboxCrm(dataDir: string, world: WorldOptions): SandboxCrm {
  const store = openSandboxStore({ file: join(dataDir, 'crm.db'), ddl: DDL, world, seed: (fresh) => seedCrm(fresh, buildWorld(world)) });
  return new SandboxCrm(store);
}

/** A role code's display name (the CRM's product name for the service). */
export function roleNameOf(code: string): string {
  return ROLES.find((role) => role.code === code)?.name ?? code;
}
