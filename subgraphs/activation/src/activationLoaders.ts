/**
 * The activation subgraph's per-request DataLoaders: a page of runs with their steps, transitions, exceptions
 * and IDs costs one store lookup per field, not one per run.
 */
import type { EventBus } from '../../platform/src/events/index.js';
import type { Invoicer } from './invoicing/invoicer.js';
import type { ReconciliationSchedule } from './invoicing/reconciliationSchedule.js';
import type { DeliveryPoster } from './posting/deliveryPoster.js';
import { type Caller, listLoader, recordLoader } from '../../platform/src/index.js';
import type { ActivationStore } from './store/activationStore.js';
import type { ActivationRunner } from './saga/activationRunner.js';

export function createActivationLoaders(store: ActivationStore) {
  return {
    runById: recordLoader(async (ids: readonly string[]) => store.runs.runsById(ids)),
    runByProjectId: recordLoader(async (ids: readonly string[]) => store.runs.runsByProjectId(ids)),
    stepsByRunId: listLoader(async (ids: readonly string[]) => store.steps.byRunIds(ids)),
    transitionsByRunId: listLoader(async (ids: readonly string[]) => store.runs.transitionsByRunId(ids)),
    exceptionsByRunId: listLoader(async (ids: readonly string[]) => store.exceptions.byRunIds(ids)),
    exceptionById: recordLoader(async (ids: readonly string[]) => store.exceptions.byIds(ids)),
    historyByExceptionId: listLoader(async (ids: readonly string[]) => store.exceptionJournal.historyByExceptionIds(ids)),
    xrefByProjectId: recordLoader(async (ids: readonly string[]) => store.runs.xrefByProjectId(ids)),
  };
}

export type ActivationLoaders = ReturnType<typeof createActivationLoaders>;

/** What every activation resolver gets: the store to read, the runner that makes every change, and this request's loaders. */
export interface ActivationContext {
  /** Who the request acts for: the process API is for the firm's staff. */
  readonly caller: Caller;
  readonly store: ActivationStore;
  readonly runner: ActivationRunner;
  /** Posts approved delivery to ERP; retries and waives billing exceptions. */
  readonly poster: DeliveryPoster;
  /** Runs invoicing: what is due becomes invoices in billing. */
  readonly invoicer: Invoicer;
  /** Reconciliation runs, scheduled and on demand. */
  readonly reconciliations: ReconciliationSchedule;
  /** Where a replayed dead letter's event is published. */
  readonly bus: EventBus;
  /** This request's loaders; a subscription replaces them for each event it delivers (activationSubscriptions.ts). */
  loaders: ActivationLoaders;
  /** How long `activateProject` waits for its run to rest. */
  readonly awaitMs: number;
}
