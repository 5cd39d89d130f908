/**
 * Posting benchmark (not a timed test): a quarter-end burst of approved time through the posting process into ERP.
 * ERP (its sandbox seeded at the default volume) and the process layer each run in their own process; this process
 * publishes `timesheet.approved` events as the PSA does — five entries a week per consultant, on open
 * time-and-materials jobs, at each contract's rate, in open periods — all at once, on the embedded bus or on Redis,
 * then waits until ERP has every entry. Checks that each entry is posted exactly once and none is held back, and
 * prints entries per second and approval-to-ERP p50/p99 (which include the queue: the burst arrives at once).
 *
 *   npx tsx test/bench/posting.bench.ts [entries=150000] [bus=embedded|redis|both]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type EventBus, newEvent, openEventBus } from '../../subgraphs/platform/src/events/index.js';
import { type RunningProcess, freePort, runTypeScript } from '../support/processes.js';
import { type RedisServer, startRedisServer } from '../support/redisServer.js';

const entryCount = Number(process.argv[2] ?? 150_000);
const busChoice = process.argv[3] ?? 'both';
const ENTRIES_PER_SHEET = 5;
const children: RunningProcess[] = [];
const folders: string[] = [];

interface Job {
  projectId: string;
  currency: string;
  role: string;
  rateMinor: number;
  from: string;
}

interface Outcome {
  readonly bus: string;
  readonly entries: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly held: number;
}

async function runOnce(bus: 'embedded' | 'redis'): Promise<Outcome> {
  const dataDir = mkdtempSync(join(tmpdir(), `psgraph-bench-posting-${bus}-`));
  folders.push(dataDir);
  let redis: RedisServer | undefined;
  if (bus === 'redis') redis = await startRedisServer();
  const ports = { erp: await freePort(), activation: await freePort() };
  const env: NodeJS.ProcessEnv = {
    APOLLO_TELEMETRY_DISABLED: '1',
    PSGRAPH_DATA_DIR: dataDir,
    PSGRAPH_ERP_PORT: String(ports.erp),
    PSGRAPH_ACTIVATION_PORT: String(ports.activation),
    PSGRAPH_ERP_URL: `http://127.0.0.1:${ports.erp}/graphql`,
    // Not called by posting; the process layer only needs to know where they would be.
    PSGRAPH_CRM_URL: 'http://127.0.0.1:9/graphql',
    PSGRAPH_PSA_URL: 'http://127.0.0.1:9/graphql',
    ...(redis ? { REDIS_URL: redis.url } : {}),
  };
  const erpProcess = runTypeScript('subgraphs/erp/src/main.ts', env);
  children.push(erpProcess);
  await erpProcess.waitFor(/ready at/, 180_000);
  const activation = runTypeScript('subgraphs/activation/src/main.ts', env);
  children.push(activation);
  await activation.waitFor(/ready at/, 60_000);

  // Open T&M jobs without a PO requirement (a PO would run out in a burst this size: that is a different test),
  // each with one of its contract's roles and rates, and ERP's employees.
  const erp = new Database(join(dataDir, 'erp.db'), { readonly: true });
  const jobs = erp
    .prepare(
      `SELECT j.external_id AS projectId, j.currency, r.role, r.bill_rate_minor AS rateMinor, r.effective_from AS "from"
       FROM job j JOIN contract_rate r ON r.job_id = j.id
       WHERE j.status = 'IN_PROGRESS' AND j.contract_type = 'TIME_AND_MATERIALS' AND j.po_required = 0 AND r.effective_to IS NULL
       GROUP BY j.id ORDER BY j.id`,
    )
    .all() as Job[];
  const employees = erp.prepare('SELECT external_id FROM employee WHERE inactive = 0 ORDER BY id').pluck().all() as string[];
  const firstOpenPeriod = erp.prepare('SELECT period FROM accounting_period WHERE closed = 0 ORDER BY period LIMIT 1').pluck().get() as string;
  erp.close();
  const publisher: EventBus = await openEventBus(redis ? { dataDir, redisUrl: redis.url } : { dataDir });

  const sheets = Math.ceil(entryCount / ENTRIES_PER_SHEET);
  const publishStarted = Date.now();
  let entryId = 5_000_000_000;
  for (let sheet = 0; sheet < sheets; sheet++) {
    const job = jobs[sheet % jobs.length]!;
    // A Monday in the first open period, on or after the contract's start; each sheet its own week and consultant.
    const monday = new Date(`${job.from > `${firstOpenPeriod}-01` ? job.from : `${firstOpenPeriod}-01`}T00:00:00Z`);
    monday.setUTCDate(monday.getUTCDate() + ((8 - monday.getUTCDay()) % 7));
    const weekStart = monday.toISOString().slice(0, 10);
    const entries = Array.from({ length: Math.min(ENTRIES_PER_SHEET, entryCount - sheet * ENTRIES_PER_SHEET) }, (_, day) => {
      const date = new Date(monday);
      date.setUTCDate(date.getUTCDate() + day);
      return {
        timeEntryId: String(entryId++),
        assignmentId: String(40_000_000 + sheet),
        role: job.role,
        workDate: date.toISOString().slice(0, 10),
        minutes: 450,
        billable: true,
        billRateMinor: job.rateMinor,
        costRateMinor: Math.round(job.rateMinor / 2),
      };
    });
    await publisher.publish(
      newEvent('timesheet.approved', {
        source: 'psa',
        subject: String(80_000_000 + sheet),
        data: {
          timesheetId: String(80_000_000 + sheet),
          projectId: job.projectId,
          resourceId: employees[sheet % employees.length]!,
          weekStart,
          version: 1,
          approvedOn: new Date().toISOString().slice(0, 10),
          currency: job.currency,
          entries,
        },
      }),
    );
  }
  console.log(`[${bus}] published ${sheets} approvals (${entryCount} entries) in ${((Date.now() - publishStarted) / 1000).toFixed(1)} s`);

  const figures = async () => {
    const response = await fetch(`http://127.0.0.1:${ports.activation}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: '{ postingFigures { approvedLines postedLines heldBackLines pendingLines approvedToErp { p50Seconds p99Seconds maxSeconds } } }',
      }),
    });
    return ((await response.json()) as { data: { postingFigures: any } }).data.postingFigures;
  };
  // Progress from ERP's own store (a read-only connection in this process): asking the process layer for its
  // figures every second would put a growing query on the very process being measured.
  const erpWatch = new Database(join(dataDir, 'erp.db'), { readonly: true });
  const postedSoFar = erpWatch.prepare("SELECT COUNT(*) FROM delivery_posting WHERE external_id GLOB 'time:5*'").pluck();
  let lastReport = Date.now();
  let lastCount = 0;
  let lastProgress = Date.now();
  for (;;) {
    const count = postedSoFar.get() as number;
    if (count >= entryCount) break;
    if (count > lastCount) [lastCount, lastProgress] = [count, Date.now()];
    // Nothing more for half a minute: what is left is held back (the figures below say so).
    if (Date.now() - lastProgress > 30_000) break;
    if (Date.now() - lastReport > 15_000) {
      console.log(`[${bus}] ${count} posted`);
      lastReport = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  erpWatch.close();
  const last = await figures();
  const erpAfter = new Database(join(dataDir, 'erp.db'), { readonly: true });
  const posted = erpAfter.prepare("SELECT COUNT(*) FROM delivery_posting WHERE external_id GLOB 'time:5*'").pluck().get() as number;
  const distinct = erpAfter.prepare("SELECT COUNT(DISTINCT external_id) FROM delivery_posting WHERE external_id GLOB 'time:5*'").pluck().get() as number;
  erpAfter.close();
  if (posted !== entryCount - last.heldBackLines || distinct !== posted)
    throw new Error(`ERP has ${posted} postings (${distinct} distinct) for ${entryCount} entries`);
  const seconds = last.approvedToErp.maxSeconds as number;
  await publisher.close();
  for (const child of [activation, erpProcess]) {
    child.child.kill('SIGTERM');
    await child.exited;
  }
  await redis?.stop();
  return {
    bus,
    entries: entryCount,
    seconds,
    perSecond: entryCount / seconds,
    p50: last.approvedToErp.p50Seconds,
    p99: last.approvedToErp.p99Seconds,
    held: last.heldBackLines,
  };
}

async function main(): Promise<void> {
  const buses: Array<'embedded' | 'redis'> = busChoice === 'both' ? ['embedded', 'redis'] : [busChoice as 'embedded' | 'redis'];
  const outcomes: Outcome[] = [];
  for (const bus of buses) outcomes.push(await runOnce(bus));
  console.log('\n| bus | entries | burst posted in | entries/s | approval → ERP p50 | p99 | held back |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const outcome of outcomes) {
    console.log(
      `| ${outcome.bus} | ${outcome.entries.toLocaleString('en')} | ${outcome.seconds.toFixed(1)} s | ${Math.round(outcome.perSecond).toLocaleString('en')} | ${outcome.p50.toFixed(1)} s | ${outcome.p99.toFixed(1)} s | ${outcome.held} |`,
    );
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });
