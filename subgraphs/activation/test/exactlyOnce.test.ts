import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCanonicalProjectId } from '../../platform/src/index.js';
import { newEvent } from '../../platform/src/events/index.js';
import type { ActivationSubgraph } from '../src/activationSubgraph.js';
import { ACTIVATE, RUN_QUERY, type SystemsUnderTest, contractViolations, run, startActivation, startSystems } from './activationHarness.js';

describe('activating a won deal', () => {
  let systems: SystemsUnderTest;
  let activation: ActivationSubgraph;
  let deals: string[];
  beforeAll(async () => {
    systems = await startSystems();
    activation = startActivation(systems);
    deals = systems.cleanAwaitingOpportunities();
  });
  afterAll(async () => {
    await activation.stop();
    await systems.stop();
  });

  it('provisions ERP and PSA, links the IDs back in CRM and ends ACTIVE', async () => {
    const opportunityId = deals[0]!;
    const before = systems.counts();
    const response = await run(activation, ACTIVATE, { opportunityId, key: 'happy-path' });
    expect(response.errors).toBeUndefined();
    const activated = response.data!['activateProject'];
    expect(activated.status).toBe('ACTIVE');
    expect(activated.steps.map((step: { name: string; status: string }) => `${step.name}:${step.status}`)).toEqual([
      'VALIDATE:SUCCEEDED',
      'ERP_CUSTOMER:SUCCEEDED',
      'ERP_PROJECT:SUCCEEDED',
      'ERP_BILLING_SCHEDULE:SUCCEEDED',
      'PSA_PROJECT:SUCCEEDED',
      'PSA_RESOURCE_REQUESTS:SUCCEEDED',
      'CRM_LINK:SUCCEEDED',
      'PUBLISH_ACTIVATED:SUCCEEDED',
    ]);
    expect(activated.transitions.map((transition: { to: string }) => transition.to)).toEqual([
      'REQUESTED',
      'VALIDATING',
      'ERP_PROVISIONING',
      'PSA_PROVISIONING',
      'LINKING',
      'ACTIVE',
    ]);
    expect(isCanonicalProjectId(activated.projectId)).toBe(true);
    expect(activated.project).toEqual({ id: activated.projectId });

    // Every store agrees on the new project's IDs, and holds exactly one of each record.
    const ids = activated.externalIds;
    const job = systems.erpDb().prepare('SELECT id, entity_id, customer_id FROM job WHERE external_id = ?').get(activated.projectId) as {
      id: number;
      entity_id: string;
      customer_id: number;
    };
    expect(String(job.id)).toBe(ids.erpProjectId);
    expect(job.entity_id).toBe(ids.erpProjectCode);
    expect(String(job.customer_id)).toBe(ids.erpCustomerId);
    // The contract bills each role sold at the deal's price for it, from the start of the work.
    const sold = systems
      .crmDb()
      .prepare('SELECT role, unit_price_minor AS rate FROM opportunity_line_item WHERE opportunity_id = ? ORDER BY sort_order, id')
      .all(opportunityId) as Array<{ role: string; rate: number }>;
    const start = systems.erpDb().prepare('SELECT start_date FROM job WHERE id = ?').pluck().get(job.id);
    const rates = new Map(
      (
        systems.erpDb().prepare('SELECT role, bill_rate_minor AS rate FROM contract_rate WHERE job_id = ? AND effective_from = ?').all(job.id, start) as Array<{
          role: string;
          rate: number;
        }>
      ).map((row) => [row.role, row.rate]),
    );
    for (const line of sold) expect(rates.get(line.role), line.role).toBe(sold.find((first) => first.role === line.role)!.rate);
    const psaProject = systems.psaDb().prepare('SELECT psa_id, code, status FROM project WHERE id = ?').get(activated.projectId) as {
      psa_id: string;
      code: string;
      status: string;
    };
    expect(psaProject).toEqual({ psa_id: ids.psaProjectId, code: ids.erpProjectCode, status: 'PLANNED' });
    const opportunity = systems.crmDb().prepare('SELECT project_id, erp_project_id, psa_project_id FROM opportunity WHERE id = ?').get(opportunityId);
    expect(opportunity).toEqual({ project_id: activated.projectId, erp_project_id: ids.erpProjectId, psa_project_id: ids.psaProjectId });
    const lineCount = systems.crmDb().prepare('SELECT COUNT(*) FROM opportunity_line_item WHERE opportunity_id = ?').pluck().get(opportunityId) as number;
    const after = systems.counts();
    expect(after.erpJobs - before.erpJobs).toBe(1);
    expect(after.erpBillingSchedules - before.erpBillingSchedules).toBe(1);
    expect(after.psaProjects - before.psaProjects).toBe(1);
    expect(after.psaResourceRequests - before.psaResourceRequests).toBe(lineCount);
    expect(after.crmLinkedOpportunities - before.crmLinkedOpportunities).toBe(1);
  });

  it('yields one run and one of every record for 20 concurrent mutations and 5 duplicate closed_won events', async () => {
    const opportunityId = deals[1]!;
    const before = systems.counts();
    const closedWon = newEvent('opportunity.closed_won', {
      source: 'crm',
      subject: opportunityId,
      data: {
        opportunityId,
        accountId: systems.crmDb().prepare('SELECT account_id FROM opportunity WHERE id = ?').pluck().get(opportunityId),
        isWon: true,
        stage: 'Closed Won',
        amount: { amount: '1000.00', currency: 'USD' },
        deliveryRegion: 'NORTH_AMERICA',
      },
    });
    const mutations = Array.from({ length: 20 }, (_, i) => run(activation, ACTIVATE, { opportunityId, key: `client-${i}` }));
    // The same event delivered again (at-least-once) and re-published with new IDs (a CDC replay).
    const events = [
      closedWon,
      closedWon,
      ...Array.from({ length: 3 }, () => ({ ...closedWon, id: newEvent('x', { source: 'crm', subject: opportunityId, data: {} }).id })),
    ];
    await Promise.all(events.map((event) => systems.bus.publish(event)));
    const responses = await Promise.all(mutations);
    const runIds = new Set(responses.map((response) => response.data!['activateProject'].id));
    expect(runIds.size).toBe(1);
    const runId = [...runIds][0]!;
    const settled = await activation.runner.waitFor(runId, ['ACTIVE'], 10_000);
    expect(settled.status).toBe('ACTIVE');

    const runsOfDeal = activation.store.sqlite.db.prepare('SELECT COUNT(*) FROM activation_run WHERE opportunity_id = ?').pluck().get(opportunityId);
    expect(runsOfDeal).toBe(1);
    const lineCount = systems.lineItems([opportunityId]);
    expect(systems.added(before)).toEqual({ erpJobs: 1, erpBillingSchedules: 1, psaProjects: 1, psaResourceRequests: lineCount, crmLinkedOpportunities: 1 });
    const accountId = settled.plan!.accountId;
    expect(systems.erpDb().prepare('SELECT COUNT(*) FROM customer WHERE external_id = ?').pluck().get(accountId)).toBe(1);
    expect(systems.counts().erpCustomers - before.erpCustomers).toBeLessThanOrEqual(settled.plan!.customers.length);
    // The closed-won moment starts the cycle time.
    expect(settled.closedWonAt).toBe(closedWon.occurredAt);
  });

  it('publishes every event of the flow once per project, each matching its contract', async () => {
    // Each service relays its own outbox on a timer: flush them all, or a busy machine may not have relayed PSA's
    // resource_request.created yet (seen once in CI).
    await Promise.all([activation.flushEvents(), systems.crm.flushEvents(), systems.psa.flushEvents()]);
    const published = systems.published();
    expect(contractViolations(published)).toEqual([]);
    const activated = published.filter((event) => event.type === 'project.activated');
    expect(activated.length).toBe(new Set(activated.map((event) => event.subject)).size);
    expect(activated.length).toBe(2);
    expect(published.filter((event) => event.type === 'project.activation_requested').length).toBe(2);
    expect(published.some((event) => event.type === 'resource_request.created')).toBe(true);
  });

  it('answers a repeated idempotency key with the same run, and refuses it for another deal', async () => {
    const first = await run(activation, ACTIVATE, { opportunityId: deals[0]!, key: 'happy-path' });
    const again = await run(activation, RUN_QUERY, { id: first.data!['activateProject'].id });
    expect(again.data!['activationRun'].status).toBe('ACTIVE');
    const reused = await run(activation, ACTIVATE, { opportunityId: deals[2]!, key: 'happy-path' });
    expect(reused.errors?.[0]?.extensions?.['code']).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('rejects an opportunity ID that is not a Salesforce opportunity ID', async () => {
    const response = await run(activation, ACTIVATE, { opportunityId: '0015g0000004CGIAA2', key: 'bad-id' });
    expect(response.errors?.[0]?.extensions?.['code']).toBe('INVALID_ID');
  });
});
