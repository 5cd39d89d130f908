/**
 * The ERP sandbox: a NetSuite-shaped store in SQLite. It keeps NetSuite's rules that matter to the integration:
 * numeric internal IDs; an `externalId` unique per record type (the key of `PUT …/eid:<externalId>` upserts, so a
 * duplicate would make an upsert ambiguous); a job whose customer trades with the job's subsidiary (OneWorld's
 * customer–subsidiary relationship); and amounts in integer minor units. The database enforces each rule, so a
 * seed or a future write path that breaks one fails instead of storing it.
 *
 * The ledger (`posting`) holds one row per job, month and posting type, derived from the same world the PSA and
 * billing sandboxes use: cost from approved time, revenue by the contract's recognition method, billings from
 * the invoices the billing system finalized.
 */
import { join } from 'node:path';
import {
  type SqliteStore,
  WhereBuilder,
  groupBy,
  isoFromDay,
  jsonList,
  lastDayOfMonth,
  monthOf,
  openSandboxStore,
} from '../../../shared/src/index.js';
import { type ProjectBilling, TAX_RATE_BY_LEGAL_ENTITY, planProjectBilling } from '../../../shared/src/world/billing.js';
import { LEGAL_ENTITIES, ROLES, rateCardIdOf, rateCardRate } from '../../../shared/src/world/catalog.js';
import { type MonthlyTime, generateProjectTime, monthlyApprovedTime } from '../../../shared/src/world/time.js';
import { type SeedProject, type World, type WorldOptions, buildWorld } from '../../../shared/src/world/world.js';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from '../../../shared/src/errors.js';
import type {
  BillingReportQuery,
  BillingScheduleUpsert,
  CustomerUpsert,
  ErpWrites,
  JobUpsert,
  Upserted,
  BillingReportRow,
  ErpBillingSchedule,
  ErpBillingScheduleLine,
  ErpBillingScheduleType,
  ErpContractType,
  ErpCreditStatus,
  ErpCustomer,
  ErpJob,
  ErpLedgerTotals,
  ErpLegalEntity,
  ErpRateCard,
  ErpRateCardLine,
  ErpSystem,
} from '../erpPort.js';

