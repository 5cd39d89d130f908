import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivationSubgraph } from '../src/activationSubgraph.js';
import type { StepName } from '../src/saga/activationStates.js';
import { type CallSite, type FaultInjector, faultRules } from '../src/systems/faults.js';
import { ACTIVATE, type SystemCounts, type SystemsUnderTest, contractViolations, run, startActivation, startSystems } from './activationHarness.js';

const REMOTE_STEPS: readonly StepName[] = [
  'VALIDATE',
  'ERP_CUSTOMER',
  'ERP_PROJECT',
  'ERP_BILLING_SCHEDULE',
  'PSA_PROJECT',
  'PSA_RESOURCE_REQUESTS',
  'CRM_LINK',
];

/** A fault seam that also records every call made through it, in order. */
function recording(inner: FaultInjector): FaultInjector & { calls: CallSite[] } {
  const calls: CallSite[] = [];
  return Object.assign(
    (call: CallSite) => {
      calls.push(call);
      return inner(call);
    },
    { calls },
  );
}

describe('activation under faults', () => {
  let systems: SystemsUnderTest;
  let deals: string[];
  const started: ActivationSubgraph[] = [];
  const activationWith = (faults: FaultInjector) => {
    const activation = startActivation(systems, { faults });
    started.push(activation);
    return activation;
  };
  const delta = (before: SystemCounts) => systems.added(before);
  const lineCount = (opportunityId: string) => systems.lineItems([opportunityId]);

  beforeAll(async () => {
    systems = await startSystems();
    deals = systems.cleanAwaitingOpportunities();
  });
  afterAll(async () => {
    for (const activation of started) await activation.stop();
    await systems.stop();
  });

  it('retries timeouts and 503s injected at every step, with lost answers, and completes with no duplicate', async () => {
    const opportunityId = deals[0]!;
    // Two failures per step: a 503 before the call, then a timeout after the system has done the write.
    const faults = faultRules(
      REMOTE_STEPS.flatMap((step) => [
        { step, fault: 'unavailable' as const, times: 1 },
        { step, fault: 'timeout-after' as const, times: 1 },
      ]),
    );
    const activation = activationWith(faults);
    const before = systems.counts();
    const response = await run(activation, ACTIVATE, { opportunityId, key: 'transient' });
    const result = response.data!['activateProject'];
    expect(result.status).toBe('ACTIVE');
    expect(faults.hits()).toBe(REMOTE_STEPS.length * 2);
    for (const step of result.steps.filter((candidate: { name: string }) => candidate.name !== 'PUBLISH_ACTIVATED')) {
      expect(step.attempts, step.name).toBeGreaterThanOrEqual(3);
      expect(step.status).toBe('SUCCEEDED');
    }
    expect(delta(before)).toEqual({
      erpJobs: 1,
      erpBillingSchedules: 1,
      psaProjects: 1,
      psaResourceRequests: lineCount(opportunityId),
      crmLinkedOpportunities: 1,
    });
  });

  for (const [k, failing] of (['ERP_PROJECT', 'ERP_BILLING_SCHEDULE', 'PSA_PROJECT', 'PSA_RESOURCE_REQUESTS', 'CRM_LINK'] as const).entries()) {
    it(`compensates the steps before ${failing} in reverse order when it fails for good, and ends COMPENSATED with the cause`, async () => {
      const opportunityId = deals[1 + k]!;
      // Each undo also loses its first answer: compensation must be idempotent too.
      const faults = recording(
        faultRules([
          { step: failing, phase: 'forward', fault: 'permanent' },
          ...REMOTE_STEPS.map((step) => ({ step, phase: 'compensate' as const, fault: 'timeout-after' as const, times: 1 })),
        ]),
      );
      const activation = activationWith(faults);
      const before = systems.counts();
      const response = await run(activation, ACTIVATE, { opportunityId, key: `permanent-${failing}` });
      const result = response.data!['activateProject'];
      expect(result.status, JSON.stringify(result.exceptions)).toBe('COMPENSATED');
      expect(result.cause).toMatch(new RegExp(`^${failing} failed: .*injected permanent failure`));
      const index = REMOTE_STEPS.indexOf(failing);
      const undone = ['ERP_PROJECT', 'ERP_BILLING_SCHEDULE', 'PSA_PROJECT', 'PSA_RESOURCE_REQUESTS', 'CRM_LINK'].filter(
        (step) => REMOTE_STEPS.indexOf(step as StepName) < index,
      );
      // The undo calls, first occurrence of each, follow the reverse order of the steps.
      const undoOrder = [...new Set(faults.calls.filter((call) => call.phase === 'compensate').map((call) => call.step))];
      expect(undoOrder).toEqual([...undone].reverse());
      const statuses = Object.fromEntries(result.steps.map((step: { name: string; status: string }) => [step.name, step.status]));
      for (const step of undone) expect(statuses[step]).toBe('COMPENSATED');
      expect(statuses[failing]).toBe('FAILED');
      expect(statuses['ERP_CUSTOMER']).toBe('SUCCEEDED');
      expect(result.transitions.map((transition: { to: string }) => transition.to).slice(-2)).toEqual(['COMPENSATING', 'COMPENSATED']);
      // Nothing is left behind in any system but the shared ERP customer master record.
      expect(delta(before)).toEqual({ erpJobs: 0, erpBillingSchedules: 0, psaProjects: 0, psaResourceRequests: 0, crmLinkedOpportunities: 0 });
    });
  }

  it('hands a compensation that keeps failing to a person (NEEDS_ATTENTION and an exception) after its attempts, and carries on once it is waived', async () => {
    const opportunityId = deals[6]!;
    const faults = recording(
      faultRules([
        { step: 'CRM_LINK', phase: 'forward', fault: 'permanent' },
        { step: 'PSA_PROJECT', phase: 'compensate', fault: 'unavailable' },
      ]),
    );
    const activation = activationWith(faults);
    const before = systems.counts();
    const response = await run(activation, ACTIVATE, { opportunityId, key: 'stuck-undo' });
    const result = response.data!['activateProject'];
    expect(result.status).toBe('NEEDS_ATTENTION');
    const psaUndo = result.steps.find((step: { name: string }) => step.name === 'PSA_PROJECT');
    expect(psaUndo).toMatchObject({ status: 'COMPENSATION_FAILED', compensationAttempts: 3 });
    expect(faults.calls.filter((call) => call.step === 'PSA_PROJECT' && call.phase === 'compensate')).toHaveLength(3);
    const [exception] = result.exceptions;
    expect(exception).toMatchObject({ type: 'COMPENSATION_FAILED', system: 'PSA', recordType: 'Step:PSA_PROJECT', recordId: result.projectId, status: 'OPEN' });
    // Left alone, it stays put: no endless retrying.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(faults.calls.filter((call) => call.step === 'PSA_PROJECT' && call.phase === 'compensate')).toHaveLength(3);

    // Someone deletes the PSA project by hand, then waives the undo: compensation finishes what remains.
    systems.psaDb().prepare('DELETE FROM resource_request WHERE project_id = ?').run(result.projectId);
    systems.psaDb().prepare('DELETE FROM project WHERE id = ?').run(result.projectId);
    const waived = await run(
      activation,
      `mutation { resolveException(id: "${exception.id}", resolution: { action: WAIVE, note: "deleted in Kantata by hand" }) { status resolution resolutionNote } }`,
    );
    expect(waived.data!['resolveException']).toEqual({ status: 'WAIVED', resolution: 'WAIVE', resolutionNote: 'deleted in Kantata by hand' });
    const done = await activation.runner.waitFor(result.id, ['COMPENSATED'], 5_000);
    expect(done.status).toBe('COMPENSATED');
    expect(delta(before)).toEqual({ erpJobs: 0, erpBillingSchedules: 0, psaProjects: 0, psaResourceRequests: 0, crmLinkedOpportunities: 0 });
  });

  it('refuses to waive a validation problem', async () => {
    const activation = started[started.length - 1]!;
    const runs = activation.store.runs.searchRuns({}, { limit: 1, offset: 0 });
    expect(runs.rows.length).toBe(1);
    const exception = activation.store.exceptions.raise(runs.rows[0]!.id, null, {
      type: 'PO_MISSING',
      message: 'test',
      system: 'CRM',
      recordType: 'Opportunity',
      recordId: runs.rows[0]!.opportunityId,
      field: 'PO_Number__c',
    });
    const response = await run(activation, `mutation { resolveException(id: "${exception.id}", resolution: { action: WAIVE }) { status } }`);
    expect(response.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });

  it('publishes only events that match their contracts, whatever went wrong', async () => {
    for (const activation of started) await activation.flushEvents();
    expect(contractViolations(systems.published())).toEqual([]);
    expect(
      systems
        .published()
        .filter((event) => event.type === 'project.activation_failed')
        .map((event) => (event.data as { outcome: string }).outcome),
    ).toEqual(expect.arrayContaining(['COMPENSATED', 'NEEDS_ATTENTION']));
  });
});
