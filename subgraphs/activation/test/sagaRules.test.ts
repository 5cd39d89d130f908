import { describe, expect, it } from 'vitest';
import { type ActivationFacts, planActivation } from '../src/saga/activationPlan.js';
import { validateActivation } from '../src/saga/activationValidation.js';
import { FINAL_STATUSES, RUN_STATUSES, TRANSITIONS, assertTransition, canTransition } from '../src/saga/activationStates.js';
import { backoffDelay } from '../src/saga/retryPolicy.js';
import { faultRules, faultsFromEnvironment } from '../src/systems/faults.js';

const PROJECT_ID = 'prj_01JFJG60M0Q0CQE75AR8B3HMHQ';
const account = { id: '0015g0000004CGIAA2', name: 'Acme UK', region: 'UK_IRELAND', currency: 'GBP', taxId: 'GB123456789', parentId: null };

function facts(overrides: { opportunity?: Partial<NonNullable<ActivationFacts['opportunity']>>; facts?: Partial<ActivationFacts> } = {}): ActivationFacts {
  return {
    opportunity: {
      id: '0065g0000004CGIAA2',
      name: 'Acme UK — Cloud Migration',
      isWon: true,
      stage: 'Closed Won',
      amount: { amount: '120000.00', currency: 'GBP' },
      closeDate: '2026-10-20',
      contractType: 'FIXED_FEE',
      serviceLine: 'Cloud Migration',
      deliveryRegion: 'UK_IRELAND',
      poRequired: true,
      poNumber: 'PO-123456',
      linkedProjectId: null,
      lineItems: [
        { id: '00k5g0000004CGIAA2', role: 'PROJECT_MANAGER', hours: 200, unitPrice: { amount: '190.00' } },
        { id: '00k5g0000004CGJAA2', role: 'SENIOR_CONSULTANT', hours: 600, unitPrice: { amount: '150.00' } },
      ],
      account,
      hierarchy: [account],
      ...overrides.opportunity,
    },
    legalEntities: [
      {
        id: '1',
        name: 'Meridian Advisory Inc.',
        region: 'NORTH_AMERICA',
        currency: 'USD',
        rateCardId: '101',
        rateCardRoles: ['PROJECT_MANAGER', 'SENIOR_CONSULTANT'],
      },
      {
        id: '2',
        name: 'Meridian Advisory Ltd',
        region: 'UK_IRELAND',
        currency: 'GBP',
        rateCardId: '102',
        rateCardRoles: ['PROJECT_MANAGER', 'SENIOR_CONSULTANT'],
      },
    ],
    erpCustomers: new Map(),
    projectManagerIds: ['7000003', '7000010'],
    ...overrides.facts,
  };
}

const types = (f: ActivationFacts) => validateActivation('0065g0000004CGIAA2', f, PROJECT_ID).map((problem) => problem.type);

