/**
 * The activation subgraph over real CRM, ERP and PSA subgraphs (built in-process over seeded sandbox stores,
 * listening on free ports, called over HTTP as in production), sharing one event bus. Tests count records in
 * every sandbox store — the proof that a guarantee held — and check every event published against its contract.
 */
import type Database from 'better-sqlite3';
import { type RunningProcess, runTypeScript } from '../../../test/support/processes.js';
import { type BusEvent, type EventBus, InMemoryEventBus } from '../../platform/src/events/index.js';
import { createLogger } from '../../platform/src/logging/index.js';
import type { WorldOptions } from '../../sandboxes/src/world/world.js';
import { type GraphQLResponse, execute, temporaryDataDir } from '../../platform/test/testSupport.js';
import { type BillingSubgraph, createBillingSubgraph } from '../../billing/src/billingSubgraph.js';
import { type CrmSubgraph, createCrmSubgraph } from '../../crm/src/crmSubgraph.js';
import type { SandboxCrm } from '../../crm/src/sandbox/sandboxCrm.js';
import { type ErpSubgraph, createErpSubgraph } from '../../erp/src/erpSubgraph.js';
import type { SandboxErp } from '../../erp/src/sandbox/sandboxErp.js';
import { type PsaSubgraph, createPsaSubgraph } from '../../psa/src/psaSubgraph.js';
import type { SandboxPsa } from '../../psa/src/sandbox/sandboxPsa.js';
import type { ActivationConfig } from '../src/activationConfig.js';
import { type ActivationSubgraph, createActivationSubgraph } from '../src/activationSubgraph.js';
import { EventContracts } from '../src/events/eventContracts.js';
import type { FaultInjector } from '../src/systems/faults.js';

/** A small world keeps seeding quick; it still holds won deals awaiting activation. */
export const TEST_WORLD: WorldOptions = { scale: 0.2, seed: 20_261_101, asOf: '2026-11-01' };

/** Fast retries: the policy's shape is what is tested, not its wall-clock defaults. */
export const FAST_RETRY = { initialDelayMs: 2, maxDelayMs: 20, maxAttempts: 6, maxCompensationAttempts: 3 };

export interface SystemCounts {
  readonly erpCustomers: number;
  readonly erpJobs: number;
  readonly erpBillingSchedules: number;
  readonly erpBillingScheduleLines: number;
  readonly psaProjects: number;
  readonly psaResourceRequests: number;
  readonly crmLinkedOpportunities: number;
}

export interface SystemsUnderTest {
  readonly dataDir: string;
  readonly bus: EventBus;
  readonly crm: CrmSubgraph;
  readonly erp: ErpSubgraph;
  readonly psa: PsaSubgraph;
  readonly billing: BillingSubgraph;
  readonly urls: { crm: string; erp: string; psa: string; billing: string };
  /** Every record count that activation can change, across the three stores. */
  counts(): SystemCounts;
  /** What activation added since `before` (the ERP customers aside: upserting a shared master may add none). */
  added(before: SystemCounts): Omit<SystemCounts, 'erpCustomers' | 'erpBillingScheduleLines'>;
  /** The line items of these deals: one resource request each is expected. */
  lineItems(opportunityIds: readonly string[]): number;
  crmDb(): Database.Database;
  erpDb(): Database.Database;
  psaDb(): Database.Database;
  /** Won deals awaiting activation whose data passes validation (tax ID, PO where required, no credit hold). */
  cleanAwaitingOpportunities(): string[];
  /** Everything published on the bus so far. */
  published(): BusEvent[];
  stop(): Promise<void>;
}

