import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.js';

const ACTIVATE = `mutation Activate($id: ID!, $key: String!) {
  activateProject(input: { opportunityId: $id, idempotencyKey: $key }) {
    id status projectId cause
    exceptions { id type system recordType recordId field status howToResolve }
  }
}`;

describe('project activation through the gateway, over the default seeded world', () => {
  let stack: Stack;
  let crm: Database.Database;
  let erp: Database.Database;
  let psa: Database.Database;

  beforeAll(async () => {
    // Activation writes to every system: this suite works on its own copy of the seeded stores.
    stack = await startStack({ privateData: true });
    const open = (system: string) => new Database(join(stack.dataDir, `${system}.db`), { readonly: true });
    [crm, erp, psa] = [open('crm'), open('erp'), open('psa')];
  });
  afterAll(async () => {
    for (const db of [crm, erp, psa]) db?.close();
    await stack.stop();
  });

  const awaiting = (where: string) =>
    crm
      .prepare(
        `SELECT o.id FROM opportunity o JOIN opportunity_stage s ON s.name = o.stage_name JOIN account a ON a.id = o.account_id
         WHERE s.is_won = 1 AND o.project_id IS NULL AND ${where} ORDER BY o.id`,
      )
      .pluck()
      .all() as string[];

  it('activates a won deal and serves the new project across every subgraph, with its activation', async () => {
    const onHold = new Set(erp.prepare("SELECT external_id FROM customer WHERE credit_status = 'ON_HOLD'").pluck().all() as string[]);
    const opportunityId = awaiting('a.tax_id IS NOT NULL AND (o.po_required = 0 OR o.po_number IS NOT NULL)').find(
      (id) => !onHold.has(crm.prepare('SELECT account_id FROM opportunity WHERE id = ?').pluck().get(id) as string),
    )!;
    const activated = await stack.query(ACTIVATE, { id: opportunityId, key: 'e2e-happy' });
    expect(activated.body.errors).toBeUndefined();
    expect(activated.body.data.activateProject.status).toBe('ACTIVE');
    const projectId = activated.body.data.activateProject.projectId;

    const view = await stack.query(
      `query($id: ID!) { project(id: $id) {
        id code status manager { id }
        resourceRequests { role { code } hours status }
        opportunity { id isWon externalIds { projectId erpProjectId psaProjectId } }
        contract { erpProjectId type value { amount currency } poNumber }
        billingSchedule { type lines { date } }
        activation { status trigger steps { name status } externalIds { erpProjectId psaProjectId erpProjectCode } cycleTimeSeconds }
      } }`,
      { id: projectId },
    );
    expect(view.body.errors).toBeUndefined();
    const project = view.body.data.project;
    expect(project.status).toBe('PLANNED');
    expect(project.opportunity).toEqual({
      id: opportunityId,
      isWon: true,
      externalIds: { projectId, erpProjectId: project.activation.externalIds.erpProjectId, psaProjectId: project.activation.externalIds.psaProjectId },
    });
    expect(project.contract.erpProjectId).toBe(project.activation.externalIds.erpProjectId);
    expect(project.code).toBe(project.activation.externalIds.erpProjectCode);
    const lines = crm.prepare('SELECT role, hours FROM opportunity_line_item WHERE opportunity_id = ? ORDER BY sort_order').all(opportunityId) as Array<{
      role: string;
      hours: number;
    }>;
    expect(project.resourceRequests).toEqual(lines.map((line) => ({ role: { code: line.role }, hours: line.hours, status: 'OPEN' })));
    expect(project.activation.status).toBe('ACTIVE');
    expect(project.activation.steps.every((step: { status: string }) => step.status === 'SUCCEEDED')).toBe(true);
    expect(project.activation.cycleTimeSeconds).toBeGreaterThanOrEqual(0);
    // The deal is no longer awaiting activation.
    expect(awaiting(`o.id = '${opportunityId}'`)).toEqual([]);
  });

  it('parks the seeded deals whose accounts lack a tax registration, and completes them once CRM has it', async () => {
    const missing = awaiting('a.tax_id IS NULL');
    expect(missing.length).toBeGreaterThan(0);
    for (const opportunityId of missing) {
      const { body } = await stack.query(ACTIVATE, { id: opportunityId, key: `e2e-tax-${opportunityId}` });
      const run = body.data.activateProject;
      expect(run.status).toBe('EXCEPTION_OPEN');
      const accountId = crm.prepare('SELECT account_id FROM opportunity WHERE id = ?').pluck().get(opportunityId);
      expect(run.exceptions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'TAX_ID_MISSING', system: 'CRM', recordType: 'Account', recordId: accountId, field: 'Tax_Id__c', status: 'OPEN' }),
        ]),
      );
    }
    const counts = await stack.query(
      `{ exceptionCounts { type region system count } integrationExceptions(filter: { type: ["TAX_ID_MISSING"], status: [OPEN] }) { totalCount } }`,
    );
    expect(counts.body.data.integrationExceptions.totalCount).toBe(missing.length);
    expect(
      counts.body.data.exceptionCounts
        .filter((row: { type: string }) => row.type === 'TAX_ID_MISSING')
        .reduce((sum: number, row: { count: number }) => sum + row.count, 0),
    ).toBe(missing.length);

    // Finance enters the tax ID in CRM through the graph, and the run is retried.
    const opportunityId = missing[0]!;
    const accountId = crm.prepare('SELECT account_id FROM opportunity WHERE id = ?').pluck().get(opportunityId);
    const fixed = await stack.query(`mutation($id: ID!) { updateAccount(id: $id, input: { taxId: "GB987654321" }) { id taxId } }`, { id: accountId });
    expect(fixed.body.data.updateAccount).toEqual({ id: accountId, taxId: 'GB987654321' });
    const runs = await stack.query(`query($id: ID!) { activationRuns(filter: { opportunityId: $id }) { nodes { id status } } }`, { id: opportunityId });
    const [parked] = runs.body.data.activationRuns.nodes;
    const retried = await stack.query(`mutation($id: ID!) { retryActivation(runId: $id) { status exceptions { type status } } }`, { id: parked.id });
    const result = retried.body.data.retryActivation;
    expect(result.exceptions).toEqual([{ type: 'TAX_ID_MISSING', status: 'RESOLVED' }]);
    expect(result.status).toBe('ACTIVE');
  });

  it("keeps the saga's system writes off the supergraph", async () => {
    const { status, body } = await stack.query(`mutation { deleteErpProject(projectId: "prj_01JFJG60M0Q0CQE75AR8B3HMHQ") }`);
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('reports activation figures for the runs activated', async () => {
    const { body } = await stack.query(`{ activationFigures { activatedCount touchlessRate cycleTime { p50Seconds p99Seconds } } }`);
    expect(body.errors).toBeUndefined();
    expect(body.data.activationFigures.activatedCount).toBeGreaterThanOrEqual(1);
    expect(body.data.activationFigures.cycleTime.p99Seconds).toBeGreaterThanOrEqual(body.data.activationFigures.cycleTime.p50Seconds);
  });
});