describe('validation of a deal', () => {
  it('finds nothing wrong with a won, priced, fully documented deal', () => {
    expect(types(facts())).toEqual([]);
  });

  it('judges "won" by the won flag, not by the stage name', () => {
    expect(types(facts({ opportunity: { isWon: false, stage: 'Closed Won' } }))).toEqual(['OPPORTUNITY_NOT_WON']);
    expect(types(facts({ opportunity: { isWon: true, stage: 'Signed (custom stage)' } }))).toEqual([]);
  });

  it('reports every problem of a deal at once, each with its owner, record and field', () => {
    const problems = validateActivation(
      '0065g0000004CGIAA2',
      facts({
        opportunity: {
          poNumber: null,
          account: { ...account, taxId: null },
          lineItems: [{ id: '00k5g0000004CGKAA2', role: 'QUANTUM_ARCHITECT', hours: 100, unitPrice: { amount: '250.00' } }],
          amount: { amount: '120000.00', currency: 'EUR' },
        },
      }),
      PROJECT_ID,
    );
    expect(problems.map(({ message: _, ...rest }) => rest)).toEqual([
      { type: 'DELIVERY_REGION_CURRENCY_MISMATCH', system: 'CRM', recordType: 'Opportunity', recordId: '0065g0000004CGIAA2', field: 'CurrencyIsoCode' },
      { type: 'TAX_ID_MISSING', system: 'CRM', recordType: 'Account', recordId: account.id, field: 'Tax_Id__c' },
      { type: 'PO_MISSING', system: 'CRM', recordType: 'Opportunity', recordId: '0065g0000004CGIAA2', field: 'PO_Number__c' },
      { type: 'ROLE_NOT_ON_RATE_CARD', system: 'ERP', recordType: 'RateCard', recordId: '102', field: 'QUANTUM_ARCHITECT' },
    ]);
  });

  it('accepts a missing tax ID for a customer ERP knows to be tax-exempt, and stops a customer on credit hold', () => {
    const exempt = new Map([[account.id, { erpCustomerId: '5012', creditStatus: 'GOOD' as const, taxExempt: true, paymentTermsDays: 45 }]]);
    expect(types(facts({ opportunity: { account: { ...account, taxId: null } }, facts: { erpCustomers: exempt } }))).toEqual([]);
    const held = new Map([[account.id, { erpCustomerId: '5012', creditStatus: 'ON_HOLD' as const, taxExempt: false, paymentTermsDays: 45 }]]);
    expect(types(facts({ facts: { erpCustomers: held } }))).toEqual(['CUSTOMER_ON_CREDIT_HOLD']);
  });

  it('needs a hierarchy that ends at a top-level account, a legal entity for the region, line items and a manager', () => {
    const orphan = { ...account, parentId: '0015g0000004ZZZAA2' };
    expect(types(facts({ opportunity: { account: orphan, hierarchy: [orphan] } }))).toEqual(['ACCOUNT_HIERARCHY_UNRESOLVED']);
    expect(types(facts({ opportunity: { deliveryRegion: 'APAC' } }))).toEqual(['LEGAL_ENTITY_MISSING']);
    expect(types(facts({ opportunity: { lineItems: [], amount: { amount: '0.00', currency: 'GBP' } } }))).toEqual(['CONTRACT_TERMS_MISSING']);
    expect(types(facts({ facts: { projectManagerIds: [] } }))).toEqual(['NO_PROJECT_MANAGER']);
    expect(types(facts({ facts: { opportunity: null } }))).toEqual(['OPPORTUNITY_NOT_FOUND']);
    expect(types(facts({ opportunity: { linkedProjectId: 'prj_01JFJG60M0Q0CQE75AR8B3HZZZ' } }))).toEqual(['OPPORTUNITY_ALREADY_ACTIVATED']);
  });
});

describe('the plan of a validated deal', () => {
  it('upserts the hierarchy top down, relates the customer to the delivering entity and keeps agreed terms', () => {
    const parent = { ...account, id: '0015g0000004AAAAA2', name: 'Acme Group', region: 'NORTH_AMERICA', currency: 'USD' };
    const child = { ...account, parentId: parent.id };
    const plan = planActivation(
      facts({
        opportunity: { account: child, hierarchy: [parent, child] },
        facts: { erpCustomers: new Map([[parent.id, { erpCustomerId: '5001', creditStatus: 'GOOD', taxExempt: false, paymentTermsDays: 60 }]]) },
      }),
      '2026-11-01',
    );
    expect(
      plan.customers.map((customer) => [customer.accountId, customer.legalEntityId, customer.additionalLegalEntityIds, customer.paymentTermsDays]),
    ).toEqual([
      [parent.id, '1', [], 60],
      [child.id, '2', [], 60],
    ]);
    expect(plan.startDate).toBe('2026-11-15');
    // 600 hours at 140 a month: five months, ending at a month end.
    expect(plan.endDate).toBe('2027-03-31');
    expect(plan.billingSchedule.lines.map((line) => line.amount)).toEqual(['24000.00', '24000.00', '24000.00', '24000.00', '24000.00']);
    expect(plan.resourceRequests).toEqual([
      { role: 'PROJECT_MANAGER', hours: 200, startDate: '2026-11-15', endDate: '2027-03-31' },
      { role: 'SENIOR_CONSULTANT', hours: 600, startDate: '2026-11-15', endDate: '2027-03-31' },
    ]);
    expect(planActivation(facts(), '2026-11-01').managerId).toBe(plan.managerId);
    // The deal's prices become the contract's rates, one per role (the first line's price when a role is sold twice).
    expect(plan.contractRates).toEqual([
      { role: 'PROJECT_MANAGER', billRate: '190.00' },
      { role: 'SENIOR_CONSULTANT', billRate: '150.00' },
    ]);
    const twice = facts();
    const doubled = {
      ...twice.opportunity!,
      lineItems: [...twice.opportunity!.lineItems, { id: '00k5g0000004CGLAA2', role: 'SENIOR_CONSULTANT', hours: 10, unitPrice: { amount: '99.00' } }],
    };
    expect(planActivation({ ...twice, opportunity: doubled }, '2026-11-01').contractRates).toContainEqual({ role: 'SENIOR_CONSULTANT', billRate: '150.00' });
  });

  it('bills time and materials monthly with no amounts, and splits a milestone contract to the cent', () => {
    const tm = planActivation(facts({ opportunity: { contractType: 'TIME_AND_MATERIALS' } }), '2026-11-01').billingSchedule;
    expect(tm).toMatchObject({ type: 'TIME_AND_MATERIALS', frequency: 'MONTHLY', inArrears: true });
    expect(tm.lines.every((line) => line.amount === null)).toBe(true);
    const milestones = planActivation(
      facts({ opportunity: { contractType: 'MILESTONE', amount: { amount: '100000.01', currency: 'GBP' } } }),
      '2026-11-01',
    ).billingSchedule;
    expect(milestones.lines.map((line) => line.amount)).toEqual(['33333.33', '33333.33', '33333.35']);
  });
});

