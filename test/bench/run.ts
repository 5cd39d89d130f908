/**
 * `npm run bench`: measures psgraph's gateway against plain @apollo/gateway and Hive Gateway (defaults, and with
 * its Rust query planner) in one run, on the same subgraphs, each gateway alone on its own core, and writes the
 * report under test/bench/results/ (and, after a full run, into docs/benchmarks.md's latest full run).
 *
 *   npm run bench                      every workload, every contender (about 14 minutes on 2 cores)
 *   npm run bench -- --quick           one short round (about 5 minutes), docs left alone
 *   npm run bench -- --workloads project,standard --contenders psgraph,apollo
 *   npm run bench -- --warmup 4 --duration 10 --rounds 2 --concurrency 50 --no-docs
 *   npm run bench -- --extra           then test/bench/subscriptions.bench.ts, activation.bench.ts and posting.bench.ts
 *   npm run bench -- --baseline main~3 --contenders psgraph,apollo   also psgraph as built at that commit (before and after)
 *
 * Installs the contenders (`npm ci --prefix test/bench`) on first use. Loopback traffic only; every loop is
 * bounded in time and count.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { buildGateway } from '../../gateway/build.js';
import { BENCH_DIR, REPO_ROOT, RESULTS_DIR } from './benchPaths.js';
import { startOtlpReceiver } from '../support/otlpReceiver.js';
import { createBenchSecurity } from './benchSecurity.js';
import { type BenchHost, type Subgraphs, startPsgraphSubgraphs, startStandardSubgraphs } from './benchSubgraphs.js';
import { CONTENDERS, type Contender, baselineContender } from './contenders.js';
import { prepareBaseline } from './baseline.js';
import { generateLoad, percentile } from './loadGenerator.js';
import { type BenchProcess, HAS_TASKSET, freePort, sampleRss, startProcess, waitUntil } from './processes.js';
import { type BenchReport, type Measurement, type WorkloadResult, checkTargets, renderMarkdown, withLatestRun } from './report.js';
import { type Query, type SupergraphKind, WORKLOADS, type Workload, buildRequests } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    workloads: { type: 'string' },
    contenders: { type: 'string' },
    warmup: { type: 'string' },
    duration: { type: 'string' },
    concurrency: { type: 'string' },
    rounds: { type: 'string' },
    'no-docs': { type: 'boolean', default: false },
    extra: { type: 'boolean', default: false },
    baseline: { type: 'string' },
  },
});

function bounded(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`--${name} ${raw}: expected a number from ${min} to ${max}.`);
  return value;
}

const quick = args.quick;
const warmupSeconds = bounded('warmup', args.warmup, quick ? 2 : 4, 0, 120);
const windowSeconds = bounded('duration', args.duration, quick ? 5 : 10, 1, 300);
const concurrency = bounded('concurrency', args.concurrency, 50, 1, 512);
// Contenders take turns, round after round, so that a slow moment of the machine does not fall on one of them.
const rounds = bounded('rounds', args.rounds, quick ? 1 : 2, 1, 10);
const selectedWorkloads = pick(WORKLOADS, args.workloads, 'workloads');
const log = (message: string) => console.log(`[bench] ${message}`);
const selectedContenders: Contender[] = pick(CONTENDERS, args.contenders, 'contenders');
if (args.baseline) selectedContenders.push(baselineContender(prepareBaseline(args.baseline, log)));
const fullRun =
  !quick &&
  !args.workloads &&
  !args.contenders &&
  args.warmup === undefined &&
  args.duration === undefined &&
  args.concurrency === undefined &&
  args.rounds === undefined &&
  args.baseline === undefined;

function pick<T extends { id: string }>(all: readonly T[], raw: string | undefined, name: string): T[] {
  if (!raw) return [...all];
  const ids = raw.split(',').map((id) => id.trim());
  const unknown = ids.filter((id) => !all.some((item) => item.id === id));
  if (unknown.length > 0) throw new Error(`--${name}: unknown ${unknown.join(', ')}; expected some of ${all.map((item) => item.id).join(', ')}.`);
  return all.filter((item) => ids.includes(item.id));
}

const cores = cpus().length;
// The gateway under test gets the last core to itself; subgraphs, the load generator and this runner share the rest.
const gatewayCpu = cores >= 2 ? cores - 1 : undefined;
const othersCpu = cores > 2 ? `0-${cores - 2}` : cores === 2 ? '0' : undefined;

ensureInstalled();
// psgraph runs from its bundle, as `npm run gateway` runs it: built from the sources being measured.
await buildGateway();
if (HAS_TASKSET && othersCpu !== undefined) spawnSync('taskset', ['-cp', othersCpu, String(process.pid)], { stdio: 'ignore' });

const running = new Set<BenchProcess>();
const security = await createBenchSecurity();
// Where the traced contender sends its spans: answered and counted, not decoded (a collector's work is not measured).
const traceReceiver = await startOtlpReceiver({ keepSpans: false });
const benchHost: BenchHost = { running, log, othersCpu, psgraphSubgraphEnv: security.subgraphEnv };
const stopAll = async () => Promise.all([...running].map((p) => p.stop()));
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

const started = Date.now();
const results: WorkloadResult[] = [];
try {
  for (const kind of ['psgraph', 'standard'] as const satisfies readonly SupergraphKind[]) {
    const workloads = selectedWorkloads.filter((w) => w.supergraph === kind);
    if (workloads.length > 0) results.push(...(await runSupergraph(kind, workloads)));
  }
} finally {
  await stopAll();
  await traceReceiver.close();
}
results.sort((a, b) => WORKLOADS.findIndex((w) => w.id === a.id) - WORKLOADS.findIndex((w) => w.id === b.id));

const report: BenchReport = {
  date: new Date().toISOString(),
  commit: commitId(),
  machine: {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${platform()} ${release()}`,
  },
  settings: {
    quick,
    warmupSeconds,
    windowSeconds,
    rounds,
    concurrency,
    gatewayCpu: gatewayCpu ?? 'not pinned',
    othersCpu: othersCpu ?? 'not pinned',
    pinned: HAS_TASKSET && gatewayCpu !== undefined,
    nodeEnv: 'production',
    standardSubgraphs: 'Node, responses memoized by request body',
    contenders: Object.fromEntries(selectedContenders.map((c) => [c.id, c.settings])),
    rotations: Object.fromEntries(selectedWorkloads.map((w) => [w.id, w.rotation])),
  },
  workloads: results,
  targets: checkTargets(results),
};
mkdirSync(RESULTS_DIR, { recursive: true });
const stamp = `${report.date.slice(0, 19).replace(/[:T]/g, '-')}-${report.commit.slice(0, 12)}${quick ? '-quick' : ''}`;
const markdown = renderMarkdown(report, { heading: `# psgraph benchmark ${report.date.slice(0, 10)}${quick ? ' (quick)' : ''}` });
writeFileSync(join(RESULTS_DIR, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(RESULTS_DIR, `${stamp}.md`), markdown);
console.log(`\n${markdown}`);
log(`report: test/bench/results/${stamp}.{md,json} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
if (fullRun && !args['no-docs']) {
  const docPath = join(REPO_ROOT, 'docs', 'benchmarks.md');
  writeFileSync(docPath, withLatestRun(readFileSync(docPath, 'utf8'), renderMarkdown(report)));
  log('docs/benchmarks.md: latest full run updated');
}
if (args.extra) runOtherBenches();

// ---------------------------------------------------------------------------------------------------------------

async function runSupergraph(kind: SupergraphKind, workloads: readonly Workload[]): Promise<WorkloadResult[]> {
  let subgraphs: Subgraphs;
  try {
    subgraphs = kind === 'psgraph' ? await startPsgraphSubgraphs(benchHost) : await startStandardSubgraphs(benchHost);
  } catch (error) {
    return workloads.map((w) => ({
      id: w.id,
      title: w.title,
      rotation: w.rotation,
      concurrency,
      measurements: [],
      failure: `subgraphs did not start: ${(error as Error).message}`,
    }));
  }
  const supergraphPath = join(tmpdir(), `psgraph-bench-${kind}-${process.pid}.graphql`);
  writeFileSync(supergraphPath, subgraphs.supergraph);
  const out: WorkloadResult[] = [];
  try {
    // Expected responses come from plain @apollo/gateway, the reference implementation, before any load.
    const prepared = new Map<Workload, Awaited<ReturnType<typeof buildRequests>> | Error>();
    const apollo = CONTENDERS.find((c) => c.id === 'apollo')!;
    try {
      await withGateway(apollo, supergraphPath, false, async (url) => {
        const query: Query = async (body) => {
          const response = await request(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            headersTimeout: 60_000,
            bodyTimeout: 60_000,
          });
          return response.body.json();
        };
        for (const workload of workloads) {
          try {
            prepared.set(workload, await buildRequests(workload, query, subgraphs.standard));
          } catch (error) {
            prepared.set(workload, error as Error);
          }
        }
      });
    } catch (error) {
      for (const workload of workloads) prepared.set(workload, new Error(`the reference gateway did not start: ${(error as Error).message.split('\n')[0]}`));
    }
    for (const workload of workloads) {
      const requests = prepared.get(workload)!;
      if (requests instanceof Error) {
        log(`${workload.title}: cannot run: ${requests.message}`);
        out.push({ id: workload.id, title: workload.title, rotation: workload.rotation, concurrency, measurements: [], failure: requests.message });
        continue;
      }
      const contenders = selectedContenders.filter((contender) => !contender.workloads || contender.workloads.includes(workload.id));
      const byContender = new Map<Contender, Array<RoundResult | Error>>(contenders.map((contender) => [contender, []]));
      for (let round = 1; round <= rounds; round++) {
        for (const contender of contenders) {
          const result = await measureRound(contender, workload, requests, supergraphPath, subgraphs);
          byContender.get(contender)!.push(result);
          log(
            result instanceof Error
              ? `${workload.title} · ${contender.label} (round ${round}): could not run: ${result.message}`
              : `${workload.title} · ${contender.label} (round ${round}): ${((result.completed / result.windowMs) * 1000).toFixed(0)} rps, ${result.errors} wrong`,
          );
        }
      }
      const measurements = contenders.map((contender) => combineRounds(contender, byContender.get(contender)!));
      for (const m of measurements) {
        log(
          m.status === 'ok'
            ? `${workload.title} · ${m.label}: ${m.rps!.toFixed(0)} rps, p50 ${m.p50Ms!.toFixed(1)} ms, p99 ${m.p99Ms!.toFixed(1)} ms, ` +
                `${m.subgraphRequestsPerRequest!.toFixed(2)} subgraph req/req, ${m.peakRssMiB!.toFixed(0)} MiB, cpu ${(m.gatewayCpu! * 100).toFixed(0)} %, ${m.errors} wrong`
            : `${workload.title} · ${m.label}: could not run: ${m.reason}`,
        );
      }
      out.push({ id: workload.id, title: workload.title, rotation: workload.rotation, concurrency, measurements });
    }
  } finally {
    await subgraphs.stop();
  }
  return out;
}

interface RoundResult {
  readonly completed: number;
  readonly errors: number;
  readonly windowMs: number;
  readonly latencies: Float64Array;
  readonly subgraphRequests: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
  readonly errorSamples: readonly string[];
}

/** One round: a fresh gateway process, a warm-up, a timed window, the process stopped. */
async function measureRound(
  contender: Contender,
  workload: Workload,
  requests: Awaited<ReturnType<typeof buildRequests>>,
  supergraphPath: string,
  subgraphs: Subgraphs,
): Promise<RoundResult | Error> {
  try {
    return await withGateway(contender, supergraphPath, workload.uniqueAuthorization, async (url, gateway) => {
      const rss = sampleRss(gateway);
      let subgraphRequestsAtStart = 0;
      let subgraphRequests = 0;
      let cpuAtStart = 0;
      let cpuSeconds = 0;
      try {
        const result = await generateLoad({
          url,
          requests,
          concurrency,
          warmupMs: warmupSeconds * 1000,
          windowMs: windowSeconds * 1000,
          ...credentialsOf(contender, workload),
          onWindowStart: async () => {
            subgraphRequestsAtStart = await subgraphs.requestCount();
            cpuAtStart = gateway.cpuSeconds();
          },
          onWindowEnd: async () => {
            cpuSeconds = gateway.cpuSeconds() - cpuAtStart;
            subgraphRequests = (await subgraphs.requestCount()) - subgraphRequestsAtStart;
          },
        });
        return {
          completed: result.completed,
          errors: result.errors,
          windowMs: result.windowMs,
          latencies: result.latencies,
          subgraphRequests,
          cpuSeconds,
          peakRssBytes: rss.peak(),
          errorSamples: result.errorSamples,
        };
      } finally {
        rss.stop();
      }
    });
  } catch (error) {
    return error as Error;
  }
}

