/**
 * The activation subgraph's per-request DataLoaders: a page of runs with their steps, transitions, exceptions
 * and IDs costs one store lookup per field, not one per run.
 */
import { listLoader, recordLoader } from '../../shared/src/index.js';
import type { ActivationStore } from './store/activationStore.js';
import type { ActivationRunner } from './saga/activationRunner.js';

export function createActivationLoaders(store: ActivationStore) {
  return {
    runById: recordLoader(async (ids: readonly string[]) => store.runsById(ids)),
    runByProjectId: recordLoader(async (ids: readonly string[]) => store.runsByProjectId(ids)),
    stepsByRunId: listLoader(async (ids: readonly string[]) => store.stepsByRunId(ids)),
    transitionsByRunId: listLoader(async (ids: readonly string[]) => store.transitionsByRunId(ids)),
    exceptionsByRunId: listLoader(async (ids: readonly string[]) => store.exceptionsByRunId(ids)),
    exceptionById: recordLoader(async (ids: readonly string[]) => store.exceptionsById(ids)),
    xrefByProjectId: recordLoader(async (ids: readonly string[]) => store.xrefByProjectId(ids)),
  };
}

export type ActivationLoaders = ReturnType<typeof createActivationLoaders>;

export interface ActivationContext {
  readonly store: ActivationStore;
  readonly runner: ActivationRunner;
  readonly loaders: ActivationLoaders;
  /** How long `activateProject` waits for its run to rest. */
  readonly awaitMs: number;
}
