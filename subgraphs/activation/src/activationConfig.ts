/**
 * The activation service's options, read from the environment and validated at start-up: a wrong setting stops
 * the service with a message naming the variable and what would be valid.
 */
import {
  ConfigError,
  DEFAULT_PORTS,
  type RetentionConfig,
  type SubgraphConfig,
  loadRetentionConfig,
  loadSubgraphConfig,
  readNumber,
} from '../../platform/src/index.js';
import type { FaultRule } from './systems/faults.js';
import { faultsFromEnvironment } from './systems/faults.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './saga/retryPolicy.js';

export interface ActivationConfig extends SubgraphConfig {
  /** GraphQL endpoints of the system subgraphs. @default http://127.0.0.1:<port>/graphql (PSGRAPH_CRM_URL, PSGRAPH_ERP_URL, PSGRAPH_PSA_URL, PSGRAPH_BILLING_URL) */
  readonly systemUrls: Readonly<Record<'crm' | 'erp' | 'psa' | 'billing', string>>;
  /** Deadline of one call to a system. @default 5000 (PSGRAPH_ACTIVATION_CALL_TIMEOUT_MS) */
  readonly callTimeoutMs: number;
  /** Backoff and attempt limits of every saga call: the retry policy's settings. */
  readonly retry: RetryPolicy;
  /** A driver's claim on a run; a crashed process's runs resume after it. @default 15000 (PSGRAPH_ACTIVATION_LEASE_MS) */
  readonly leaseMs: number;
  /** Runs driven at once. @default 16 (PSGRAPH_ACTIVATION_CONCURRENCY) */
  readonly maxConcurrentRuns: number;
  /** How long `activateProject` waits for the run to rest before answering. @default 5000 (PSGRAPH_ACTIVATION_AWAIT_MS) */
  readonly awaitMs: number;
  /** How often every project with new activity is reconciled across the systems; 0 turns the schedule off. @default 60 (PSGRAPH_RECONCILE_EVERY_MINUTES) */
  readonly reconcileEveryMinutes?: number;
  /** Test seam only, refused in production (PSGRAPH_ACTIVATION_FAULTS, a JSON array of rules). */
  readonly faults: readonly FaultRule[] | null;
  /** What the retention sweep trims, and how often (see the retention settings). @default loadRetentionConfig's defaults */
  readonly retention?: RetentionConfig;
}

function readUrl(env: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  const value = env[variable] || fallback;
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    // reported below
  }
  throw new ConfigError(`${variable}=${value} is not an http(s) URL: expected e.g. ${fallback}.`);
}

export function loadActivationConfig(env: NodeJS.ProcessEnv = process.env): ActivationConfig {
  const base = loadSubgraphConfig('activation', env);
  const host = env['PSGRAPH_HOST'] || '127.0.0.1';
  const systemUrl = (name: 'crm' | 'erp' | 'psa' | 'billing') =>
    readUrl(env, `PSGRAPH_${name.toUpperCase()}_URL`, `http://${host}:${DEFAULT_PORTS[name]}/graphql`);
  const initialDelayMs = readNumber(env, 'PSGRAPH_ACTIVATION_RETRY_INITIAL_MS', DEFAULT_RETRY_POLICY.initialDelayMs, 1, 60_000);
  const maxDelayMs = readNumber(env, 'PSGRAPH_ACTIVATION_RETRY_MAX_MS', DEFAULT_RETRY_POLICY.maxDelayMs, 1, 600_000);
  if (maxDelayMs < initialDelayMs)
    throw new ConfigError(
      `PSGRAPH_ACTIVATION_RETRY_MAX_MS=${maxDelayMs} is below PSGRAPH_ACTIVATION_RETRY_INITIAL_MS=${initialDelayMs}: the cap must be at least the first delay.`,
    );
  return {
    host: base.host,
    port: base.port,
    dataDir: base.dataDir,
    production: base.production,
    ...(base.principals ? { principals: base.principals } : {}),
    systemUrls: { crm: systemUrl('crm'), erp: systemUrl('erp'), psa: systemUrl('psa'), billing: systemUrl('billing') },
    callTimeoutMs: readNumber(env, 'PSGRAPH_ACTIVATION_CALL_TIMEOUT_MS', 5_000, 50, 600_000),
    retry: {
      initialDelayMs,
      maxDelayMs,
      maxAttempts: readNumber(env, 'PSGRAPH_ACTIVATION_MAX_ATTEMPTS', DEFAULT_RETRY_POLICY.maxAttempts, 1, 100),
      maxCompensationAttempts: readNumber(env, 'PSGRAPH_ACTIVATION_MAX_COMPENSATION_ATTEMPTS', DEFAULT_RETRY_POLICY.maxCompensationAttempts, 1, 100),
    },
    leaseMs: readNumber(env, 'PSGRAPH_ACTIVATION_LEASE_MS', 15_000, 200, 3_600_000),
    maxConcurrentRuns: readNumber(env, 'PSGRAPH_ACTIVATION_CONCURRENCY', 16, 1, 1_024),
    awaitMs: readNumber(env, 'PSGRAPH_ACTIVATION_AWAIT_MS', 5_000, 0, 60_000),
    reconcileEveryMinutes: readNumber(env, 'PSGRAPH_RECONCILE_EVERY_MINUTES', 60, 0, 10_080),
    faults: faultsFromEnvironment(env),
    retention: loadRetentionConfig(env),
  };
}