const DDL = `
CREATE TABLE subsidiary (
  id INTEGER PRIMARY KEY CHECK (id > 0),
  name TEXT NOT NULL UNIQUE, country TEXT NOT NULL CHECK (length(country) = 2),
  currency TEXT NOT NULL CHECK (currency IN ('USD', 'GBP', 'EUR', 'AUD')), region TEXT NOT NULL UNIQUE,
  tax_regime TEXT NOT NULL,
  service_tax_rate_bp INTEGER NOT NULL CHECK (typeof(service_tax_rate_bp) = 'integer' AND service_tax_rate_bp BETWEEN 0 AND 10000));
CREATE TABLE customer (
  id INTEGER PRIMARY KEY CHECK (id > 0),
  entity_id TEXT NOT NULL UNIQUE CHECK (entity_id GLOB 'CUST-[0-9]*'),
  company_name TEXT NOT NULL, parent_id INTEGER REFERENCES customer(id),
  subsidiary_id INTEGER NOT NULL REFERENCES subsidiary(id),
  currency TEXT NOT NULL CHECK (currency IN ('USD', 'GBP', 'EUR', 'AUD')),
  external_id TEXT UNIQUE,
  terms_days INTEGER NOT NULL CHECK (typeof(terms_days) = 'integer' AND terms_days >= 0),
  tax_id TEXT, tax_exempt INTEGER NOT NULL CHECK (tax_exempt IN (0, 1)),
  credit_status TEXT NOT NULL DEFAULT 'GOOD' CHECK (credit_status IN ('GOOD', 'ON_HOLD')));
CREATE INDEX customer_parent ON customer(parent_id);
-- OneWorld: a customer trades with its primary subsidiary and with each secondary one it is related to.
CREATE TABLE customer_subsidiary (
  customer_id INTEGER NOT NULL REFERENCES customer(id), subsidiary_id INTEGER NOT NULL REFERENCES subsidiary(id),
  is_primary INTEGER NOT NULL CHECK (is_primary IN (0, 1)),
  PRIMARY KEY (customer_id, subsidiary_id)) WITHOUT ROWID;
CREATE UNIQUE INDEX customer_one_primary_subsidiary ON customer_subsidiary(customer_id) WHERE is_primary = 1;
-- As in NetSuite, saving a customer creates its primary subsidiary relationship.
CREATE TRIGGER customer_primary_subsidiary AFTER INSERT ON customer BEGIN
  INSERT INTO customer_subsidiary (customer_id, subsidiary_id, is_primary) VALUES (NEW.id, NEW.subsidiary_id, 1); END;
CREATE TABLE rate_card (
  id INTEGER PRIMARY KEY CHECK (id > 0), name TEXT NOT NULL,
  subsidiary_id INTEGER NOT NULL REFERENCES subsidiary(id), currency TEXT NOT NULL,
  UNIQUE (id, currency), UNIQUE (subsidiary_id, currency));
CREATE TABLE rate_card_line (
  rate_card_id INTEGER NOT NULL REFERENCES rate_card(id), role TEXT NOT NULL, role_name TEXT NOT NULL,
  sort_order INTEGER NOT NULL,
  bill_rate_minor INTEGER NOT NULL CHECK (typeof(bill_rate_minor) = 'integer' AND bill_rate_minor >= 0),
  PRIMARY KEY (rate_card_id, role)) WITHOUT ROWID;
CREATE TABLE job (
  id INTEGER PRIMARY KEY CHECK (id > 0),
  entity_id TEXT NOT NULL UNIQUE, company_name TEXT NOT NULL,
  external_id TEXT UNIQUE,
  customer_id INTEGER NOT NULL REFERENCES customer(id),
  subsidiary_id INTEGER NOT NULL REFERENCES subsidiary(id),
  contract_type TEXT NOT NULL CHECK (contract_type IN ('FIXED_FEE', 'TIME_AND_MATERIALS', 'MILESTONE', 'RETAINER')),
  currency TEXT NOT NULL,
  value_minor INTEGER NOT NULL CHECK (typeof(value_minor) = 'integer' AND value_minor >= 0),
  budget_minor INTEGER NOT NULL CHECK (typeof(budget_minor) = 'integer' AND budget_minor >= 0),
  po_required INTEGER NOT NULL CHECK (po_required IN (0, 1)), po_number TEXT,
  start_date TEXT NOT NULL CHECK (date(start_date) IS start_date),
  end_date TEXT NOT NULL CHECK (date(end_date) IS end_date AND end_date >= start_date),
  rate_card_id INTEGER NOT NULL,
  FOREIGN KEY (customer_id, subsidiary_id) REFERENCES customer_subsidiary(customer_id, subsidiary_id),
  FOREIGN KEY (rate_card_id, currency) REFERENCES rate_card(id, currency));
CREATE INDEX job_customer_subsidiary ON job(customer_id, subsidiary_id);
CREATE INDEX job_rate_card ON job(rate_card_id, currency);
CREATE TABLE billing_schedule (
  id INTEGER PRIMARY KEY CHECK (id > 0),
  job_id INTEGER NOT NULL UNIQUE REFERENCES job(id),
  schedule_type TEXT NOT NULL CHECK (schedule_type IN ('TIME_AND_MATERIALS', 'FIXED_INTERVAL', 'MILESTONE', 'RETAINER')),
  frequency TEXT NOT NULL CHECK (frequency IN ('MONTHLY', 'MILESTONE')),
  in_arrears INTEGER NOT NULL CHECK (in_arrears IN (0, 1)));
CREATE TABLE billing_schedule_line (
  schedule_id INTEGER NOT NULL REFERENCES billing_schedule(id),
  sequence INTEGER NOT NULL CHECK (sequence > 0),
  line_date TEXT NOT NULL CHECK (date(line_date) IS line_date), description TEXT NOT NULL,
  amount_minor INTEGER CHECK (amount_minor IS NULL OR (typeof(amount_minor) = 'integer' AND amount_minor >= 0)),
  milestone_ref TEXT,
  PRIMARY KEY (schedule_id, sequence)) WITHOUT ROWID;
-- A T&M line's amount is the period's approved time, so it has none of its own; every other line has one.
CREATE TRIGGER billing_schedule_line_amount BEFORE INSERT ON billing_schedule_line
  WHEN ((SELECT schedule_type FROM billing_schedule WHERE id = NEW.schedule_id) = 'TIME_AND_MATERIALS') <> (NEW.amount_minor IS NULL)
  BEGIN SELECT RAISE(ABORT, 'billing_schedule_line.amount_minor must be NULL exactly on time-and-materials schedules'); END;
CREATE TABLE posting (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES job(id),
  period TEXT NOT NULL CHECK (period GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]' AND substr(period, 6, 2) BETWEEN '01' AND '12'),
  type TEXT NOT NULL CHECK (type IN ('TIME_COST', 'REVENUE', 'BILLING')),
  amount_minor INTEGER NOT NULL CHECK (typeof(amount_minor) = 'integer'));
-- Covering indexes: a job's totals and a period range are both read without touching the table.
CREATE INDEX posting_job ON posting(job_id, type, amount_minor);
CREATE INDEX posting_period ON posting(period, type, job_id, amount_minor);
`;

const TAX_REGIME_BY_COUNTRY: Readonly<Record<string, string>> = { US: 'US sales tax', GB: 'UK VAT', DE: 'EU VAT', AU: 'AU GST' };