/** Seeds and starts CRM, ERP, PSA and billing; `bus` builds the shared bus over their data folder (default in-memory). */
export async function startSystems(
  world: WorldOptions = TEST_WORLD,
  openBus: (dataDir: string) => EventBus = () => new InMemoryEventBus(),
): Promise<SystemsUnderTest> {
  const data = temporaryDataDir('activation');
  const bus = openBus(data.dir);
  const published: BusEvent[] = [];
  bus.subscribe('*', (event) => published.push(event));
  const crm = createCrmSubgraph({ dataDir: data.dir, world, production: false, bus });
  const erp = createErpSubgraph({ dataDir: data.dir, world, production: false });
  const psa = createPsaSubgraph({ dataDir: data.dir, world, production: false, bus });
  const billing = createBillingSubgraph({ dataDir: data.dir, world, production: false }, { bus });
  const urls = {
    crm: await crm.listen(0, '127.0.0.1'),
    erp: await erp.listen(0, '127.0.0.1'),
    psa: await psa.listen(0, '127.0.0.1'),
    billing: await billing.listen(0, '127.0.0.1'),
  };
  const crmDb = () => (crm.crm as SandboxCrm).store.db;
  const erpDb = () => (erp.erp as SandboxErp).store.db;
  const psaDb = () => (psa.psa as SandboxPsa).store.db;
  const count = (db: Database.Database, sql: string) => db.prepare(sql).pluck().get() as number;
  const counts = (): SystemCounts => ({
    erpCustomers: count(erpDb(), 'SELECT COUNT(*) FROM customer'),
    erpJobs: count(erpDb(), 'SELECT COUNT(*) FROM job'),
    erpBillingSchedules: count(erpDb(), 'SELECT COUNT(*) FROM billing_schedule'),
    erpBillingScheduleLines: count(erpDb(), 'SELECT COUNT(*) FROM billing_schedule_line'),
    psaProjects: count(psaDb(), 'SELECT COUNT(*) FROM project'),
    psaResourceRequests: count(psaDb(), "SELECT COUNT(*) FROM resource_request WHERE status <> 'CANCELLED'"),
    crmLinkedOpportunities: count(crmDb(), 'SELECT COUNT(*) FROM opportunity WHERE project_id IS NOT NULL'),
  });
  return {
    dataDir: data.dir,
    bus,
    crm,
    erp,
    psa,
    billing,
    urls,
    crmDb,
    erpDb,
    psaDb,
    added(before) {
      const after = counts();
      return {
        erpJobs: after.erpJobs - before.erpJobs,
        erpBillingSchedules: after.erpBillingSchedules - before.erpBillingSchedules,
        psaProjects: after.psaProjects - before.psaProjects,
        psaResourceRequests: after.psaResourceRequests - before.psaResourceRequests,
        crmLinkedOpportunities: after.crmLinkedOpportunities - before.crmLinkedOpportunities,
      };
    },
    lineItems: (opportunityIds) =>
      crmDb()
        .prepare('SELECT COUNT(*) FROM opportunity_line_item WHERE opportunity_id IN (SELECT value FROM json_each(?))')
        .pluck()
        .get(JSON.stringify(opportunityIds)) as number,
    counts,
    cleanAwaitingOpportunities: () => {
      const onHold = new Set(erpDb().prepare("SELECT external_id FROM customer WHERE credit_status = 'ON_HOLD'").pluck().all() as string[]);
      const rows = crmDb()
        .prepare(
          `SELECT o.id, o.account_id FROM opportunity o JOIN opportunity_stage s ON s.name = o.stage_name JOIN account a ON a.id = o.account_id
           WHERE s.is_won = 1 AND o.project_id IS NULL AND a.tax_id IS NOT NULL AND (o.po_required = 0 OR o.po_number IS NOT NULL)
           ORDER BY o.id`,
        )
        .all() as Array<{ id: string; account_id: string }>;
      return rows.filter((row) => !onHold.has(row.account_id)).map((row) => row.id);
    },
    published: () => published,
    async stop() {
      await crm.stop();
      await erp.stop();
      await psa.stop();
      await billing.stop();
      await bus.close();
      data.remove();
    },
  };
}

export function activationConfig(systems: Pick<SystemsUnderTest, 'dataDir' | 'urls'>, overrides: Partial<ActivationConfig> = {}): ActivationConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    dataDir: systems.dataDir,
    production: false,
    systemUrls: systems.urls,
    callTimeoutMs: 5_000,
    retry: FAST_RETRY,
    leaseMs: 2_000,
    maxConcurrentRuns: 16,
    awaitMs: 5_000,
    faults: null,
    ...overrides,
  };
}

export function startActivation(
  systems: SystemsUnderTest,
  options: { faults?: FaultInjector | null; config?: Partial<ActivationConfig>; bus?: EventBus } = {},
): ActivationSubgraph {
  return createActivationSubgraph(activationConfig(systems, options.config), {
    bus: options.bus ?? systems.bus,
    faults: options.faults ?? null,
    logger: createLogger('activation', { level: 'silent' }),
  });
}

export async function run<T = Record<string, any>>(
  service: ActivationSubgraph | CrmSubgraph,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse<T>> {
  return execute<T>(service, query, variables);
}

/** Every event in `events` that does not match its contract, with the reason. */
export function contractViolations(events: readonly BusEvent[]): string[] {
  const contracts = new EventContracts();
  return events.flatMap((event) => {
    const check = contracts.check(event);
    return check.valid ? [] : [`${event.type} ${event.id}: ${check.reason}`];
  });
}

export const RUN_FIELDS = `
  id status trigger cause cancelRequested projectId region requestedAt closedWonAt activatedAt cycleTimeSeconds
  opportunity { id }
  project { id }
  steps { name status attempts compensationAttempts startedAt finishedAt error }
  transitions { from to reason }
  exceptions { id type message system recordType recordId field region status howToResolve }
  externalIds { projectId opportunityId accountId erpCustomerId erpProjectId erpProjectCode erpBillingScheduleId psaProjectId }`;

export const ACTIVATE = `mutation Activate($opportunityId: ID!, $key: String!) {
  activateProject(input: { opportunityId: $opportunityId, idempotencyKey: $key }) { ${RUN_FIELDS} }
}`;

export const RUN_QUERY = `query Run($id: ID!) { activationRun(id: $id) { ${RUN_FIELDS} } }`;

/** The activation subgraph as its own process (`main.ts`) over these systems, with an optional fault seam (crash tests). */
export function activationProcess(
  systems: Pick<SystemsUnderTest, 'dataDir' | 'urls'>,
  port: number,
  faults: unknown[] | null,
  env: NodeJS.ProcessEnv = {},
): RunningProcess {
  return runTypeScript('subgraphs/activation/src/main.ts', {
    PSGRAPH_DATA_DIR: systems.dataDir,
    PSGRAPH_ACTIVATION_PORT: String(port),
    PSGRAPH_CRM_URL: systems.urls.crm,
    PSGRAPH_ERP_URL: systems.urls.erp,
    PSGRAPH_PSA_URL: systems.urls.psa,
    PSGRAPH_BILLING_URL: systems.urls.billing,
    PSGRAPH_ACTIVATION_FAULTS: faults ? JSON.stringify(faults) : '',
    ...env,
  });
}