/**
 * The credentials a contender's clients send: on the unique-authorization workload a distinct `authorization` per
 * request; to a gateway that authenticates, JWTs of the bench's identity provider, else any token.
 */
function credentialsOf(contender: Contender, workload: Workload): { authorization?: (sequence: number) => string } {
  if (contender.authenticated) return { authorization: security.authorization(workload.uniqueAuthorization) };
  if (workload.uniqueAuthorization) return { authorization: (sequence) => `Bearer bench-${process.pid}-${sequence}` };
  return {};
}

/** A contender's figures over all its rounds: totals over the total window, percentiles over every latency. */
function combineRounds(contender: Contender, results: ReadonlyArray<RoundResult | Error>): Measurement {
  const failure = results.find((r): r is Error => r instanceof Error);
  if (failure) return { contender: contender.id, label: contender.label, status: 'failed', reason: failure.message.split('\n')[0]! };
  const rounds = results as RoundResult[];
  const sum = (pick: (r: RoundResult) => number) => rounds.reduce((total, r) => total + pick(r), 0);
  const completed = sum((r) => r.completed);
  const errors = sum((r) => r.errors);
  const errorSamples = rounds.flatMap((r) => r.errorSamples).slice(0, 3);
  if (completed === 0) {
    return {
      contender: contender.id,
      label: contender.label,
      status: 'failed',
      reason: `no correct response (${errors} wrong): ${errorSamples[0] ?? ''}`,
      errors,
      errorSamples,
    };
  }
  const latencies = new Float64Array(sum((r) => r.latencies.length));
  let offset = 0;
  for (const r of rounds) {
    latencies.set(r.latencies, offset);
    offset += r.latencies.length;
  }
  latencies.sort();
  const windowMs = sum((r) => r.windowMs);
  return {
    contender: contender.id,
    label: contender.label,
    status: 'ok',
    rps: (completed / windowMs) * 1000,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    subgraphRequestsPerRequest: sum((r) => r.subgraphRequests) / (completed + errors),
    peakRssMiB: Math.max(...rounds.map((r) => r.peakRssBytes)) / 2 ** 20,
    gatewayCpu: sum((r) => r.cpuSeconds) / (windowMs / 1000),
    completed,
    errors,
    errorSamples,
  };
}

