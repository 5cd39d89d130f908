/**
 * The billing sandbox and subgraph: seed invariants, the rules the store enforces, entities, lists and argument
 * errors. One file, longer than the house's ~400 lines, because its cases share one store seeded at the default
 * volume (seconds of work): split across files, each file would seed its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayFromIso, formatMinor, isCanonicalProjectId, isStripeId, isoFromDay } from '../../platform/src/index.js';
import { billingCustomerIdOf, buildWorld } from '../../sandboxes/src/world/world.js';
import { execute, sqlStatements, temporaryDataDir } from '../../platform/test/testSupport.js';
import { Kind, type ObjectTypeDefinitionNode, print } from 'graphql';
import { type BillingSubgraph, billingTypeDefs, createBillingSubgraph, sandboxBillingAdapter } from '../src/billingSubgraph.js';
import type { BillingInvoice, InvoiceStatus } from '../src/billingPort.js';
import { InvalidPaymentAmountError, InvalidTransitionError, InvoiceNotFoundError } from '../src/invoiceLifecycle.js';
import type { Caller } from '../../platform/src/index.js';
import { billingFor } from '../src/billingAccess.js';
import { type SandboxBilling, openSandboxBilling } from '../src/sandbox/sandboxBilling.js';

const world = { scale: 1, seed: 7, asOf: '2026-11-01' };
/** The sandbox clock is pinned to the world's "today", so overdue is what the seed meant it to be. */
const TODAY = '2026-11-01';
const clock = () => new Date(`${TODAY}T12:00:00Z`);
const seedWorld = buildWorld(world);

const STATUSES: readonly InvoiceStatus[] = ['DRAFT', 'OPEN', 'PAID', 'VOID', 'UNCOLLECTIBLE'];
/** Stripe's lifecycle, written out independently of the implementation's table. */
const ALLOWED = new Set(['DRAFT>OPEN', 'OPEN>PAID', 'OPEN>VOID', 'OPEN>UNCOLLECTIBLE', 'UNCOLLECTIBLE>PAID', 'UNCOLLECTIBLE>VOID']);
const PAIRS = STATUSES.flatMap((from) => STATUSES.filter((to) => to !== from).map((to) => [from, to] as const));

const MONEY = '{ amount currency }';
const INVOICE_FIELDS = `id number status description project { id } account { id } customerId currency
  subtotal ${MONEY} tax ${MONEY} total ${MONEY} amountDue ${MONEY} amountPaid ${MONEY} amountRemaining ${MONEY}
  servicePeriodStart servicePeriodEnd createdDate finalizedDate dueDate paidDate voidedDate markedUncollectibleDate
  isOverdue daysOverdue isPartiallyPaid payments { id amount ${MONEY} receivedDate }`;
const SUMMARY_FIELDS = `invoiceCount billed ${MONEY} paid ${MONEY} outstanding ${MONEY} overdue ${MONEY} overdueCount lastInvoiceStatus lastInvoiceDate`;
const ENTITIES = `query ($r: [_Any!]!) { _entities(representations: $r) {
  ... on Project { id invoices { ${INVOICE_FIELDS} } openInvoices: invoices(status: [OPEN]) { id } invoiceSummary { ${SUMMARY_FIELDS} } }
  ... on Invoice { id status total ${MONEY} }
  ... on Account { id receivables { currency outstanding ${MONEY} overdue ${MONEY} openInvoiceCount } } } }`;

/**
 * Opens a freshly seeded sandbox in its own folder, with the pinned clock, and (when `withSubgraph`) the
 * subgraph over it. The lifecycle suite goes without: it never runs an operation, and a service that never
 * started cannot be stopped.
 */
function seededSandbox(prefix: string, withSubgraph: boolean) {
  const data = temporaryDataDir(prefix);
  const state: { sandbox: SandboxBilling; subgraph: BillingSubgraph; seedMs: number } = {} as never;
  beforeAll(() => {
    const started = Date.now();
    state.sandbox = openSandboxBilling(data.dir, world, clock);
    state.seedMs = Date.now() - started;
    if (withSubgraph)
      state.subgraph = createBillingSubgraph(
        { dataDir: data.dir, world, production: false },
        { adapter: sandboxBillingAdapter({ dataDir: data.dir, world }, state.sandbox) },
      );
  });
  afterAll(async () => {
    if (withSubgraph) await state.subgraph.stop();
    else state.sandbox.close();
    data.remove();
  });
  return state;
}

