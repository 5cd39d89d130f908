/**
 * The gateways measured, each started as its own process on the same supergraph file (subgraph URLs pointing at
 * the benchmark's subgraphs), pinned to the gateway core, with `NODE_ENV=production` as the standard benchmark
 * runs them.
 *
 * Header policy: on the unique-authorization workload every contender forwards the client's `authorization`
 * header to the subgraphs (psgraph by default; the others with their one documented setting for it). A gateway
 * that drops the header sends identical subgraph requests for every client and shares them in flight — the
 * repetition that workload exists to rule out, and no option where subgraphs authorize. The others' defaults,
 * header dropped, are shown beside them for comparison.
 */
import { join } from 'node:path';
import { GATEWAY_BUNDLE } from '../../gateway/build.js';
import { GATEWAY_NODE_FLAGS } from '../../gateway/src/cli/runtimeFlags.js';
import { BENCH_DIR, REPO_ROOT } from './benchPaths.js';
import type { ProcessSpec } from './processes.js';
import type { BenchSecurity } from './benchSecurity.js';
import type { WorkloadId } from './workloads.js';

export type ContenderId =
  | 'psgraph'
  | 'apollo'
  | 'hive'
  | 'hive-rust'
  | 'psgraph-no-auth-forwarding'
  | 'hive-rust-no-auth-forwarding'
  | 'psgraph-baseline'
  | 'psgraph-traced'
  | 'psgraph-traced-sampled'
  | 'psgraph-unguarded'
  | 'psgraph-guarded';

export interface Contender {
  readonly id: ContenderId;
  readonly label: string;
  /** How it is configured, for the report. */
  readonly settings: string;
  /** Only these workloads (all when absent). */
  readonly workloads?: readonly WorkloadId[];
  /** Shown for comparison, not a contender the targets are checked against. */
  readonly informational?: boolean;
  /** Its clients authenticate with JWTs from the bench's identity provider (every other contender takes any token). */
  readonly authenticated?: boolean;
  spec(options: SpecOptions): ProcessSpec;
}

interface SpecOptions {
  readonly port: number;
  readonly supergraphPath: string;
  readonly cpu?: number;
  /** Pass the client's `authorization` header on to the subgraphs (the unique-authorization workload). */
  readonly forwardAuthorization: boolean;
  /** The secured gateway's identity and signing settings. */
  readonly security: BenchSecurity;
  /** An OTLP/HTTP receiver the traced contender exports its spans to. */
  readonly otlpEndpoint: string;
}

/** The environment every gateway gets: nothing of the caller's PSGRAPH_* settings, no telemetry. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[key] !== undefined) env[key] = process.env[key];
  return { ...env, NODE_ENV: 'production', APOLLO_TELEMETRY_DISABLED: '1' };
}

const hiveBin = join(BENCH_DIR, 'node_modules', '@graphql-hive', 'gateway', 'dist', 'bin.js');
const forwarding = (forward: boolean): NodeJS.ProcessEnv => (forward ? { FORWARD_AUTHORIZATION: '1' } : {});

/**
 * Experiments: `PSGRAPH_BENCH_ENV="PSGRAPH_EXECUTOR=apollo,…"` adds settings to psgraph's gateway and
 * `PSGRAPH_BENCH_NODE_FLAGS="--max-semi-space-size=16 …"` replaces its Node flags (both named in the report).
 */
const experimentEnv: NodeJS.ProcessEnv = Object.fromEntries(
  (process.env['PSGRAPH_BENCH_ENV'] ?? '')
    .split(',')
    .filter((pair) => pair.includes('='))
    .map((pair) => [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1).trim()]),
);
const psgraphNodeFlags: readonly string[] =
  process.env['PSGRAPH_BENCH_NODE_FLAGS'] !== undefined ? process.env['PSGRAPH_BENCH_NODE_FLAGS'].split(' ').filter(Boolean) : GATEWAY_NODE_FLAGS;
const experimentNote = [
  ...Object.entries(experimentEnv).map(([key, value]) => `${key}=${value}`),
  ...(process.env['PSGRAPH_BENCH_NODE_FLAGS'] !== undefined ? [`Node flags "${psgraphNodeFlags.join(' ')}"`] : []),
].join(', ');

/** psgraph's gateway as `npm run gateway` runs it: the bundle (run.ts builds it first) with its Node flags. */
function psgraphSpec(
  name: string,
  { port, supergraphPath, cpu }: SpecOptions,
  env: NodeJS.ProcessEnv = {},
  bundle = GATEWAY_BUNDLE,
  root = REPO_ROOT,
): ProcessSpec {
  return {
    name,
    command: process.execPath,
    args: [...psgraphNodeFlags, bundle],
    cwd: root,
    // The bench's subgraphs do not require a signed principal (benchSecurity.ts), so a gateway without a key may run.
    env: {
      ...baseEnv(),
      PSGRAPH_REQUIRE_PRINCIPAL: 'false',
      PSGRAPH_HOST: '127.0.0.1',
      PSGRAPH_GATEWAY_PORT: String(port),
      PSGRAPH_SUPERGRAPH_PATH: supergraphPath,
      ...experimentEnv,
      ...env,
    },
    ...(cpu === undefined ? {} : { cpu }),
  };
}

function hiveSpec(name: string, configDir: string, { port, supergraphPath, cpu }: SpecOptions, forward: boolean): ProcessSpec {
  return {
    name,
    command: process.execPath,
    args: [hiveBin, 'supergraph', supergraphPath, '--host', '127.0.0.1', '--port', String(port)],
    cwd: join(BENCH_DIR, 'gateways', configDir),
    env: { ...baseEnv(), ...forwarding(forward) },
    ...(cpu === undefined ? {} : { cpu }),
  };
}

