/** The records the activation store keeps, as its callers see them (rows are mapped in each part of the store). */
import type { BusEvent } from '../../../platform/src/events/index.js';
import { newEventId } from '../../../platform/src/events/index.js';
import type { ActivationPlan, Region } from '../saga/activationPlan.js';
import type { RunStatus, StepName, StepStatus, SystemName } from '../saga/activationStates.js';

export type RunTrigger = 'MUTATION' | 'EVENT';
export type ExceptionStatus = 'OPEN' | 'RESOLVED' | 'WAIVED' | 'CANCELLED';

export interface ActivationRunRecord {
  readonly id: string;
  readonly opportunityId: string;
  readonly projectId: string;
  readonly status: RunStatus;
  readonly trigger: RunTrigger;
  readonly region: Region | null;
  readonly plan: ActivationPlan | null;
  readonly cause: string | null;
  readonly cancelRequested: boolean;
  readonly requestedAt: string;
  readonly closedWonAt: string | null;
  readonly activatedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string;
  /**
   * The W3C traceparent of what started the run (the closed-won event's consumer, the mutation), when tracing was
   * on: every later drive of the run (a retry, a resume after a crash) continues that trace.
   */
  readonly traceParent: string | null;
}

export interface StepRecord {
  readonly runId: string;
  readonly sequence: number;
  readonly name: StepName;
  readonly status: StepStatus;
  readonly attempts: number;
  readonly compensationAttempts: number;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly error: string | null;
  readonly output: Record<string, unknown> | null;
}

export interface TransitionRecord {
  readonly runId: string;
  readonly from: RunStatus | null;
  readonly to: RunStatus;
  readonly at: string;
  readonly reason: string | null;
}

export interface ProjectXref {
  readonly projectId: string;
  readonly opportunityId: string;
  readonly accountId: string | null;
  readonly erpCustomerId: string | null;
  readonly erpProjectId: string | null;
  readonly erpProjectCode: string | null;
  readonly billingScheduleId: string | null;
  readonly psaProjectId: string | null;
}

export interface ExceptionRecord {
  readonly id: string;
  readonly runId: string;
  readonly type: string;
  readonly message: string;
  readonly system: SystemName;
  readonly recordType: string;
  readonly recordId: string;
  readonly field: string | null;
  readonly region: Region | null;
  readonly status: ExceptionStatus;
  readonly occurrences: number;
  readonly raisedAt: string;
  readonly resolvedAt: string | null;
  readonly resolution: string | null;
  readonly resolutionNote: string | null;
  /** Who is fixing it (exceptionJournal.ts). */
  readonly assignee: string | null;
}

export interface DeadLetterRecord {
  readonly eventId: string | null;
  readonly type: string | null;
  readonly reason: string;
  readonly payload: string;
  readonly receivedAt: string;
}

export interface RunSearch {
  readonly statuses?: readonly string[] | null;
  readonly opportunityId?: string | null;
  readonly region?: readonly string[] | null;
  readonly requestedFrom?: string | null;
  readonly requestedTo?: string | null;
}

export interface ExceptionSearch {
  readonly statuses?: readonly string[] | null;
  readonly types?: readonly string[] | null;
  readonly regions?: readonly string[] | null;
  readonly systems?: readonly string[] | null;
  readonly runId?: string | null;
}

/** What a transition also writes, in the same transaction. */
export interface TransitionChanges {
  readonly reason?: string;
  readonly cause?: string | null;
  readonly region?: Region | null;
  readonly plan?: ActivationPlan;
  readonly activatedAt?: string;
  readonly events?: readonly BusEvent[];
}

/** IDs of psgraph's own records: a prefix and a time-ordered ULID. */
export function newRecordId(prefix: 'act' | 'exc' | 'ivr'): string {
  return `${prefix}_${newEventId().slice('evt_'.length)}`;
}
