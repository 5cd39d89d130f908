/**
 * The rules a delivery line must satisfy before it posts to ERP, one by one: each broken rule is one problem
 * naming its owner, record, field, what was expected and found, and how to resolve it; a clean line has none.
 */
import { describe, expect, it } from 'vitest';
import { type ContractTerms, type DeliveryLine, type PostingContext, billableMinorOf, checkLine } from '../src/posting/postingChecks.js';

const PROJECT = 'prj_01JFJG60M0Q0CQE75AR8B3HMHQ';
const line: DeliveryLine = {
  sourceKey: 'time:900000001:v1',
  kind: 'TIME',
  recordId: '900000001',
  version: 1,
  parentId: '60000001',
  projectId: PROJECT,
  resourceId: '7000003',
  item: 'SENIOR_CONSULTANT',
  date: '2026-10-20',
  minutes: 450,
  rateMinor: 20_000,
  costRateMinor: 9_000,
  billable: true,
  amountMinor: 150_000,
  costMinor: 67_500,
  currency: 'USD',
  approvedAt: '2026-10-27T09:00:00.000Z',
};
const terms: ContractTerms = {
  projectId: PROJECT,
  status: 'IN_PROGRESS',
  contractType: 'TIME_AND_MATERIALS',
  currency: 'USD',
  poRequired: true,
  contractRates: [
    { role: 'SENIOR_CONSULTANT', effectiveFrom: '2026-01-01', effectiveTo: '2026-06-30', billRateMinor: 18_000 },
    { role: 'SENIOR_CONSULTANT', effectiveFrom: '2026-07-01', effectiveTo: null, billRateMinor: 20_000 },
  ],
  purchaseOrder: { number: 'PO-4711', expiresOn: '2027-03-31', amountMinor: 1_000_000, consumedMinor: 700_000 },
  budgetMinor: 500_000,
  postedCostMinor: 400_000,
};
/** What earlier lines of the batch took of the PO. */
const billedBefore = (billableMinor: number) => ({ billableMinor, costMinor: 0 });
const context = (
  changes: { terms?: Partial<ContractTerms> | null; employees?: Map<string, boolean>; periods?: Map<string, boolean> } = {},
): PostingContext => ({
  terms: changes.terms === null ? new Map() : new Map([[PROJECT, { ...terms, ...changes.terms }]]),
  employees: changes.employees ?? new Map([['7000003', true]]),
  periodsClosed: changes.periods ?? new Map([['2026-10', false]]),
});
const types = (problems: ReturnType<typeof checkLine>) => problems.map((problem) => problem.type);

