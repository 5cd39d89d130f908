/**
 * The events the activation flow publishes, built in one place so that each matches its contract under
 * contracts/events/ (tests check every published event against it).
 */
import { type BusEvent, newEvent } from '../../../platform/src/events/index.js';
import type { StepName } from '../saga/activationStates.js';
import type { ActivationRunRecord, ExceptionRecord, ProjectXref } from '../store/activationStore.js';

const SOURCE = 'activation';

export function activationRequested(run: ActivationRunRecord): BusEvent {
  return newEvent('project.activation_requested', {
    source: SOURCE,
    subject: run.id,
    occurredAt: new Date(run.requestedAt),
    data: { runId: run.id, opportunityId: run.opportunityId, projectId: run.projectId, trigger: run.trigger, requestedAt: run.requestedAt },
  });
}

/** Seconds from the deal's closed-won moment (else the request) to activation. */
export function cycleTimeSeconds(run: Pick<ActivationRunRecord, 'closedWonAt' | 'requestedAt' | 'activatedAt'>): number | null {
  if (!run.activatedAt) return null;
  const from = Date.parse(run.closedWonAt ?? run.requestedAt);
  return Math.max(0, (Date.parse(run.activatedAt) - from) / 1000);
}

export function projectActivated(run: ActivationRunRecord, xref: ProjectXref, region: string, activatedAt: string): BusEvent {
  return newEvent('project.activated', {
    source: SOURCE,
    subject: run.projectId,
    occurredAt: new Date(activatedAt),
    data: {
      runId: run.id,
      opportunityId: run.opportunityId,
      projectId: run.projectId,
      accountId: xref.accountId!,
      region,
      erpCustomerId: xref.erpCustomerId!,
      erpProjectId: xref.erpProjectId!,
      psaProjectId: xref.psaProjectId!,
      closedWonAt: run.closedWonAt,
      activatedAt,
      cycleTimeSeconds: run.closedWonAt ? cycleTimeSeconds({ ...run, activatedAt }) : null,
    },
  });
}

export function activationFailed(
  run: ActivationRunRecord,
  outcome: 'VALIDATION_FAILED' | 'COMPENSATED' | 'CANCELLED' | 'NEEDS_ATTENTION',
  cause: string,
  failedStep: StepName | null,
  problems: readonly string[] = [],
): BusEvent {
  return newEvent('project.activation_failed', {
    source: SOURCE,
    subject: run.id,
    data: { runId: run.id, opportunityId: run.opportunityId, projectId: run.projectId, outcome, cause, failedStep, problems: [...problems] },
  });
}

export function exceptionRaised(exception: ExceptionRecord, opportunityId: string): BusEvent {
  return newEvent('integration_exception.raised', {
    source: SOURCE,
    subject: exception.id,
    occurredAt: new Date(exception.raisedAt),
    data: {
      exceptionId: exception.id,
      runId: exception.runId,
      opportunityId,
      type: exception.type,
      message: exception.message,
      system: exception.system,
      recordType: exception.recordType,
      recordId: exception.recordId,
      field: exception.field,
      region: exception.region,
      raisedAt: exception.raisedAt,
    },
  });
}

export function exceptionResolved(exception: ExceptionRecord): BusEvent {
  return newEvent('integration_exception.resolved', {
    source: SOURCE,
    subject: exception.id,
    data: {
      exceptionId: exception.id,
      runId: exception.runId,
      type: exception.type,
      status: exception.status as 'RESOLVED' | 'WAIVED' | 'CANCELLED',
      resolution: exception.resolution ?? exception.status,
      note: exception.resolutionNote,
      resolvedAt: exception.resolvedAt ?? new Date().toISOString(),
    },
  });
}
