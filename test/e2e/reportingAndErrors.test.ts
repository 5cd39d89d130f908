import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILLED_VS_UNBILLED_QUERY } from '../support/queries.js';
import { type Stack, startStack } from '../support/stack.js';

describe('reporting through the gateway', () => {
  let stack: Stack;
  let erp: Database.Database;
  beforeAll(async () => {
    stack = await startStack();
    erp = new Database(join(stack.dataDir, 'erp.db'), { readonly: true });
  });
  afterAll(async () => {
    erp.close();
    await stack.stop();
  });

  it('reports billed vs unbilled by region and month, summing to the ERP ledger', async () => {
    const { status, body } = await stack.query(BILLED_VS_UNBILLED_QUERY, { fromMonth: '2026-01', toMonth: '2026-06' });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const rows = body.data.billedVsUnbilled as Array<{
      region: string;
      month: string;
      currency: string;
      billed: { amount: string };
      recognizedRevenue: { amount: string };
    }>;
    expect(new Set(rows.map((row) => row.month))).toEqual(new Set(['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06']));
    for (const currency of ['USD', 'GBP', 'EUR', 'AUD']) {
      const ledger = erp
        .prepare(
          `SELECT COALESCE(SUM(CASE WHEN p.type = 'BILLING' THEN p.amount_minor END), 0) AS billed, COALESCE(SUM(CASE WHEN p.type = 'REVENUE' THEN p.amount_minor END), 0) AS revenue
           FROM posting p JOIN job j ON j.id = p.job_id WHERE j.currency = ? AND p.period BETWEEN '2026-01' AND '2026-06'`,
        )
        .get(currency) as { billed: number; revenue: number };
      const ofCurrency = rows.filter((row) => row.currency === currency);
      const sum = (pick: (row: (typeof rows)[number]) => string) => Math.round(ofCurrency.reduce((total, row) => total + Number(pick(row)) * 100, 0));
      expect(sum((row) => row.billed.amount)).toBe(ledger.billed);
      expect(sum((row) => row.recognizedRevenue.amount)).toBe(ledger.revenue);
    }
  });

  it('reports utilization per consultant and month from approved time', async () => {
    const { body } = await stack.query(`{ resources(first: 5, filter: { region: [EUROPE] }) { nodes { id } } }`);
    const ids = body.data.resources.nodes.map((node: { id: string }) => node.id);
    const report = await stack.query(
      `query ($ids: [ID!]) { utilization(filter: { period: { from: "2026-07-01", to: "2026-09-30" }, resourceIds: $ids }) { resource { id name } period capacityHours billableHours utilization } }`,
      { ids },
    );
    expect(report.body.errors).toBeUndefined();
    const rows = report.body.data.utilization as Array<{
      resource: { id: string };
      period: string;
      capacityHours: number;
      billableHours: number;
      utilization: number;
    }>;
    expect(rows).toHaveLength(ids.length * 3);
    for (const row of rows) {
      expect(['2026-07', '2026-08', '2026-09']).toContain(row.period);
      expect(row.utilization).toBeCloseTo(row.billableHours / row.capacityHours, 6);
    }
  });
});

describe('bad arguments through the gateway', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  const cases: Array<[string, string, string, string]> = [
    ['an unknown project ID format', '{ project(id: "PRJ-10001") { name } }', 'INVALID_ID', 'psa'],
    ['an opportunity ID that is an account ID', '{ opportunity(id: "0015g0000004CGIAA2") { name } }', 'INVALID_ID', 'crm'],
    ['an invoice ID without the in_ prefix', '{ invoice(id: "inv_123") { status } }', 'INVALID_ID', 'billing'],
    ['a page size over the maximum', '{ projects(first: 500) { totalCount } }', 'PAGE_SIZE_OUT_OF_RANGE', 'psa'],
    ['a page size of zero', '{ invoices(first: 0) { totalCount } }', 'PAGE_SIZE_OUT_OF_RANGE', 'billing'],
    ['an inverted date range', '{ projects(filter: { activeDuring: { from: "2026-06-01", to: "2026-01-01" } }) { totalCount } }', 'INVALID_DATE_RANGE', 'psa'],
    [
      'an inverted month range',
      '{ billedVsUnbilled(groupBy: [MONTH], filter: { fromMonth: "2026-06", toMonth: "2026-01" }) { month } }',
      'INVALID_DATE_RANGE',
      'erp',
    ],
    ['a cursor from another list', `{ projects(after: "${Buffer.from('invoices:3').toString('base64url')}") { totalCount } }`, 'INVALID_CURSOR', 'psa'],
  ];

  for (const [name, query, code, serviceName] of cases) {
    it(`rejects ${name} with ${code} from ${serviceName}`, async () => {
      const { status, body } = await stack.query(query);
      expect(status).toBe(200);
      expect(body.errors).toHaveLength(1);
      expect(body.errors![0]!.extensions).toMatchObject({ code, serviceName });
      expect(body.errors![0]!.message.length).toBeGreaterThan(20);
    });
  }

  it('rejects a date that does not exist, naming the value (the subgraph owns the Date scalar)', async () => {
    const { body } = await stack.query('{ projects(filter: { startDate: { from: "2026-02-30" } }) { totalCount } }');
    expect(body.data?.projects ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toMatchObject({ serviceName: 'psa' });
    expect(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED']).toContain(body.errors![0]!.extensions!['code']);
    expect(body.errors![0]!.message).toContain('2026-02-30');
  });
});