export const CONTENDERS: readonly Contender[] = [
  {
    id: 'psgraph',
    label: 'psgraph',
    settings: experimentNote
      ? `EXPERIMENT: node ${psgraphNodeFlags.join(' ')} gateway/dist/gateway.js with ${experimentNote}`
      : `\`npm run gateway\`: node ${GATEWAY_NODE_FLAGS.join(' ')} gateway/dist/gateway.js (the bundle of gateway/src), defaults, one process`,
    spec: (options) => psgraphSpec('psgraph', options),
  },
  {
    id: 'psgraph-no-auth-forwarding',
    label: 'psgraph, no header forwarded',
    settings: 'psgraph with PSGRAPH_FORWARD_HEADERS=none (identical subgraph requests, shared in flight); shown for comparison on (d′) only',
    workloads: ['standard-auth'],
    informational: true,
    spec: (options) => psgraphSpec('psgraph-no-auth-forwarding', options, { PSGRAPH_FORWARD_HEADERS: 'none' }),
  },
  {
    id: 'psgraph-traced',
    label: 'psgraph, tracing on',
    settings:
      'psgraph with tracing on (OTEL_EXPORTER_OTLP_ENDPOINT at an OTLP/HTTP receiver in the bench runner, every trace sampled, default batching); the subgraphs untraced: the cost of tracing in the gateway',
    workloads: ['project'],
    informational: true,
    spec: (options) => psgraphSpec('psgraph-traced', options, { OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint }),
  },
  {
    id: 'psgraph-traced-sampled',
    label: 'psgraph, tracing on, 1 trace in 10',
    settings: 'psgraph-traced with OTEL_TRACES_SAMPLER=parentbased_traceidratio and OTEL_TRACES_SAMPLER_ARG=0.1',
    workloads: ['project'],
    informational: true,
    spec: (options) =>
      psgraphSpec('psgraph-traced-sampled', options, {
        OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
      }),
  },
  {
    id: 'psgraph-unguarded',
    label: 'psgraph, guards off',
    settings: 'psgraph with demand control off (PSGRAPH_COST_MODE=off) and no identity (the developer principal): the baseline of the guards’ cost',
    workloads: ['project', 'standard-auth'],
    informational: true,
    spec: (options) => psgraphSpec('psgraph-unguarded', options, { PSGRAPH_COST_MODE: 'off' }),
  },
  {
    id: 'psgraph-guarded',
    label: 'psgraph, guards on',
    settings:
      'psgraph with JWT identity (ES256, JWKS file), field authorization, demand control enforcing, and a signed principal on every subgraph request (PSGRAPH_SIGNING_KEY); clients send finance users’ JWTs (distinct ones on d′)',
    workloads: ['project', 'standard-auth'],
    informational: true,
    authenticated: true,
    spec: (options) => psgraphSpec('psgraph-guarded', options, options.security.gatewayEnv),
  },
  {
    id: 'apollo',
    label: '@apollo/gateway',
    settings: '@apollo/gateway 2.14.4 defaults on @apollo/server 5.5.1 standalone; on (d′) a RemoteGraphQLDataSource forwarding `authorization`',
    spec: ({ port, supergraphPath, cpu, forwardAuthorization }) => ({
      name: 'apollo',
      command: process.execPath,
      args: ['--import', 'tsx', join(BENCH_DIR, 'gateways', 'apolloGateway.ts')],
      cwd: BENCH_DIR,
      env: { ...baseEnv(), PORT: String(port), SUPERGRAPH_PATH: supergraphPath, ...forwarding(forwardAuthorization) },
      ...(cpu === undefined ? {} : { cpu }),
    }),
  },
  {
    id: 'hive',
    label: 'Hive Gateway',
    settings: '@graphql-hive/gateway 2.15.1 CLI, defaults (`hive-gateway supergraph`); on (d′) `propagateHeaders` forwarding `authorization`',
    spec: (options) => hiveSpec('hive', 'hive-defaults', options, options.forwardAuthorization),
  },
  {
    id: 'hive-rust',
    label: 'Hive Gateway + Rust QP',
    settings:
      '@graphql-hive/gateway 2.15.1 with @graphql-hive/router-runtime 1.4.23 (`unifiedGraphHandler`), otherwise defaults; on (d′) `propagateHeaders` forwarding `authorization`',
    spec: (options) => hiveSpec('hive-rust', 'hive-router-runtime', options, options.forwardAuthorization),
  },
  {
    id: 'hive-rust-no-auth-forwarding',
    label: 'Hive Gateway + Rust QP, no header forwarded (its defaults)',
    settings:
      'Hive Gateway + Rust QP with its defaults, which drop `authorization` (identical subgraph requests, shared in flight); shown for comparison on (d′) only',
    workloads: ['standard-auth'],
    informational: true,
    spec: (options) => hiveSpec('hive-rust-no-auth-forwarding', 'hive-router-runtime', options, false),
  },
];

/** psgraph's gateway built at another commit (`--baseline <ref>`), run exactly as the working tree's. */
export function baselineContender(baseline: { commit: string; bundle: string; root: string }): Contender {
  return {
    id: 'psgraph-baseline',
    label: `psgraph at ${baseline.commit.slice(0, 12)} (baseline)`,
    settings: `psgraph's gateway built from commit ${baseline.commit} (\`--baseline\`), run as \`psgraph\` is; shown to compare before and after`,
    informational: true,
    spec: (options) => psgraphSpec('psgraph-baseline', options, {}, baseline.bundle, baseline.root),
  };
}
