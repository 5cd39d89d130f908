import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, freePort } from '../../../test/support/processes.js';
import { EmbeddedEventBus } from '../../platform/src/events/index.js';
import type { StepName } from '../src/saga/activationStates.js';
import { RUN_FIELDS, type SystemCounts, type SystemsUnderTest, activationProcess, startSystems } from './activationHarness.js';

/** Every step that calls a system; the activation process is killed right after each one's call went through. */
const CRASH_STEPS: readonly StepName[] = [
  'VALIDATE',
  'ERP_CUSTOMER',
  'ERP_PROJECT',
  'ERP_BILLING_SCHEDULE',
  'PSA_PROJECT',
  'PSA_RESOURCE_REQUESTS',
  'CRM_LINK',
];

describe('the activation process killed at any step', () => {
  let systems: SystemsUnderTest;
  let port: number;
  const processes: RunningProcess[] = [];

  const start = (faults: unknown[] | null): RunningProcess => {
    const child = activationProcess(systems, port, faults, {
      PSGRAPH_ACTIVATION_LEASE_MS: '1000',
      PSGRAPH_ACTIVATION_AWAIT_MS: '0',
      PSGRAPH_ACTIVATION_RETRY_INITIAL_MS: '5',
      PSGRAPH_ACTIVATION_RETRY_MAX_MS: '50',
    });
    processes.push(child);
    return child;
  };
  const graphql = async (query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: any; errors?: unknown[] };
  };

  beforeAll(async () => {
    // The embedded bus: one SQLite log in the data folder, shared by this process's CRM and the activation process.
    systems = await startSystems(undefined, (dataDir) => new EmbeddedEventBus({ dataDir }));
    port = await freePort();
  });
  afterAll(async () => {
    for (const child of processes) if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    await systems.stop();
  });

  it('resumes every run from its durable state after a restart and completes it with no duplicate anywhere', async () => {
    const before: SystemCounts = systems.counts();
    // One hang per step: each run hangs right after the call of the next step, its write done, its answer lost.
    const first = start(CRASH_STEPS.map((step) => ({ step, fault: 'hang', times: 1 })));
    await first.waitFor(/ready at/, 30_000);

    // The first deal is won in CRM: its closed_won event (over the embedded bus) starts the run that hangs in VALIDATE.
    const wonDeal = systems
      .crmDb()
      .prepare(
        `SELECT o.id FROM opportunity o JOIN opportunity_stage s ON s.name = o.stage_name JOIN account a ON a.id = o.account_id
         WHERE s.is_closed = 0 AND a.tax_id IS NOT NULL AND o.po_number IS NOT NULL ORDER BY o.id LIMIT 1`,
      )
      .pluck()
      .get() as string;
    await systems.crm.crm.setOpportunityStage(wonDeal, 'Closed Won');
    await systems.crm.flushEvents();
    const eventHang = await first.waitFor(/fault: hanging after \w+ \(VALIDATE, run act_\w+\)/, 15_000);
    const runIds = [/run (act_\w+)\)$/.exec(eventHang)![1]!];
    const deals = [
      wonDeal,
      ...systems
        .cleanAwaitingOpportunities()
        .filter((id) => id !== wonDeal)
        .slice(0, CRASH_STEPS.length - 1),
    ];

    // The others are activated by the mutation, one after the other, each hanging one step further on.
    for (let i = 1; i < CRASH_STEPS.length; i++) {
      const answer = await graphql(
        `
          mutation ($id: ID!, $key: String!) {
            activateProject(input: { opportunityId: $id, idempotencyKey: $key }) {
              id
            }
          }
        `,
        { id: deals[i], key: `crash-${i}` },
      );
      runIds.push(answer.data.activateProject.id);
      await first.waitFor(new RegExp(`fault: hanging after \\w+ \\(${CRASH_STEPS[i]}, run ${answer.data.activateProject.id}\\)`), 15_000);
    }
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = start(null);
    await second.waitFor(/ready at/, 30_000);
    const deadline = Date.now() + 20_000;
    let runs: any[];
    for (;;) {
      runs = await Promise.all(
        runIds.map(async (id) => (await graphql(`query($id: ID!) { activationRun(id: $id) { ${RUN_FIELDS} } }`, { id })).data.activationRun),
      );
      if (runs.every((run) => run.status === 'ACTIVE') || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(runs.map((run) => run.status)).toEqual(CRASH_STEPS.map(() => 'ACTIVE'));
    expect(runs.map((run) => run.trigger)).toEqual(['EVENT', ...CRASH_STEPS.slice(1).map(() => 'MUTATION')]);
    // The step each run was killed in was attempted twice (once before the crash, once after), and no more.
    for (const [i, run] of runs.entries()) {
      expect(run.steps.find((step: { name: string }) => step.name === CRASH_STEPS[i]).attempts, CRASH_STEPS[i]).toBe(2);
    }
    const lines = systems.lineItems(deals);
    expect(systems.added(before)).toEqual({
      erpJobs: deals.length,
      erpBillingSchedules: deals.length,
      psaProjects: deals.length,
      psaResourceRequests: lines,
      crmLinkedOpportunities: deals.length,
    });
    for (const run of runs)
      expect(systems.erpDb().prepare('SELECT COUNT(*) FROM customer WHERE external_id = ?').pluck().get(run.externalIds.accountId)).toBe(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 90_000);
});
