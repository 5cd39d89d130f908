/**
 * Drives activation runs through the saga, one step at a time, from durable state. Nothing the runner knows
 * lives only in memory: before a step it counts the attempt, after it records the outcome and the IDs produced,
 * each in one transaction with the status change and the events it causes (outbox). So a process killed at any
 * point resumes the run where the store says it was, and re-running the interrupted step is safe because every
 * step is idempotent at the system it calls (Temporal's activity semantics: at least once, observed once).
 *
 * Exclusivity: a run is driven by the holder of its lease (renewed while it works, released when it rests), so
 * two processes never drive one run at once; a lease left by a crashed process expires and another takes over.
 * Concurrency is bounded: runs beyond `maxConcurrentRuns` wait, durably, in the run table for the next slot.
 *
 * Longer than the house's ~400 lines on purpose: the operators' actions (retry, cancel, resolve) and the step
 * loop take the same lease and write the same transitions, and keeping them together keeps that invariant in one
 * place. What each step does in the systems is in `activationSteps.ts`; what is valid, in `activationValidation.ts`.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import type { BusEvent } from '../../../platform/src/events/index.js';
import { inputError } from '../../../platform/src/index.js';
import { type SpanSettings, activeSpan, activeTraceparent, contextFromTraceparent, tracingOn, withSpan } from '../../../platform/src/telemetry/index.js';
import { LogCode, type Logger, withLogContext } from '../../../platform/src/logging/index.js';
import { activationFailed, activationRequested, exceptionRaised, exceptionResolved, projectActivated } from '../events/activationEvents.js';
import type { ActivationRunRecord, ActivationStore, ExceptionRecord, ProjectXref, RunTrigger } from '../store/activationStore.js';
import type { ActivationSystems, CallContext } from '../systems/activationSystems.js';
import { SystemCallError } from '../systems/systemClient.js';
import { planActivation } from './activationPlan.js';
import { COMPENSATED_STEPS, PHASE_OF_STEP, type RunStatus, STEP_NAMES, SYSTEM_OF_STEP, type StepName } from './activationStates.js';
import { runStep, undoStep } from './activationSteps.js';
import { validateActivation } from './activationValidation.js';
import { type RetryPolicy, backoffDelay, sleep } from './retryPolicy.js';

export interface ActivationRunnerOptions {
  readonly store: ActivationStore;
  readonly systems: ActivationSystems;
  readonly retry: RetryPolicy;
  /** How long a driver's claim on a run lasts without renewal; a crashed driver's runs resume after it. @default 15000 */
  readonly leaseMs?: number;
  /** Runs driven at once by this process. @default 16 */
  readonly maxConcurrentRuns?: number;
  /** Called after every commit that may have written events, so the outbox relay publishes them now. */
  readonly onCommit?: () => void;
  /** Step transitions at info (with `run_id`), failures at warn or error with a `code`. @default none */
  readonly log?: Logger;
  readonly random?: () => number;
}

export type ResolutionAction = 'RETRY' | 'WAIVE';

/** Thrown inside a driver when the runner stops: the run rests where it is and resumes later. */
class Halted extends Error {}

interface StepOutcome<T> {
  readonly ok: boolean;
  readonly value?: T;
  readonly error?: string;
  readonly transient?: boolean;
  /** Retrying stopped because the run is being cancelled. */
  readonly cancelled?: boolean;
}

