/**
 * The PSA subgraph's per-request DataLoaders: every entity reference and every list field reaches the PSA
 * through one of these, so a page of 50 projects costs one lookup per field, not 50.
 */
import { listLoader, recordLoader } from '../../platform/src/index.js';
import type { PsaSystem } from './psaPort.js';

export function createPsaLoaders(psa: PsaSystem) {
  return {
    projectById: recordLoader((ids: readonly string[]) => psa.projectsById(ids)),
    resourceById: recordLoader((ids: readonly string[]) => psa.resourcesById(ids)),
    milestonesByProjectId: listLoader((ids: readonly string[]) => psa.milestonesByProjectId(ids)),
    resourceRequestsByProjectId: listLoader((ids: readonly string[]) => psa.resourceRequestsByProjectId(ids)),
    assignmentsByProjectId: listLoader((ids: readonly string[]) => psa.assignmentsByProjectId(ids)),
    assignmentsByResourceId: listLoader((ids: readonly string[]) => psa.assignmentsByResourceId(ids)),
    assignmentByRequestId: recordLoader((ids: readonly string[]) => psa.assignmentsByRequestId(ids)),
    timeTotalsByProjectId: recordLoader((ids: readonly string[]) => psa.timeTotalsByProjectId(ids)),
  };
}

export type PsaLoaders = ReturnType<typeof createPsaLoaders>;

export interface PsaContext {
  readonly psa: PsaSystem;
  readonly loaders: PsaLoaders;
}
