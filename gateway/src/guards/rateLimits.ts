/**
 * Rate limits per principal, so that one client cannot starve the rest: a token bucket per subject, refilled at
 * `requestsPerSecond` up to `burst`. A request finding the bucket empty is answered 429 RATE_LIMITED with
 * `Retry-After` (whole seconds until a token is back); nothing else is done for it. Buckets are kept for the
 * most recent subjects only (bounded memory whatever the number of callers).
 *
 * The developer principal of the embedded default (no identity configured) is not limited: every request would be
 * the same principal.
 *
 * Stage: HTTP, after identity.
 */
import { ConfigError, readNumber } from '../../../subgraphs/platform/src/config.js';
import type { Principal } from './identity.js';

export interface RateLimitOptions {
  /** Requests a principal may make per second, sustained; 0 turns limits off. @default 0 (PSGRAPH_RATE_LIMIT_RPS) */
  readonly requestsPerSecond: number;
  /** Requests a principal may make at once, above the sustained rate. @default 2 × the rate (PSGRAPH_RATE_LIMIT_BURST) */
  readonly burst: number;
}

export function loadRateLimitOptions(env: NodeJS.ProcessEnv): RateLimitOptions {
  const requestsPerSecond = readNumber(env, 'PSGRAPH_RATE_LIMIT_RPS', 0, 0, 1_000_000);
  const burst = readNumber(env, 'PSGRAPH_RATE_LIMIT_BURST', Math.max(1, requestsPerSecond * 2), 1, 10_000_000);
  if (requestsPerSecond > 0 && burst < 1) throw new ConfigError('PSGRAPH_RATE_LIMIT_BURST must be at least 1.');
  return { requestsPerSecond, burst };
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Subjects whose buckets are remembered; the least recently seen are forgotten first (they refill anyway). */
const MAX_BUCKETS = 100_000;

export class RateLimits {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for the principal's request: undefined when allowed, else the seconds to wait. */
  take(principal: Principal): number | undefined {
    const { requestsPerSecond, burst } = this.options;
    if (requestsPerSecond <= 0 || (principal.unrestricted && principal.subject === 'developer')) return undefined;
    const now = this.now();
    const bucket = this.buckets.get(principal.subject) ?? { tokens: burst, updatedAt: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * requestsPerSecond);
    bucket.updatedAt = now;
    // Most recently seen last: a Map iterates in insertion order.
    this.buckets.delete(principal.subject);
    this.buckets.set(principal.subject, bucket);
    if (this.buckets.size > MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / requestsPerSecond));
  }
}