describe('billing sandbox at the default seed volume', () => {
  const seeded = seededSandbox('billing-read', true);
  const db = () => seeded.sandbox.store.db;
  const count = (sql: string, ...params: unknown[]) =>
    db()
      .prepare(sql)
      .pluck()
      .get(...params) as number;

  it('seeds at least 12,000 invoices in every status, from nothing, in a few seconds', () => {
    expect(count('SELECT COUNT(*) FROM invoice')).toBeGreaterThanOrEqual(12_000);
    for (const status of STATUSES) expect(count('SELECT COUNT(*) FROM invoice WHERE status = ?', status), status).toBeGreaterThan(0);
    expect(seeded.seedMs).toBeLessThan(10_000);
  });

  it('issues only Stripe-format IDs: in_ for invoices, cus_ for customers, py_ for payments', () => {
    const ids = (sql: string) => db().prepare(sql).pluck().all() as string[];
    expect(ids('SELECT id FROM invoice').every((id) => isStripeId(id, 'in'))).toBe(true);
    expect(ids('SELECT id FROM customer').every((id) => isStripeId(id, 'cus'))).toBe(true);
    expect(ids('SELECT id FROM payment').every((id) => isStripeId(id, 'py'))).toBe(true);
  });

  it('numbers every finalized invoice uniquely and leaves drafts unnumbered', () => {
    expect(count('SELECT COUNT(DISTINCT number) FROM invoice')).toBe(count('SELECT COUNT(number) FROM invoice'));
    expect(count("SELECT COUNT(*) FROM invoice WHERE number IS NULL AND status <> 'DRAFT'")).toBe(0);
    expect(count("SELECT COUNT(*) FROM invoice WHERE number IS NOT NULL AND status = 'DRAFT'")).toBe(0);
  });

  it('bills only projects of the world, each to its account’s customer in the project’s currency', () => {
    const projects = new Map(seedWorld.projects.map((project) => [project.id, project]));
    const rows = db().prepare('SELECT project_id, customer_id, currency FROM billing_project').all() as Array<{
      project_id: string;
      customer_id: string;
      currency: string;
    }>;
    expect(rows).toHaveLength(seedWorld.projects.length);
    for (const row of rows) {
      const project = projects.get(row.project_id)!;
      expect(project, row.project_id).toBeDefined();
      expect(row.customer_id).toBe(billingCustomerIdOf(seedWorld, seedWorld.accounts[project.accountIndex]!));
      expect(row.currency).toBe(project.currency);
    }
    const invoicedProjects = db().prepare('SELECT DISTINCT project_id FROM invoice').pluck().all() as string[];
    expect(invoicedProjects.every((id) => projects.has(id) && isCanonicalProjectId(id))).toBe(true);
    expect(invoicedProjects.length).toBeLessThan(seedWorld.projects.length);
  });

  it('links each customer to exactly one CRM account through its metadata', () => {
    const customers = db().prepare('SELECT id, crm_account_id FROM customer').all() as Array<{ id: string; crm_account_id: string }>;
    const accounts = new Map(seedWorld.accounts.map((account) => [account.crmId, account]));
    for (const customer of customers) expect(billingCustomerIdOf(seedWorld, accounts.get(customer.crm_account_id)!)).toBe(customer.id);
    expect(customers).toHaveLength(seedWorld.accounts.filter((account) => account.billingCustomerSequence !== null).length);
  });

  it('keeps every invoice’s amount paid equal to the sum of its payments', () => {
    expect(
      count('SELECT COUNT(*) FROM invoice i WHERE amount_paid_minor <> (SELECT COALESCE(SUM(amount_minor), 0) FROM payment WHERE invoice_id = i.id)'),
    ).toBe(0);
    expect(count("SELECT COUNT(*) FROM invoice WHERE status = 'PAID' AND amount_paid_minor <> total_minor")).toBe(0);
  });

  it('has open invoices that are partially paid and open invoices that are overdue', async () => {
    const result = await execute(
      seeded.subgraph,
      '{ partly: invoices(filter: { partiallyPaid: true }) { totalCount } late: invoices(filter: { overdue: true }) { totalCount } }',
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!['partly'].totalCount).toBeGreaterThan(0);
    expect(result.data!['late'].totalCount).toBeGreaterThan(0);
  });

  describe('invoices query', () => {
    const project = seedWorld.projects.find((candidate) => candidate.contractType === 'TIME_AND_MATERIALS' && candidate.status === 'COMPLETED')!;
    const accountId = seedWorld.accounts[project.accountIndex]!.crmId;
    const cases: ReadonlyArray<readonly [string, string, string]> = [
      ['status', '{ status: [OPEN, UNCOLLECTIBLE] }', "i.status IN ('OPEN', 'UNCOLLECTIBLE')"],
      ['project', `{ projectId: "${project.id}" }`, `i.project_id = '${project.id}'`],
      ['account', `{ accountId: "${accountId}" }`, `c.crm_account_id = '${accountId}'`],
      ['overdue', '{ overdue: true }', `i.status = 'OPEN' AND i.due_date < '${TODAY}'`],
      ['not overdue', '{ overdue: false }', `NOT (i.status = 'OPEN' AND i.due_date < '${TODAY}')`],
      ['partially paid', '{ partiallyPaid: true }', "i.status = 'OPEN' AND i.amount_paid_minor > 0"],
      ['not partially paid', '{ partiallyPaid: false }', "NOT (i.status = 'OPEN' AND i.amount_paid_minor > 0)"],
      ['created date range', '{ createdDate: { from: "2026-01-01", to: "2026-03-31" } }', "i.created_date BETWEEN '2026-01-01' AND '2026-03-31'"],
      ['created date from only', '{ createdDate: { from: "2026-10-01" } }', "i.created_date >= '2026-10-01'"],
      ['due date range', '{ dueDate: { from: "2026-10-01", to: "2026-10-31" } }', "i.due_date BETWEEN '2026-10-01' AND '2026-10-31'"],
      [
        'several filters at once',
        `{ status: [PAID], accountId: "${accountId}", dueDate: { to: "2026-06-30" } }`,
        `i.status = 'PAID' AND c.crm_account_id = '${accountId}' AND i.due_date <= '2026-06-30'`,
      ],
    ];

    it.each(cases)('narrows by %s to exactly the invoices SQL finds, newest first', async (_name, filter, where) => {
      const expected = db()
        .prepare(`SELECT i.id FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE ${where} ORDER BY i.created_date DESC, i.id DESC LIMIT 100`)
        .pluck()
        .all() as string[];
      const total = count(`SELECT COUNT(*) FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE ${where}`);
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThan(count('SELECT COUNT(*) FROM invoice'));
      const result = await execute(seeded.subgraph, `{ invoices(first: 100, filter: ${filter}) { totalCount nodes { id createdDate } } }`);
      expect(result.errors).toBeUndefined();
      const page = result.data!['invoices'];
      expect(page.totalCount).toBe(total);
      expect(page.nodes.map((node: { id: string }) => node.id)).toEqual(expected);
      const dates = page.nodes.map((node: { createdDate: string }) => node.createdDate);
      expect(dates).toEqual([...dates].sort().reverse());
    });

    it('pages with stable cursors and the same total on every page', async () => {
      const query =
        'query ($after: String) { invoices(first: 50, after: $after, filter: { status: [OPEN] }) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id status } } }';
      const first = (await execute(seeded.subgraph, query)).data!['invoices'];
      const second = (await execute(seeded.subgraph, query, { after: first.pageInfo.endCursor })).data!['invoices'];
      expect(first.nodes).toHaveLength(50);
      expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      expect(second.pageInfo.hasPreviousPage).toBe(true);
      expect(second.totalCount).toBe(first.totalCount);
      const ids = [...first.nodes, ...second.nodes].map((node: { id: string }) => node.id);
      expect(new Set(ids).size).toBe(100);
      expect([...first.nodes, ...second.nodes].every((node: { status: string }) => node.status === 'OPEN')).toBe(true);
    });
  });

  it('returns an invoice with its amounts, dates, overdue view and payments as the store holds them', async () => {
    const row = db()
      .prepare(
        `SELECT i.*, c.crm_account_id FROM invoice i JOIN customer c ON c.id = i.customer_id
         WHERE i.status = 'OPEN' AND i.amount_paid_minor > 0 AND i.due_date < ? ORDER BY i.id LIMIT 1`,
      )
      .get(TODAY) as Record<string, any>;
    const payment = db().prepare('SELECT id, amount_minor, received_date FROM payment WHERE invoice_id = ?').get(row['id']) as Record<string, any>;
    const money = (minor: number) => ({ amount: formatMinor(minor), currency: row['currency'] });
    const result = await execute(seeded.subgraph, `query ($id: ID!) { invoice(id: $id) { ${INVOICE_FIELDS} } }`, { id: row['id'] });
    expect(result.errors).toBeUndefined();
    expect(result.data!['invoice']).toEqual({
      id: row['id'],
      number: row['number'],
      status: 'OPEN',
      description: row['description'],
      project: { id: row['project_id'] },
      account: { id: row['crm_account_id'] },
      customerId: row['customer_id'],
      currency: row['currency'],
      subtotal: money(row['subtotal_minor']),
      tax: money(row['tax_minor']),
      total: money(row['total_minor']),
      amountDue: money(row['total_minor']),
      amountPaid: money(row['amount_paid_minor']),
      amountRemaining: money(row['total_minor'] - row['amount_paid_minor']),
      servicePeriodStart: row['service_period_start'],
      servicePeriodEnd: row['service_period_end'],
      createdDate: row['created_date'],
      finalizedDate: row['finalized_date'],
      dueDate: row['due_date'],
      paidDate: null,
      voidedDate: null,
      markedUncollectibleDate: null,
      isOverdue: true,
      daysOverdue: dayFromIso(TODAY) - dayFromIso(row['due_date']),
      isPartiallyPaid: true,
      payments: [{ id: payment['id'], amount: money(payment['amount_minor']), receivedDate: payment['received_date'] }],
    });
  });

  it('does not call an open invoice due today overdue', async () => {
    const id = db().prepare("SELECT id FROM invoice WHERE status = 'OPEN' AND due_date >= ? LIMIT 1").pluck().get(TODAY) as string;
    const result = await execute(seeded.subgraph, `{ invoice(id: "${id}") { isOverdue daysOverdue } }`);
    expect(result.data!['invoice']).toEqual({ isOverdue: false, daysOverdue: null });
  });

  it('answers null for a well-formed invoice ID the billing system does not hold', async () => {
    const result = await execute(seeded.subgraph, '{ invoice(id: "in_000000000000000000000000") { id } }');
    expect(result).toEqual({ data: { invoice: null } });
  });

  it('rolls up each project’s invoices exactly as a direct SQL computation does', async () => {
    const withoutInvoices = db()
      .prepare('SELECT project_id FROM billing_project p WHERE NOT EXISTS (SELECT 1 FROM invoice WHERE project_id = p.project_id) LIMIT 1')
      .pluck()
      .get() as string;
    const withOverdue = db().prepare("SELECT project_id FROM invoice WHERE status = 'OPEN' AND due_date < ? LIMIT 3").pluck().all(TODAY) as string[];
    const projectIds = [withoutInvoices, ...withOverdue, ...seedWorld.projects.slice(0, 25).map((project) => project.id)];
    const expected = projectIds.map((id) => {
      const currency = db().prepare('SELECT currency FROM billing_project WHERE project_id = ?').pluck().get(id) as string;
      const sum = (where: string, value = 'total_minor') => count(`SELECT COALESCE(SUM(${value}), 0) FROM invoice WHERE project_id = ? AND ${where}`, id);
      const newest = db().prepare('SELECT status, created_date FROM invoice WHERE project_id = ? ORDER BY created_date DESC, id DESC LIMIT 1').get(id) as
        { status: string; created_date: string } | undefined;
      const money = (minor: number) => ({ amount: formatMinor(minor), currency });
      return {
        id,
        invoiceSummary: {
          invoiceCount: count('SELECT COUNT(*) FROM invoice WHERE project_id = ?', id),
          billed: money(sum("status IN ('OPEN', 'PAID', 'UNCOLLECTIBLE')")),
          paid: money(sum("status IN ('OPEN', 'PAID', 'UNCOLLECTIBLE')", 'amount_paid_minor')),
          outstanding: money(sum("status = 'OPEN'", 'total_minor - amount_paid_minor')),
          overdue: money(sum(`status = 'OPEN' AND due_date < '${TODAY}'`, 'total_minor - amount_paid_minor')),
          overdueCount: count(`SELECT COUNT(*) FROM invoice WHERE project_id = ? AND status = 'OPEN' AND due_date < '${TODAY}'`, id),
          lastInvoiceStatus: newest?.status ?? null,
          lastInvoiceDate: newest?.created_date ?? null,
        },
      };
    });
    const result = await execute(
      seeded.subgraph,
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Project { id invoiceSummary { ${SUMMARY_FIELDS} } } } }`,
      {
        r: projectIds.map((id) => ({ __typename: 'Project', id })),
      },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!['_entities']).toEqual(expected);
    expect(expected[0]!.invoiceSummary.invoiceCount).toBe(0);
    expect(expected.some((project) => project.invoiceSummary.overdueCount > 0)).toBe(true);
  });

  it('lists a project’s invoices newest first, and only the statuses asked for', async () => {
    const project = {
      id: db()
        .prepare("SELECT project_id FROM invoice WHERE status = 'OPEN' AND project_id IN (SELECT project_id FROM invoice WHERE status = 'PAID') LIMIT 1")
        .pluck()
        .get() as string,
    };
    const expected = db().prepare('SELECT id FROM invoice WHERE project_id = ? ORDER BY created_date DESC, id DESC').pluck().all(project.id);
    const expectedPaid = db()
      .prepare("SELECT id FROM invoice WHERE project_id = ? AND status = 'PAID' ORDER BY created_date DESC, id DESC")
      .pluck()
      .all(project.id);
    const result = await execute(
      seeded.subgraph,
      `{ _entities(representations: [{ __typename: "Project", id: "${project.id}" }]) { ... on Project { invoices { id } paid: invoices(status: [PAID]) { id } } } }`,
    );
    expect(result.errors).toBeUndefined();
    const entity = result.data!['_entities'][0];
    expect(entity.invoices.map((invoice: { id: string }) => invoice.id)).toEqual(expected);
    expect(entity.paid.map((invoice: { id: string }) => invoice.id)).toEqual(expectedPaid);
    expect(expectedPaid.length).toBeGreaterThan(0);
    expect(expectedPaid.length).toBeLessThan(expected.length);
  });

  it('resolves Invoice and Account references, with receivables per currency from the account’s customer', async () => {
    const invoice = db().prepare("SELECT id, total_minor, currency FROM invoice WHERE status = 'UNCOLLECTIBLE' LIMIT 1").get() as {
      id: string;
      total_minor: number;
      currency: string;
    };
    const multiCurrency = db()
      .prepare(
        `SELECT c.crm_account_id FROM customer c JOIN invoice i ON i.customer_id = c.id AND i.status = 'OPEN'
         GROUP BY c.id HAVING COUNT(DISTINCT i.currency) > 1 LIMIT 1`,
      )
      .pluck()
      .get() as string | undefined;
    const single = db()
      .prepare("SELECT c.crm_account_id FROM customer c JOIN invoice i ON i.customer_id = c.id AND i.status = 'OPEN' LIMIT 1")
      .pluck()
      .get() as string;
    const prospect = seedWorld.accounts.find((account) => account.billingCustomerSequence === null)!.crmId;
    const accounts = [single, ...(multiCurrency ? [multiCurrency] : []), prospect];
    const receivables = (accountId: string) =>
      (
        db()
          .prepare(
            `SELECT i.currency, SUM(i.total_minor - i.amount_paid_minor) AS outstanding,
               SUM(CASE WHEN i.due_date < ? THEN i.total_minor - i.amount_paid_minor ELSE 0 END) AS overdue, COUNT(*) AS n
             FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE c.crm_account_id = ? AND i.status = 'OPEN'
             GROUP BY i.currency ORDER BY i.currency`,
          )
          .all(TODAY, accountId) as Array<{ currency: string; outstanding: number; overdue: number; n: number }>
      ).map((row) => ({
        currency: row.currency,
        outstanding: { amount: formatMinor(row.outstanding), currency: row.currency },
        overdue: { amount: formatMinor(row.overdue), currency: row.currency },
        openInvoiceCount: row.n,
      }));
    const result = await execute(seeded.subgraph, ENTITIES, {
      r: [{ __typename: 'Invoice', id: invoice.id }, ...accounts.map((id) => ({ __typename: 'Account', id }))],
    });
    expect(result.errors).toBeUndefined();
    expect(result.data!['_entities']).toEqual([
      { id: invoice.id, status: 'UNCOLLECTIBLE', total: { amount: formatMinor(invoice.total_minor), currency: invoice.currency } },
      ...accounts.map((id) => ({ id, receivables: receivables(id) })),
    ]);
    expect(receivables(single).length).toBeGreaterThan(0);
    expect(receivables(prospect)).toEqual([]);
  });

  describe('rejects bad arguments with a stable code', () => {
    const cases: ReadonlyArray<readonly [string, string, Record<string, unknown>]> = [
      [
        'an invoice ID that is not in_ format',
        '{ invoice(id: "inv_123") { id } }',
        { code: 'INVALID_ID', message: 'Argument "id" has an invalid ID "inv_123": expected a Stripe invoice ID (in_ and 24 letters or digits).' },
      ],
      [
        'a project filter that is not a canonical project ID',
        '{ invoices(filter: { projectId: "PRJ-10001" }) { totalCount } }',
        {
          code: 'INVALID_ID',
          message: 'Argument "filter.projectId" has an invalid ID "PRJ-10001": expected a canonical project ID (prj_ and a 26-character ULID).',
        },
      ],
      [
        'an account filter that is not a Salesforce Account ID',
        '{ invoices(filter: { accountId: "0065g0000004CthAAE" }) { totalCount } }',
        {
          code: 'INVALID_ID',
          message: 'Argument "filter.accountId" has an invalid ID "0065g0000004CthAAE": expected an 18-character Salesforce Account ID (prefix 001).',
        },
      ],
      [
        'an inverted created date range',
        '{ invoices(filter: { createdDate: { from: "2026-05-01", to: "2026-01-01" } }) { totalCount } }',
        { code: 'INVALID_DATE_RANGE', message: 'Argument "filter.createdDate" is inverted: from (2026-05-01) is after to (2026-01-01).' },
      ],
      [
        'an inverted due date range',
        '{ invoices(filter: { dueDate: { from: "2026-12-01", to: "2026-11-01" } }) { totalCount } }',
        { code: 'INVALID_DATE_RANGE', message: 'Argument "filter.dueDate" is inverted: from (2026-12-01) is after to (2026-11-01).' },
      ],
      ['a page larger than 100', '{ invoices(first: 101) { totalCount } }', { code: 'PAGE_SIZE_OUT_OF_RANGE', maximum: 100 }],
      ['an empty page', '{ invoices(first: 0) { totalCount } }', { code: 'PAGE_SIZE_OUT_OF_RANGE' }],
      [
        'a cursor issued by another list',
        `{ invoices(after: "${Buffer.from('opportunities:1').toString('base64url')}") { totalCount } }`,
        { code: 'INVALID_CURSOR', message: 'Argument "after" is not a cursor issued by invoices.' },
      ],
      [
        'an Invoice reference with a malformed id',
        '{ _entities(representations: [{ __typename: "Invoice", id: "42" }]) { ... on Invoice { id } } }',
        { code: 'INVALID_ID', message: 'Invoice reference has an invalid id "42".' },
      ],
      [
        'a Project reference with a malformed id',
        '{ _entities(representations: [{ __typename: "Project", id: "20001" }]) { ... on Project { id } } }',
        { code: 'INVALID_ID', message: 'Project reference has an invalid id "20001".' },
      ],
      [
        'an Account reference with a malformed id',
        '{ _entities(representations: [{ __typename: "Account", id: "cus_x" }]) { ... on Account { id } } }',
        { code: 'INVALID_ID', message: 'Account reference has an invalid id "cus_x".' },
      ],
      [
        'a summary of a project the billing system does not know',
        '{ _entities(representations: [{ __typename: "Project", id: "prj_01HZZZZZZZZZZZZZZZZZZZZZZZ" }]) { ... on Project { invoices { id } invoiceSummary { invoiceCount } } } }',
        { code: 'NOT_FOUND', message: 'Billing has no billing profile for project prj_01HZZZZZZZZZZZZZZZZZZZZZZZ.' },
      ],
    ];

    it.each(cases)('rejects %s', async (_name, query, expected) => {
      const result = await execute(seeded.subgraph, query);
      expect(result.errors).toHaveLength(1);
      const { message, ...extensions } = expected;
      if (message !== undefined) expect(result.errors![0]!.message).toBe(message);
      expect(result.errors![0]!.extensions).toMatchObject(extensions);
    });
  });

  it('costs the same number of SQL statements for 50 projects as for 5, every field selected', async () => {
    const statementsFor = async (projectCount: number) => {
      const representations = seedWorld.projects.slice(100, 100 + projectCount).map((project) => ({ __typename: 'Project', id: project.id }));
      const before = await sqlStatements(seeded.subgraph);
      const result = await execute(seeded.subgraph, ENTITIES, { r: representations });
      expect(result.errors).toBeUndefined();
      expect(result.data!['_entities']).toHaveLength(projectCount);
      const invoices = result.data!['_entities'].flatMap((project: { invoices: unknown[] }) => project.invoices);
      expect(invoices.length).toBeGreaterThan(projectCount);
      return (await sqlStatements(seeded.subgraph)) - before;
    };
    const forFive = await statementsFor(5);
    const forFifty = await statementsFor(50);
    expect(forFifty).toBe(forFive);
    // One batch each: the projects' invoices, those invoices' payments, and the grouped summary.
    expect(forFive).toBe(3);
  });
});

describe('invoice lifecycle in the billing sandbox', () => {
  const seeded = seededSandbox('billing-lifecycle', false);
  const db = () => seeded.sandbox.store.db;
  const taken = new Set<string>();
  /** A seeded invoice in `status` that no other test has touched. */
  const anInvoice = (status: InvoiceStatus, where = '1 = 1'): BillingInvoice => {
    const ids = db().prepare(`SELECT id FROM invoice WHERE status = ? AND ${where} ORDER BY id`).pluck().all(status) as string[];
    const id = ids.find((candidate) => !taken.has(candidate));
    if (!id) throw new Error(`no untouched ${status} invoice where ${where}`);
    taken.add(id);
    return read(id);
  };
  const read = (id: string): BillingInvoice => {
    const row = db().prepare('SELECT * FROM invoice WHERE id = ?').get(id) as Record<string, any>;
    return {
      id: row['id'],
      number: row['number'],
      status: row['status'],
      description: row['description'],
      projectId: row['project_id'],
      customerId: row['customer_id'],
      crmAccountId: db().prepare('SELECT crm_account_id FROM customer WHERE id = ?').pluck().get(row['customer_id']) as string,
      currency: row['currency'],
      subtotalMinor: row['subtotal_minor'],
      taxMinor: row['tax_minor'],
      totalMinor: row['total_minor'],
      amountDueMinor: row['total_minor'] - row['pre_payment_credit_minor'],
      amountPaidMinor: row['amount_paid_minor'],
      creditedMinor: row['pre_payment_credit_minor'] + row['post_payment_credit_minor'],
      servicePeriodStart: row['service_period_start'],
      servicePeriodEnd: row['service_period_end'],
      createdDate: row['created_date'],
      finalizedDate: row['finalized_date'],
      dueDate: row['due_date'],
      paidDate: row['paid_date'],
      voidedDate: row['voided_date'],
      markedUncollectibleDate: row['marked_uncollectible_date'],
    };
  };
  const paymentsOf = (id: string) =>
    db().prepare('SELECT id, amount_minor AS amountMinor, received_date AS receivedDate FROM payment WHERE invoice_id = ? ORDER BY rowid').all(id) as Array<{
      id: string;
      amountMinor: number;
      receivedDate: string;
    }>;

  describe('through the port', () => {
    it('finalizes a draft: numbered after the project’s last number, dated today, due on the customer’s terms', async () => {
      const draft = anInvoice('DRAFT');
      const lastNumber = db().prepare('SELECT MAX(number) FROM invoice WHERE project_id = ?').pluck().get(draft.projectId) as string | null;
      const terms = db().prepare('SELECT days_until_due FROM customer WHERE id = ?').pluck().get(draft.customerId) as number;
      const open = await seeded.sandbox.finalizeInvoice(draft.id);
      expect(open).toEqual({ ...draft, status: 'OPEN', number: open.number, finalizedDate: TODAY, dueDate: isoFromDay(dayFromIso(TODAY) + terms) });
      expect(open.number).toMatch(/^MER-\d{5}-\d{3}$/);
      if (lastNumber !== null) expect(open.number! > lastNumber).toBe(true);
      expect(read(draft.id)).toEqual(open);
    });

    it('keeps a partly paid invoice open, records each payment, and makes it paid with the payment that clears it', async () => {
      const invoice = anInvoice('OPEN', 'amount_paid_minor = 0 AND total_minor > 100');
      const part = Math.floor(invoice.totalMinor / 3);
      const partly = await seeded.sandbox.payInvoice(invoice.id, part);
      expect(partly).toEqual({ ...invoice, amountPaidMinor: part });
      const rest = await seeded.sandbox.payInvoice(invoice.id);
      expect(rest).toEqual({ ...invoice, status: 'PAID', amountPaidMinor: invoice.totalMinor, paidDate: TODAY });
      const payments = paymentsOf(invoice.id);
      expect(payments.map(({ amountMinor, receivedDate }) => ({ amountMinor, receivedDate }))).toEqual([
        { amountMinor: part, receivedDate: TODAY },
        { amountMinor: invoice.totalMinor - part, receivedDate: TODAY },
      ]);
      expect(payments.every((payment) => isStripeId(payment.id, 'py'))).toBe(true);
    });

    it('pays the amount remaining of an invoice that was already partly paid', async () => {
      const invoice = anInvoice('OPEN', 'amount_paid_minor > 0');
      const paid = await seeded.sandbox.payInvoice(invoice.id);
      expect(paid).toMatchObject({ status: 'PAID', amountPaidMinor: invoice.totalMinor, paidDate: TODAY });
      expect(paymentsOf(invoice.id)).toHaveLength(2);
    });

    it('voids an open invoice and marks another uncollectible', async () => {
      const toVoid = anInvoice('OPEN');
      expect(await seeded.sandbox.voidInvoice(toVoid.id)).toEqual({ ...toVoid, status: 'VOID', voidedDate: TODAY });
      const toWriteOff = anInvoice('OPEN');
      expect(await seeded.sandbox.markUncollectible(toWriteOff.id)).toEqual({ ...toWriteOff, status: 'UNCOLLECTIBLE', markedUncollectibleDate: TODAY });
    });

    it('takes a late payment on an uncollectible invoice, partly (still uncollectible) then in full (paid)', async () => {
      const invoice = anInvoice('UNCOLLECTIBLE');
      const partly = await seeded.sandbox.payInvoice(invoice.id, 100);
      expect(partly).toEqual({ ...invoice, amountPaidMinor: 100 });
      const paid = await seeded.sandbox.payInvoice(invoice.id);
      expect(paid).toEqual({ ...invoice, status: 'PAID', amountPaidMinor: invoice.totalMinor, paidDate: TODAY });
    });

    it('voids an uncollectible invoice', async () => {
      const invoice = anInvoice('UNCOLLECTIBLE');
      expect(await seeded.sandbox.voidInvoice(invoice.id)).toEqual({ ...invoice, status: 'VOID', voidedDate: TODAY });
    });

    const operations = {
      finalize: { to: 'OPEN', run: (sandbox: SandboxBilling, id: string) => sandbox.finalizeInvoice(id) },
      pay: { to: 'PAID', run: (sandbox: SandboxBilling, id: string) => sandbox.payInvoice(id) },
      void: { to: 'VOID', run: (sandbox: SandboxBilling, id: string) => sandbox.voidInvoice(id) },
      'mark uncollectible': { to: 'UNCOLLECTIBLE', run: (sandbox: SandboxBilling, id: string) => sandbox.markUncollectible(id) },
    } as const;
    const forbidden = Object.entries(operations).flatMap(([name, operation]) =>
      STATUSES.filter((from) => !ALLOWED.has(`${from}>${operation.to}`)).map((from) => [name, from, operation] as const),
    );

    it('forbids exactly the fourteen operations Stripe does not allow', () => {
      expect(forbidden.map(([name, from]) => `${name} ${from}`)).toEqual([
        'finalize OPEN',
        'finalize PAID',
        'finalize VOID',
        'finalize UNCOLLECTIBLE',
        'pay DRAFT',
        'pay PAID',
        'pay VOID',
        'void DRAFT',
        'void PAID',
        'void VOID',
        'mark uncollectible DRAFT',
        'mark uncollectible PAID',
        'mark uncollectible VOID',
        'mark uncollectible UNCOLLECTIBLE',
      ]);
    });

    it.each(forbidden)('refuses to %s an invoice that is %s, naming both statuses, and changes nothing', async (_name, from, operation) => {
      const invoice = anInvoice(from);
      const payments = paymentsOf(invoice.id);
      const error = await operation.run(seeded.sandbox, invoice.id).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidTransitionError);
      expect(error).toMatchObject({ code: 'INVALID_STATE_TRANSITION', invoiceId: invoice.id, from, to: operation.to });
      expect((error as Error).message).toContain(`cannot move from ${from} to ${operation.to}`);
      expect(read(invoice.id)).toEqual(invoice);
      expect(paymentsOf(invoice.id)).toEqual(payments);
    });

    it.each([
      ['nothing', 0],
      ['a negative amount', -500],
      ['a fraction of a cent', 10.5],
      ['more than the amount remaining', Number.MAX_SAFE_INTEGER],
    ])('refuses a payment of %s', async (_name, amount) => {
      const invoice = anInvoice('OPEN');
      const error = await seeded.sandbox.payInvoice(invoice.id, amount).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidPaymentAmountError);
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT', amountMinor: amount, amountRemainingMinor: invoice.totalMinor - invoice.amountPaidMinor });
      expect(read(invoice.id)).toEqual(invoice);
    });

    it('reports an invoice it does not hold as not found', async () => {
      const error = await seeded.sandbox.voidInvoice('in_000000000000000000000000').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvoiceNotFoundError);
      expect(error).toMatchObject({ code: 'NOT_FOUND', invoiceId: 'in_000000000000000000000000' });
    });
  });

  describe('directly through SQL, where the store’s triggers and constraints are the only guard', () => {
    const sql =
      (statement: string, ...params: unknown[]) =>
      () =>
        db()
          .prepare(statement)
          .run(...params);
    /** The write that makes each allowed move in the store itself, with the columns Stripe sets on the way. */
    const moves: Record<string, (id: string, invoice: BillingInvoice) => void> = {
      'DRAFT>OPEN': (id) =>
        sql("UPDATE invoice SET status = 'OPEN', number = ?, finalized_date = ?, due_date = ? WHERE id = ?", `TEST-${id}`, TODAY, TODAY, id)(),
      'OPEN>PAID': (id, invoice) =>
        sql(
          'INSERT INTO payment (id, invoice_id, amount_minor, received_date) VALUES (?, ?, ?, ?)',
          `py_${id.slice(3)}`,
          id,
          invoice.totalMinor - invoice.amountPaidMinor,
          TODAY,
        )(),
      'OPEN>VOID': (id) => sql("UPDATE invoice SET status = 'VOID', voided_date = ? WHERE id = ?", TODAY, id)(),
      'OPEN>UNCOLLECTIBLE': (id) => sql("UPDATE invoice SET status = 'UNCOLLECTIBLE', marked_uncollectible_date = ? WHERE id = ?", TODAY, id)(),
      'UNCOLLECTIBLE>PAID': (id, invoice) =>
        sql(
          'INSERT INTO payment (id, invoice_id, amount_minor, received_date) VALUES (?, ?, ?, ?)',
          `py_${id.slice(3)}`,
          id,
          invoice.totalMinor - invoice.amountPaidMinor,
          TODAY,
        )(),
      'UNCOLLECTIBLE>VOID': (id) => sql("UPDATE invoice SET status = 'VOID', voided_date = ? WHERE id = ?", TODAY, id)(),
    };
    const allowedPairs = PAIRS.filter(([from, to]) => ALLOWED.has(`${from}>${to}`));
    const forbiddenPairs = PAIRS.filter(([from, to]) => !ALLOWED.has(`${from}>${to}`));

    it('covers all twenty status pairs: six allowed, fourteen forbidden', () => {
      expect(allowedPairs).toHaveLength(6);
      expect(forbiddenPairs).toHaveLength(14);
      expect(Object.keys(moves).sort()).toEqual(allowedPairs.map(([from, to]) => `${from}>${to}`).sort());
    });

    it.each(allowedPairs)('lets an invoice move from %s to %s', (from, to) => {
      const invoice = anInvoice(from);
      moves[`${from}>${to}`]!(invoice.id, invoice);
      expect(read(invoice.id).status).toBe(to);
    });

    it.each(forbiddenPairs)('aborts an UPDATE from %s to %s in the trigger', (from, to) => {
      const invoice = anInvoice(from);
      // Every date column set, so that nothing but the transition rule can object.
      const update = sql(
        `UPDATE invoice SET status = ?, number = COALESCE(number, 'TEST-' || id), finalized_date = COALESCE(finalized_date, ?), due_date = COALESCE(due_date, ?),
           paid_date = ?, voided_date = ?, marked_uncollectible_date = COALESCE(marked_uncollectible_date, ?) WHERE id = ?`,
        to,
        TODAY,
        TODAY,
        to === 'PAID' ? TODAY : null,
        to === 'VOID' ? TODAY : null,
        TODAY,
        invoice.id,
      );
      expect(update).toThrow(`invoice ${invoice.id} cannot move from ${from} to ${to}`);
      expect(read(invoice.id)).toEqual(invoice);
    });

    it('refuses to mark an invoice paid before its payments cover the total', () => {
      const invoice = anInvoice('OPEN', 'amount_paid_minor > 0');
      expect(sql("UPDATE invoice SET status = 'PAID', paid_date = ? WHERE id = ?", TODAY, invoice.id)).toThrow(
        'CHECK constraint failed: invoice_paid_in_full_when_paid',
      );
    });

    it('refuses a payment larger than the amount remaining, and rolls the payment back', () => {
      const invoice = anInvoice('OPEN');
      const tooMuch = invoice.totalMinor - invoice.amountPaidMinor + 1;
      expect(
        sql('INSERT INTO payment (id, invoice_id, amount_minor, received_date) VALUES (?, ?, ?, ?)', 'py_TOOMUCH00000000000000000', invoice.id, tooMuch, TODAY),
      ).toThrow('CHECK constraint failed: invoice_amount_paid_within_total');
      expect(read(invoice.id)).toEqual(invoice);
      expect(db().prepare('SELECT COUNT(*) FROM payment WHERE id = ?').pluck().get('py_TOOMUCH00000000000000000')).toBe(0);
    });

    it('refuses an amount paid that is not the sum of the payments', () => {
      const invoice = anInvoice('OPEN', 'amount_paid_minor = 0');
      expect(sql('UPDATE invoice SET amount_paid_minor = 1 WHERE id = ?', invoice.id)).toThrow(`invoice ${invoice.id}: amount_paid is the sum of its payments`);
    });

    it.each(['DRAFT', 'PAID', 'VOID'] as const)('refuses a payment on a %s invoice', (status) => {
      const invoice = anInvoice(status);
      expect(
        sql('INSERT INTO payment (id, invoice_id, amount_minor, received_date) VALUES (?, ?, ?, ?)', 'py_REFUSED0000000000000000', invoice.id, 1, TODAY),
      ).toThrow(`invoice ${invoice.id} is ${status}: only open or uncollectible invoices take payments`);
    });

    it('keeps the number null exactly while the invoice is a draft', () => {
      const draft = anInvoice('DRAFT');
      expect(sql("UPDATE invoice SET number = 'MER-99999-001' WHERE id = ?", draft.id)).toThrow('CHECK constraint failed: invoice_number_only_when_finalized');
      expect(sql("UPDATE invoice SET status = 'OPEN', finalized_date = ?, due_date = ? WHERE id = ?", TODAY, TODAY, draft.id)).toThrow(
        'CHECK constraint failed: invoice_number_only_when_finalized',
      );
      const open = anInvoice('OPEN');
      expect(sql('UPDATE invoice SET number = NULL WHERE id = ?', open.id)).toThrow('CHECK constraint failed: invoice_number_only_when_finalized');
    });

    it('fixes a finalized invoice’s amounts but lets a draft’s change', () => {
      const open = anInvoice('OPEN');
      expect(sql('UPDATE invoice SET subtotal_minor = subtotal_minor + 100, total_minor = total_minor + 100 WHERE id = ?', open.id)).toThrow(
        `invoice ${open.id} is finalized: its amounts, currency, customer and project are fixed`,
      );
      const draft = anInvoice('DRAFT');
      sql('UPDATE invoice SET subtotal_minor = subtotal_minor + 100, total_minor = total_minor + 100 WHERE id = ?', draft.id)();
      expect(read(draft.id).totalMinor).toBe(draft.totalMinor + 100);
    });

    it('never lets a payment change or disappear', () => {
      const paymentId = db().prepare('SELECT id FROM payment LIMIT 1').pluck().get() as string;
      expect(sql('UPDATE payment SET amount_minor = 1 WHERE id = ?', paymentId)).toThrow(`payment ${paymentId} is immutable`);
      expect(sql('DELETE FROM payment WHERE id = ?', paymentId)).toThrow(`payment ${paymentId} cannot be deleted`);
    });

    const addLine = (invoiceId: string, lineNumber: number, sourceKey: string | null, amountMinor = 100) =>
      sql(
        'INSERT INTO invoice_line (invoice_id, line_number, source_key, description, amount_minor) VALUES (?, ?, ?, ?, ?)',
        invoiceId,
        lineNumber,
        sourceKey,
        'A line',
        amountMinor,
      );

    it('bills a source on one invoice that is not void at a time, and again once that invoice is voided', () => {
      const [first, second] = [anInvoice('DRAFT'), anInvoice('DRAFT')];
      addLine(first.id, 2, 'time:990000001:v1')();
      const billedTwice = 'invoice_line: the source is already billed by an invoice that is not void';
      expect(addLine(second.id, 2, 'time:990000001:v1')).toThrow(billedTwice);
      moves['DRAFT>OPEN']!(first.id, first);
      expect(addLine(second.id, 2, 'time:990000001:v1')).toThrow(billedTwice);
      sql("UPDATE invoice SET status = 'VOID', voided_date = ? WHERE id = ?", TODAY, first.id)();
      addLine(second.id, 2, 'time:990000001:v1')();
      expect(
        db().prepare('SELECT invoice_id FROM invoice_line WHERE source_key = ? ORDER BY invoice_id = ?').pluck().all('time:990000001:v1', second.id),
      ).toEqual([first.id, second.id]);
    });

    it('adds lines that bill a source to drafts only, never edits a line, and keeps a finalized invoice’s lines', () => {
      const open = anInvoice('OPEN');
      expect(addLine(open.id, 2, 'time:990000002:v1')).toThrow('invoice_line: lines are added to draft invoices only');
      expect(addLine(anInvoice('DRAFT').id, 2, 'time:990000003:v1', 0)).toThrow('CHECK constraint failed');
      expect(sql('UPDATE invoice_line SET amount_minor = amount_minor + 1 WHERE invoice_id = ?', open.id)).toThrow('invoice_line: a line is never edited');
      expect(sql('DELETE FROM invoice_line WHERE invoice_id = ?', open.id)).toThrow('invoice_line: a finalized invoice keeps its lines');
    });

    it('gives every seeded invoice one line with its description and subtotal, billing no source', () => {
      const invoice = anInvoice('PAID');
      expect(db().prepare('SELECT line_number, source_key, description, amount_minor FROM invoice_line WHERE invoice_id = ?').all(invoice.id)).toEqual([
        { line_number: 1, source_key: null, description: invoice.description, amount_minor: invoice.subtotalMinor },
      ]);
    });
  });
});

describe('creating invoices over GraphQL', () => {
  const seeded = seededSandbox('billing-create', true);
  const PROCESS: Caller = { subject: 'psgraph:invoicing', scopes: new Set(), roles: new Set(['process']), accountIds: null, process: true };
  const STAFF: Caller = { ...PROCESS, subject: 'staff-dana', roles: new Set(['finance']), process: false };
  const project = seedWorld.projects[11]!;
  const accountId = seedWorld.accounts[project.accountIndex]!.crmId;
  const otherAccountId = seedWorld.accounts.find((account) => account.crmId !== accountId)!.crmId;
  const client = (accountIds: string[]): Caller => ({ ...STAFF, subject: 'client-user', roles: new Set(['client']), accountIds: new Set(accountIds) });
  const run = async (caller: Caller, query: string, variables: Record<string, unknown> = {}) => {
    const service = seeded.subgraph;
    const response = await service.apollo.executeOperation({ query, variables }, { contextValue: service.createContext(caller) as never });
    if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
    return response.body.singleResult as { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  };
  const LINES = `lines { description amount ${MONEY} sourceKey }`;
  const CREATE = `mutation ($input: CreateBillingInvoiceInput!) { createBillingInvoice(input: $input) {
    created invoice { id status number subtotal ${MONEY} tax ${MONEY} total ${MONEY} project { id } ${LINES} } } }`;
  const input = {
    key: `graphql-test:${project.id}:2026-10`,
    projectId: project.id,
    description: 'Professional services, October 2026',
    servicePeriodStart: '2026-10-01',
    servicePeriodEnd: '2026-10-31',
    lines: [
      { sourceKey: 'time:950000001:v1', description: 'Consulting, 7.5 h', amount: '1125.00' },
      { sourceKey: `schedule:${project.id}:2`, description: 'Milestone 2', amount: '2500.5' },
    ],
  };
  const invoiceCount = () => seeded.sandbox.store.db.prepare('SELECT COUNT(*) FROM invoice WHERE project_id = ?').pluck().get(project.id) as number;

  it('refuses createBillingInvoice to staff and to client users: it is the process layer’s write', async () => {
    const before = invoiceCount();
    for (const caller of [STAFF, client([accountId])]) {
      const refused = await run(caller, CREATE, { input });
      expect(refused.errors?.map((error) => error.extensions?.['code'])).toEqual(['FORBIDDEN']);
      expect(refused.errors![0]!.message).toBe('Creating an invoice is a write of the activation process; only its own identity may call it.');
    }
    expect(invoiceCount()).toBe(before);
  });

  it('creates the draft for the process identity, once per key, with lines readable on Invoice.lines', async () => {
    const created = await run(PROCESS, CREATE, { input });
    expect(created.errors).toBeUndefined();
    const currency = project.currency;
    expect(created.data!['createBillingInvoice']).toEqual({
      created: true,
      invoice: {
        id: expect.stringMatching(/^in_[0-9A-Za-z]{24}$/),
        status: 'DRAFT',
        number: null,
        subtotal: { amount: '3625.50', currency },
        tax: { amount: '0.00', currency },
        total: { amount: '3625.50', currency },
        project: { id: project.id },
        lines: [
          { description: 'Consulting, 7.5 h', amount: { amount: '1125.00', currency }, sourceKey: 'time:950000001:v1' },
          { description: 'Milestone 2', amount: { amount: '2500.50', currency }, sourceKey: `schedule:${project.id}:2` },
        ],
      },
    });
    const id = created.data!['createBillingInvoice'].invoice.id as string;
    const again = await run(PROCESS, CREATE, { input });
    expect(again.data!['createBillingInvoice']).toEqual({ ...created.data!['createBillingInvoice'], created: false });

    const read = `query ($id: ID!) { invoice(id: $id) { id ${LINES} } }`;
    expect((await run(STAFF, read, { id })).data!['invoice'].lines).toEqual(created.data!['createBillingInvoice'].invoice.lines);
    expect((await run(client([accountId]), read, { id })).data!['invoice'].lines).toHaveLength(2);
    expect((await run(client([otherAccountId]), read, { id })).data!['invoice']).toBeNull();
    expect(await seeded.subgraph.billing.invoiceLinesByInvoiceId([id]).then((lines) => lines.get(id)?.map((line) => line.sourceKey))).toEqual([
      'time:950000001:v1',
      `schedule:${project.id}:2`,
    ]);
    // The port as a client user sees it: another account's invoice has no lines to show.
    expect((await billingFor(client([otherAccountId]), seeded.subgraph.billing).invoiceLinesByInvoiceId([id])).size).toBe(0);
  });

  it('reads a seeded invoice’s one line, which bills no source', async () => {
    const seededInvoice = seeded.sandbox.store.db.prepare("SELECT id, description FROM invoice WHERE status = 'PAID' LIMIT 1").get() as {
      id: string;
      description: string;
    };
    const result = await run(STAFF, `query ($id: ID!) { invoice(id: $id) { subtotal ${MONEY} lines { description amount ${MONEY} sourceKey } } }`, {
      id: seededInvoice.id,
    });
    const invoice = result.data!['invoice'];
    expect(invoice.lines).toEqual([{ description: seededInvoice.description, amount: invoice.subtotal, sourceKey: null }]);
  });

  it('refuses a malformed amount, a key reused for another draft and a source billed twice, each with its code', async () => {
    const codeOf = async (changed: Record<string, unknown>) => {
      const result = await run(PROCESS, CREATE, { input: { ...input, ...changed } });
      return [result.errors?.[0]?.extensions?.['code'], result.errors?.[0]?.message];
    };
    expect(await codeOf({ key: 'graphql-test:bad-amount', lines: [{ ...input.lines[0], amount: '12.345' }] })).toEqual([
      'BAD_USER_INPUT',
      'input.lines[0].amount must be a positive amount with at most 2 decimals, got "12.345".',
    ]);
    expect(await codeOf({ key: 'graphql-test:zero', lines: [{ ...input.lines[0], sourceKey: 'time:950000009:v1', amount: '0.00' }] })).toEqual([
      'BAD_USER_INPUT',
      'lines[0].amountMinor: must be a whole number of minor units above 0, got 0.',
    ]);
    expect(await codeOf({ projectId: 'prj_nope' })).toEqual(['INVALID_ID', expect.stringContaining('input.projectId')]);
    expect((await codeOf({ description: 'Another description' }))[0]).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await codeOf({ key: 'graphql-test:second' }))[0]).toBe('CONFLICT');
  });
});

describe('issuing credit notes over GraphQL', () => {
  const seeded = seededSandbox('billing-credit-notes', true);
  const STAFF: Caller = { subject: 'staff-dana', scopes: new Set(['billing:write']), roles: new Set(['finance']), accountIds: null, process: false };
  const project = seedWorld.projects[12]!;
  const accountId = seedWorld.accounts[project.accountIndex]!.crmId;
  const client: Caller = { ...STAFF, subject: 'client-user', roles: new Set(['client']), accountIds: new Set([accountId]) };
  const run = async (caller: Caller, query: string, variables: Record<string, unknown> = {}) => {
    const service = seeded.subgraph;
    const response = await service.apollo.executeOperation({ query, variables }, { contextValue: service.createContext(caller) as never });
    if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
    return response.body.singleResult as { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  };
  const ISSUE = `mutation ($input: IssueCreditNoteInput!) { issueCreditNote(input: $input) {
    created creditNote { id number reason memo total ${MONEY} createdDate invoice { id amountRemaining ${MONEY} } lines { sourceKey amount ${MONEY} } } } }`;
  let invoiceId = '';
  const input = () => ({
    key: 'graphql-test:credit:1',
    invoiceId,
    reason: 'ORDER_CHANGE',
    memo: 'Milestone 3 rescoped',
    lines: [{ sourceKey: `schedule:${project.id}:3`, amount: '500.00' }],
  });
  beforeAll(async () => {
    const { invoice } = await seeded.sandbox.createInvoice({
      key: `graphql-test:credit:${project.id}`,
      projectId: project.id,
      description: 'Professional services, October 2026',
      servicePeriodStart: '2026-10-01',
      servicePeriodEnd: '2026-10-31',
      lines: [{ sourceKey: `schedule:${project.id}:3`, description: 'Milestone 3', amountMinor: 200_000 }],
    });
    invoiceId = (await seeded.sandbox.finalizeInvoice(invoice.id)).id;
  });

  it('declares issueCreditNote for staff holding billing:write, which the gateway enforces', () => {
    const mutation = billingTypeDefs.definitions.find(
      (definition): definition is ObjectTypeDefinitionNode => definition.kind === Kind.OBJECT_TYPE_DEFINITION && definition.name.value === 'Mutation',
    )!;
    const field = mutation.fields!.find((candidate) => candidate.name.value === 'issueCreditNote')!;
    expect(field.directives!.map((directive) => print(directive))).toEqual([
      '@psgraphPolicy(policies: [["staff"]])',
      '@psgraphRequiresScopes(scopes: [["billing:write"]])',
      '@tag(name: "write")',
    ]);
  });

  it('refuses a client user, writing nothing', async () => {
    const refused = await run(client, ISSUE, { input: input() });
    expect(refused.errors?.map((error) => [error.extensions?.['code'], error.message])).toEqual([
      ['FORBIDDEN', "Issuing a credit note is for the firm's staff only."],
    ]);
    expect((await seeded.sandbox.creditNotesByInvoiceId([invoiceId])).size).toBe(0);
  });

  it('issues the credit note for staff once per key, reduces the amount remaining, and lists it on Invoice.creditNotes', async () => {
    const currency = project.currency;
    const issued = await run(STAFF, ISSUE, { input: input() });
    expect(issued.errors).toBeUndefined();
    expect(issued.data!['issueCreditNote']).toEqual({
      created: true,
      creditNote: {
        id: expect.stringMatching(/^cn_[0-9A-Za-z]{24}$/),
        number: expect.stringMatching(/^MER-\d{5}-\d{3}-CN-01$/),
        reason: 'ORDER_CHANGE',
        memo: 'Milestone 3 rescoped',
        total: { amount: '500.00', currency },
        createdDate: TODAY,
        invoice: { id: invoiceId, amountRemaining: { amount: '1500.00', currency } },
        lines: [{ sourceKey: `schedule:${project.id}:3`, amount: { amount: '500.00', currency } }],
      },
    });
    const again = await run(STAFF, ISSUE, { input: input() });
    expect(again.data!['issueCreditNote']).toEqual({ ...issued.data!['issueCreditNote'], created: false });
    const listed = await run(client, `query ($id: ID!) { invoice(id: $id) { creditNotes { id total ${MONEY} } } }`, { id: invoiceId });
    expect(listed.data!['invoice'].creditNotes).toEqual([{ id: issued.data!['issueCreditNote'].creditNote.id, total: { amount: '500.00', currency } }]);
  });

  it('refuses over-credit naming the line, a bad amount and a malformed invoice ID, each with its code', async () => {
    const codeOf = async (changed: Record<string, unknown>) => {
      const result = await run(STAFF, ISSUE, { input: { ...input(), key: 'graphql-test:credit:2', ...changed } });
      return [result.errors?.[0]?.extensions?.['code'], result.errors?.[0]?.message];
    };
    expect(await codeOf({ lines: [{ sourceKey: `schedule:${project.id}:3`, amount: '1500.01' }] })).toEqual([
      'BAD_USER_INPUT',
      `lines[0].amountMinor: the line billing schedule:${project.id}:3 can be credited at most 150000 more (its amount 200000 less 50000 credited before), got 150001.`,
    ]);
    expect(await codeOf({ lines: [{ sourceKey: 'time:1:v1', amount: '1.005' }] })).toEqual([
      'BAD_USER_INPUT',
      'input.lines[0].amount must be a positive amount with at most 2 decimals, got "1.005".',
    ]);
    expect((await codeOf({ invoiceId: 'in_nope' }))[0]).toBe('INVALID_ID');
  });
});
