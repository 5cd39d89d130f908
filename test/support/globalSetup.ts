/**
 * Seeds the four sandbox stores once before the end-to-end suites run (seeding is the slow part of starting a
 * subgraph), and removes them afterwards; builds the operations console when its bundle is missing or stale (the
 * gateways the suites start serve it from gateway/dist/console).
 */
import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { createBillingSubgraph } from '../../subgraphs/billing/src/billingSubgraph.js';
import { createCrmSubgraph } from '../../subgraphs/crm/src/crmSubgraph.js';
import { createErpSubgraph } from '../../subgraphs/erp/src/erpSubgraph.js';
import { createPsaSubgraph } from '../../subgraphs/psa/src/psaSubgraph.js';
import { E2E_WORLD, e2eDataDirFor } from './seededData.js';
import { ensureConsoleBuilt } from '../../gateway/console/buildConsole.js';

export async function setup(project: TestProject): Promise<() => void> {
  const dataDir = e2eDataDirFor(String(process.pid));
  rmSync(dataDir, { recursive: true, force: true });
  await ensureConsoleBuilt();
  for (const build of [createCrmSubgraph, createPsaSubgraph, createErpSubgraph, createBillingSubgraph]) {
    const service = build({ dataDir, world: E2E_WORLD, production: false });
    await service.stop();
  }
  project.provide('e2eDataDir', dataDir);
  return () => rmSync(dataDir, { recursive: true, force: true });
}
