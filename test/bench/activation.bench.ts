/**
 * Activation benchmark (not a timed test): 1,000 distinct deals won in CRM on the embedded default — CRM, ERP,
 * PSA and activation each in its own process over SQLite sandboxes seeded at the default volume, events over the
 * embedded bus — with 10 % of the activation's calls to the systems failing transiently (503s and lost answers,
 * through the fault seam). Checks that every run ends ACTIVE with one of every record, and prints activations per
 * second and the p50/p99 cycle time (closed-won event → project.activated).
 *
 *   npx tsx test/bench/activation.bench.ts [count=1000] [faultRate=0.1] [winsPerSecond=0]
 *
 * With winsPerSecond 0 every deal is won at once (a quarter-end burst: the cycle time includes the queue);
 * with a rate below the throughput, the cycle time is one activation's own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type RunningProcess, freePort, runTypeScript } from '../support/processes.js';

const count = Number(process.argv[2] ?? 1_000);
const faultRate = Number(process.argv[3] ?? 0.1);
const winsPerSecond = Number(process.argv[4] ?? 0);
const dataDir = mkdtempSync(join(tmpdir(), 'psgraph-bench-activation-'));
const children: RunningProcess[] = [];

async function main(): Promise<void> {
  const ports = { crm: await freePort(), erp: await freePort(), psa: await freePort(), activation: await freePort() };
  const urls = Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, `http://127.0.0.1:${port}/graphql`]));
  const env: NodeJS.ProcessEnv = {
    APOLLO_TELEMETRY_DISABLED: '1',
    PSGRAPH_DATA_DIR: dataDir,
    PSGRAPH_CRM_PORT: String(ports.crm),
    PSGRAPH_ERP_PORT: String(ports.erp),
    PSGRAPH_PSA_PORT: String(ports.psa),
    PSGRAPH_ACTIVATION_PORT: String(ports.activation),
    PSGRAPH_CRM_URL: urls['crm'],
    PSGRAPH_ERP_URL: urls['erp'],
    PSGRAPH_PSA_URL: urls['psa'],
    // Half of the failures are 503s before the call, half are answers lost after the system did the write.
    PSGRAPH_ACTIVATION_FAULTS: JSON.stringify([
      { fault: 'unavailable', probability: faultRate / 2 },
      { fault: 'timeout-after', probability: faultRate / 2 / (1 - faultRate / 2) },
    ]),
  };
  const seedStarted = Date.now();
  for (const name of ['crm', 'erp', 'psa'] as const) children.push(runTypeScript(`subgraphs/${name}/src/main.ts`, env));
  await Promise.all(children.map((child) => child.waitFor(/ready at/, 180_000)));
  const activation = runTypeScript('subgraphs/activation/src/main.ts', env);
  children.push(activation);
  await activation.waitFor(/ready at/, 60_000);
  console.log(`stack ready in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s (seeded CRM, ERP and PSA at the default volume)`);

  const crm = new Database(join(dataDir, 'crm.db'), { readonly: true });
  const erp = new Database(join(dataDir, 'erp.db'), { readonly: true });
  const psa = new Database(join(dataDir, 'psa.db'), { readonly: true });
  const onHold = new Set(erp.prepare("SELECT external_id FROM customer WHERE credit_status = 'ON_HOLD'").pluck().all() as string[]);
  // Open deals whose data passes validation; winning each in CRM emits its opportunity.closed_won.
  const deals = (
    crm
      .prepare(
        `SELECT o.id, o.account_id FROM opportunity o JOIN opportunity_stage s ON s.name = o.stage_name JOIN account a ON a.id = o.account_id
         WHERE s.is_closed = 0 AND a.tax_id IS NOT NULL AND (o.po_required = 0 OR o.po_number IS NOT NULL) ORDER BY o.id`,
      )
      .all() as Array<{ id: string; account_id: string }>
  )
    .filter((deal) => !onHold.has(deal.account_id))
    .slice(0, count)
    .map((deal) => deal.id);
  if (deals.length < count) throw new Error(`only ${deals.length} clean open deals in the seeded CRM; asked for ${count}`);
  const lines = deals.reduce(
    (sum, id) => sum + (crm.prepare('SELECT COUNT(*) FROM opportunity_line_item WHERE opportunity_id = ?').pluck().get(id) as number),
    0,
  );
  const countAll = () => ({
    erpJobs: erp.prepare('SELECT COUNT(*) FROM job').pluck().get() as number,
    erpSchedules: erp.prepare('SELECT COUNT(*) FROM billing_schedule').pluck().get() as number,
    psaProjects: psa.prepare('SELECT COUNT(*) FROM project').pluck().get() as number,
    psaRequests: psa.prepare('SELECT COUNT(*) FROM resource_request').pluck().get() as number,
    crmLinked: crm.prepare('SELECT COUNT(*) FROM opportunity WHERE project_id IS NOT NULL').pluck().get() as number,
  });
  const before = countAll();

  const graphql = async (url: string, query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    const body = (await response.json()) as { data?: any; errors?: Array<{ message: string }> };
    if (body.errors) throw new Error(body.errors[0]!.message);
    return body.data;
  };

  // Win every deal in CRM: 25 stage changes in flight at a time (a sales team closing a quarter), or paced.
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: winsPerSecond > 0 ? 1 : 25 }, async () => {
      while (next < deals.length) {
        const index = next++;
        if (winsPerSecond > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (index * 1000) / winsPerSecond - Date.now())));
        await graphql(urls['crm']!, 'mutation($id: ID!) { setOpportunityStage(id: $id, stage: "Closed Won") { id } }', { id: deals[index] });
      }
    }),
  );
  const wonIn = (Date.now() - started) / 1000;

  const runs = new Database(join(dataDir, 'activation.db'), { readonly: true });
  const status = () =>
    Object.fromEntries(
      (runs.prepare('SELECT status, COUNT(*) AS n FROM activation_run GROUP BY status').all() as Array<{ status: string; n: number }>).map((row) => [
        row.status,
        row.n,
      ]),
    );
  let last = '';
  for (;;) {
    const now = status();
    const line = JSON.stringify(now);
    if (line !== last) console.log(`  ${((Date.now() - started) / 1000).toFixed(1)} s ${line}`);
    last = line;
    const settled = (now['ACTIVE'] ?? 0) + (now['COMPENSATED'] ?? 0) + (now['NEEDS_ATTENTION'] ?? 0) + (now['EXCEPTION_OPEN'] ?? 0) + (now['CANCELLED'] ?? 0);
    if (settled >= deals.length) break;
    if (Date.now() - started > 30 * 60_000) throw new Error('not settled after 30 minutes');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const elapsed = (Date.now() - started) / 1000;

  const final = status();
  const after = countAll();
  const attempts = runs
    .prepare('SELECT SUM(attempts) AS attempts, SUM(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END) AS retries FROM activation_step')
    .get() as { attempts: number; retries: number };
  const figures = (
    await graphql(
      urls['activation']!,
      '{ activationFigures { activatedCount touchlessRate cycleTime { p50Seconds p90Seconds p99Seconds maxSeconds meanSeconds } } }',
    )
  ).activationFigures;
  const duplicates = {
    erpJobs: after.erpJobs - before.erpJobs - deals.length,
    erpSchedules: after.erpSchedules - before.erpSchedules - deals.length,
    psaProjects: after.psaProjects - before.psaProjects - deals.length,
    psaRequests: after.psaRequests - before.psaRequests - lines,
    crmLinked: after.crmLinked - before.crmLinked - deals.length,
  };
  console.log(`
activations: ${deals.length} deals won in CRM (${winsPerSecond > 0 ? `paced at ${winsPerSecond}/s, ` : 'all at once, '}stage changes done in ${wonIn.toFixed(1)} s), fault rate ${(faultRate * 100).toFixed(0)} % of step calls
  final statuses       ${JSON.stringify(final)}
  step calls           ${attempts.attempts} attempts, ${attempts.retries} retries after transient faults
  duplicates           ${JSON.stringify(duplicates)} (0 everywhere = exactly once)
  wall time            ${elapsed.toFixed(1)} s (first closed-won to last ACTIVE)
  throughput           ${(deals.length / elapsed).toFixed(1)} activations/s
  cycle time           p50 ${figures.cycleTime.p50Seconds.toFixed(2)} s, p90 ${figures.cycleTime.p90Seconds.toFixed(2)} s, p99 ${figures.cycleTime.p99Seconds.toFixed(2)} s, max ${figures.cycleTime.maxSeconds.toFixed(2)} s (closed-won event → project.activated)`);
  const ok = final['ACTIVE'] === deals.length && Object.values(duplicates).every((value) => value === 0);
  for (const db of [crm, erp, psa, runs]) db.close();
  if (!ok) throw new Error('not every deal activated exactly once');
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  for (const child of children) child.child.kill('SIGTERM');
  await Promise.all(children.map((child) => child.exited));
  // PSGRAPH_BENCH_KEEP=1 keeps the stores for a look at the runs (activation.db holds every transition).
  if (process.env['PSGRAPH_BENCH_KEEP'] === '1') console.log(`stores kept in ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}
