/**
 * Capped exponential backoff with jitter, the retry policy of every saga call (Temporal's default shape:
 * initial interval, coefficient 2, a maximum interval, a maximum number of attempts). The jitter spreads the
 * retries of many runs hit by the same outage, so they do not come back at the same instant.
 */
export interface RetryPolicy {
  /** Delay before the first retry of a saga call. @default 200 (PSGRAPH_ACTIVATION_RETRY_INITIAL_MS) */
  readonly initialDelayMs: number;
  /** No retry delay exceeds this. @default 10000 (PSGRAPH_ACTIVATION_RETRY_MAX_MS) */
  readonly maxDelayMs: number;
  /** Attempts of a forward step before it counts as failed (and the run compensates). @default 8 (PSGRAPH_ACTIVATION_MAX_ATTEMPTS) */
  readonly maxAttempts: number;
  /** Attempts of one compensation before the run needs a person (never an endless loop). @default 5 (PSGRAPH_ACTIVATION_MAX_COMPENSATION_ATTEMPTS) */
  readonly maxCompensationAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialDelayMs: 200, maxDelayMs: 10_000, maxAttempts: 8, maxCompensationAttempts: 5 };

/**
 * The delay after failed attempt `attempt` (1-based): the exponential delay capped at `maxDelayMs`, of which a
 * random half is kept ("equal jitter": never less than half the backoff, so a retry storm still backs off).
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
