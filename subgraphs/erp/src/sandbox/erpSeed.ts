/**
 * Seeds a fresh ERP sandbox from the deterministic world: subsidiaries, customers, jobs with their contracts and
 * billing schedules, and the ledger postings (time cost, revenue recognized, billing) that make its financials.
 */
import { type SqliteStore, isoFromDay, lastDayOfMonth, monthOf } from '../../../platform/src/index.js';
import { type ProjectBilling, TAX_RATE_BY_LEGAL_ENTITY, planProjectBilling } from '../../../sandboxes/src/world/billing.js';
import { LEGAL_ENTITIES, ROLES, rateCardIdOf, rateCardRate } from '../../../sandboxes/src/world/catalog.js';
import { type MonthlyTime, generateProjectTime, monthlyApprovedTime } from '../../../sandboxes/src/world/time.js';
import { type SeedProject, type World } from '../../../sandboxes/src/world/world.js';

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
  const insertSubsidiary = store.prepare(
    'INSERT INTO subsidiary (id, name, country, currency, region, tax_regime, service_tax_rate_bp) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertRateCard = store.prepare('INSERT INTO rate_card (id, name, subsidiary_id, currency) VALUES (?, ?, ?, ?)');
  const insertRateCardLine = store.prepare('INSERT INTO rate_card_line (rate_card_id, role, role_name, sort_order, bill_rate_minor) VALUES (?, ?, ?, ?, ?)');
  for (const entity of LEGAL_ENTITIES) {
    const taxRate = TAX_RATE_BY_LEGAL_ENTITY[entity.id] ?? 0;
    insertSubsidiary.run([
      entity.id,
      entity.name,
      entity.country,
      entity.currency,
      entity.region,
      TAX_REGIME_BY_COUNTRY[entity.country] ?? 'Local tax',
      Math.round(taxRate * 10_000),
    ]);
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
      insertScheduleLine.run([
        scheduleId,
        line.sequence,
        isoFromDay(line.day),
        line.description,
        timeAndMaterials ? null : line.amountMinor,
        line.milestonePsaId,
      ]);
    }
    for (const [period, type, amountMinor] of postings) insertPosting.run([project.erpId, period, type, amountMinor]);
  }
}
