import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute } from '../../platform/test/testSupport.js';
import { type SystemsUnderTest, contractViolations, startSystems } from './activationHarness.js';

/** The system subgraphs' writes, each with its vendor's idempotency semantics and rules. */
describe('the writes of the system subgraphs', () => {
  let systems: SystemsUnderTest;
  beforeAll(async () => {
    systems = await startSystems();
  });
  afterAll(() => systems.stop());

  const projectId = 'prj_01JFJG60M0Q0CQE75AR8B3HMHQ';

  it('ERP upserts a customer and a job by external ID: the same call twice leaves one record', async () => {
    const account = systems.crmDb().prepare("SELECT id, name FROM account WHERE region = 'EUROPE' AND erp_customer_id IS NULL LIMIT 1").get() as {
      id: string;
      name: string;
    };
    const upsertCustomer = `mutation($input: CustomerUpsertInput!) { upsertErpCustomer(input: $input) { erpCustomerId customerNumber created } }`;
    const input = { accountId: account.id, companyName: account.name, legalEntityId: '3', currency: 'EUR', taxId: 'DE123456789', paymentTermsDays: 30 };
    const first = (await execute(systems.erp, upsertCustomer, { input })).data!['upsertErpCustomer'];
    const second = (await execute(systems.erp, upsertCustomer, { input })).data!['upsertErpCustomer'];
    expect(first.created).toBe(true);
    expect(second).toEqual({ ...first, created: false });
    expect(first.customerNumber).toBe(`CUST-${first.erpCustomerId}`);
    expect(systems.erpDb().prepare('SELECT COUNT(*) FROM customer WHERE external_id = ?').pluck().get(account.id)).toBe(1);

    const upsertJob = `mutation($input: ProjectUpsertInput!) { upsertErpProject(input: $input) { erpProjectId code created } }`;
    const job = {
      projectId,
      name: 'Test job',
      accountId: account.id,
      legalEntityId: '3',
      contractType: 'FIXED_FEE',
      currency: 'EUR',
      value: '1000.00',
      poRequired: false,
      startDate: '2026-12-01',
      endDate: '2027-03-31',
    };
    const created = (await execute(systems.erp, upsertJob, { input: job })).data!['upsertErpProject'];
    const again = (await execute(systems.erp, upsertJob, { input: { ...job, value: '1200.00' } })).data!['upsertErpProject'];
    expect(again).toEqual({ ...created, created: false });
    expect(systems.erpDb().prepare('SELECT value_minor FROM job WHERE external_id = ?').pluck().get(projectId)).toBe(120_000);

    // A job whose customer does not trade with its subsidiary is refused, as NetSuite's OneWorld does.
    const elsewhere = await execute(systems.erp, upsertJob, {
      input: { ...job, projectId: 'prj_01JFJG60M0Q0CQE75AR8B3HZZZ', legalEntityId: '1', currency: 'USD' },
    });
    expect(elsewhere.errors?.[0]?.extensions?.['code']).toBe('INVALID_STATE_TRANSITION');
  });

  it('ERP refuses to delete a job a billing schedule depends on, and deletes are idempotent', async () => {
    const schedule = `mutation($input: BillingScheduleUpsertInput!) { upsertErpBillingSchedule(input: $input) { created billingSchedule { type lines { amount { amount } } } } }`;
    const lines = [
      { date: '2026-12-31', description: 'one', amount: '500.00' },
      { date: '2027-01-31', description: 'two', amount: '700.00' },
    ];
    const made = await execute(systems.erp, schedule, { input: { projectId, type: 'FIXED_INTERVAL', frequency: 'MONTHLY', inArrears: true, lines } });
    expect(made.data!['upsertErpBillingSchedule']).toEqual({
      created: true,
      billingSchedule: { type: 'FIXED_INTERVAL', lines: [{ amount: { amount: '500.00' } }, { amount: { amount: '700.00' } }] },
    });
    const tm = await execute(systems.erp, schedule, { input: { projectId, type: 'TIME_AND_MATERIALS', frequency: 'MONTHLY', inArrears: true, lines } });
    expect(tm.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const refused = await execute(systems.erp, `mutation { deleteErpProject(projectId: "${projectId}") }`);
    expect(refused.errors?.[0]?.extensions?.['code']).toBe('INVALID_STATE_TRANSITION');
    expect((await execute(systems.erp, `mutation { deleteErpBillingSchedule(projectId: "${projectId}") }`)).data).toEqual({ deleteErpBillingSchedule: true });
    expect((await execute(systems.erp, `mutation { deleteErpBillingSchedule(projectId: "${projectId}") }`)).data).toEqual({ deleteErpBillingSchedule: false });
    expect((await execute(systems.erp, `mutation { deleteErpProject(projectId: "${projectId}") }`)).data).toEqual({ deleteErpProject: true });
    expect((await execute(systems.erp, `mutation { deleteErpProject(projectId: "${projectId}") }`)).data).toEqual({ deleteErpProject: false });
  });

  it('PSA creates are not idempotent (Kantata has no key): a second create of one project is refused, requests duplicate', async () => {
    const manager = systems.psaDb().prepare("SELECT id FROM resource WHERE role = 'PROJECT_MANAGER' LIMIT 1").pluck().get() as string;
    const accountId = systems.crmDb().prepare('SELECT id FROM account LIMIT 1').pluck().get() as string;
    const create = `mutation($input: CreateProjectInput!) { createPsaProject(input: $input) { id psaId status } }`;
    const input = {
      id: projectId,
      accountId,
      code: 'PRJ-TEST',
      name: 'Test',
      region: 'EUROPE',
      serviceLine: 'Cloud Migration',
      contractType: 'FIXED_FEE',
      currency: 'EUR',
      startDate: '2026-12-01',
      endDate: '2027-03-31',
      managerId: manager,
    };
    expect((await execute(systems.psa, create, { input })).data!['createPsaProject']).toMatchObject({ id: projectId, status: 'PLANNED' });
    expect((await execute(systems.psa, create, { input })).errors?.[0]?.extensions?.['code']).toBe('CONFLICT');
    const requests = `mutation($id: ID!, $requests: [ResourceRequestInput!]!) { createResourceRequests(projectId: $id, requests: $requests) { id status } }`;
    const request = [{ role: 'CONSULTANT', hours: 80, startDate: '2026-12-01', endDate: '2027-03-31' }];
    await execute(systems.psa, requests, { id: projectId, requests: request });
    await execute(systems.psa, requests, { id: projectId, requests: request });
    expect(systems.psaDb().prepare('SELECT COUNT(*) FROM resource_request WHERE project_id = ?').pluck().get(projectId)).toBe(2);
    const cancelled = await execute(systems.psa, `mutation { cancelResourceRequests(projectId: "${projectId}") { status } }`);
    expect(cancelled.data!['cancelResourceRequests']).toEqual([{ status: 'CANCELLED' }, { status: 'CANCELLED' }]);
    expect((await execute(systems.psa, `mutation { deletePsaProject(id: "${projectId}") }`)).data).toEqual({ deletePsaProject: true });
    expect((await execute(systems.psa, `mutation { deletePsaProject(id: "${projectId}") }`)).data).toEqual({ deletePsaProject: false });
  });

  it('PSA confirms a tentative assignment once, fulfils its request and publishes assignment.confirmed', async () => {
    const tentative = systems.psaDb().prepare("SELECT id, request_id FROM assignment WHERE status = 'TENTATIVE' LIMIT 1").get() as {
      id: string;
      request_id: string;
    };
    const confirm = `mutation($id: ID!) { confirmAssignment(assignmentId: $id) { id status } }`;
    expect((await execute(systems.psa, confirm, { id: tentative.id })).data!['confirmAssignment']).toEqual({ id: tentative.id, status: 'CONFIRMED' });
    expect((await execute(systems.psa, confirm, { id: tentative.id })).data!['confirmAssignment']).toEqual({ id: tentative.id, status: 'CONFIRMED' });
    expect(systems.psaDb().prepare('SELECT status FROM resource_request WHERE id = ?').pluck().get(tentative.request_id)).toBe('FULFILLED');
    await systems.psa.flushEvents();
    const confirmed = systems.published().filter((event) => event.type === 'assignment.confirmed');
    expect(confirmed.map((event) => event.subject)).toEqual([tentative.id]);
    expect(contractViolations(confirmed)).toEqual([]);
    const closed = systems.psaDb().prepare("SELECT id FROM assignment WHERE status = 'CLOSED' LIMIT 1").pluck().get() as string;
    expect((await execute(systems.psa, confirm, { id: closed })).errors?.[0]?.extensions?.['code']).toBe('INVALID_STATE_TRANSITION');
  });

  it('CRM links a deal to one project only, and only a won deal; unlinking another project changes nothing', async () => {
    const [won, open] = [
      systems
        .crmDb()
        .prepare('SELECT o.id FROM opportunity o JOIN opportunity_stage s ON s.name = o.stage_name WHERE s.is_won = 1 AND o.project_id IS NULL LIMIT 1')
        .pluck()
        .get() as string,
      systems
        .crmDb()
        .prepare('SELECT o.id FROM opportunity o JOIN opportunity_stage s ON s.name = o.stage_name WHERE s.is_closed = 0 LIMIT 1')
        .pluck()
        .get() as string,
    ];
    const link = `mutation($input: LinkProjectInput!) { linkOpportunityToProject(input: $input) { id externalIds { projectId erpProjectId psaProjectId } } }`;
    const input = { opportunityId: won, projectId, erpProjectId: '21999', psaProjectId: '1999999', erpCustomerId: '5999' };
    const linked = (await execute(systems.crm, link, { input })).data!['linkOpportunityToProject'];
    expect(linked.externalIds).toEqual({ projectId, erpProjectId: '21999', psaProjectId: '1999999' });
    expect((await execute(systems.crm, link, { input })).data!['linkOpportunityToProject']).toEqual(linked);
    const second = await execute(systems.crm, link, { input: { ...input, projectId: 'prj_01JFJG60M0Q0CQE75AR8B3HZZZ' } });
    expect(second.errors?.[0]?.extensions?.['code']).toBe('CONFLICT');
    const notWon = await execute(systems.crm, link, { input: { ...input, opportunityId: open, projectId: 'prj_01JFJG60M0Q0CQE75AR8B3HYYY' } });
    expect(notWon.errors?.[0]?.extensions?.['code']).toBe('INVALID_STATE_TRANSITION');
    const unlinkOther = await execute(
      systems.crm,
      `mutation { unlinkOpportunityFromProject(opportunityId: "${won}", projectId: "prj_01JFJG60M0Q0CQE75AR8B3HZZZ") { externalIds { projectId } } }`,
    );
    expect(unlinkOther.data!['unlinkOpportunityFromProject'].externalIds.projectId).toBe(projectId);
    const unlinked = await execute(
      systems.crm,
      `mutation { unlinkOpportunityFromProject(opportunityId: "${won}", projectId: "${projectId}") { externalIds { projectId } } }`,
    );
    expect(unlinked.data!['unlinkOpportunityFromProject'].externalIds.projectId).toBeNull();
    const stage = await execute(systems.crm, `mutation { setOpportunityStage(id: "${open}", stage: "Won (not a stage)") { id } }`);
    expect(stage.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });
});
