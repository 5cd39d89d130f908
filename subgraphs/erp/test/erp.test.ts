/**
 * The ERP sandbox and subgraph: seed invariants, the rules the store enforces, entities, lists and argument
 * errors. One file, longer than the house's ~400 lines, because its cases share one store seeded at the default
 * volume (seconds of work): split across files, each file would seed its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMinor, isoFromDay, lastDayOfMonth, monthOf, parseMinor } from '../../platform/src/index.js';
import { type ProjectBilling, TAX_RATE_BY_LEGAL_ENTITY, planProjectBilling } from '../../sandboxes/src/world/billing.js';
import { LEGAL_ENTITIES, rateCardIdOf } from '../../sandboxes/src/world/catalog.js';
import { type MonthlyTime, generateProjectTime, monthlyApprovedTime } from '../../sandboxes/src/world/time.js';
import { type SeedProject, type World, buildWorld } from '../../sandboxes/src/world/world.js';
import { execute, sqlStatements, temporaryDataDir } from '../../platform/test/testSupport.js';
import { type ErpSubgraph, createErpSubgraph } from '../src/erpSubgraph.js';
import type { SandboxErp } from '../src/sandbox/sandboxErp.js';

const worldOptions = { scale: 1, seed: 7, asOf: '2026-11-01' };

interface ProjectPlan {
  readonly project: SeedProject;
  readonly approved: readonly MonthlyTime[];
  readonly billing: ProjectBilling;
}

type MonthlyLedger = Record<string, number>;

const PROJECT_FIELDS = `
  id
  contract {
    erpProjectId type value { amount currency } currency paymentTerms { name days } poRequired poNumber startDate endDate
    legalEntity { id name country currency }
    rateCard { id name currency lines { role roleName billRate { amount currency } } }
  }
  billingSchedule { id type frequency inArrears lines { sequence date description amount { amount currency } } }
  financials {
    budget { amount currency } cost { amount currency } recognizedRevenue { amount currency } billed { amount currency }
    unbilled { amount currency } margin { amount currency } marginPercent
  }`;
const PROJECTS_QUERY = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Project { ${PROJECT_FIELDS} } } }`;
const ACCOUNTS_QUERY = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Account {
  id customerNumber erpCustomerId legalEntity { id name country currency } taxProfile { taxId exempt regime rate }
  paymentTerms { name days } creditStatus } } }`;
const REPORT_QUERY = `query ($groupBy: [BillingGroupBy!]!, $filter: BillingReportFilter) { billedVsUnbilled(groupBy: $groupBy, filter: $filter) {
  project { id } region month currency recognizedRevenue { amount currency } billed { amount currency } unbilled { amount currency } } }`;

interface ReportRow {
  project: { id: string } | null;
  region: string | null;
  month: string | null;
  currency: string;
  recognizedRevenue: { amount: string; currency: string };
  billed: { amount: string; currency: string };
  unbilled: { amount: string; currency: string };
}

/** Keeps only non-zero amounts, as the ledger holds no zero postings. */
function ledgerOf(entries: Iterable<readonly [string, number]>): MonthlyLedger {
  const ledger: MonthlyLedger = {};
  for (const [key, amount] of entries) ledger[key] = (ledger[key] ?? 0) + amount;
  for (const key of Object.keys(ledger)) if (ledger[key] === 0) delete ledger[key];
  return ledger;
}

