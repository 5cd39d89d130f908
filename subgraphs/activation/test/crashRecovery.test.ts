import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, freePort, runTypeScript } from '../../../test/support/processes.js';
import type { StepName } from '../src/saga/activationStates.js';
import { RUN_FIELDS, type SystemCounts, type SystemsUnderTest, startSystems } from './activationHarness.js';

/** Every step that calls a system; the activation process is killed right after each one's call went through. */
const CRASH_STEPS: readonly StepName[] = ['VALIDATE', 'ERP_CUSTOMER', 'ERP_PROJECT', 'ERP_BILLING_SCHEDULE', 'PSA_PROJECT', 'PSA_RESOURCE_REQUESTS', 'CRM_LINK'];

describe('the activation process killed at any step', () => {
  let systems: SystemsUnderTest;
  let port: number;
  const processes: RunningProcess[] = [];

  const start = (faults: unknown[] | null): RunningProcess => {
    const child = runTypeScript('subgraphs/activation/src/main.ts', {
      PSGRAPH_DATA_DIR: systems.dataDir,
      PSGRAPH_ACTIVATION_PORT: String(port),
      PSGRAPH_CRM_URL: systems.urls.crm,
      PSGRAPH_ERP_URL: systems.urls.erp,
      PSGRAPH_PSA_URL: systems.urls.psa,
      PSGRAPH_ACTIVATION_LEASE_MS: '1000',
      PSGRAPH_ACTIVATION_AWAIT_MS: '0',
      PSGRAPH_ACTIVATION_RETRY_INITIAL_MS: '5',
      PSGRAPH_ACTIVATION_RETRY_MAX_MS: '50',
      PSGRAPH_ACTIVATION_FAULTS: faults ? JSON.stringify(faults) : '',
    });
    processes.push(child);
    return child;
  };
  const graphql = async (query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return (await response.json()) as { data?: any; errors?: unknown[] };
  };

  beforeAll(async () => {
    systems = await startSystems();
    port = await freePort();
  });
  afterAll(async () => {
    for (const child of processes) if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    await systems.stop();
  });

  it('resumes every run from its durable state after a restart and completes it with no duplicate anywhere', async () => {
    const deals = systems.cleanAwaitingOpportunities().slice(0, CRASH_STEPS.length);
    const before: SystemCounts = systems.counts();
    // One hang per step: the first run hangs after its VALIDATE read, the next after its ERP customer upsert, …
    const first = start(CRASH_STEPS.map((step) => ({ step, fault: 'hang', times: 1 })));
    await first.waitFor(/ready at/, 30_000);
    const runIds: string[] = [];
    for (const [i, opportunityId] of deals.entries()) {
      const answer = await graphql(`mutation($id: ID!, $key: String!) { activateProject(input: { opportunityId: $id, idempotencyKey: $key }) { id } }`, { id: opportunityId, key: `crash-${i}` });
      runIds.push(answer.data.activateProject.id);
      // The hang line names the step: wait until this run sits after a completed call of step i.
      await first.waitFor(new RegExp(`fault: hanging after \\w+ \\(${CRASH_STEPS[i]}, run ${answer.data.activateProject.id}\\)`), 15_000);
    }
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = start(null);
    await second.waitFor(/ready at/, 30_000);
    const deadline = Date.now() + 20_000;
    let runs: any[] = [];
    for (;;) {
      runs = await Promise.all(runIds.map(async (id) => (await graphql(`query($id: ID!) { activationRun(id: $id) { ${RUN_FIELDS} } }`, { id })).data.activationRun));
      if (runs.every((run) => run.status === 'ACTIVE') || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(runs.map((run) => run.status)).toEqual(CRASH_STEPS.map(() => 'ACTIVE'));
    // The step each run was killed in was attempted twice (once before the crash, once after), and no more.
    for (const [i, run] of runs.entries()) {
      const crashed = run.steps.find((step: { name: string }) => step.name === CRASH_STEPS[i]);
      expect(crashed.attempts, `${CRASH_STEPS[i]}`).toBe(2);
    }
    const lines = deals.reduce((sum, id) => sum + (systems.crmDb().prepare('SELECT COUNT(*) FROM opportunity_line_item WHERE opportunity_id = ?').pluck().get(id) as number), 0);
    const after = systems.counts();
    expect({
      erpJobs: after.erpJobs - before.erpJobs,
      erpBillingSchedules: after.erpBillingSchedules - before.erpBillingSchedules,
      psaProjects: after.psaProjects - before.psaProjects,
      psaResourceRequests: after.psaResourceRequests - before.psaResourceRequests,
      crmLinkedOpportunities: after.crmLinkedOpportunities - before.crmLinkedOpportunities,
    }).toEqual({ erpJobs: deals.length, erpBillingSchedules: deals.length, psaProjects: deals.length, psaResourceRequests: lines, crmLinkedOpportunities: deals.length });
    for (const run of runs) expect(systems.erpDb().prepare('SELECT COUNT(*) FROM customer WHERE external_id = ?').pluck().get(run.externalIds.accountId)).toBe(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 90_000);
});
