/**
 * The benchmark's report: every figure with its ratio to plain @apollo/gateway, the targets met or missed, as
 * JSON (for comparing commits) and as a Markdown table (for people, and for docs/benchmarks.md's latest full run).
 */
import type { ContenderId } from './contenders.js';
import type { WorkloadId } from './workloads.js';

export interface Measurement {
  readonly contender: ContenderId;
  readonly label: string;
  /** `ok`, or why the contender could not run this workload. */
  readonly status: 'ok' | 'failed';
  readonly reason?: string;
  readonly rps?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly subgraphRequestsPerRequest?: number;
  readonly peakRssMiB?: number;
  /** Share of one core the gateway used during the window (1 = the whole pinned core). */
  readonly gatewayCpu?: number;
  readonly completed?: number;
  readonly errors?: number;
  readonly errorSamples?: readonly string[];
}

export interface WorkloadResult {
  readonly id: WorkloadId;
  readonly title: string;
  readonly rotation: string;
  readonly concurrency: number;
  readonly measurements: readonly Measurement[];
  /** Set when the workload could not be prepared at all. */
  readonly failure?: string;
}

export interface BenchReport {
  readonly date: string;
  readonly commit: string;
  readonly machine: { cpu: string; cores: number; memoryGiB: number; node: string; os: string };
  readonly settings: Record<string, unknown>;
  readonly workloads: readonly WorkloadResult[];
  readonly targets: readonly TargetCheck[];
}

export interface TargetCheck {
  readonly workload: WorkloadId;
  readonly target: string;
  readonly value: number | null;
  readonly met: boolean;
}

const ok = (m: Measurement | undefined): m is Measurement & Required<Pick<Measurement, 'rps' | 'p50Ms' | 'p99Ms' | 'peakRssMiB'>> =>
  m !== undefined && m.status === 'ok' && m.rps !== undefined && m.rps > 0;

export function checkTargets(workloads: readonly WorkloadResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const workload of workloads) {
    const by = (id: ContenderId) => workload.measurements.find((m) => m.contender === id);
    const psgraph = by('psgraph');
    const apollo = by('apollo');
    const hives = [by('hive'), by('hive-rust')].filter(ok);
    const bestHive = hives.reduce<number | undefined>((best, m) => Math.max(best ?? 0, m.rps), undefined);
    const leanestHive = hives.reduce<number | undefined>((least, m) => Math.min(least ?? Infinity, m.peakRssMiB), undefined);
    const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : null);
    const hiveRatio = ok(psgraph) ? ratio(psgraph.rps, bestHive) : null;
    const apolloRatio = ok(psgraph) && ok(apollo) ? ratio(psgraph.rps, apollo.rps) : null;
    const rssRatio = ok(psgraph) ? ratio(psgraph.peakRssMiB, leanestHive) : null;
    checks.push({ workload: workload.id, target: 'rps ≥ 1.0× best Hive Gateway', value: hiveRatio, met: hiveRatio !== null && hiveRatio >= 1 });
    checks.push({ workload: workload.id, target: 'rps ≥ 3× @apollo/gateway', value: apolloRatio, met: apolloRatio !== null && apolloRatio >= 3 });
    checks.push({ workload: workload.id, target: 'peak RSS ≤ 0.5× Hive Gateway', value: rssRatio, met: rssRatio !== null && rssRatio <= 0.5 });
    // Identity, field authorization, demand control and signed principals cost at most 10 % of throughput.
    const guarded = by('psgraph-guarded');
    const unguarded = by('psgraph-unguarded');
    const guardsRatio = ok(guarded) && ok(unguarded) ? ratio(guarded.rps, unguarded.rps) : null;
    if (guardsRatio !== null)
      checks.push({ workload: workload.id, target: 'rps with guards on ≥ 0.9× guards off', value: guardsRatio, met: guardsRatio >= 0.9 });
  }
  return checks;
}

const number = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const times = (value: number | undefined, base: number | undefined) =>
  value !== undefined && base !== undefined && base > 0 && Number.isFinite(value / base) ? ` (${(value / base).toFixed(2)}×)` : '';

