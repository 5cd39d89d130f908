import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTFOLIO_QUERY, PROJECT_QUERY } from '../support/queries.js';
import { type Stack, startStack } from '../support/stack.js';

/** Minor units as the decimal string the graph carries, computed here independently of psgraph's code. */
const decimal = (minor: number) => `${minor < 0 ? '-' : ''}${Math.floor(Math.abs(minor) / 100)}.${String(Math.abs(minor) % 100).padStart(2, '0')}`;
const hours = (minutes: number) => minutes / 60;

describe('the unified project view through the gateway', () => {
  let stack: Stack;
  let crm: Database.Database;
  let psa: Database.Database;
  let erp: Database.Database;
  let billing: Database.Database;
  let projects: any[];

  beforeAll(async () => {
    stack = await startStack();
    // Each sandbox system's own records, read straight from its store.
    const open = (system: string) => new Database(join(stack.dataDir, `${system}.db`), { readonly: true });
    [crm, psa, erp, billing] = [open('crm'), open('psa'), open('erp'), open('billing')];
    const { status, body } = await stack.query(PORTFOLIO_QUERY, { first: 50, filter: { status: ['ACTIVE', 'COMPLETED'] } });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    projects = body.data.projects.nodes;
  });
  afterAll(async () => {
    for (const db of [crm, psa, erp, billing]) db?.close();
    await stack.stop();
  });

  it('returns a full page of 50 projects', () => {
    expect(projects).toHaveLength(50);
  });

  it('matches PSA: project, manager, milestones, staffing and time totals', () => {
    for (const project of projects) {
      const row = psa.prepare('SELECT * FROM project WHERE id = ?').get(project.id) as Record<string, any>;
      expect({
        psaId: project.psaId,
        code: project.code,
        name: project.name,
        status: project.status,
        region: project.region,
        startDate: project.startDate,
        endDate: project.endDate,
      }).toEqual({
        psaId: row['psa_id'],
        code: row['code'],
        name: row['name'],
        status: row['status'],
        region: row['region'],
        startDate: row['start_date'],
        endDate: row['end_date'],
      });
      expect(project.manager.id).toBe(row['manager_id']);
      expect(project.manager.name).toBe(psa.prepare('SELECT name FROM resource WHERE id = ?').pluck().get(row['manager_id']));
      expect(project.milestones.map((m: { id: string }) => m.id)).toEqual(
        psa.prepare('SELECT id FROM milestone WHERE project_id = ? ORDER BY sort_order').pluck().all(project.id),
      );
      expect(project.assignments.map((a: { id: string }) => a.id).sort()).toEqual(
        psa.prepare('SELECT id FROM assignment WHERE project_id = ? ORDER BY id').pluck().all(project.id),
      );
      expect(project.resourceRequests.map((r: { id: string }) => r.id).sort()).toEqual(
        psa.prepare('SELECT id FROM resource_request WHERE project_id = ? ORDER BY id').pluck().all(project.id),
      );

      const time = psa
        .prepare(
          `SELECT COUNT(*) AS entries, SUM(e.minutes) AS total,
             SUM(CASE WHEN t.status = 'APPROVED' THEN e.minutes ELSE 0 END) AS approved,
             SUM(CASE WHEN t.status = 'SUBMITTED' THEN e.minutes ELSE 0 END) AS submitted,
             SUM(CASE WHEN t.status = 'APPROVED' AND e.billable = 1 THEN e.minutes ELSE 0 END) AS approvedBillable,
             MAX(e.work_date) AS lastEntry
           FROM time_entry e JOIN timesheet t ON t.id = e.timesheet_id WHERE t.project_id = ?`,
        )
        .get(project.id) as Record<string, number | string | null>;
      expect(project.timeTotals.timeEntryCount).toBe(time['entries']);
      expect(project.timeTotals.totalHours).toBeCloseTo(hours(Number(time['total'] ?? 0)), 6);
      expect(project.timeTotals.approvedHours).toBeCloseTo(hours(Number(time['approved'] ?? 0)), 6);
      expect(project.timeTotals.submittedHours).toBeCloseTo(hours(Number(time['submitted'] ?? 0)), 6);
      expect(project.timeTotals.approvedBillableHours).toBeCloseTo(hours(Number(time['approvedBillable'] ?? 0)), 6);
      expect(project.timeTotals.lastEntryDate).toBe(time['lastEntry']);
    }
  });

  it('matches CRM: the opportunity, its line items, its account and the external IDs written back', () => {
    for (const project of projects) {
      const row = crm
        .prepare('SELECT o.*, a.name AS account_name FROM opportunity o JOIN account a ON a.id = o.account_id WHERE o.project_id = ?')
        .get(project.id) as Record<string, any>;
      expect(project.opportunity).toMatchObject({
        id: row['id'],
        name: row['name'],
        stage: row['stage_name'],
        isWon: true,
        amount: { amount: decimal(row['amount_minor']), currency: row['currency'] },
        closeDate: row['close_date'],
        poNumber: row['po_number'],
        externalIds: { projectId: project.id, erpProjectId: project.contract.erpProjectId, psaProjectId: project.psaId },
      });
      expect(project.account.id).toBe(row['account_id']);
      expect(project.account.name).toBe(row['account_name']);
      const lines = crm.prepare('SELECT id FROM opportunity_line_item WHERE opportunity_id = ? ORDER BY sort_order').pluck().all(row['id']);
      expect(project.opportunity.lineItems.map((l: { id: string }) => l.id)).toEqual(lines);
      const lineTotal = project.opportunity.lineItems.reduce(
        (sum: number, l: { totalPrice: { amount: string } }) => sum + Math.round(Number(l.totalPrice.amount) * 100),
        0,
      );
      expect(decimal(lineTotal)).toBe(project.opportunity.amount.amount);
    }
  });

  it('matches ERP: contract, billing schedule and the ledger behind the financials', () => {
    for (const project of projects) {
      const job = erp.prepare('SELECT * FROM job WHERE external_id = ?').get(project.id) as Record<string, any>;
      expect(project.contract).toMatchObject({
        erpProjectId: String(job['id']),
        type: job['contract_type'],
        value: { amount: decimal(job['value_minor']), currency: job['currency'] },
      });
      const ledger = Object.fromEntries(
        (
          erp.prepare('SELECT type, SUM(amount_minor) AS total FROM posting WHERE job_id = ? GROUP BY type').all(job['id']) as Array<{
            type: string;
            total: number;
          }>
        ).map((r) => [r.type, r.total]),
      );
      const revenue = ledger['REVENUE'] ?? 0;
      const cost = ledger['TIME_COST'] ?? 0;
      const billed = ledger['BILLING'] ?? 0;
      expect(project.financials).toMatchObject({
        budget: { amount: decimal(job['budget_minor']) },
        cost: { amount: decimal(cost) },
        recognizedRevenue: { amount: decimal(revenue) },
        billed: { amount: decimal(billed) },
        unbilled: { amount: decimal(revenue - billed) },
        margin: { amount: decimal(revenue - cost) },
      });
      const scheduleLines = erp
        .prepare('SELECT COUNT(*) FROM billing_schedule_line l JOIN billing_schedule s ON s.id = l.schedule_id WHERE s.job_id = ?')
        .pluck()
        .get(job['id']);
      expect(project.billingSchedule.lines).toHaveLength(scheduleLines as number);
      const customer = erp.prepare('SELECT entity_id FROM customer WHERE external_id = ?').pluck().get(project.account.id);
      expect(project.account.customerNumber).toBe(customer);
    }
  });

  it('matches billing: the invoices and the invoice status roll-up', () => {
    for (const project of projects) {
      const invoices = billing.prepare('SELECT * FROM invoice WHERE project_id = ? ORDER BY created_date DESC, id DESC').all(project.id) as Array<
        Record<string, any>
      >;
      expect(project.invoices.map((i: { id: string }) => i.id)).toEqual(invoices.map((i) => i['id']));
      const finalized = invoices.filter((i) => ['OPEN', 'PAID', 'UNCOLLECTIBLE'].includes(i['status']));
      const open = invoices.filter((i) => i['status'] === 'OPEN');
      expect(project.invoiceSummary).toMatchObject({
        invoiceCount: invoices.length,
        billed: { amount: decimal(finalized.reduce((sum, i) => sum + i['total_minor'], 0)) },
        outstanding: { amount: decimal(open.reduce((sum, i) => sum + i['total_minor'] - i['amount_paid_minor'], 0)) },
        lastInvoiceStatus: invoices[0]?.['status'] ?? null,
      });
      if (invoices.length > 0) expect(project.invoiceSummary.billed.currency).toBe(invoices[0]!['currency']);
    }
  });

  it('answers the project page with the same view as the portfolio page', async () => {
    const { body } = await stack.query(PROJECT_QUERY, { id: projects[7].id });
    expect(body.errors).toBeUndefined();
    expect(body.data.project).toEqual(projects[7]);
  });

  it('agrees across systems on the money: ERP billed equals billing finalized subtotals', () => {
    for (const project of projects) {
      const subtotals = billing
        .prepare("SELECT COALESCE(SUM(subtotal_minor), 0) FROM invoice WHERE project_id = ? AND status IN ('OPEN', 'PAID', 'UNCOLLECTIBLE')")
        .pluck()
        .get(project.id) as number;
      expect(project.financials.billed.amount).toBe(decimal(subtotals));
    }
  });
});
