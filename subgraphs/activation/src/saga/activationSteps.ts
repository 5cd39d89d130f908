/**
 * What each saga step does in the systems, forward and undone. Each is idempotent at the system it calls (an
 * external-ID upsert, a search before create, a link that refuses a second project), so a step interrupted by a
 * crash is safe to run again; the runner (`activationRunner.ts`) decides when.
 */
import type { ActivationRunRecord, ProjectXref } from '../store/activationStore.js';
import type { ActivationSystems, CallContext } from '../systems/activationSystems.js';
import type { StepName } from './activationStates.js';

/** The IDs a step adds to (or, undone, removes from) the project's cross-reference. */
export type XrefChanges = Partial<Omit<ProjectXref, 'projectId' | 'opportunityId'>>;

/** What a forward step records: its output in the step log, and the IDs it produced. */
export interface StepResult {
  readonly output: Record<string, unknown>;
  readonly xref: XrefChanges;
}

/** One forward step against the systems; returns what to record. Idempotent by each system's lever. */
export async function runStep(
  systems: ActivationSystems,
  run: ActivationRunRecord,
  step: StepName,
  context: CallContext,
  /** The project's IDs as recorded so far (read when a step needs an earlier step's output). */
  recordedXref: () => ProjectXref,
): Promise<StepResult> {
  const plan = run.plan!;
  switch (step) {
    case 'ERP_CUSTOMER': {
      const customers: Record<string, string> = {};
      // Top of the hierarchy first: a NetSuite sub-customer needs its parent to exist.
      for (const customer of plan.customers) customers[customer.accountId] = (await systems.upsertCustomer(context, customer)).erpCustomerId;
      return { output: { customers }, xref: { accountId: plan.accountId, erpCustomerId: customers[plan.accountId]! } };
    }
    case 'ERP_PROJECT': {
      const job = await systems.upsertErpProject(context, run.projectId, plan);
      return { output: { erpProjectId: job.erpProjectId, code: job.code }, xref: { erpProjectId: job.erpProjectId, erpProjectCode: job.code } };
    }
    case 'ERP_BILLING_SCHEDULE': {
      const schedule = await systems.upsertBillingSchedule(context, run.projectId, plan);
      return { output: { billingScheduleId: schedule.billingScheduleId }, xref: { billingScheduleId: schedule.billingScheduleId } };
    }
    case 'PSA_PROJECT': {
      // Kantata has no idempotency key: search by the external reference, create only what is not there.
      const found = await systems.findPsaProject(context, run.projectId);
      const psaId = found?.psaId ?? (await systems.createPsaProject(context, run.projectId, recordedXref().erpProjectCode!, plan)).psaId;
      return { output: { psaProjectId: psaId, found: found !== null }, xref: { psaProjectId: psaId } };
    }
    case 'PSA_RESOURCE_REQUESTS': {
      const project = await systems.findPsaProject(context, run.projectId);
      const standing = (project?.resourceRequests ?? []).filter((request) => request.status !== 'CANCELLED');
      const ids = standing.length > 0 ? standing.map((request) => request.id) : await systems.createResourceRequests(context, run.projectId, plan);
      return { output: { resourceRequestIds: ids, found: standing.length > 0 }, xref: {} };
    }
    case 'CRM_LINK': {
      const xref = recordedXref();
      await systems.linkProject(context, {
        projectId: run.projectId,
        erpProjectId: xref.erpProjectId!,
        psaProjectId: xref.psaProjectId!,
        erpCustomerId: xref.erpCustomerId!,
      });
      return { output: { linked: true }, xref: {} };
    }
    default:
      throw new Error(`${step} is not a provisioning step`);
  }
}

/** The compensation of a step, idempotent: undoing what is already gone changes nothing. */
export async function undoStep(systems: ActivationSystems, run: ActivationRunRecord, step: StepName, context: CallContext): Promise<XrefChanges> {
  switch (step) {
    case 'CRM_LINK':
      await systems.unlinkProject(context, run.projectId);
      return {};
    case 'PSA_RESOURCE_REQUESTS':
      await systems.cancelResourceRequests(context, run.projectId);
      return {};
    case 'PSA_PROJECT':
      await systems.deletePsaProject(context, run.projectId);
      return { psaProjectId: null };
    case 'ERP_BILLING_SCHEDULE':
      await systems.deleteBillingSchedule(context, run.projectId);
      return { billingScheduleId: null };
    case 'ERP_PROJECT':
      await systems.deleteErpProject(context, run.projectId);
      return { erpProjectId: null, erpProjectCode: null };
    default:
      return {};
  }
}