/**
 * Fixed-fee revenue is recognized by percent complete on cost. The ERP has no cost estimate of its own (the
 * consultants' cost rates live in PSA), so the estimate is this share of the budget: the firm's planned margin.
 */
const FIXED_FEE_ESTIMATED_COST_SHARE = 0.55;

/** An invoice written off as uncollectible within this many days before "today" puts its customer on credit hold. */
const CREDIT_HOLD_WINDOW_DAYS = 90;

/** Invoice statuses that were finalized and stand: what the ledger counts as billed (a void reverses). */
const BILLED_INVOICE_STATUSES: ReadonlySet<string> = new Set(['OPEN', 'PAID', 'UNCOLLECTIBLE']);

type PostingType = 'TIME_COST' | 'REVENUE' | 'BILLING';

/** Amounts per `YYYY-MM` period. */
type MonthlyAmounts = Map<string, number>;

function addTo(amounts: MonthlyAmounts, month: string, amountMinor: number): void {
  amounts.set(month, (amounts.get(month) ?? 0) + amountMinor);
}

/** Revenue recognized per month by the recognition method of the project's contract type (each branch says why). */
function recognizedRevenueByMonth(world: World, project: SeedProject, approved: readonly MonthlyTime[], billing: ProjectBilling): MonthlyAmounts {
  const revenue: MonthlyAmounts = new Map();
  switch (project.contractType) {
    case 'TIME_AND_MATERIALS':
      // Earned as approved: the billable value of the month's approved time.
      for (const month of approved) addTo(revenue, month.month, month.approvedBillableValueMinor);
      break;
    case 'FIXED_FEE': {
      // Cumulative revenue = budget × cumulative cost ÷ estimated cost, never above the budget; each month
      // recognizes the increase, so the months always add up to the cumulative figure.
      const estimatedCost = Math.max(1, Math.round(project.budgetMinor * FIXED_FEE_ESTIMATED_COST_SHARE));
      let cumulativeCost = 0;
      let recognized = 0;
      for (const month of approved) {
        cumulativeCost += month.approvedCostMinor;
        const cumulative = Math.min(project.budgetMinor, Math.round((project.budgetMinor * cumulativeCost) / estimatedCost));
        addTo(revenue, month.month, cumulative - recognized);
        recognized = cumulative;
      }
      break;
    }
    case 'MILESTONE':
      // Earned when the milestone is completed, whatever its billing date.
      for (const milestone of project.milestones) if (milestone.actualDay !== null) addTo(revenue, monthOf(milestone.actualDay), milestone.amountMinor);
      break;
    case 'RETAINER':
      // Earned as each month of service ends; billed in advance, so unbilled runs negative in the current month.
      for (const line of billing.lines) {
        const month = monthOf(line.day);
        if (lastDayOfMonth(month) < world.asOfDay) addTo(revenue, month, line.amountMinor);
      }
      break;
  }
  return revenue;
}

interface ProjectLedger {
  readonly project: SeedProject;
  readonly billing: ProjectBilling;
  readonly postings: ReadonlyArray<readonly [period: string, type: PostingType, amountMinor: number]>;
}

function projectLedger(world: World, project: SeedProject): ProjectLedger {
  const time = generateProjectTime(world, project);
  const approved = monthlyApprovedTime(time);
  const billing = planProjectBilling(world, project, time);
  const billed: MonthlyAmounts = new Map();
  for (const invoice of billing.invoices) {
    if (invoice.finalizedDay !== null && BILLED_INVOICE_STATUSES.has(invoice.status)) addTo(billed, monthOf(invoice.finalizedDay), invoice.subtotalMinor);
  }
  const postings: Array<readonly [string, PostingType, number]> = [];
  for (const month of approved) if (month.approvedCostMinor !== 0) postings.push([month.month, 'TIME_COST', month.approvedCostMinor]);
  for (const [month, amount] of recognizedRevenueByMonth(world, project, approved, billing)) if (amount !== 0) postings.push([month, 'REVENUE', amount]);
  for (const [month, amount] of billed) if (amount !== 0) postings.push([month, 'BILLING', amount]);
  return { project, billing, postings };
}

/** Accounts with an invoice written off in the credit-hold window: ERP blocks new orders for them. */
function accountsOnCreditHold(world: World, ledgers: readonly ProjectLedger[]): Set<number> {
  const held = new Set<number>();
  for (const { project, billing } of ledgers) {
    for (const invoice of billing.invoices) {
      if (invoice.status === 'UNCOLLECTIBLE' && invoice.uncollectibleDay !== null && invoice.uncollectibleDay >= world.asOfDay - CREDIT_HOLD_WINDOW_DAYS) {
        held.add(project.accountIndex);
      }
    }
  }
  return held;
}

/**
 * Fills a fresh ERP store from the world. Time entries are aggregated per month in memory and never stored:
 * the ledger needs months, and writing ~230,000 entries would cost most of the start-up time.
 */