/** Starts a contender pinned to the gateway core, waits until it answers GraphQL, runs `body`, stops it. */
async function withGateway<T>(
  contender: Contender,
  supergraphPath: string,
  forwardAuthorization: boolean,
  body: (url: string, gateway: BenchProcess) => Promise<T>,
): Promise<T> {
  const port = await freePort();
  const gateway = startProcess(
    contender.spec({
      port,
      supergraphPath,
      forwardAuthorization,
      security,
      otlpEndpoint: traceReceiver.endpoint,
      ...(gatewayCpu === undefined ? {} : { cpu: gatewayCpu }),
    }),
  );
  running.add(gateway);
  const url = `http://127.0.0.1:${port}/graphql`;
  try {
    await waitUntil(
      gateway,
      async () => {
        const response = await request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(contender.authenticated ? { authorization: security.authorization(false)(0) } : {}) },
          body: '{"query":"{ __typename }"}',
          headersTimeout: 2_000,
          bodyTimeout: 2_000,
        });
        const text = await response.body.text();
        return response.statusCode === 200 && text.includes('"Query"');
      },
      120_000,
    );
    return await body(url, gateway);
  } finally {
    await gateway.stop();
    running.delete(gateway);
  }
}

/** Installs the contenders under test/bench when they are missing or older than the lock file. */
function ensureInstalled(): void {
  const installed = join(BENCH_DIR, 'node_modules', '.package-lock.json');
  const lock = join(BENCH_DIR, 'package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  log('installing the contenders: npm ci --prefix test/bench');
  const result = spawnSync('npm', ['ci', '--prefix', BENCH_DIR, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm ci --prefix test/bench failed');
}

function commitId(): string {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim() || 'unknown';
  const dirty =
    spawnSync('git', ['status', '--porcelain', '--', 'gateway', 'test/bench', 'subgraphs'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  return dirty ? `${head}+changes` : head;
}

/** The other benchmarks under test/bench (standalone scripts that print their own figures), when present. */
function runOtherBenches(): void {
  for (const file of ['subscriptions.bench.ts', 'activation.bench.ts', 'posting.bench.ts']) {
    const path = join(BENCH_DIR, file);
    if (!existsSync(path)) continue;
    log(`running test/bench/${file}`);
    const result = spawnSync(process.execPath, ['--import', 'tsx', path], { cwd: REPO_ROOT, stdio: 'inherit', timeout: 30 * 60_000 });
    if (result.status !== 0) log(`test/bench/${file} ended with ${result.status ?? result.signal}`);
  }
}
