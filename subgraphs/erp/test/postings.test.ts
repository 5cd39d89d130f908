/**
 * Delivery postings in the ERP sandbox: the terms a posting is checked against come from the same world as the
 * deals (negotiated rates, purchase orders, closed jobs, employees, periods); a posting is made once per external
 * ID with its ledger lines, a batch is all or nothing, a refusal names what is wrong, and a reversal undoes the
 * ledger effect once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { type Caller, addMonths, isoFromDay, monthOf } from '../../platform/src/index.js';
import { temporaryDataDir } from '../../platform/test/testSupport.js';
import { type World, buildWorld } from '../../sandboxes/src/world/world.js';
import type { DeliveryPosting } from '../src/erpPostingsPort.js';
import { type ErpSubgraph, createErpSubgraph } from '../src/erpSubgraph.js';
import { type SandboxErp, openSandboxErp } from '../src/sandbox/sandboxErp.js';

const worldOptions = { scale: 0.3, seed: 5, asOf: '2026-11-01' };

describe('delivery postings in the ERP sandbox', () => {
  const data = temporaryDataDir('erp-postings');
  let erp: SandboxErp;
  let world: World;
  beforeAll(() => {
    world = buildWorld(worldOptions);
    erp = openSandboxErp(data.dir, worldOptions);
  });
  afterAll(() => {
    erp.close();
    data.remove();
  });

  const active = () => world.projects.find((project) => project.status === 'ACTIVE' && world.opportunities[project.opportunityIndex]!.poRequired)!;
  const consultantOf = (project: (typeof world.projects)[number]) =>
    world.consultants[project.requests.find((request) => request.assignment?.status === 'CONFIRMED')!.assignment!.consultantIndex]!;
  const time = (externalId: string, overrides: Partial<DeliveryPosting> = {}): DeliveryPosting => {
    const project = active();
    return {
      externalId,
      kind: 'TIME',
      projectId: project.id,
      resourceId: consultantOf(project).psaId,
      item: 'SENIOR_CONSULTANT',
      date: '2026-10-20',
      minutes: 450,
      rateMinor: 20_000,
      billableMinor: 150_000,
      costMinor: 80_000,
      billable: true,
      currency: project.currency,
      memo: 'Week of 2026-10-19',
      ...overrides,
    };
  };

  it('gives each job its contract’s negotiated rates, purchase order and status, and ERP’s employees and periods', async () => {
    const project = active();
    const opportunity = world.opportunities[project.opportunityIndex]!;
    const completed = world.projects.find((candidate) => candidate.status === 'COMPLETED')!;
    const terms = await erp.postings.postingTermsByProjectId([project.id, completed.id, 'prj_01JFJG60M0Q0CQE75AR8B3HMHQ']);
    expect([...terms.keys()].sort()).toEqual([project.id, completed.id].sort());
    expect(terms.get(project.id)).toMatchObject({
      status: 'IN_PROGRESS',
      purchaseOrder: { number: opportunity.poNumber, expiresOn: isoFromDay(project.endDay + 90), amountMinor: opportunity.amountMinor, consumedMinor: 0 },
      postedBillableMinor: 0,
    });
    expect(
      terms
        .get(project.id)!
        .contractRates.map((rate) => [rate.role, rate.billRateMinor, rate.effectiveFrom, rate.effectiveTo])
        .sort(),
    ).toEqual(opportunity.lines.map((line) => [line.role, line.unitPriceMinor, isoFromDay(project.startDay), null]).sort());
    expect(terms.get(completed.id)!.status).toBe('CLOSED');

    const consultant = consultantOf(project);
    const employees = await erp.postings.employeesByResourceId([consultant.psaId, '99999999']);
    expect([...employees.values()]).toEqual([
      { id: 500_000 + consultant.index, entityId: `EMP-${500_000 + consultant.index}`, resourceId: consultant.psaId, active: true },
    ]);

    const asOfMonth = monthOf(world.asOfDay);
    const periods = await erp.postings.periodsClosed([addMonths(asOfMonth, -4), addMonths(asOfMonth, -3), asOfMonth, addMonths(asOfMonth, 12), '2099-01']);
    expect(Object.fromEntries(periods)).toEqual({
      [addMonths(asOfMonth, -4)]: true,
      [addMonths(asOfMonth, -3)]: false,
      [asOfMonth]: false,
      [addMonths(asOfMonth, 12)]: false,
    });
  });

  it('gives a newly activated contract its subsidiary’s standard rates and the deal’s PO, and deletes them with the job', async () => {
    const project = active();
    const account = world.accounts[project.accountIndex]!;
    const projectId = 'prj_01JFJG60M0Q0CQE75AR8B3NEW1';
    const { record } = await erp.upsertJob({
      externalId: projectId,
      name: 'New contract',
      customerExternalId: account.crmId,
      subsidiaryId: project.legalEntityId,
      contractType: 'TIME_AND_MATERIALS',
      currency: project.currency,
      valueMinor: 1_000_000,
      poRequired: true,
      poNumber: 'PO-NEW-1',
      startDate: '2026-11-01',
      endDate: '2027-04-30',
    });
    const standard = (await erp.rateCardLinesByRateCardId([record.rateCardId])).get(record.rateCardId)!;
    const terms = (await erp.postings.postingTermsByProjectId([projectId])).get(projectId)!;
    expect(terms.contractRates.map((rate) => [rate.role, rate.billRateMinor, rate.effectiveFrom]).sort()).toEqual(
      standard.map((line) => [line.role, line.billRateMinor, '2026-11-01']).sort(),
    );
    expect(terms.purchaseOrder).toMatchObject({ number: 'PO-NEW-1', expiresOn: '2027-07-29', amountMinor: 1_000_000, consumedMinor: 0 });
    expect(await erp.deleteJob(projectId)).toBe(true);
    expect((await erp.postings.postingTermsByProjectId([projectId])).size).toBe(0);
  });

  it('takes the deal’s negotiated rates for the roles it sold, keeping standard rates for the others, once however often upserted', async () => {
    const project = active();
    const account = world.accounts[project.accountIndex]!;
    const projectId = 'prj_01JFJG60M0Q0CQE75AR8B3NEW2';
    const upsert = {
      externalId: projectId,
      name: 'Negotiated contract',
      customerExternalId: account.crmId,
      subsidiaryId: project.legalEntityId,
      contractType: 'TIME_AND_MATERIALS' as const,
      currency: project.currency,
      valueMinor: 1_000_000,
      poRequired: false,
      poNumber: null,
      startDate: '2026-11-01',
      endDate: '2027-04-30',
    };
    const { record } = await erp.upsertJob(upsert);
    const standard = (await erp.rateCardLinesByRateCardId([record.rateCardId])).get(record.rateCardId)!;
    const [sold, other] = standard;
    const negotiated = { role: sold!.role, billRateMinor: sold!.billRateMinor - 1_234 };
    await erp.upsertJob({ ...upsert, contractRates: [negotiated] });
    await erp.upsertJob({ ...upsert, contractRates: [negotiated] });
    const rates = (await erp.postings.postingTermsByProjectId([projectId])).get(projectId)!.contractRates;
    expect(rates.filter((rate) => rate.role === sold!.role)).toEqual([
      { role: sold!.role, effectiveFrom: '2026-11-01', effectiveTo: null, billRateMinor: negotiated.billRateMinor },
    ]);
    expect(rates.find((rate) => rate.role === other!.role)!.billRateMinor).toBe(other!.billRateMinor);
    expect(rates).toHaveLength(standard.length);
    expect(await erp.deleteJob(projectId)).toBe(true);
  });

  it('posts once per external ID with its ledger lines, and reverses once', async () => {
    const project = active();
    const ledger = async () => (await erp.ledgerTotalsByProjectId([project.id])).get(project.id)!;
    const before = await ledger();
    const posting = time('time:900000001:v1');
    expect(await erp.postings.postDelivery([posting])).toEqual([{ externalId: posting.externalId, created: true }]);
    expect(await erp.postings.postDelivery([posting])).toEqual([{ externalId: posting.externalId, created: false }]);
    expect(await ledger()).toMatchObject({
      recognizedRevenueMinor: before.recognizedRevenueMinor + 150_000,
      costMinor: before.costMinor + 80_000,
      billedMinor: before.billedMinor,
    });
    const terms = (await erp.postings.postingTermsByProjectId([project.id])).get(project.id)!;
    expect(terms.postedBillableMinor).toBe(150_000);
    // The cost a fixed fee's budget is held to is the ledger's: the history and this posting.
    expect(terms.postedCostMinor).toBe(before.costMinor + 80_000);
    expect(terms.purchaseOrder!.consumedMinor).toBe(150_000);
    expect((await erp.postings.postingsByExternalId([posting.externalId])).get(posting.externalId)).toMatchObject({
      ...posting,
      status: 'POSTED',
      reversedAt: null,
    });

    expect(await erp.postings.reverseDelivery([posting.externalId, 'time:404:v1'])).toEqual([
      { externalId: posting.externalId, reversed: true },
      { externalId: 'time:404:v1', reversed: false },
    ]);
    expect(await erp.postings.reverseDelivery([posting.externalId])).toEqual([{ externalId: posting.externalId, reversed: false }]);
    expect(await ledger()).toMatchObject({ recognizedRevenueMinor: before.recognizedRevenueMinor, costMinor: before.costMinor });
    expect((await erp.postings.postingTermsByProjectId([project.id])).get(project.id)).toMatchObject({
      postedBillableMinor: 0,
      postedCostMinor: before.costMinor,
    });
    expect((await erp.postings.postingsByProjectId([project.id])).get(project.id)!.map((row) => [row.externalId, row.status])).toEqual([
      [posting.externalId, 'REVERSED'],
    ]);
  });

  it('refuses a batch with a closed period, an unknown consultant, a closed job or another currency, and writes none of it', async () => {
    const project = active();
    const completed = world.projects.find((candidate) => candidate.status === 'COMPLETED')!;
    const good = time('time:900000002:v1');
    const refusals: Array<[DeliveryPosting, string, RegExp]> = [
      [time('time:900000003:v1', { date: '2024-01-15' }), ErrorCode.INVALID_STATE_TRANSITION, /accounting period 2024-01 is closed/],
      [time('time:900000004:v1', { resourceId: '99999999' }), ErrorCode.NOT_FOUND, /consultant 99999999 is not an active employee in ERP/],
      [time('time:900000005:v1', { projectId: completed.id, currency: completed.currency }), ErrorCode.INVALID_STATE_TRANSITION, /is closed/],
      [time('time:900000006:v1', { currency: project.currency === 'USD' ? 'EUR' : 'USD' }), ErrorCode.BAD_USER_INPUT, /its job in/],
      [time('time:900000007:v1', { projectId: 'prj_01JFJG60M0Q0CQE75AR8B3HMHQ' }), ErrorCode.NOT_FOUND, /has no job in ERP/],
    ];
    for (const [bad, code, message] of refusals) {
      const refused = await erp.postings.postDelivery([good, bad]).catch((error: unknown) => error as { message: string; extensions: { code: string } });
      expect(refused, bad.externalId).toMatchObject({ extensions: { code }, message: expect.stringMatching(message) });
    }
    expect((await erp.postings.postingsByExternalId([good.externalId, ...refusals.map(([bad]) => bad.externalId)])).size).toBe(0);
  });
});

describe('delivery postings through the ERP subgraph', () => {
  const data = temporaryDataDir('erp-postings-graphql');
  let service: ErpSubgraph;
  let world: World;
  beforeAll(() => {
    world = buildWorld(worldOptions);
    service = createErpSubgraph({ dataDir: data.dir, world: worldOptions, production: false });
  });
  afterAll(async () => {
    await service.stop();
    data.remove();
  });
  const PROCESS: Caller = { subject: 'psgraph:activation', scopes: new Set(), roles: new Set(['process']), accountIds: null, process: true };
  const STAFF: Caller = { ...PROCESS, subject: 'staff-dana', roles: new Set(['delivery']), process: false };
  const run = async (caller: Caller, query: string, variables: Record<string, unknown> = {}) => {
    const response = await service.apollo.executeOperation({ query, variables }, { contextValue: service.createContext(caller) as never });
    if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
    return response.body.singleResult as { data?: Record<string, any>; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  };
  const CONTEXT = `query ($p: [ID!]!, $r: [ID!]!, $m: [String!]!) { erpPostingContext(projectIds: $p, resourceIds: $r, periods: $m) {
    terms { projectId status contractType currency poRequired budget { amount } contractRates { role effectiveFrom billRate { amount currency } }
      purchaseOrder { number expiresOn amount { amount } consumed { amount } } postedBillable { amount } }
    employees { erpEmployeeId resourceId active } periods { period closed } } }`;
  const POST = `mutation ($postings: [DeliveryPostingInput!]!) { postErpDelivery(postings: $postings) { externalId created } }`;

  it('gives the posting process the context and takes its postings; nobody else', async () => {
    const project = world.projects.find((candidate) => candidate.status === 'ACTIVE')!;
    const consultant = world.consultants[project.requests.find((request) => request.assignment?.status === 'CONFIRMED')!.assignment!.consultantIndex]!;
    const variables = { p: [project.id], r: [consultant.psaId], m: ['2026-10'] };
    const context = await run(PROCESS, CONTEXT, variables);
    expect(context.errors).toBeUndefined();
    expect(context.data!['erpPostingContext']).toMatchObject({
      terms: [{ projectId: project.id, status: 'IN_PROGRESS', currency: project.currency, postedBillable: { amount: '0.00' } }],
      employees: [{ resourceId: consultant.psaId, active: true }],
      periods: [{ period: '2026-10', closed: false }],
    });
    const posting = {
      externalId: 'time:900000101:v1',
      kind: 'TIME',
      projectId: project.id,
      resourceId: consultant.psaId,
      item: 'CONSULTANT',
      date: '2026-10-21',
      minutes: 90,
      rate: '150.00',
      billable: true,
      billableAmount: '225.00',
      cost: '120.00',
      currency: project.currency,
      memo: 'time entry 900000101',
    };
    expect((await run(PROCESS, POST, { postings: [posting] })).data!['postErpDelivery']).toEqual([{ externalId: posting.externalId, created: true }]);
    expect((await run(PROCESS, POST, { postings: [posting] })).data!['postErpDelivery']).toEqual([{ externalId: posting.externalId, created: false }]);
    const after = await run(PROCESS, CONTEXT, variables);
    expect(after.data!['erpPostingContext'].terms[0].postedBillable).toEqual({ amount: '225.00' });

    for (const query of [CONTEXT, POST]) {
      const refused = await run(STAFF, query, query === POST ? { postings: [posting] } : variables);
      expect(refused.errors?.[0]?.extensions?.['code']).toBe(ErrorCode.FORBIDDEN);
    }
    const malformed = await run(PROCESS, POST, { postings: [{ ...posting, externalId: 'time:abc' }] });
    expect(malformed.errors?.[0]?.extensions?.['code']).toBe(ErrorCode.INVALID_ID);
    const noMinutes = await run(PROCESS, POST, { postings: [{ ...posting, externalId: 'time:900000102:v1', minutes: null }] });
    expect(noMinutes.errors?.[0]?.extensions?.['code']).toBe(ErrorCode.BAD_USER_INPUT);
    const reversed = await run(PROCESS, `mutation ($ids: [ID!]!) { reverseErpDelivery(externalIds: $ids) { externalId reversed } }`, {
      ids: [posting.externalId],
    });
    expect(reversed.data!['reverseErpDelivery']).toEqual([{ externalId: posting.externalId, reversed: true }]);
  });
});