export function renderMarkdown(report: BenchReport, options: { heading?: string } = {}): string {
  const lines: string[] = [];
  if (options.heading) lines.push(options.heading, '');
  lines.push(
    `Measured ${report.date} at commit \`${report.commit}\` on ${report.machine.cpu} (${report.machine.cores} cores, ${report.machine.memoryGiB} GiB), Node ${report.machine.node}.`,
    `Each gateway alone on core ${report.settings['gatewayCpu'] ?? '—'}, subgraphs and load generator on core ${report.settings['othersCpu'] ?? '—'}; ` +
      `${report.settings['concurrency']} connections; ${report.settings['rounds']} round(s) of a fresh gateway process, ${report.settings['warmupSeconds']} s warm-up and ${report.settings['windowSeconds']} s measured, the contenders taking turns; ` +
      `every response checked against the expected one before it counts. Ratios are to plain @apollo/gateway (higher rps is better; lower latency, subgraph requests and RSS are better).`,
    '',
    '| workload | gateway | requests/s | p50 ms | p99 ms | subgraph requests per request | peak RSS MiB | gateway CPU | wrong responses |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const workload of report.workloads) {
    if (workload.failure) {
      lines.push(`| ${workload.title} | — | could not run: ${escapeCell(workload.failure)} | | | | | | |`);
      continue;
    }
    const apollo = workload.measurements.find((m) => m.contender === 'apollo');
    const base = apollo && apollo.status === 'ok' ? apollo : undefined;
    for (const m of workload.measurements) {
      if (m.status !== 'ok') {
        lines.push(`| ${workload.title} | ${m.label} | could not run: ${escapeCell(m.reason ?? 'unknown')} | | | | | | |`);
        continue;
      }
      lines.push(
        `| ${workload.title} | ${m.contender === 'psgraph' ? `**${m.label}**` : m.contender.endsWith('-no-auth-forwarding') ? `*${m.label}* (for comparison)` : m.label} | ${number(m.rps!)}${times(m.rps, base?.rps)} | ${number(m.p50Ms!, 1)}${times(m.p50Ms, base?.p50Ms)} | ` +
          `${number(m.p99Ms!, 1)}${times(m.p99Ms, base?.p99Ms)} | ${number(m.subgraphRequestsPerRequest!, 2)}${times(m.subgraphRequestsPerRequest, base?.subgraphRequestsPerRequest)} | ` +
          `${number(m.peakRssMiB!)}${times(m.peakRssMiB, base?.peakRssMiB)} | ${number((m.gatewayCpu ?? 0) * 100)} % | ${m.errors ?? 0} |`,
      );
    }
  }
  lines.push(
    '',
    '| target | ' + report.workloads.map((w) => w.title.replace(/^\((\S+)\).*/, '($1)')).join(' | ') + ' |',
    '|---|' + report.workloads.map(() => '---|').join(''),
  );
  const targetNames = [...new Set(report.targets.map((t) => t.target))];
  for (const target of targetNames) {
    const cells = report.workloads.map((w) => {
      const check = report.targets.find((t) => t.workload === w.id && t.target === target);
      if (!check || check.value === null) return 'n/a';
      return `${check.met ? '✅' : '❌'} ${check.value.toFixed(2)}×`;
    });
    lines.push(`| psgraph ${target} | ${cells.join(' | ')} |`);
  }
  const contenders = report.settings['contenders'] as Record<string, string> | undefined;
  if (contenders) {
    lines.push('', 'Contenders, as run:');
    for (const [id, settings] of Object.entries(contenders)) lines.push(`- \`${id}\`: ${settings}`);
  }
  return `${lines.join('\n')}\n`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 200);
}

/** The markers around the generated latest run in docs/benchmarks.md; the rest of that page is written by hand. */
export const LATEST_RUN_START = '<!-- bench:latest-full-run -->';
export const LATEST_RUN_END = '<!-- /bench:latest-full-run -->';

/** Replaces the latest full run in docs/benchmarks.md (between its markers), or appends it with its markers. */
export function withLatestRun(doc: string, section: string): string {
  const from = doc.indexOf(LATEST_RUN_START);
  const to = doc.indexOf(LATEST_RUN_END);
  const block = `${LATEST_RUN_START}\n${section.replace(/\s*$/, '')}\n${LATEST_RUN_END}`;
  if (from < 0 || to < from) return `${doc.replace(/\s*$/, '')}\n\n${block}\n`;
  return `${doc.slice(0, from)}${block}${doc.slice(to + LATEST_RUN_END.length)}`;
}