export function seedErp(store: SqliteStore, world: World): void {
  const insertSubsidiary = store.prepare('INSERT INTO subsidiary (id, name, country, currency, region, tax_regime, service_tax_rate_bp) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insertRateCard = store.prepare('INSERT INTO rate_card (id, name, subsidiary_id, currency) VALUES (?, ?, ?, ?)');
  const insertRateCardLine = store.prepare('INSERT INTO rate_card_line (rate_card_id, role, role_name, sort_order, bill_rate_minor) VALUES (?, ?, ?, ?, ?)');
  for (const entity of LEGAL_ENTITIES) {
    const taxRate = TAX_RATE_BY_LEGAL_ENTITY[entity.id] ?? 0;
    insertSubsidiary.run([entity.id, entity.name, entity.country, entity.currency, entity.region, TAX_REGIME_BY_COUNTRY[entity.country] ?? 'Local tax', Math.round(taxRate * 10_000)]);
    const rateCardId = rateCardIdOf(entity);
    insertRateCard.run([rateCardId, `${entity.name} standard rates (${entity.currency})`, entity.id, entity.currency]);
    ROLES.forEach((role, i) => insertRateCardLine.run([rateCardId, role.code, role.name, i, rateCardRate(role.code, entity.currency)]));
  }

  const ledgers = world.projects.map((project) => projectLedger(world, project));
  const onCreditHold = accountsOnCreditHold(world, ledgers);

  const insertCustomer = store.prepare(
    `INSERT INTO customer (id, entity_id, company_name, parent_id, subsidiary_id, currency, external_id, terms_days, tax_id, tax_exempt, credit_status)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // Accounts are in index order and a parent always precedes its children, so each parent exists when needed.
  for (const account of world.accounts) {
    if (account.erpCustomerId === null) continue;
    const parent = account.parentIndex === null ? null : world.accounts[account.parentIndex]!;
    insertCustomer.run([
      account.erpCustomerId,
      `CUST-${account.erpCustomerId}`,
      account.name,
      parent?.erpCustomerId ?? null,
      account.legalEntityId,
      account.currency,
      account.crmId,
      account.paymentTermsDays,
      account.taxId,
      account.taxExempt ? 1 : 0,
      onCreditHold.has(account.index) ? 'ON_HOLD' : 'GOOD',
    ]);
  }

  const relateSubsidiary = store.prepare('INSERT OR IGNORE INTO customer_subsidiary (customer_id, subsidiary_id, is_primary) VALUES (?, ?, 0)');
  const insertJob = store.prepare(
    `INSERT INTO job (id, entity_id, company_name, external_id, customer_id, subsidiary_id, contract_type, currency, value_minor, budget_minor,
       po_required, po_number, start_date, end_date, rate_card_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertSchedule = store.prepare('INSERT INTO billing_schedule (job_id, schedule_type, frequency, in_arrears) VALUES (?, ?, ?, ?)');
  const insertScheduleLine = store.prepare(
    'INSERT INTO billing_schedule_line (schedule_id, sequence, line_date, description, amount_minor, milestone_ref) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insertPosting = store.prepare('INSERT INTO posting (job_id, period, type, amount_minor) VALUES (?, ?, ?, ?)');
  for (const { project, billing, postings } of ledgers) {
    const opportunity = world.opportunities[project.opportunityIndex]!;
    const customerId = world.accounts[project.accountIndex]!.erpCustomerId!;
    const entity = LEGAL_ENTITIES.find((candidate) => candidate.id === project.legalEntityId)!;
    // A deal delivered from another region's entity makes the customer a customer of that subsidiary too.
    relateSubsidiary.run([customerId, project.legalEntityId]);
    insertJob.run([
      project.erpId,
      project.code,
      project.name,
      project.id,
      customerId,
      project.legalEntityId,
      project.contractType,
      project.currency,
      opportunity.amountMinor,
      project.budgetMinor,
      opportunity.poRequired ? 1 : 0,
      opportunity.poNumber,
      isoFromDay(project.startDay),
      isoFromDay(project.endDay),
      rateCardIdOf(entity),
    ]);
    const scheduleId = insertSchedule.run([project.erpId, billing.scheduleType, billing.frequency, billing.inArrears ? 1 : 0]).lastInsertRowid;
    const timeAndMaterials = billing.scheduleType === 'TIME_AND_MATERIALS';
    for (const line of billing.lines) {
      insertScheduleLine.run([scheduleId, line.sequence, isoFromDay(line.day), line.description, timeAndMaterials ? null : line.amountMinor, line.milestonePsaId]);
    }
    for (const [period, type, amountMinor] of postings) insertPosting.run([project.erpId, period, type, amountMinor]);
  }
}

interface SubsidiaryRow {
  id: number;
  name: string;
  country: string;
  currency: string;
  region: string;
  tax_regime: string;
  service_tax_rate_bp: number;
}

interface CustomerRow {
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

interface JobRow {
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

interface ScheduleRow {
  id: number;
  job_id: number;
  project_id: string;
  schedule_type: ErpBillingScheduleType;
  frequency: 'MONTHLY' | 'MILESTONE';
  in_arrears: number;
}

interface ScheduleLineRow {
  schedule_id: number;
  sequence: number;
  line_date: string;
  description: string;
  amount_minor: number | null;
  currency: string;
}

interface LedgerTotalsRow {
  project_id: string;
  currency: string;
  budget_minor: number;
  cost_minor: number;
  revenue_minor: number;
  billed_minor: number;
}

interface ReportRow {
  project_id?: string;
  region?: string;
  month?: string;
  currency: string;
  revenue_minor: number;
  billed_minor: number;
}

const toLegalEntity = (row: SubsidiaryRow): ErpLegalEntity => ({
  id: row.id,
  name: row.name,
  country: row.country,
  currency: row.currency,
  region: row.region,
  taxRegime: row.tax_regime,
  serviceTaxRateBasisPoints: row.service_tax_rate_bp,
});

const toCustomer = (row: CustomerRow): ErpCustomer => ({
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

const toJob = (row: JobRow): ErpJob => ({
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
const REPORT_DIMENSIONS = {
  PROJECT: { columns: ['j.external_id AS project_id', 's.region AS region'], groupBy: ['j.id', 's.region'], orderBy: 'j.external_id' },
  REGION: { columns: ['s.region AS region'], groupBy: ['s.region'], orderBy: 's.region' },
  MONTH: { columns: ['p.period AS month'], groupBy: ['p.period'], orderBy: 'p.period' },
} as const;

const inJsonList = (column: string, parameter: string) => `${column} IN (SELECT value FROM json_each(:${parameter}))`;

export class SandboxErp implements ErpSystem, ErpWrites {
  private readonly allLegalEntitiesStatement;
  private readonly legalEntitiesStatement;
  private readonly customersStatement;
  private readonly jobsStatement;
  private readonly rateCardsStatement;
  private readonly rateCardLinesStatement;
  private readonly schedulesStatement;
  private readonly scheduleLinesStatement;
  private readonly ledgerTotalsStatement;

  constructor(readonly store: SqliteStore) {
    this.allLegalEntitiesStatement = store.prepare<SubsidiaryRow>('SELECT * FROM subsidiary ORDER BY id');
    this.legalEntitiesStatement = store.prepare<SubsidiaryRow>('SELECT * FROM subsidiary WHERE id IN (SELECT value FROM json_each(?))');
    this.customersStatement = store.prepare<CustomerRow>('SELECT * FROM customer WHERE external_id IN (SELECT value FROM json_each(?))');
    this.jobsStatement = store.prepare<JobRow>(
      'SELECT j.*, c.terms_days FROM job j JOIN customer c ON c.id = j.customer_id WHERE j.external_id IN (SELECT value FROM json_each(?))',
    );
    this.rateCardsStatement = store.prepare<{ id: number; name: string; currency: string; subsidiary_id: number }>(
      'SELECT * FROM rate_card WHERE id IN (SELECT value FROM json_each(?))',
    );
    this.rateCardLinesStatement = store.prepare<{ rate_card_id: number; role: string; role_name: string; bill_rate_minor: number; currency: string }>(
      `SELECT l.rate_card_id, l.role, l.role_name, l.bill_rate_minor, r.currency FROM rate_card_line l JOIN rate_card r ON r.id = l.rate_card_id
       WHERE l.rate_card_id IN (SELECT value FROM json_each(?)) ORDER BY l.rate_card_id, l.sort_order`,
    );
    this.schedulesStatement = store.prepare<ScheduleRow>(
      `SELECT s.*, j.external_id AS project_id FROM billing_schedule s JOIN job j ON j.id = s.job_id
       WHERE j.external_id IN (SELECT value FROM json_each(?))`,
    );
    this.scheduleLinesStatement = store.prepare<ScheduleLineRow>(
      `SELECT l.schedule_id, l.sequence, l.line_date, l.description, l.amount_minor, j.currency
       FROM billing_schedule_line l JOIN billing_schedule s ON s.id = l.schedule_id JOIN job j ON j.id = s.job_id
       WHERE l.schedule_id IN (SELECT value FROM json_each(?)) ORDER BY l.schedule_id, l.sequence`,
    );
    this.ledgerTotalsStatement = store.prepare<LedgerTotalsRow>(
      `SELECT j.external_id AS project_id, j.currency, j.budget_minor,
         COALESCE(SUM(CASE WHEN p.type = 'TIME_COST' THEN p.amount_minor END), 0) AS cost_minor,
         COALESCE(SUM(CASE WHEN p.type = 'REVENUE' THEN p.amount_minor END), 0) AS revenue_minor,
         COALESCE(SUM(CASE WHEN p.type = 'BILLING' THEN p.amount_minor END), 0) AS billed_minor
       FROM job j LEFT JOIN posting p ON p.job_id = j.id
       WHERE j.external_id IN (SELECT value FROM json_each(?))
       GROUP BY j.id`,
    );
  }

  get statementCount(): number {
    return this.store.statementCount;
  }

  async legalEntities(): Promise<ErpLegalEntity[]> {
    return this.allLegalEntitiesStatement.all().map(toLegalEntity);
  }

  async legalEntitiesById(ids: readonly number[]): Promise<Map<number, ErpLegalEntity>> {
    return new Map(this.legalEntitiesStatement.all([jsonList(ids)]).map((row) => [row.id, toLegalEntity(row)]));
  }

  async customersByAccountId(accountIds: readonly string[]): Promise<Map<string, ErpCustomer>> {
    return new Map(this.customersStatement.all([jsonList(accountIds)]).map((row) => [row.external_id!, toCustomer(row)]));
  }

  async jobsByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpJob>> {
    return new Map(this.jobsStatement.all([jsonList(projectIds)]).map((row) => [row.external_id!, toJob(row)]));
  }

  async rateCardsById(ids: readonly number[]): Promise<Map<number, ErpRateCard>> {
    return new Map(
      this.rateCardsStatement.all([jsonList(ids)]).map((row) => [row.id, { id: row.id, name: row.name, currency: row.currency, subsidiaryId: row.subsidiary_id }]),
    );
  }

  async rateCardLinesByRateCardId(rateCardIds: readonly number[]): Promise<Map<number, ErpRateCardLine[]>> {
    const lines = this.rateCardLinesStatement
      .all([jsonList(rateCardIds)])
      .map((row) => ({ rateCardId: row.rate_card_id, role: row.role, roleName: row.role_name, billRateMinor: row.bill_rate_minor, currency: row.currency }));
    return groupBy(lines, (line) => line.rateCardId);
  }

  async billingSchedulesByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpBillingSchedule>> {
    return new Map(this.schedulesStatement.all([jsonList(projectIds)]).map((row) => [row.project_id, toSchedule(row)]));
  }

  async billingScheduleLinesByScheduleId(scheduleIds: readonly number[]): Promise<Map<number, ErpBillingScheduleLine[]>> {
    const lines = this.scheduleLinesStatement.all([jsonList(scheduleIds)]).map((row) => ({
      scheduleId: row.schedule_id,
      sequence: row.sequence,
      date: row.line_date,
      description: row.description,
      amountMinor: row.amount_minor,
      currency: row.currency,
    }));
    return groupBy(lines, (line) => line.scheduleId);
  }

  async ledgerTotalsByProjectId(projectIds: readonly string[]): Promise<Map<string, ErpLedgerTotals>> {
    return new Map(
      this.ledgerTotalsStatement.all([jsonList(projectIds)]).map((row) => [
        row.project_id,
        {
          projectId: row.project_id,
          currency: row.currency,
          budgetMinor: row.budget_minor,
          costMinor: row.cost_minor,
          recognizedRevenueMinor: row.revenue_minor,
          billedMinor: row.billed_minor,
        },
      ]),
    );
  }

  async billingReport(query: BillingReportQuery): Promise<BillingReportRow[]> {
    if (query.groupBy.length === 0) throw new Error('billingReport needs at least one dimension to group by');
    const dimensions = [...new Set(query.groupBy)].map((name) => REPORT_DIMENSIONS[name]);
    const columns = [...new Set(dimensions.flatMap((dimension) => dimension.columns))];
    const grouping = [...new Set(dimensions.flatMap((dimension) => dimension.groupBy)), 'j.currency'];
    const ordering = [...dimensions.map((dimension) => dimension.orderBy), 'j.currency'];
    const where = new WhereBuilder()
      .raw("p.type IN ('REVENUE', 'BILLING')", true)
      .add('p.period >= :fromMonth', 'fromMonth', query.fromMonth)
      .add('p.period <= :toMonth', 'toMonth', query.toMonth)
      .add(inJsonList('s.region', 'regions'), 'regions', query.regions)
      .add(inJsonList('j.external_id', 'projectIds'), 'projectIds', query.projectIds);
    const rows = this.store
      .prepare<ReportRow>(
        `SELECT ${columns.join(', ')}, j.currency AS currency,
           COALESCE(SUM(CASE WHEN p.type = 'REVENUE' THEN p.amount_minor END), 0) AS revenue_minor,
           COALESCE(SUM(CASE WHEN p.type = 'BILLING' THEN p.amount_minor END), 0) AS billed_minor
         FROM posting p JOIN job j ON j.id = p.job_id JOIN subsidiary s ON s.id = j.subsidiary_id
         ${where}
         GROUP BY ${grouping.join(', ')}
         ORDER BY ${ordering.join(', ')}`,
      )
      .all(where.params);
    return rows.map((row) => ({
      projectId: row.project_id ?? null,
      region: row.region ?? null,
      month: row.month ?? null,
      currency: row.currency,
      recognizedRevenueMinor: row.revenue_minor,
      billedMinor: row.billed_minor,
    }));
  }

  async upsertCustomer(upsert: CustomerUpsert): Promise<Upserted<ErpCustomer>> {
    return this.store.transaction(() => {
      const existing = this.customersStatement.all([jsonList([upsert.externalId])])[0];
      let parentId: number | null = null;
      if (upsert.parentExternalId !== null) {
        const parent = this.customersStatement.all([jsonList([upsert.parentExternalId])])[0];
        if (!parent) throw inputError(ErrorCode.NOT_FOUND, `Parent customer eid:${upsert.parentExternalId} does not exist in the ERP; upsert the parent first.`);
        parentId = parent.id;
      }
      let id: number;
      if (existing) {
        id = existing.id;
        // The primary subsidiary, currency and agreed terms stay as they are: NetSuite locks them once the
        // customer has transactions, and finance owns the terms.
        this.store
          .prepare('UPDATE customer SET company_name = ?, parent_id = ?, tax_id = COALESCE(?, tax_id) WHERE id = ?')
          .run([upsert.companyName, parentId, upsert.taxId, id]);
      } else {
        id = this.nextId('customer');
        this.store
          .prepare(
            `INSERT INTO customer (id, entity_id, company_name, parent_id, subsidiary_id, currency, external_id, terms_days, tax_id, tax_exempt)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
          )
          .run([id, `CUST-${id}`, upsert.companyName, parentId, upsert.subsidiaryId, upsert.currency, upsert.externalId, upsert.paymentTermsDays, upsert.taxId]);
      }
      const relate = this.store.prepare('INSERT OR IGNORE INTO customer_subsidiary (customer_id, subsidiary_id, is_primary) VALUES (?, ?, 0)');
      for (const subsidiaryId of upsert.additionalSubsidiaryIds) relate.run([id, subsidiaryId]);
      return { record: toCustomer(this.customersStatement.all([jsonList([upsert.externalId])])[0]!), created: !existing };
    });
  }

  async upsertJob(upsert: JobUpsert): Promise<Upserted<ErpJob>> {
    return this.store.transaction(() => {
      const customer = this.customersStatement.all([jsonList([upsert.customerExternalId])])[0];
      if (!customer) throw inputError(ErrorCode.NOT_FOUND, `Customer eid:${upsert.customerExternalId} does not exist in the ERP; upsert it first.`);
      const rateCard = this.store
        .prepare<{ id: number }>('SELECT id FROM rate_card WHERE subsidiary_id = ? AND currency = ?')
        .get([upsert.subsidiaryId, upsert.currency]);
      if (!rateCard) throw inputError(ErrorCode.NOT_FOUND, `Subsidiary ${upsert.subsidiaryId} has no rate card in ${upsert.currency}.`);
      const related = this.store
        .prepare('SELECT 1 FROM customer_subsidiary WHERE customer_id = ? AND subsidiary_id = ?')
        .get([customer.id, upsert.subsidiaryId]);
      if (!related) {
        throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Customer ${customer.entity_id} does not trade with subsidiary ${upsert.subsidiaryId}; relate them first.`);
      }
      const existing = this.jobsStatement.all([jsonList([upsert.externalId])])[0];
      const fields = [
        upsert.name,
        customer.id,
        upsert.subsidiaryId,
        upsert.contractType,
        upsert.currency,
        upsert.valueMinor,
        upsert.valueMinor,
        upsert.poRequired ? 1 : 0,
        upsert.poNumber,
        upsert.startDate,
        upsert.endDate,
        rateCard.id,
      ];
      if (existing) {
        this.store
          .prepare(
            `UPDATE job SET company_name = ?, customer_id = ?, subsidiary_id = ?, contract_type = ?, currency = ?, value_minor = ?, budget_minor = ?,
               po_required = ?, po_number = ?, start_date = ?, end_date = ?, rate_card_id = ? WHERE id = ?`,
          )
          .run([...fields, existing.id]);
      } else {
        const id = this.nextId('job');
        this.store
          .prepare(
            `INSERT INTO job (company_name, customer_id, subsidiary_id, contract_type, currency, value_minor, budget_minor, po_required, po_number,
               start_date, end_date, rate_card_id, id, entity_id, external_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run([...fields, id, `PRJ-${id}`, upsert.externalId]);
      }
      return { record: toJob(this.jobsStatement.all([jsonList([upsert.externalId])])[0]!), created: !existing };
    });
  }

  async upsertBillingSchedule(upsert: BillingScheduleUpsert): Promise<Upserted<ErpBillingSchedule>> {
    return this.store.transaction(() => {
      const job = this.jobsStatement.all([jsonList([upsert.projectExternalId])])[0];
      if (!job) throw inputError(ErrorCode.NOT_FOUND, `Job eid:${upsert.projectExternalId} does not exist in the ERP.`);
      const existing = this.schedulesStatement.all([jsonList([upsert.projectExternalId])])[0];
      let scheduleId: number;
      if (existing) {
        scheduleId = existing.id;
        this.store.prepare('DELETE FROM billing_schedule_line WHERE schedule_id = ?').run([scheduleId]);
        this.store
          .prepare('UPDATE billing_schedule SET schedule_type = ?, frequency = ?, in_arrears = ? WHERE id = ?')
          .run([upsert.scheduleType, upsert.frequency, upsert.inArrears ? 1 : 0, scheduleId]);
      } else {
        scheduleId = Number(
          this.store
            .prepare('INSERT INTO billing_schedule (job_id, schedule_type, frequency, in_arrears) VALUES (?, ?, ?, ?)')
            .run([job.id, upsert.scheduleType, upsert.frequency, upsert.inArrears ? 1 : 0]).lastInsertRowid,
        );
      }
      const insertLine = this.store.prepare(
        'INSERT INTO billing_schedule_line (schedule_id, sequence, line_date, description, amount_minor, milestone_ref) VALUES (?, ?, ?, ?, ?, NULL)',
      );
      upsert.lines.forEach((line, i) => insertLine.run([scheduleId, i + 1, line.date, line.description, line.amountMinor]));
      return { record: toSchedule(this.schedulesStatement.all([jsonList([upsert.projectExternalId])])[0]!), created: !existing };
    });
  }

  async deleteBillingSchedule(projectExternalId: string): Promise<boolean> {
    return this.store.transaction(() => {
      const schedule = this.schedulesStatement.all([jsonList([projectExternalId])])[0];
      if (!schedule) return false;
      this.store.prepare('DELETE FROM billing_schedule_line WHERE schedule_id = ?').run([schedule.id]);
      this.store.prepare('DELETE FROM billing_schedule WHERE id = ?').run([schedule.id]);
      return true;
    });
  }

  async deleteJob(projectExternalId: string): Promise<boolean> {
    return this.store.transaction(() => {
      const job = this.jobsStatement.all([jsonList([projectExternalId])])[0];
      if (!job) return false;
      // NetSuite: "This record cannot be deleted because it has dependent records."
      const dependents = this.store
        .prepare<{ schedules: number; postings: number }>(
          'SELECT (SELECT COUNT(*) FROM billing_schedule WHERE job_id = ?) AS schedules, (SELECT COUNT(*) FROM posting WHERE job_id = ?) AS postings',
        )
        .get([job.id, job.id])!;
      if (dependents.schedules > 0 || dependents.postings > 0) {
        throw inputError(
          ErrorCode.INVALID_STATE_TRANSITION,
          `Job ${job.entity_id} cannot be deleted: it has ${dependents.schedules} billing schedule(s) and ${dependents.postings} posting(s).`,
        );
      }
      this.store.prepare('DELETE FROM job WHERE id = ?').run([job.id]);
      return true;
    });
  }

  async rateCardsBySubsidiaryId(subsidiaryIds: readonly number[]): Promise<Map<number, ErpRateCard>> {
    const rows = this.store
      .prepare<{ id: number; name: string; currency: string; subsidiary_id: number }>(
        `SELECT r.* FROM rate_card r JOIN subsidiary s ON s.id = r.subsidiary_id AND s.currency = r.currency
         WHERE r.subsidiary_id IN (SELECT value FROM json_each(?))`,
      )
      .all([jsonList(subsidiaryIds)]);
    return new Map(rows.map((row) => [row.subsidiary_id, { id: row.id, name: row.name, currency: row.currency, subsidiaryId: row.subsidiary_id }]));
  }

  /** NetSuite issues internal IDs in sequence; the sandbox continues after the highest one in use. */
  private nextId(table: 'customer' | 'job'): number {
    return this.store.prepare<{ next: number }>(`SELECT COALESCE(MAX(id), 0) + 1 AS next FROM ${table}`).get()!.next;
  }

  close(): void {
    this.store.close();
  }
}

const toSchedule = (row: ScheduleRow): ErpBillingSchedule => ({
  id: row.id,
  jobId: row.job_id,
  projectId: row.project_id,
  scheduleType: row.schedule_type,
  frequency: row.frequency,
  inArrears: row.in_arrears === 1,
});

/** Opens (creating and seeding on first use) the ERP sandbox in `dataDir/erp.db`. */
export function openSandboxErp(dataDir: string, world: WorldOptions): SandboxErp {
  const store = openSandboxStore({ file: join(dataDir, 'erp.db'), ddl: DDL, world, seed: (fresh) => seedErp(fresh, buildWorld(world)) });
  return new SandboxErp(store);
}
