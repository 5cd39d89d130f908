/**
 * The activation saga's state machine, written down as data so that every status change is checked against it
 * (`assertTransition`) and the README's diagram has one source. The shape follows the design card
 * (reference/business-systems.md §3.2): REQUESTED → VALIDATING → ERP_PROVISIONING → PSA_PROVISIONING → LINKING →
 * ACTIVE, with validation problems parked as exceptions, failures compensated in reverse, and a compensation
 * that cannot finish handed to a person instead of retried forever.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from '../../../platform/src/index.js';

export const RUN_STATUSES = [
  'REQUESTED',
  'VALIDATING',
  'VALIDATION_FAILED',
  'EXCEPTION_OPEN',
  'ERP_PROVISIONING',
  'PSA_PROVISIONING',
  'LINKING',
  'ACTIVE',
  'COMPENSATING',
  'COMPENSATED',
  'NEEDS_ATTENTION',
  'CANCELLED',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Every allowed change of a run's status; anything else is a bug, refused before it is written. */
export const TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  REQUESTED: ['VALIDATING', 'CANCELLED'],
  VALIDATING: ['ERP_PROVISIONING', 'VALIDATION_FAILED', 'COMPENSATING', 'CANCELLED'],
  // Recorded, then parked: the problems are open exceptions until the data is fixed or the run is cancelled.
  VALIDATION_FAILED: ['EXCEPTION_OPEN'],
  EXCEPTION_OPEN: ['VALIDATING', 'CANCELLED'],
  ERP_PROVISIONING: ['PSA_PROVISIONING', 'COMPENSATING'],
  PSA_PROVISIONING: ['LINKING', 'COMPENSATING'],
  LINKING: ['ACTIVE', 'COMPENSATING'],
  ACTIVE: [],
  // Ends COMPENSATED after a failure, CANCELLED after a cancel or a reopened deal, NEEDS_ATTENTION when an undo
  // keeps failing.
  COMPENSATING: ['COMPENSATED', 'CANCELLED', 'NEEDS_ATTENTION'],
  COMPENSATED: [],
  // A person fixes what could not be undone, then retries the compensation or waives it.
  NEEDS_ATTENTION: ['COMPENSATING', 'COMPENSATED', 'CANCELLED'],
  CANCELLED: [],
};

/** Statuses in which a driver is working on the run (it holds a lease while it does). */
export const IN_FLIGHT_STATUSES: readonly RunStatus[] = ['REQUESTED', 'VALIDATING', 'ERP_PROVISIONING', 'PSA_PROVISIONING', 'LINKING', 'COMPENSATING'];

/** Statuses that end a run for good: a new activation of the same deal starts a new run. */
export const FINAL_STATUSES: readonly RunStatus[] = ['ACTIVE', 'COMPENSATED', 'CANCELLED'];

/**
 * Statuses that do NOT hold the deal: the run table's unique index covers every other status, so one
 * opportunity has at most one run that is in flight, parked or succeeded — never two projects.
 */
export const RELEASED_STATUSES: readonly RunStatus[] = ['COMPENSATED', 'CANCELLED'];

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: RunStatus, to: RunStatus, runId: string): void {
  if (!canTransition(from, to)) {
    throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Activation run ${runId} cannot go from ${from} to ${to}.`, { from, to });
  }
}

export const STEP_NAMES = [
  'VALIDATE',
  'ERP_CUSTOMER',
  'ERP_PROJECT',
  'ERP_BILLING_SCHEDULE',
  'PSA_PROJECT',
  'PSA_RESOURCE_REQUESTS',
  'CRM_LINK',
  'PUBLISH_ACTIVATED',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

export const STEP_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'COMPENSATING', 'COMPENSATED', 'COMPENSATION_FAILED'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** The run status while a step runs; steps run in `STEP_NAMES` order. */
export const PHASE_OF_STEP: Readonly<Record<StepName, RunStatus>> = {
  VALIDATE: 'VALIDATING',
  ERP_CUSTOMER: 'ERP_PROVISIONING',
  ERP_PROJECT: 'ERP_PROVISIONING',
  ERP_BILLING_SCHEDULE: 'ERP_PROVISIONING',
  PSA_PROJECT: 'PSA_PROVISIONING',
  PSA_RESOURCE_REQUESTS: 'PSA_PROVISIONING',
  CRM_LINK: 'LINKING',
  PUBLISH_ACTIVATED: 'LINKING',
};

/**
 * Steps whose effect is undone when a later step fails. Validation writes nothing; the ERP customer is a shared
 * master record other projects bill against, so it stays (as the design card says); publishing is the last step.
 */
export const COMPENSATED_STEPS: ReadonlySet<StepName> = new Set(['ERP_PROJECT', 'ERP_BILLING_SCHEDULE', 'PSA_PROJECT', 'PSA_RESOURCE_REQUESTS', 'CRM_LINK']);

/** The system each step writes to (exceptions name it as the owner of a failure). */
export const SYSTEM_OF_STEP: Readonly<Record<StepName, SystemName>> = {
  VALIDATE: 'CRM',
  ERP_CUSTOMER: 'ERP',
  ERP_PROJECT: 'ERP',
  ERP_BILLING_SCHEDULE: 'ERP',
  PSA_PROJECT: 'PSA',
  PSA_RESOURCE_REQUESTS: 'PSA',
  CRM_LINK: 'CRM',
  PUBLISH_ACTIVATED: 'ACTIVATION',
};

export type SystemName = 'CRM' | 'ERP' | 'PSA' | 'ACTIVATION';
