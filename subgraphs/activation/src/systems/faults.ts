/**
 * The fault seam of the activation service's subgraph client. Every call the saga makes to a system subgraph
 * passes through a `FaultInjector` before and after the HTTP exchange, so tests (and the benchmark) can make any
 * step, forward or compensating, time out, answer 503, fail for good, or hang — without touching the systems.
 *
 * `timeout-after` and `hang` let the call reach the system first: the write happens and only the answer is lost,
 * which is exactly the case idempotent steps must survive.
 */
import { ConfigError } from '../../../platform/src/index.js';
import { STEP_NAMES, type StepName } from '../saga/activationStates.js';

export type FaultKind =
  /** HTTP 503 before the request is sent (transient). */
  | 'unavailable'
  /** A timeout before the request is sent (transient). */
  | 'timeout-before'
  /** The request is sent and processed; its answer is lost to a timeout (transient). */
  | 'timeout-after'
  /** A GraphQL error with a non-retryable code (permanent). */
  | 'permanent'
  /** The request is sent and processed; the caller then waits forever (a crash test kills the process here). */
  | 'hang';

export interface CallSite {
  readonly system: 'crm' | 'erp' | 'psa' | 'billing';
  readonly operationName: string;
  /** The saga step on whose behalf the call is made, when there is one. */
  readonly step: StepName | null;
  readonly phase: 'forward' | 'compensate' | 'read';
  readonly runId: string | null;
}

export type FaultInjector = (call: CallSite) => FaultKind | null;

export interface FaultRule {
  readonly step?: StepName;
  readonly phase?: CallSite['phase'];
  readonly system?: CallSite['system'];
  /** The GraphQL operation, e.g. `PostDelivery` (the posting process's calls have no saga step). */
  readonly operationName?: string;
  readonly fault: FaultKind;
  /** How many matching calls fail; afterwards the rule stops matching. @default unlimited */
  readonly times?: number;
  /** The chance that a matching call fails (a flaky network rather than a broken one). @default 1 */
  readonly probability?: number;
}

/** An injector from rules: the first rule that matches a call (and has uses left) decides its fault. */
export function faultRules(rules: readonly FaultRule[], random: () => number = Math.random): FaultInjector & { readonly hits: () => number } {
  const remaining = rules.map((rule) => rule.times ?? Number.POSITIVE_INFINITY);
  let hits = 0;
  const injector = (call: CallSite): FaultKind | null => {
    for (const [i, rule] of rules.entries()) {
      if (remaining[i]! <= 0) continue;
      if (rule.step !== undefined && rule.step !== call.step) continue;
      if (rule.phase !== undefined && rule.phase !== call.phase) continue;
      if (rule.system !== undefined && rule.system !== call.system) continue;
      if (rule.operationName !== undefined && rule.operationName !== call.operationName) continue;
      if (rule.probability !== undefined && random() >= rule.probability) continue;
      remaining[i]!--;
      hits++;
      return rule.fault;
    }
    return null;
  };
  return Object.assign(injector, { hits: () => hits });
}

const KINDS: readonly FaultKind[] = ['unavailable', 'timeout-before', 'timeout-after', 'permanent', 'hang'];

/**
 * Parses `PSGRAPH_ACTIVATION_FAULTS` (a JSON array of rules) for process-level tests, which cannot hand the
 * process a function. Refused in production: a fault seam must never be switched on by an environment typo there.
 */
export function faultsFromEnvironment(env: NodeJS.ProcessEnv): FaultRule[] | null {
  const raw = env['PSGRAPH_ACTIVATION_FAULTS'];
  if (raw === undefined || raw === '') return null;
  if (env['NODE_ENV'] === 'production') throw new ConfigError('PSGRAPH_ACTIVATION_FAULTS is a test seam and is refused when NODE_ENV=production.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(`PSGRAPH_ACTIVATION_FAULTS is not JSON: expected e.g. [{"step":"ERP_PROJECT","fault":"hang"}].`);
  }
  if (!Array.isArray(parsed)) throw new ConfigError('PSGRAPH_ACTIVATION_FAULTS must be a JSON array of rules.');
  return parsed.map((rule: Record<string, unknown>, i) => {
    if (!KINDS.includes(rule['fault'] as FaultKind)) throw new ConfigError(`PSGRAPH_ACTIVATION_FAULTS[${i}].fault must be one of ${KINDS.join(', ')}.`);
    if (rule['step'] !== undefined && !STEP_NAMES.includes(rule['step'] as StepName)) {
      throw new ConfigError(`PSGRAPH_ACTIVATION_FAULTS[${i}].step must be one of ${STEP_NAMES.join(', ')}.`);
    }
    const probability = rule['probability'];
    if (probability !== undefined && !(typeof probability === 'number' && probability >= 0 && probability <= 1)) {
      throw new ConfigError(`PSGRAPH_ACTIVATION_FAULTS[${i}].probability must be a number from 0 to 1.`);
    }
    return rule as unknown as FaultRule;
  });
}