describe('the state machine', () => {
  it('lets a run reach ACTIVE only through validation, ERP, PSA and linking', () => {
    expect(TRANSITIONS['REQUESTED']).toEqual(['VALIDATING', 'CANCELLED']);
    expect(canTransition('VALIDATING', 'ACTIVE')).toBe(false);
    expect(canTransition('LINKING', 'ACTIVE')).toBe(true);
    expect(() => assertTransition('ERP_PROVISIONING', 'ACTIVE', 'act_x')).toThrow(/cannot go from ERP_PROVISIONING to ACTIVE/);
  });

  it('has final statuses with no way out, and every status reachable from REQUESTED', () => {
    for (const status of FINAL_STATUSES) expect(TRANSITIONS[status]).toEqual([]);
    const reached = new Set(['REQUESTED']);
    for (let changed = true; changed;) {
      changed = false;
      for (const from of reached) for (const to of TRANSITIONS[from as keyof typeof TRANSITIONS]) if (!reached.has(to)) changed = Boolean(reached.add(to));
    }
    expect([...reached].sort()).toEqual([...RUN_STATUSES].sort());
  });
});

describe('the retry policy', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 8, maxCompensationAttempts: 3 };

  it('doubles the delay per attempt up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(policy, attempt, () => 1))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('keeps a random half of the delay, never less than half of it', () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(200);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(300);
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(policy, 4)));
    expect(spread.size).toBeGreaterThan(10);
    for (const delay of spread) expect(delay).toBeGreaterThanOrEqual(400);
  });
});

describe('the fault seam', () => {
  it('applies each rule to the calls it matches, as many times as it says', () => {
    const faults = faultRules([{ step: 'ERP_PROJECT', phase: 'forward', fault: 'unavailable', times: 2 }]);
    const call = { system: 'erp' as const, operationName: 'X', step: 'ERP_PROJECT' as const, phase: 'forward' as const, runId: null };
    expect([faults(call), faults(call), faults(call), faults({ ...call, phase: 'compensate' })]).toEqual(['unavailable', 'unavailable', null, null]);
  });

  it('fails a share of the calls when a rule has a probability', () => {
    let next = 0;
    const draws = [0.05, 0.5, 0.09, 0.95];
    const faults = faultRules([{ fault: 'unavailable', probability: 0.1 }], () => draws[next++ % draws.length]!);
    const call = { system: 'crm' as const, operationName: 'X', step: 'CRM_LINK' as const, phase: 'forward' as const, runId: null };
    expect([faults(call), faults(call), faults(call), faults(call)]).toEqual(['unavailable', null, 'unavailable', null]);
    expect(faults.hits()).toBe(2);
  });

  it('is configured from the environment only outside production, and says what is wrong', () => {
    expect(faultsFromEnvironment({ PSGRAPH_ACTIVATION_FAULTS: '[{"step":"CRM_LINK","fault":"hang"}]' })).toEqual([{ step: 'CRM_LINK', fault: 'hang' }]);
    expect(() => faultsFromEnvironment({ PSGRAPH_ACTIVATION_FAULTS: '[{"fault":"explode"}]' })).toThrow(/fault must be one of/);
    expect(() => faultsFromEnvironment({ PSGRAPH_ACTIVATION_FAULTS: '[]', NODE_ENV: 'production' })).toThrow(/refused when NODE_ENV=production/);
  });
});