describe('the checks before posting to ERP', () => {
  it('passes a line that meets every rule', () => {
    expect(checkLine(line, context())).toEqual([]);
  });

  it('finds the rate the contract has for the role on the work date, and names both when they differ', () => {
    expect(types(checkLine({ ...line, date: '2026-06-30' }, context({ periods: new Map([['2026-06', false]]) })))).toEqual(['RATE_MISMATCH']);
    const [mismatch] = checkLine({ ...line, rateMinor: 21_000 }, context());
    expect(mismatch).toMatchObject({
      type: 'RATE_MISMATCH',
      ownerSystem: 'PSA',
      ownerTeam: 'Delivery operations',
      entityType: 'TimeEntry',
      entityId: '900000001',
      field: 'assignment.billRate',
      expected: '200.00 USD',
      actual: '210.00 USD',
    });
    expect(types(checkLine({ ...line, item: 'PARTNER' }, context()))).toEqual(['RATE_MISMATCH']);
    // Not billed by the hour: no rate to check.
    expect(checkLine({ ...line, rateMinor: 21_000, billable: false }, context())).toEqual([]);
    expect(checkLine({ ...line, rateMinor: 21_000 }, context({ terms: { contractType: 'FIXED_FEE' } }))).toEqual([]);
  });

  it('requires an unexpired purchase order with enough left, counting what earlier lines of the batch take', () => {
    expect(types(checkLine(line, context({ terms: { purchaseOrder: null } })))).toEqual(['MISSING_PO']);
    expect(types(checkLine(line, context({ terms: { purchaseOrder: { ...terms.purchaseOrder!, expiresOn: '2026-10-19' } } })))).toEqual(['PO_EXPIRED']);
    expect(checkLine(line, context(), billedBefore(150_000))).toEqual([]);
    const [exhausted] = checkLine(line, context(), billedBefore(150_001));
    expect(exhausted).toMatchObject({ type: 'PO_EXHAUSTED', ownerSystem: 'CRM', expected: 'at least 10000.01 USD', actual: '10000.00 USD' });
    // A PO bounds what is billed: non-billable time needs none.
    expect(checkLine({ ...line, billable: false }, context({ terms: { purchaseOrder: null } }))).toEqual([]);
  });

  it('keeps a fixed fee’s work within its budget, counting what is posted and what earlier lines of the batch cost', () => {
    const fixed = { contractType: 'FIXED_FEE' as const };
    // 400,000 posted + 67,500 = 467,500: within 500,000.
    expect(checkLine(line, context({ terms: fixed }))).toEqual([]);
    expect(checkLine(line, context({ terms: fixed }), { billableMinor: 0, costMinor: 32_500 })).toEqual([]);
    const [over] = checkLine(line, context({ terms: fixed }), { billableMinor: 0, costMinor: 32_501 });
    expect(over).toMatchObject({
      type: 'BUDGET_EXCEEDED',
      ownerSystem: 'PSA',
      ownerTeam: 'Project management',
      field: 'job.budget',
      expected: 'at least 5000.01 USD',
      actual: '5000.00 USD',
      message: expect.stringContaining('has 674.99 USD left'),
    });
    // Time-and-materials work bills by the hour: its cost is not held to the budget.
    expect(checkLine(line, context({ terms: { postedCostMinor: 499_999 } }))).toEqual([]);
    expect(checkLine(line, context({ terms: { ...fixed, postedCostMinor: 499_999 } }), undefined, new Set(['BUDGET_EXCEEDED'] as const))).toEqual([]);
  });

  it('holds back work on an unmapped or closed job, in a closed or unknown period, in another currency, by an unknown consultant', () => {
    expect(checkLine(line, context({ terms: null }))).toEqual([
      expect.objectContaining({ type: 'UNMAPPED_ID', ownerSystem: 'ERP', entityType: 'Project', entityId: PROJECT }),
    ]);
    expect(types(checkLine(line, context({ terms: { status: 'CLOSED' } })))).toEqual(['PROJECT_CLOSED']);
    expect(checkLine(line, context({ periods: new Map([['2026-10', true]]) }))).toEqual([
      expect.objectContaining({ type: 'CLOSED_PERIOD', ownerTeam: 'Finance (accounting close)', actual: '2026-10 closed' }),
    ]);
    expect(checkLine(line, context({ periods: new Map() }))).toEqual([expect.objectContaining({ type: 'CLOSED_PERIOD', actual: '2026-10 not set up' })]);
    expect(types(checkLine({ ...line, currency: 'EUR' }, context()))).toEqual(['CURRENCY_MISMATCH']);
    expect(checkLine(line, context({ employees: new Map([['7000003', false]]) }))).toEqual([
      expect.objectContaining({ type: 'UNKNOWN_CONSULTANT', actual: 'inactive' }),
    ]);
    expect(checkLine(line, context({ employees: new Map() }))).toEqual([expect.objectContaining({ type: 'UNKNOWN_CONSULTANT', actual: null })]);
  });

  it('reports every problem of a line at once, and skips the ones an operator waived', () => {
    const everything = context({ terms: { status: 'CLOSED', purchaseOrder: null }, employees: new Map(), periods: new Map([['2026-10', true]]) });
    expect(types(checkLine({ ...line, rateMinor: 1 }, everything))).toEqual([
      'PROJECT_CLOSED',
      'CLOSED_PERIOD',
      'UNKNOWN_CONSULTANT',
      'RATE_MISMATCH',
      'MISSING_PO',
    ]);
    expect(types(checkLine({ ...line, rateMinor: 1 }, everything, billedBefore(0), new Set(['RATE_MISMATCH', 'MISSING_PO'] as const)))).toEqual([
      'PROJECT_CLOSED',
      'CLOSED_PERIOD',
      'UNKNOWN_CONSULTANT',
    ]);
    for (const problem of checkLine({ ...line, rateMinor: 1 }, everything)) {
      expect(problem.message.length).toBeGreaterThan(10);
      expect(problem.resolution).toMatch(/retry\.$/);
    }
  });

  it('bills time by the hour on time-and-materials contracts only; expenses and milestones as approved', () => {
    expect(billableMinorOf(line, terms)).toBe(150_000);
    expect(billableMinorOf(line, { ...terms, contractType: 'FIXED_FEE' })).toBe(0);
    expect(billableMinorOf({ ...line, billable: false }, terms)).toBe(0);
    expect(billableMinorOf({ ...line, kind: 'MILESTONE', amountMinor: 500_000 }, { ...terms, contractType: 'MILESTONE' })).toBe(500_000);
  });
});
