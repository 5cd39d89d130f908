/**
 * The gateways measured, each started as its own process on the same supergraph file (subgraph URLs pointing at
 * the benchmark's subgraphs), pinned to the gateway core, with `NODE_ENV=production` as the standard benchmark
 * runs them.
 */
import { join } from 'node:path';
import { BENCH_DIR, REPO_ROOT } from './benchPaths.js';
import type { ProcessSpec } from './processes.js';
import type { WorkloadId } from './workloads.js';

export type ContenderId = 'psgraph' | 'apollo' | 'hive' | 'hive-rust' | 'psgraph-no-auth-forwarding';

export interface Contender {
  readonly id: ContenderId;
  readonly label: string;
  /** How it is configured, for the report. */
  readonly settings: string;
  /** Only these workloads (all when absent). */
  readonly workloads?: readonly WorkloadId[];
  /** Shown for comparison, not a contender the targets are checked against. */
  readonly informational?: boolean;
  spec(options: { port: number; supergraphPath: string; cpu?: number }): ProcessSpec;
}

/** The environment every gateway gets: nothing of the caller's PSGRAPH_* settings, no telemetry. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[key] !== undefined) env[key] = process.env[key];
  return { ...env, NODE_ENV: 'production', APOLLO_TELEMETRY_DISABLED: '1' };
}

const hiveBin = join(BENCH_DIR, 'node_modules', '@graphql-hive', 'gateway', 'dist', 'bin.js');

export const CONTENDERS: readonly Contender[] = [
  {
    id: 'psgraph',
    label: 'psgraph',
    settings: 'gateway/src/cli/gateway.ts with its defaults (one process)',
    spec: ({ port, supergraphPath, cpu }) => ({
      name: 'psgraph',
      command: process.execPath,
      args: ['--import', 'tsx', 'gateway/src/cli/gateway.ts'],
      cwd: REPO_ROOT,
      env: { ...baseEnv(), PSGRAPH_HOST: '127.0.0.1', PSGRAPH_GATEWAY_PORT: String(port), PSGRAPH_SUPERGRAPH_PATH: supergraphPath },
      ...(cpu === undefined ? {} : { cpu }),
    }),
  },
  {
    // Hive Gateway and @apollo/gateway forward no client header by default, so their subgraph requests stay
    // identical under unique credentials and may be shared; psgraph forwards `authorization` and never shares a
    // subgraph answer between callers. This row shows psgraph under the others' header policy.
    id: 'psgraph-no-auth-forwarding',
    label: 'psgraph, no header forwarded',
    settings: 'psgraph with PSGRAPH_FORWARD_HEADERS=none (the header policy of the other contenders\' defaults); shown for comparison on (d′) only',
    workloads: ['standard-auth'],
    informational: true,
    spec: ({ port, supergraphPath, cpu }) => ({
      name: 'psgraph-no-auth-forwarding',
      command: process.execPath,
      args: ['--import', 'tsx', 'gateway/src/cli/gateway.ts'],
      cwd: REPO_ROOT,
      env: { ...baseEnv(), PSGRAPH_HOST: '127.0.0.1', PSGRAPH_GATEWAY_PORT: String(port), PSGRAPH_SUPERGRAPH_PATH: supergraphPath, PSGRAPH_FORWARD_HEADERS: 'none' },
      ...(cpu === undefined ? {} : { cpu }),
    }),
  },
  {
    id: 'apollo',
    label: '@apollo/gateway',
    settings: '@apollo/gateway 2.14.4 defaults on @apollo/server 5.5.1 standalone',
    spec: ({ port, supergraphPath, cpu }) => ({
      name: 'apollo',
      command: process.execPath,
      args: ['--import', 'tsx', join(BENCH_DIR, 'gateways', 'apolloGateway.ts')],
      cwd: BENCH_DIR,
      env: { ...baseEnv(), PORT: String(port), SUPERGRAPH_PATH: supergraphPath },
      ...(cpu === undefined ? {} : { cpu }),
    }),
  },
  {
    id: 'hive',
    label: 'Hive Gateway',
    settings: '@graphql-hive/gateway 2.15.1 CLI, defaults (`hive-gateway supergraph`)',
    spec: ({ port, supergraphPath, cpu }) => ({
      name: 'hive',
      command: process.execPath,
      args: [hiveBin, 'supergraph', supergraphPath, '--host', '127.0.0.1', '--port', String(port)],
      cwd: join(BENCH_DIR, 'gateways', 'hive-defaults'),
      env: baseEnv(),
      ...(cpu === undefined ? {} : { cpu }),
    }),
  },
  {
    id: 'hive-rust',
    label: 'Hive Gateway + Rust QP',
    settings: '@graphql-hive/gateway 2.15.1 with @graphql-hive/router-runtime 1.4.23 (`unifiedGraphHandler`), otherwise defaults',
    spec: ({ port, supergraphPath, cpu }) => ({
      name: 'hive-rust',
      command: process.execPath,
      args: [hiveBin, 'supergraph', supergraphPath, '--host', '127.0.0.1', '--port', String(port)],
      cwd: join(BENCH_DIR, 'gateways', 'hive-router-runtime'),
      env: baseEnv(),
      ...(cpu === undefined ? {} : { cpu }),
    }),
  },
];