describe('ERP sandbox at the default seed volume', () => {
  const data = temporaryDataDir('erp');
  let erp: ErpSubgraph;
  let world: World;
  let plans: ProjectPlan[];
  let seedMilliseconds: number;

  beforeAll(() => {
    const started = performance.now();
    erp = createErpSubgraph({ dataDir: data.dir, world: worldOptions, production: false });
    seedMilliseconds = performance.now() - started;
    world = buildWorld(worldOptions);
    plans = world.projects.map((project) => {
      const time = generateProjectTime(world, project);
      return { project, approved: monthlyApprovedTime(time), billing: planProjectBilling(world, project, time) };
    });
  });
  afterAll(async () => {
    await erp.stop();
    data.remove();
  });

  const db = () => (erp.erp as SandboxErp).store.db;
  const count = (sql: string, ...params: unknown[]) =>
    db()
      .prepare(sql)
      .pluck()
      .get(...params) as number;
  /** Runs `work` and undoes whatever it wrote, so rule tests leave the seeded store as it was. */
  const rolledBack = (work: () => void) => {
    db().exec('SAVEPOINT rule_test');
    try {
      work();
    } finally {
      db().exec('ROLLBACK TO rule_test; RELEASE rule_test');
    }
  };
  const postingsOf = (type: string): MonthlyLedger =>
    ledgerOf(
      (
        db()
          .prepare('SELECT j.external_id AS projectId, p.period, p.amount_minor AS amount FROM posting p JOIN job j ON j.id = p.job_id WHERE p.type = ?')
          .all(type) as Array<{ projectId: string; period: string; amount: number }>
      ).map((row) => [`${row.projectId}|${row.period}`, row.amount] as const),
    );

  describe('seed', () => {
    it('seeds the whole store from nothing in a few seconds', () => {
      expect(seedMilliseconds).toBeLessThan(20_000);
      expect(count('SELECT COUNT(*) FROM job')).toBe(world.projects.length);
      expect(world.projects.length).toBeGreaterThanOrEqual(1200);
    });

    it('files every project as a job under its own internal ID, with the canonical project ID as external ID', () => {
      const jobs = new Map(
        (db().prepare('SELECT external_id, id FROM job').all() as Array<{ external_id: string; id: number }>).map((row) => [row.external_id, row.id]),
      );
      for (const project of world.projects) expect(jobs.get(project.id)).toBe(project.erpId);
    });

    it("files every job under a customer that exists and is the project's CRM account", () => {
      expect(count('SELECT COUNT(*) FROM job j LEFT JOIN customer c ON c.id = j.customer_id WHERE c.id IS NULL')).toBe(0);
      const accountOfJob = new Map(
        (
          db().prepare('SELECT j.external_id, c.external_id AS account_id FROM job j JOIN customer c ON c.id = j.customer_id').all() as Array<{
            external_id: string;
            account_id: string;
          }>
        ).map((row) => [row.external_id, row.account_id]),
      );
      for (const project of world.projects) expect(accountOfJob.get(project.id)).toBe(world.accounts[project.accountIndex]!.crmId);
      expect(db().pragma('foreign_key_check')).toEqual([]);
    });

    it('keeps external IDs unique per record type', () => {
      expect(count('SELECT COUNT(DISTINCT external_id) FROM customer')).toBe(count('SELECT COUNT(external_id) FROM customer'));
      expect(count('SELECT COUNT(DISTINCT external_id) FROM job')).toBe(count('SELECT COUNT(external_id) FROM job'));
      expect(count('SELECT COUNT(*) FROM customer')).toBe(world.accounts.filter((account) => account.erpCustomerId !== null).length);
    });

    it("posts each project's cost per month exactly as the approved time's cost", () => {
      const expected = ledgerOf(
        plans.flatMap(({ project, approved }) => approved.map((month) => [`${project.id}|${month.month}`, month.approvedCostMinor] as const)),
      );
      expect(postingsOf('TIME_COST')).toEqual(expected);
      const totalCostOf = (project: SeedProject) =>
        count("SELECT COALESCE(SUM(amount_minor), 0) FROM posting WHERE type = 'TIME_COST' AND job_id = ?", project.erpId);
      for (const { project, approved } of plans.slice(0, 25))
        expect(totalCostOf(project)).toBe(approved.reduce((sum, month) => sum + month.approvedCostMinor, 0));
    });

    it('posts as billed the subtotals of finalized invoices that were not voided, in the month they were finalized', () => {
      const expected = ledgerOf(
        plans.flatMap(({ project, billing }) =>
          billing.invoices
            .filter((invoice) => invoice.finalizedDay !== null && ['OPEN', 'PAID', 'UNCOLLECTIBLE'].includes(invoice.status))
            .map((invoice) => [`${project.id}|${monthOf(invoice.finalizedDay!)}`, invoice.subtotalMinor] as const),
        ),
      );
      expect(Object.keys(expected).length).toBeGreaterThan(5_000);
      expect(postingsOf('BILLING')).toEqual(expected);
    });

    it('recognizes revenue by the method of each contract type', () => {
      const revenueByProject = new Map<string, Array<[string, number]>>();
      for (const [key, amount] of Object.entries(postingsOf('REVENUE'))) {
        const projectId = key.slice(0, key.indexOf('|'));
        revenueByProject.set(projectId, [...(revenueByProject.get(projectId) ?? []), [key, amount]]);
      }
      const revenueOf = (project: SeedProject) => ledgerOf(revenueByProject.get(project.id) ?? []);
      const byType = (type: string) => plans.filter(({ project }) => project.contractType === type);
      for (const { project, approved } of byType('TIME_AND_MATERIALS').slice(0, 40)) {
        expect(revenueOf(project)).toEqual(ledgerOf(approved.map((month) => [`${project.id}|${month.month}`, month.approvedBillableValueMinor] as const)));
      }
      for (const { project, approved } of byType('FIXED_FEE')) {
        const totalCost = approved.reduce((sum, month) => sum + month.approvedCostMinor, 0);
        const estimatedCost = Math.round(project.budgetMinor * 0.55);
        const total = Object.values(revenueOf(project)).reduce((sum, amount) => sum + amount, 0);
        expect(total).toBe(Math.min(project.budgetMinor, Math.round((project.budgetMinor * totalCost) / estimatedCost)));
      }
      expect(byType('FIXED_FEE').some(({ project }) => Object.values(revenueOf(project)).reduce((a, b) => a + b, 0) === project.budgetMinor)).toBe(true);
      for (const { project } of byType('MILESTONE').slice(0, 40)) {
        const completed = project.milestones.filter((milestone) => milestone.actualDay !== null);
        expect(revenueOf(project)).toEqual(
          ledgerOf(completed.map((milestone) => [`${project.id}|${monthOf(milestone.actualDay!)}`, milestone.amountMinor] as const)),
        );
      }
      for (const { project, billing } of byType('RETAINER').slice(0, 40)) {
        const elapsed = billing.lines.filter((line) => lastDayOfMonth(monthOf(line.day)) < world.asOfDay);
        expect(revenueOf(project)).toEqual(ledgerOf(elapsed.map((line) => [`${project.id}|${monthOf(line.day)}`, line.amountMinor] as const)));
      }
    });

    it('puts on credit hold exactly the customers with an invoice written off in the last 90 days', () => {
      const expected = new Set<string>();
      for (const { project, billing } of plans) {
        if (billing.invoices.some((invoice) => invoice.status === 'UNCOLLECTIBLE' && invoice.uncollectibleDay! >= world.asOfDay - 90)) {
          expected.add(world.accounts[project.accountIndex]!.crmId);
        }
      }
      const held = db().prepare("SELECT external_id FROM customer WHERE credit_status = 'ON_HOLD'").pluck().all() as string[];
      expect(held.length).toBeGreaterThan(0);
      expect(new Set(held)).toEqual(expected);
    });
  });

  describe("NetSuite's rules", () => {
    const someCustomer = () => db().prepare('SELECT * FROM customer ORDER BY id LIMIT 1').get() as { id: number; external_id: string; subsidiary_id: number };
    const insertCustomer = (id: unknown, externalId: string) =>
      db()
        .prepare(
          `INSERT INTO customer (id, entity_id, company_name, subsidiary_id, currency, external_id, terms_days, tax_exempt) VALUES (?, ?, 'Test Co', 1, 'USD', ?, 30, 0)`,
        )
        .run(id, `CUST-${typeof id === 'number' ? id : 1}`, externalId);
    const insertJob = (values: {
      id: number;
      externalId: string;
      customerId: number;
      subsidiaryId: number;
      currency?: string;
      rateCardId?: number;
      budget?: number;
    }) =>
      db()
        .prepare(
          `INSERT INTO job (id, entity_id, company_name, external_id, customer_id, subsidiary_id, contract_type, currency, value_minor, budget_minor,
             po_required, start_date, end_date, rate_card_id) VALUES (?, ?, 'Test job', ?, ?, ?, 'FIXED_FEE', ?, ?, ?, 0, '2026-01-01', '2026-06-30', ?)`,
        )
        .run(
          values.id,
          `PRJ-TEST-${values.id}`,
          values.externalId,
          values.customerId,
          values.subsidiaryId,
          values.currency ?? 'USD',
          values.budget ?? 100_000,
          values.budget ?? 100_000,
          values.rateCardId ?? 101,
        );

    it('rejects a second customer with an external ID already in use', () => {
      const existing = someCustomer();
      rolledBack(() => expect(() => insertCustomer(999_001, existing.external_id)).toThrow(/UNIQUE constraint failed: customer\.external_id/));
    });

    it('rejects a second job with an external ID already in use', () => {
      const existing = db().prepare('SELECT external_id, customer_id, subsidiary_id FROM job LIMIT 1').get() as {
        external_id: string;
        customer_id: number;
        subsidiary_id: number;
      };
      const entity = LEGAL_ENTITIES.find((candidate) => candidate.id === existing.subsidiary_id)!;
      rolledBack(() =>
        expect(() =>
          insertJob({
            id: 999_002,
            externalId: existing.external_id,
            customerId: existing.customer_id,
            subsidiaryId: existing.subsidiary_id,
            currency: entity.currency,
            rateCardId: rateCardIdOf(entity),
          }),
        ).toThrow(/UNIQUE constraint failed: job\.external_id/),
      );
    });

    it('rejects an internal ID that is not a positive number', () => {
      rolledBack(() => {
        expect(() => insertCustomer('C-17', '001TESTNUMERICID01')).toThrow(/datatype mismatch/);
        expect(() => insertCustomer(-5, '001TESTNUMERICID02')).toThrow(/CHECK constraint failed/);
      });
    });

    it('rejects a job for a customer that does not exist, or that does not trade with the subsidiary, until they are related', () => {
      const customer = db()
        .prepare(
          'SELECT c.id FROM customer c WHERE c.subsidiary_id = 1 AND NOT EXISTS (SELECT 1 FROM customer_subsidiary r WHERE r.customer_id = c.id AND r.subsidiary_id = 2)',
        )
        .pluck()
        .get() as number;
      const ukJob = { id: 999_003, externalId: 'prj_TEST', customerId: customer, subsidiaryId: 2, currency: 'GBP', rateCardId: 102 };
      rolledBack(() => {
        expect(() => insertJob({ ...ukJob, customerId: 999_999 })).toThrow(/FOREIGN KEY constraint failed/);
        expect(() => insertJob(ukJob)).toThrow(/FOREIGN KEY constraint failed/);
        db().prepare('INSERT INTO customer_subsidiary (customer_id, subsidiary_id, is_primary) VALUES (?, 2, 0)').run(customer);
        expect(insertJob(ukJob).changes).toBe(1);
      });
    });

    it("rejects a job priced on a rate card in another currency than the job's", () => {
      const customer = someCustomer();
      rolledBack(() =>
        expect(() =>
          insertJob({ id: 999_004, externalId: 'prj_TEST', customerId: customer.id, subsidiaryId: customer.subsidiary_id, currency: 'USD', rateCardId: 102 }),
        ).toThrow(/FOREIGN KEY constraint failed/),
      );
    });

    it('rejects amounts that are not whole minor units', () => {
      const jobId = db().prepare('SELECT id FROM job LIMIT 1').pluck().get() as number;
      rolledBack(() => {
        expect(() => db().prepare("INSERT INTO posting (job_id, period, type, amount_minor) VALUES (?, '2026-10', 'REVENUE', 12.5)").run(jobId)).toThrow(
          /CHECK constraint failed/,
        );
        expect(() => db().prepare("INSERT INTO posting (job_id, period, type, amount_minor) VALUES (?, '2026-10', 'REVENUE', '12.50')").run(jobId)).toThrow(
          /CHECK constraint failed/,
        );
        expect(() => db().prepare("INSERT INTO posting (job_id, period, type, amount_minor) VALUES (?, '2026-13', 'REVENUE', 1250)").run(jobId)).toThrow(
          /CHECK constraint failed/,
        );
        expect(db().prepare("INSERT INTO posting (job_id, period, type, amount_minor) VALUES (?, '2026-10', 'REVENUE', 1250)").run(jobId).changes).toBe(1);
      });
    });
  });

  describe('entities', () => {
    it('resolves an Account that is an ERP customer to its number, legal entity, tax profile, terms and credit status', async () => {
      const account = world.accounts.find(
        (candidate) => candidate.erpCustomerId !== null && candidate.legalEntityId === 2 && candidate.taxId !== null && !candidate.taxExempt,
      )!;
      const exempt = world.accounts.find((candidate) => candidate.erpCustomerId !== null && candidate.taxExempt && candidate.legalEntityId !== 1)!;
      const result = await execute(erp, ACCOUNTS_QUERY, { r: [account, exempt].map((a) => ({ __typename: 'Account', id: a.crmId })) });
      expect(result.errors).toBeUndefined();
      const creditStatusOf = (crmId: string) => db().prepare('SELECT credit_status FROM customer WHERE external_id = ?').pluck().get(crmId);
      expect(result.data!['_entities'][0]).toEqual({
        id: account.crmId,
        customerNumber: `CUST-${account.erpCustomerId}`,
        erpCustomerId: String(account.erpCustomerId),
        legalEntity: { id: '2', name: 'Meridian Advisory Ltd', country: 'GB', currency: 'GBP' },
        taxProfile: { taxId: account.taxId, exempt: false, regime: 'UK VAT', rate: 0.2 },
        paymentTerms: { name: `Net ${account.paymentTermsDays}`, days: account.paymentTermsDays },
        creditStatus: creditStatusOf(account.crmId),
      });
      expect(result.data!['_entities'][1].taxProfile).toMatchObject({ exempt: true, rate: 0 });
      expect(TAX_RATE_BY_LEGAL_ENTITY[exempt.legalEntityId]).toBeGreaterThan(0);
    });

    it('resolves an Account that is not an ERP customer with every ERP field null', async () => {
      const prospect = world.accounts.find((candidate) => candidate.erpCustomerId === null)!;
      const result = await execute(erp, ACCOUNTS_QUERY, { r: [{ __typename: 'Account', id: prospect.crmId }] });
      expect(result.errors).toBeUndefined();
      expect(result.data!['_entities']).toEqual([
        { id: prospect.crmId, customerNumber: null, erpCustomerId: null, legalEntity: null, taxProfile: null, paymentTerms: null, creditStatus: null },
      ]);
    });

    it('resolves a Project to its contract, rate card and billing schedule as filed at activation', async () => {
      const { project, billing } = plans.find(({ project }) => project.contractType === 'FIXED_FEE' && project.status === 'ACTIVE')!;
      const opportunity = world.opportunities[project.opportunityIndex]!;
      const account = world.accounts[project.accountIndex]!;
      const entity = LEGAL_ENTITIES.find((candidate) => candidate.id === project.legalEntityId)!;
      const result = await execute(erp, PROJECTS_QUERY, { r: [{ __typename: 'Project', id: project.id }] });
      expect(result.errors).toBeUndefined();
      const resolved = result.data!['_entities'][0];
      const amount = (minor: number) => ({ amount: formatMinor(minor), currency: project.currency });
      expect(resolved.contract).toMatchObject({
        erpProjectId: String(project.erpId),
        type: 'FIXED_FEE',
        value: amount(opportunity.amountMinor),
        currency: project.currency,
        paymentTerms: { name: `Net ${account.paymentTermsDays}`, days: account.paymentTermsDays },
        poRequired: opportunity.poRequired,
        poNumber: opportunity.poNumber,
        startDate: isoFromDay(project.startDay),
        endDate: isoFromDay(project.endDay),
        legalEntity: { id: String(entity.id), name: entity.name, country: entity.country, currency: entity.currency },
        rateCard: { id: String(rateCardIdOf(entity)), currency: entity.currency },
      });
      expect(resolved.contract.rateCard.lines).toHaveLength(8);
      expect(resolved.billingSchedule).toMatchObject({ type: 'FIXED_INTERVAL', frequency: 'MONTHLY', inArrears: false });
      expect(resolved.billingSchedule.lines).toEqual(
        billing.lines.map((line) => ({ sequence: line.sequence, date: isoFromDay(line.day), description: line.description, amount: amount(line.amountMinor) })),
      );
      const scheduled = resolved.billingSchedule.lines.reduce((sum: number, line: { amount: { amount: string } }) => sum + parseMinor(line.amount.amount), 0);
      expect(scheduled).toBe(project.budgetMinor);
      expect(resolved.financials.budget).toEqual(amount(project.budgetMinor));
    });

    it('leaves the amount of time-and-materials schedule lines null', async () => {
      const { project, billing } = plans.find(({ project, billing }) => project.contractType === 'TIME_AND_MATERIALS' && billing.lines.length > 0)!;
      const result = await execute(erp, PROJECTS_QUERY, { r: [{ __typename: 'Project', id: project.id }] });
      const schedule = result.data!['_entities'][0].billingSchedule;
      expect(schedule).toMatchObject({ type: 'TIME_AND_MATERIALS', inArrears: true });
      expect(schedule.lines).toHaveLength(billing.lines.length);
      expect(schedule.lines.every((line: { amount: unknown }) => line.amount === null)).toBe(true);
    });

    it('resolves a Project unknown to ERP with its ERP fields null', async () => {
      const unknown = 'prj_01HZZZZZZZZZZZZZZZZZZZZZZZ';
      const result = await execute(erp, PROJECTS_QUERY, { r: [{ __typename: 'Project', id: unknown }] });
      expect(result.errors).toBeUndefined();
      expect(result.data!['_entities']).toEqual([{ id: unknown, contract: null, billingSchedule: null, financials: null }]);
    });

    it('rejects a reference whose key is not in the format of its entity with INVALID_ID', async () => {
      const project = await execute(erp, PROJECTS_QUERY, { r: [{ __typename: 'Project', id: '20012' }] });
      expect(project.errors?.[0]?.extensions?.['code']).toBe('INVALID_ID');
      expect(project.errors?.[0]?.message).toBe('Project reference has an invalid id "20012".');
      const account = await execute(erp, ACCOUNTS_QUERY, { r: [{ __typename: 'Account', id: 'CUST-5012' }] });
      expect(account.errors?.[0]?.extensions?.['code']).toBe('INVALID_ID');
    });

    it('lists the four legal entities', async () => {
      const result = await execute(erp, '{ legalEntities { id name country currency } }');
      expect(result.data!['legalEntities']).toEqual(
        LEGAL_ENTITIES.map((entity) => ({ id: String(entity.id), name: entity.name, country: entity.country, currency: entity.currency })),
      );
    });
  });

  describe('financials', () => {
    it('derives unbilled, margin and margin percent from the posted cost, revenue and billings', async () => {
      const sample = plans.filter((_, i) => i % 24 === 0).map(({ project }) => project);
      const result = await execute(erp, PROJECTS_QUERY, { r: sample.map((project) => ({ __typename: 'Project', id: project.id })) });
      expect(result.errors).toBeUndefined();
      const sumOf = (project: SeedProject, type: string) =>
        count('SELECT COALESCE(SUM(amount_minor), 0) FROM posting WHERE job_id = ? AND type = ?', project.erpId, type);
      sample.forEach((project, i) => {
        const financials = result.data!['_entities'][i].financials;
        const [budget, cost, revenue, billed, unbilled, margin] = ['budget', 'cost', 'recognizedRevenue', 'billed', 'unbilled', 'margin'].map((field) => {
          expect(financials[field].currency).toBe(project.currency);
          return parseMinor(financials[field].amount);
        }) as [number, number, number, number, number, number];
        expect(budget).toBe(project.budgetMinor);
        expect(cost).toBe(sumOf(project, 'TIME_COST'));
        expect(revenue).toBe(sumOf(project, 'REVENUE'));
        expect(billed).toBe(sumOf(project, 'BILLING'));
        expect(unbilled).toBe(revenue - billed);
        expect(margin).toBe(revenue - cost);
        if (revenue === 0) expect(financials.marginPercent).toBeNull();
        else expect(financials.marginPercent).toBeCloseTo(margin / revenue, 12);
      });
      const marginPercents = sample.map((_, i) => result.data!['_entities'][i].financials.marginPercent);
      expect(marginPercents.some((value) => value === null)).toBe(true);
      expect(marginPercents.some((value) => typeof value === 'number')).toBe(true);
    });
  });

  describe('billedVsUnbilled', () => {
    const report = async (groupBy: string[], filter?: Record<string, unknown>) => {
      const result = await execute<{ billedVsUnbilled: ReportRow[] }>(erp, REPORT_QUERY, { groupBy, filter });
      expect(result.errors).toBeUndefined();
      return result.data!.billedVsUnbilled;
    };
    const totalsByCurrency = (rows: readonly ReportRow[]) => {
      const totals: Record<string, { revenue: number; billed: number; unbilled: number }> = {};
      for (const row of rows) {
        const total = (totals[row.currency] ??= { revenue: 0, billed: 0, unbilled: 0 });
        total.revenue += parseMinor(row.recognizedRevenue.amount);
        total.billed += parseMinor(row.billed.amount);
        total.unbilled += parseMinor(row.unbilled.amount);
      }
      return totals;
    };

    it('groups by region and month exactly as the postings add up', async () => {
      const regionOf = new Map(world.projects.map((project) => [project.id, project.region]));
      const postings = db()
        .prepare(
          "SELECT j.external_id AS projectId, j.currency, p.period, p.type, p.amount_minor AS amount FROM posting p JOIN job j ON j.id = p.job_id WHERE p.period BETWEEN '2025-04' AND '2026-09'",
        )
        .all() as Array<{ projectId: string; currency: string; period: string; type: string; amount: number }>;
      const expected = new Map<string, { revenue: number; billed: number }>();
      for (const posting of postings) {
        if (posting.type === 'TIME_COST') continue;
        const key = `${regionOf.get(posting.projectId)}|${posting.period}|${posting.currency}`;
        const bucket = expected.get(key) ?? { revenue: 0, billed: 0 };
        if (posting.type === 'REVENUE') bucket.revenue += posting.amount;
        else bucket.billed += posting.amount;
        expected.set(key, bucket);
      }
      const rows = await report(['REGION', 'MONTH'], { fromMonth: '2025-04', toMonth: '2026-09' });
      expect(rows.every((row) => row.project === null && row.region !== null && row.month !== null)).toBe(true);
      const actual = new Map(
        rows.map((row) => [
          `${row.region}|${row.month}|${row.currency}`,
          { revenue: parseMinor(row.recognizedRevenue.amount), billed: parseMinor(row.billed.amount), unbilled: parseMinor(row.unbilled.amount) },
        ]),
      );
      expect(actual.size).toBe(rows.length);
      expect(actual).toEqual(new Map([...expected].map(([key, { revenue, billed }]) => [key, { revenue, billed, unbilled: revenue - billed }])));
      expect(new Set(rows.map((row) => row.month)).size).toBe(18);
    });

    it('agrees on the totals whichever way it is grouped', async () => {
      const groupings = [['PROJECT'], ['REGION'], ['MONTH'], ['REGION', 'MONTH'], ['PROJECT', 'MONTH'], ['MONTH', 'PROJECT', 'REGION']];
      const totals = await Promise.all(groupings.map(async (groupBy) => totalsByCurrency(await report(groupBy))));
      expect(Object.keys(totals[0]!).sort()).toEqual(['AUD', 'EUR', 'GBP', 'USD']);
      for (const other of totals.slice(1)) expect(other).toEqual(totals[0]);
    });

    it('sets project and region on project rows, and matches each project’s own financials', async () => {
      const billed = plans.filter(({ billing }) => billing.invoices.some((invoice) => invoice.status === 'PAID'));
      const picked = billed.slice(0, 3).map(({ project }) => project);
      // A project with nothing posted yet has no row: the report sums postings, it does not list projects.
      const notStarted = plans.find(({ project }) => project.status === 'PLANNED')!.project;
      const rows = await report(['PROJECT'], { projectIds: [...picked, notStarted].map((project) => project.id) });
      expect(rows.map((row) => [row.project?.id, row.region, row.month, row.currency])).toEqual(
        [...picked].sort((a, b) => (a.id < b.id ? -1 : 1)).map((project) => [project.id, project.region, null, project.currency]),
      );
      const entities = await execute(erp, PROJECTS_QUERY, { r: rows.map((row) => ({ __typename: 'Project', id: row.project!.id })) });
      rows.forEach((row, i) => {
        const financials = entities.data!['_entities'][i].financials;
        expect([row.recognizedRevenue, row.billed, row.unbilled]).toEqual([financials.recognizedRevenue, financials.billed, financials.unbilled]);
      });
    });

    it('resolves the fields of the projects it returns', async () => {
      const project = world.projects.find((candidate) => candidate.status === 'ACTIVE')!;
      const result = await execute(
        erp,
        `{ billedVsUnbilled(groupBy: [PROJECT], filter: { projectIds: ["${project.id}"] }) { project { id contract { erpProjectId } } } }`,
      );
      expect(result.data!['billedVsUnbilled']).toEqual([{ project: { id: project.id, contract: { erpProjectId: String(project.erpId) } } }]);
    });

    it('filters by region and by month range', async () => {
      const rows = await report(['REGION', 'MONTH'], { region: ['APAC'], fromMonth: '2026-01', toMonth: '2026-03' });
      expect(rows.map((row) => [row.region, row.month, row.currency])).toEqual([
        ['APAC', '2026-01', 'AUD'],
        ['APAC', '2026-02', 'AUD'],
        ['APAC', '2026-03', 'AUD'],
      ]);
    });

    it('computes the report in one SQL statement, whatever the volume', async () => {
      const before = await sqlStatements(erp);
      await report(['PROJECT', 'MONTH']);
      expect((await sqlStatements(erp)) - before).toBe(1);
    });

    it.each([
      {
        name: 'an empty groupBy',
        groupBy: [],
        filter: undefined,
        code: 'BAD_USER_INPUT',
        message: 'Argument "groupBy" must name at least one of PROJECT, REGION, MONTH.',
      },
      {
        name: 'a month that is not YYYY-MM',
        groupBy: ['MONTH'],
        filter: { fromMonth: '2026-13' },
        code: 'BAD_USER_INPUT',
        message: 'Argument "filter.fromMonth" must be a month like "2026-10", got "2026-13".',
      },
      {
        name: 'an inverted month range',
        groupBy: ['MONTH'],
        filter: { fromMonth: '2026-05', toMonth: '2026-01' },
        code: 'INVALID_DATE_RANGE',
        message: 'Argument "filter" is inverted: fromMonth (2026-05) is after toMonth (2026-01).',
      },
      {
        name: 'a project ID that is not canonical',
        groupBy: ['PROJECT'],
        filter: { projectIds: ['20012'] },
        code: 'INVALID_ID',
        message: 'Argument "filter.projectIds" has an invalid ID "20012": expected a canonical project ID (prj_ followed by a 26-character ULID).',
      },
      {
        name: 'more than 100 project IDs',
        groupBy: ['PROJECT'],
        filter: { projectIds: Array.from({ length: 101 }, () => 'prj_01HZZZZZZZZZZZZZZZZZZZZZZZ') },
        code: 'BAD_USER_INPUT',
        message: 'Argument "filter.projectIds" lists 101 projects; at most 100 are allowed.',
      },
    ])('rejects $name with $code', async ({ groupBy, filter, code, message }) => {
      const before = await sqlStatements(erp);
      const result = await execute(erp, REPORT_QUERY, { groupBy, filter });
      expect(result.errors).toHaveLength(1);
      expect(result.errors?.[0]?.extensions?.['code']).toBe(code);
      expect(result.errors?.[0]?.message).toBe(message);
      expect(await sqlStatements(erp)).toBe(before);
    });
  });

  describe('N+1', () => {
    const statementsFor = async (query: string, representations: object[]) => {
      const before = await sqlStatements(erp);
      const result = await execute(erp, query, { r: representations });
      expect(result.errors).toBeUndefined();
      expect(result.data!['_entities']).toHaveLength(representations.length);
      return (await sqlStatements(erp)) - before;
    };

    it('costs the same SQL statements for 50 Project references as for 5, every field selected', async () => {
      const projects = plans.filter(({ project }) => project.status !== 'PLANNED').map(({ project }) => ({ __typename: 'Project', id: project.id }));
      const five = await statementsFor(PROJECTS_QUERY, projects.slice(0, 5));
      const fifty = await statementsFor(PROJECTS_QUERY, projects.slice(100, 150));
      expect(fifty).toBe(five);
      // job, legal entity, rate card, rate card lines, billing schedule, schedule lines, ledger totals
      expect(five).toBe(7);
    });

    it('costs the same SQL statements for 50 Account references as for 5', async () => {
      const accounts = world.accounts.map((account) => ({ __typename: 'Account', id: account.crmId }));
      const five = await statementsFor(ACCOUNTS_QUERY, accounts.slice(0, 5));
      const fifty = await statementsFor(ACCOUNTS_QUERY, accounts.slice(200, 250));
      expect(fifty).toBe(five);
      expect(five).toBe(2);
    });
  });
});