export class ActivationRunner {
  private readonly store: ActivationStore;
  private readonly systems: ActivationSystems;
  private readonly retry: RetryPolicy;
  private readonly leaseMs: number;
  private readonly maxConcurrentRuns: number;
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly driving = new Map<string, Promise<void>>();
  private stopped = false;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: ActivationRunnerOptions) {
    this.store = options.store;
    this.systems = options.systems;
    this.retry = options.retry;
    this.leaseMs = options.leaseMs ?? 15_000;
    this.maxConcurrentRuns = options.maxConcurrentRuns ?? 16;
  }

  /** Resumes runs left in flight (by a crash, or waiting for a slot) now and then periodically. */
  start(): void {
    this.stopped = false;
    this.pump();
    this.sweeper = setInterval(() => this.pump(), Math.max(50, Math.floor(this.leaseMs / 2)));
    this.sweeper.unref();
  }

  /** Stops taking runs; runs being driven stop at their next step boundary (or backoff) and rest, resumable. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweeper);
    await Promise.allSettled([...this.driving.values()]);
  }

  /** How many runs this process is driving right now. */
  get activeRuns(): number {
    return this.driving.size;
  }

  // ---- commands ----

  /**
   * Starts the deal's activation or returns the run that already holds it (one deal, one run). Durable before it
   * returns; the run is then driven in the background.
   */
  activate(opportunityId: string, idempotencyKey: string, trigger: RunTrigger): ActivationRunRecord {
    const { run, created } = this.store.runs.startRun({ opportunityId, idempotencyKey, trigger, traceParent: activeTraceparent() }, (fresh) => [
      activationRequested(fresh),
    ]);
    if (created) this.options.onCommit?.();
    this.kick(run.id);
    return run;
  }

  /** Re-validates a run parked on exceptions, or retries the compensation of a run that needs attention. */
  retryRun(runId: string): ActivationRunRecord {
    const run = this.store.runs.requireRun(runId);
    switch (run.status) {
      case 'EXCEPTION_OPEN':
        this.store.sqlite.transaction(() => {
          this.store.steps.reset(runId, ['VALIDATE']);
          this.store.runs.transition(runId, 'EXCEPTION_OPEN', 'VALIDATING', { reason: 'retried' });
        });
        break;
      case 'NEEDS_ATTENTION':
        this.store.runs.transition(runId, 'NEEDS_ATTENTION', 'COMPENSATING', { reason: 'compensation retried' });
        break;
      case 'ACTIVE':
      case 'COMPENSATED':
      case 'CANCELLED':
        throw inputError(
          ErrorCode.INVALID_STATE_TRANSITION,
          `Activation run ${runId} is ${run.status} and finished; ${run.status === 'ACTIVE' ? 'its project is active' : 'activateProject starts a new run for the deal'}.`,
          { status: run.status },
        );
      default:
        // In flight: make sure someone drives it (its driver may have died).
        break;
    }
    this.kick(runId);
    return this.store.runs.requireRun(runId);
  }

  /**
   * Cancels a run: one parked on exceptions ends CANCELLED at once; one in flight stops at its next step
   * boundary and compensates what it did, then ends CANCELLED. An active project is not cancelled here.
   */
  cancelRun(runId: string, cause: string): ActivationRunRecord {
    const run = this.store.runs.requireRun(runId);
    if (run.status === 'ACTIVE') {
      throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Activation run ${runId} is ACTIVE: its project is live; close it in PSA instead.`, {
        status: run.status,
      });
    }
    if (run.status === 'CANCELLED' || run.status === 'COMPENSATED') return run;
    if (run.status === 'NEEDS_ATTENTION') {
      throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Activation run ${runId} needs attention: resolve its exception (RETRY or WAIVE) first.`, {
        status: run.status,
      });
    }
    if (run.status === 'EXCEPTION_OPEN') {
      const events: BusEvent[] = [];
      this.store.runs.transition(runId, 'EXCEPTION_OPEN', 'CANCELLED', { reason: 'cancelled', cause }, () => {
        events.push(...this.closeOpenExceptions(runId, 'CANCELLED', 'RUN_CANCELLED', cause));
        events.push(activationFailed(run, 'CANCELLED', cause, null));
      });
      this.appendEvents(events);
      return this.store.runs.requireRun(runId);
    }
    this.store.runs.requestCancel(runId, cause);
    this.kick(runId);
    return this.store.runs.requireRun(runId);
  }

  /**
   * Resolves an exception. RETRY: the cause is fixed at its source, retry the run once no other exception of
   * it is open. WAIVE (failed compensations only): the leftover was cleaned up by hand, compensation carries on.
   */
  resolveException(exceptionId: string, action: ResolutionAction, note: string | null): ExceptionRecord {
    const exception = this.store.exceptions.byIds([exceptionId]).get(exceptionId);
    if (!exception) throw inputError(ErrorCode.NOT_FOUND, `Integration exception ${exceptionId} does not exist.`);
    if (exception.status !== 'OPEN') return exception;
    const compensationFailure = exception.type === 'COMPENSATION_FAILED';
    if (action === 'WAIVE' && !compensationFailure) {
      throw inputError(
        ErrorCode.BAD_USER_INPUT,
        `A validation problem cannot be waived: fix ${exception.field ?? 'the data'} on ${exception.recordType} ${exception.recordId} in ${exception.system} and RETRY, or cancel the run.`,
        { argument: 'resolution.action' },
      );
    }
    const events: BusEvent[] = [];
    this.store.sqlite.transaction(() => {
      this.store.exceptions.close([exceptionId], action === 'WAIVE' ? 'WAIVED' : 'RESOLVED', action, note);
      events.push(exceptionResolved(this.store.exceptions.byIds([exceptionId]).get(exceptionId)!));
      if (action === 'WAIVE') {
        const step = exception.recordType.split(':')[1] as StepName | undefined;
        if (step && STEP_NAMES.includes(step)) this.store.steps.completeCompensation(exception.runId, step);
      }
    });
    this.appendEvents(events);
    const stillOpen = this.store.exceptions.list({ runId: exception.runId, statuses: ['OPEN'] });
    if (stillOpen.length === 0) {
      const run = this.store.runs.requireRun(exception.runId);
      if (run.status === 'EXCEPTION_OPEN' || run.status === 'NEEDS_ATTENTION') this.retryRun(run.id);
    }
    return this.store.exceptions.byIds([exceptionId]).get(exceptionId)!;
  }

  /** Resolves when the run is resting (not driven by this process) or after `timeoutMs`. */
  async settled(runId: string, timeoutMs: number): Promise<ActivationRunRecord> {
    const driver = this.driving.get(runId);
    if (driver) await Promise.race([driver, sleep(timeoutMs)]);
    return this.store.runs.requireRun(runId);
  }

  /** Waits until the run reaches one of `statuses` (polling the store, so it sees other processes' work). */
  async waitFor(runId: string, statuses: readonly RunStatus[], timeoutMs: number): Promise<ActivationRunRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = this.store.runs.requireRun(runId);
      if (statuses.includes(run.status)) return run;
      if (Date.now() > deadline) throw new Error(`run ${runId} is ${run.status}, not ${statuses.join('/')}, after ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  // ---- driving ----

  /** Drives the run in this process unless it is already driven here or the process is at its limit. */
  kick(runId: string): void {
    if (this.stopped || this.driving.has(runId) || this.driving.size >= this.maxConcurrentRuns) return;
    // Every line logged while the run is driven carries its run_id, the saga's own and the system client's.
    const driver = withLogContext({ run_id: runId }, () => this.drive(runId))
      .catch((error: unknown) => this.options.log?.error({ err: error, code: LogCode.ACTIVATION_DRIVER_STOPPED, run_id: runId }, 'run driver stopped'))
      .finally(() => {
        this.driving.delete(runId);
        // A slot is free: take the next run waiting in the table.
        if (!this.stopped) setImmediate(() => this.pump());
      });
    this.driving.set(runId, driver);
  }

  private pump(): void {
    if (this.stopped) return;
    const free = this.maxConcurrentRuns - this.driving.size;
    if (free <= 0) return;
    for (const runId of this.store.runs.runsToResume(Date.now(), free + this.driving.size)) {
      if (this.driving.size >= this.maxConcurrentRuns) break;
      this.kick(runId);
    }
  }

  /**
   * One span per drive of a run, always a child of what started the run (the closed-won event's consumer, the
   * mutation), so that the whole activation — parked, fixed, retried, resumed after a crash — is one trace from
   * the deal to the last system write. A drive started by something else (an operator's retry) is linked to it.
   */
  private drive(runId: string): Promise<void> {
    if (!tracingOn()) return this.driveSteps(runId);
    const started = this.store.runs.getRun(runId)?.traceParent ?? undefined;
    const current = activeSpan()?.spanContext();
    const sameTrace = started !== undefined && current !== undefined && started.includes(current.traceId);
    const settings: SpanSettings =
      started === undefined || sameTrace ? {} : { parent: contextFromTraceparent(started), ...(current ? { links: [{ context: current }] } : {}) };
    return withSpan('activation_run', { 'psgraph.activation.run_id': runId }, () => this.driveSteps(runId), settings);
  }

  private async driveSteps(runId: string): Promise<void> {
    if (!this.store.runs.acquireLease(runId, this.owner, Date.now(), this.leaseMs)) return;
    const heartbeat = setInterval(() => this.store.runs.acquireLease(runId, this.owner, Date.now(), this.leaseMs), Math.max(20, Math.floor(this.leaseMs / 3)));
    heartbeat.unref();
    let status: RunStatus | undefined;
    // Each status the run reaches is logged once, as it is read back from the store (so a resumed run says so).
    const observe = (run: ActivationRunRecord) => {
      if (run.status !== status)
        this.options.log?.info({ status: run.status, previous_status: status ?? null, opportunity_id: run.opportunityId }, `run ${run.status}`);
      status = run.status;
      return run;
    };
    try {
      while (!this.stopped && (await this.advance(observe(this.store.runs.requireRun(runId))))) {
        // each advance is one durable step of the saga
      }
      observe(this.store.runs.requireRun(runId));
    } catch (error) {
      if (!(error instanceof Halted)) throw error;
    } finally {
      clearInterval(heartbeat);
      this.store.runs.releaseLease(runId, this.owner);
    }
  }

  /** Moves the run one step on; false when it rests (finished, parked, or waiting for a person). */
  private async advance(run: ActivationRunRecord): Promise<boolean> {
    switch (run.status) {
      case 'REQUESTED':
        if (run.cancelRequested) return this.commit(() => this.finishCancelled(run, 'REQUESTED'));
        this.store.runs.transition(run.id, 'REQUESTED', 'VALIDATING', { reason: 'driver started' });
        return true;
      case 'VALIDATING':
        if (run.cancelRequested) return this.commit(() => this.finishCancelled(run, 'VALIDATING'));
        return this.validate(run);
      case 'ERP_PROVISIONING':
      case 'PSA_PROVISIONING':
      case 'LINKING':
        if (run.cancelRequested) {
          this.store.runs.transition(run.id, run.status, 'COMPENSATING', { reason: 'cancel requested', cause: run.cause ?? 'cancelled' });
          return true;
        }
        return this.provision(run);
      case 'COMPENSATING':
        return this.compensate(run);
      default:
        return false;
    }
  }

  private async validate(run: ActivationRunRecord): Promise<boolean> {
    const context = this.context(run, 'VALIDATE', 'read');
    const read = await this.attempt(run.id, 'VALIDATE', 'forward', () => this.systems.readFacts(context));
    if (!read.ok) {
      this.store.steps.fail(run.id, 'VALIDATE', read.error!, false, {
        from: 'VALIDATING',
        to: 'COMPENSATING',
        changes: { reason: 'validation could not read the systems', cause: `VALIDATE failed: ${read.error}` },
      });
      return true;
    }
    const facts = read.value!;
    const region = facts.opportunity?.deliveryRegion ?? null;
    const problems = validateActivation(run.opportunityId, facts, run.projectId);
    const events: BusEvent[] = [];
    if (problems.length > 0) {
      const cause = `${problems.length} validation problem${problems.length === 1 ? '' : 's'}: ${[...new Set(problems.map((problem) => problem.type))].join(', ')}`;
      // Nothing was sent downstream: the problems become exceptions and the run parks until they are fixed.
      this.store.sqlite.transaction(() => {
        this.store.steps.fail(run.id, 'VALIDATE', cause, false, { from: 'VALIDATING', to: 'VALIDATION_FAILED', changes: { reason: cause, cause, region } });
        const { opened, resolved } = this.store.exceptions.syncValidation(run.id, region, problems);
        events.push(...opened.map((exception) => exceptionRaised(exception, run.opportunityId)), ...resolved.map(exceptionResolved));
        const parked = this.store.runs.transition(run.id, 'VALIDATION_FAILED', 'EXCEPTION_OPEN', { reason: 'exceptions opened' });
        events.push(
          activationFailed(
            parked,
            'VALIDATION_FAILED',
            cause,
            'VALIDATE',
            problems.map((problem) => problem.type),
          ),
        );
        this.appendEventsInTransaction(events);
      });
      this.options.onCommit?.();
      this.options.log?.warn(
        { code: LogCode.ACTIVATION_VALIDATION_FAILED, step: 'VALIDATE', problems: [...new Set(problems.map((problem) => problem.type))] },
        `validation failed: ${cause}`,
      );
      return false;
    }
    const plan = planActivation(facts, new Date().toISOString().slice(0, 10));
    this.store.sqlite.transaction(() => {
      const { resolved } = this.store.exceptions.syncValidation(run.id, region, []);
      events.push(...resolved.map(exceptionResolved));
      this.store.steps.complete(
        run.id,
        'VALIDATE',
        { problems: 0 },
        { accountId: plan.accountId },
        {
          from: 'VALIDATING',
          to: 'ERP_PROVISIONING',
          changes: { reason: 'validated', plan, region, cause: null },
        },
      );
      this.appendEventsInTransaction(events);
    });
    this.options.onCommit?.();
    return true;
  }

  private async provision(run: ActivationRunRecord): Promise<boolean> {
    const steps = this.store.steps.list(run.id);
    const phaseSteps = steps.filter((step) => PHASE_OF_STEP[step.name] === run.status);
    const next = phaseSteps.find((step) => step.status !== 'SUCCEEDED');
    if (!next) {
      // Every step of the phase is done (a crash between its last step and the phase change): move on.
      this.store.runs.transition(run.id, run.status, run.status === 'ERP_PROVISIONING' ? 'PSA_PROVISIONING' : 'LINKING', { reason: 'phase complete' });
      return true;
    }
    const step = next.name;
    const isLastOfPhase = phaseSteps[phaseSteps.length - 1]!.name === step;
    if (step === 'PUBLISH_ACTIVATED') {
      const activatedAt = new Date().toISOString();
      const xref = this.xref(run);
      this.store.steps.complete(
        run.id,
        step,
        { event: 'project.activated' },
        {},
        {
          from: 'LINKING',
          to: 'ACTIVE',
          changes: { reason: 'activated', activatedAt, events: [projectActivated(run, xref, run.region ?? run.plan!.region, activatedAt)] },
        },
      );
      this.options.onCommit?.();
      this.options.log?.info({ step, project_id: run.projectId, opportunity_id: run.opportunityId }, `${run.opportunityId} is active as ${run.projectId}`);
      return false;
    }
    const outcome = await this.attempt(run.id, step, 'forward', () =>
      runStep(this.systems, run, step, this.context(run, step, 'forward'), () => this.xref(run)),
    );
    const nextStatus: RunStatus | null = isLastOfPhase ? (run.status === 'ERP_PROVISIONING' ? 'PSA_PROVISIONING' : 'LINKING') : null;
    if (outcome.ok) {
      const { output, xref } = outcome.value!;
      this.store.steps.complete(run.id, step, output, xref, nextStatus ? { from: run.status, to: nextStatus, changes: { reason: `${step} done` } } : undefined);
      this.options.log?.info({ step, phase: 'forward' }, `step ${step} succeeded`);
      return true;
    }
    if (outcome.cancelled) {
      this.store.steps.fail(run.id, step, `stopped: ${outcome.error}`, true, { from: run.status, to: 'COMPENSATING', changes: { reason: 'cancel requested' } });
      return true;
    }
    this.store.steps.fail(run.id, step, outcome.error!, outcome.transient === true, {
      from: run.status,
      to: 'COMPENSATING',
      changes: { reason: `${step} failed`, cause: `${step} failed: ${outcome.error}` },
    });
    this.options.log?.warn(
      { code: LogCode.ACTIVATION_STEP_FAILED, step, transient: outcome.transient === true, reason: outcome.error },
      `step ${step} failed; compensating`,
    );
    return true;
  }

  private async compensate(run: ActivationRunRecord): Promise<boolean> {
    const steps = this.store.steps.list(run.id);
    const pending = steps
      .filter((step) => COMPENSATED_STEPS.has(step.name))
      .filter(
        (step) =>
          ['SUCCEEDED', 'COMPENSATING', 'COMPENSATION_FAILED'].includes(step.status) || (step.status === 'FAILED' && step.output?.['maybeApplied'] === true),
      )
      .reverse();
    const step = pending[0];
    if (!step) {
      const cancelled = run.cancelRequested;
      const failed = steps.find((candidate) => candidate.status === 'FAILED');
      const cause = run.cause ?? (cancelled ? 'cancelled' : 'failed');
      this.store.runs.transition(run.id, 'COMPENSATING', cancelled ? 'CANCELLED' : 'COMPENSATED', { reason: 'compensated' }, () => {
        const events = cancelled ? this.closeOpenExceptions(run.id, 'CANCELLED', 'RUN_CANCELLED', cause) : [];
        events.push(activationFailed(run, cancelled ? 'CANCELLED' : 'COMPENSATED', cause, failed?.name ?? null));
        this.appendEventsInTransaction(events);
      });
      this.options.onCommit?.();
      return false;
    }
    const outcome = await this.attempt(
      run.id,
      step.name,
      'compensate',
      () => undoStep(this.systems, run, step.name, this.context(run, step.name, 'compensate')),
      this.retry.maxCompensationAttempts,
    );
    if (outcome.ok) {
      this.store.steps.completeCompensation(run.id, step.name, outcome.value!);
      this.options.log?.info({ step: step.name, phase: 'compensate' }, `step ${step.name} undone`);
      return true;
    }
    // Never an endless loop: after its attempts, a failing undo goes to a person with everything they need.
    const events: BusEvent[] = [];
    this.store.sqlite.transaction(() => {
      this.store.steps.failCompensation(run.id, step.name, outcome.error!);
      const parked = this.store.runs.transition(run.id, 'COMPENSATING', 'NEEDS_ATTENTION', { reason: `undo of ${step.name} keeps failing` });
      const exception = this.store.exceptions.raise(run.id, run.region, {
        type: 'COMPENSATION_FAILED',
        message: `Undoing ${step.name} in ${SYSTEM_OF_STEP[step.name]} failed ${this.retry.maxCompensationAttempts} times (${outcome.error}). Remove or fix the record by hand, then resolve this exception with WAIVE, or with RETRY once the system accepts the undo.`,
        system: SYSTEM_OF_STEP[step.name],
        recordType: `Step:${step.name}`,
        recordId: run.projectId,
        field: null,
      });
      events.push(
        exceptionRaised(exception, run.opportunityId),
        activationFailed(parked, 'NEEDS_ATTENTION', `undo of ${step.name} failed: ${outcome.error}`, step.name),
      );
      this.appendEventsInTransaction(events);
    });
    this.options.onCommit?.();
    this.options.log?.error(
      { code: LogCode.ACTIVATION_COMPENSATION_FAILED, step: step.name, reason: outcome.error },
      `undo of ${step.name} failed; the run needs attention`,
    );
    return false;
  }

  /**
   * Runs one call with the retry policy: each attempt is counted durably first; a transient failure is retried
   * after a capped, jittered exponential backoff, up to the attempt limit; a permanent one is not retried.
   */
  private attempt<T>(
    runId: string,
    step: StepName,
    phase: 'forward' | 'compensate',
    call: () => Promise<T>,
    maxAttempts = this.retry.maxAttempts,
  ): Promise<StepOutcome<T>> {
    if (!tracingOn()) return this.attempts(runId, step, phase, call, maxAttempts, undefined);
    // Each saga step is a span (its calls to the systems are its children), named by the step: a fixed set.
    return withSpan(
      `activation_step ${step}`,
      { 'psgraph.activation.run_id': runId, 'psgraph.activation.step': step, 'psgraph.activation.phase': phase },
      (span) =>
        this.attempts(runId, step, phase, call, maxAttempts, (attempts, outcome) => {
          span.setAttribute('psgraph.activation.attempts', attempts);
          span.setAttribute('psgraph.activation.outcome', outcome.ok ? 'ok' : outcome.transient ? 'transient_failure' : 'permanent_failure');
        }),
    );
  }

  private async attempts<T>(
    runId: string,
    step: StepName,
    phase: 'forward' | 'compensate',
    call: () => Promise<T>,
    maxAttempts: number,
    traced: ((attempts: number, outcome: StepOutcome<T>) => void) | undefined,
  ): Promise<StepOutcome<T>> {
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) throw new Halted();
      if (phase === 'forward') this.store.steps.beginAttempt(runId, step);
      else this.store.steps.beginCompensation(runId, step);
      try {
        const done: StepOutcome<T> = { ok: true, value: await call() };
        traced?.(attempt, done);
        return done;
      } catch (error) {
        const transient = error instanceof SystemCallError && error.transient;
        const message = error instanceof Error ? error.message : String(error);
        this.store.steps.noteAttemptError(runId, step, message);
        if (!transient || attempt >= maxAttempts) {
          const failed: StepOutcome<T> = { ok: false, error: message, transient };
          traced?.(attempt, failed);
          return failed;
        }
        await sleep(backoffDelay(this.retry, attempt, this.options.random));
        // A run being cancelled stops retrying forward steps: it is about to undo them anyway.
        if (phase === 'forward' && this.store.runs.requireRun(runId).cancelRequested) return { ok: false, error: message, transient, cancelled: true };
      }
    }
  }

  private finishCancelled(run: ActivationRunRecord, from: RunStatus): void {
    const cause = run.cause ?? 'cancelled';
    this.store.runs.transition(run.id, from, 'CANCELLED', { reason: 'cancelled before anything was provisioned' }, () => {
      const events = this.closeOpenExceptions(run.id, 'CANCELLED', 'RUN_CANCELLED', cause);
      events.push(activationFailed(run, 'CANCELLED', cause, null));
      this.appendEventsInTransaction(events);
    });
  }

  private commit(work: () => void): false {
    work();
    this.options.onCommit?.();
    return false;
  }

  /** Closes the run's open exceptions; returns their `integration_exception.resolved` events. Call in a transaction. */
  private closeOpenExceptions(runId: string, status: 'CANCELLED' | 'RESOLVED', resolution: string, note: string): BusEvent[] {
    const open = this.store.exceptions.list({ runId, statuses: ['OPEN'] });
    this.store.exceptions.close(
      open.map((exception) => exception.id),
      status,
      resolution,
      note,
    );
    return [...this.store.exceptions.byIds(open.map((exception) => exception.id)).values()].map(exceptionResolved);
  }

  private appendEvents(events: readonly BusEvent[]): void {
    this.store.sqlite.transaction(() => this.appendEventsInTransaction(events));
    this.options.onCommit?.();
  }

  private appendEventsInTransaction(events: readonly BusEvent[]): void {
    this.store.runs.appendEvents(events);
  }

  private xref(run: ActivationRunRecord): ProjectXref {
    return this.store.runs.xrefByProjectId([run.projectId]).get(run.projectId)!;
  }

  private context(run: ActivationRunRecord, step: StepName, phase: CallContext['phase']): CallContext {
    return { runId: run.id, opportunityId: run.opportunityId, step, phase };
  }
}
