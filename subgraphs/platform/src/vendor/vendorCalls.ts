/**
 * Good behaviour towards someone else's API, in one place for every vendor adapter: at most `maxConcurrency`
 * calls in flight (Salesforce, NetSuite and Kantata all cap concurrent requests per integration user), a deadline
 * on every attempt, retries only where they are safe (reads, and writes the vendor deduplicates by an
 * idempotency key or external ID) with capped exponential backoff or the vendor's own `Retry-After`, and a
 * circuit breaker: after `failureThreshold` consecutive outages or timeouts the vendor is not called for
 * `cooldownMs`, and callers fail fast with SYSTEM_UNAVAILABLE naming it; then one probe call decides whether it
 * is back. Every call is counted by system, operation and outcome (`psgraph_vendor_api_calls_total`), because a
 * vendor's API allowance (Salesforce's daily request limit) is a real budget.
 */
import type { Metrics } from '../metrics.js';
import { SpanKind, tracingOn, withSpan } from '../telemetry/index.js';
import { VendorError } from './vendorError.js';

export interface VendorCallsOptions {
  /** The vendor system, as named to users (`Salesforce`). */
  readonly system: string;
  /** Calls in flight at once; further calls wait their turn. @default 4 */
  readonly maxConcurrency?: number;
  /** Deadline of one attempt, waiting for a slot included. @default 10_000 */
  readonly deadlineMs?: number;
  /** Attempts of a call that is safe to retry (1: never retried). @default 4 */
  readonly maxAttempts?: number;
  /** First backoff, doubled per attempt with equal jitter. @default 200 */
  readonly initialBackoffMs?: number;
  /** No backoff (nor honoured Retry-After) is longer. @default 10_000 */
  readonly maxBackoffMs?: number;
  /** Consecutive outages or timeouts that open the circuit. @default 5 */
  readonly failureThreshold?: number;
  /** How long an open circuit fails calls fast before one probe is let through. @default 30_000 */
  readonly cooldownMs?: number;
  /** Where the counters go (the subgraph's /metrics). */
  readonly metrics?: Metrics;
  readonly log?: (message: string) => void;
  /** For tests. @default Date.now */
  readonly now?: () => number;
  /** For tests. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

/** What a vendor call does: the request, abandoned when `signal` aborts (its deadline). */
export type VendorRequest<T> = (signal: AbortSignal) => Promise<T>;

export class VendorCalls {
  readonly system: string;
  private readonly maxConcurrency: number;
  private readonly deadlineMs: number;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly failureThreshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly log: (message: string) => void;
  private count: (labels: Record<string, string>) => void = () => {};
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private consecutiveFailures = 0;
  private openUntil = 0;
  private probing = false;

  constructor(options: VendorCallsOptions) {
    this.system = options.system;
    this.maxConcurrency = Math.max(1, options.maxConcurrency ?? 4);
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.failureThreshold = Math.max(1, options.failureThreshold ?? 5);
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.log = options.log ?? (() => {});
    if (options.metrics) this.instrument(options.metrics);
  }

  /** Counts every call on `metrics` (the subgraph's /metrics), and reports whether the circuit is open. */
  instrument(metrics: Metrics): void {
    this.count = metrics.counter('psgraph_vendor_api_calls_total', 'Calls to vendor systems, by system, operation and outcome.', [
      'system',
      'operation',
      'outcome',
    ]);
    metrics.gauge('psgraph_vendor_circuit_open', 'Whether calls to the vendor system fail fast (1) because it kept failing.', () =>
      this.state === 'closed' ? 0 : 1,
    );
  }

  get state(): CircuitState {
    if (this.openUntil === 0) return 'closed';
    return this.now() < this.openUntil ? 'open' : 'half-open';
  }

  /**
   * Runs `request` under the vendor's limits. `safeToRetry`: a read, or a write the vendor deduplicates (an
   * idempotency key, an external-ID upsert); anything else runs once, since a lost answer may hide a done write.
   */
  call<T>(operation: string, safeToRetry: boolean, request: VendorRequest<T>): Promise<T> {
    if (!tracingOn()) return this.callWithRetries(operation, safeToRetry, request);
    // One span per call, retries and backoff included: what the caller waited for.
    return withSpan(
      `${this.system} ${operation}`,
      { 'psgraph.vendor.system': this.system, 'psgraph.vendor.operation': operation },
      () => this.callWithRetries(operation, safeToRetry, request),
      { kind: SpanKind.CLIENT },
    );
  }

  private async callWithRetries<T>(operation: string, safeToRetry: boolean, request: VendorRequest<T>): Promise<T> {
    const attempts = safeToRetry ? this.maxAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      this.admit(operation);
      const probe = this.state === 'half-open';
      if (probe) this.probing = true;
      try {
        const result = await this.attempt(request);
        this.succeeded();
        this.count({ system: this.system, operation, outcome: 'ok' });
        return result;
      } catch (caught) {
        const error = this.classify(caught);
        this.count({ system: this.system, operation, outcome: error.failure.toLowerCase() });
        this.failed(error);
        if (!error.transient || attempt >= attempts || this.state === 'open') throw error;
        await this.sleep(this.backoff(attempt, error.retryAfterMs));
      } finally {
        if (probe) this.probing = false;
      }
    }
  }

  /** Fails fast while the circuit is open, and lets exactly one probe through when the cooldown is over. */
  private admit(operation: string): void {
    const state = this.state;
    if (state === 'closed' || (state === 'half-open' && !this.probing)) return;
    this.count({ system: this.system, operation, outcome: 'circuit_open' });
    const seconds = Math.max(1, Math.ceil((this.openUntil - this.now()) / 1000));
    throw new VendorError(
      this.system,
      'UNAVAILABLE',
      `${this.system} is unavailable: it failed ${this.failureThreshold} times in a row, so psgraph stops calling it for a while (next try in about ${seconds} s).`,
    );
  }

  /**
   * One attempt, answered by its deadline whether or not the request honours its signal (an SDK may not take
   * one). The request keeps its concurrency slot until it really ends: the vendor is still serving it.
   */
  private async attempt<T>(request: VendorRequest<T>): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const timeout = new VendorError(this.system, 'TIMEOUT', `${this.system} did not answer within ${this.deadlineMs} ms.`);
        controller.abort(timeout);
        reject(timeout);
      }, this.deadlineMs);
    });
    // Raced below; never left rejected with nobody listening.
    deadline.catch(() => {});
    try {
      await Promise.race([this.acquire(controller.signal), deadline]);
      const running = Promise.resolve()
        .then(() => request(controller.signal))
        .finally(() => this.release());
      // A request that fails after its deadline has nobody left to tell.
      running.catch(() => {});
      return await Promise.race([running, deadline]);
    } catch (error) {
      // Whatever the request threw when its signal fired, the cause is the deadline.
      if (controller.signal.aborted) throw controller.signal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private acquire(signal: AbortSignal): Promise<void> {
    if (this.inFlight < this.maxConcurrency) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', giveUp);
        this.inFlight++;
        resolve();
      };
      const giveUp = () => {
        const index = this.waiting.indexOf(grant);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal.reason);
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', giveUp, { once: true });
    });
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }

  /** Anything that is not already a VendorError is a connection that failed: the vendor is unavailable. */
  private classify(error: unknown): VendorError {
    if (error instanceof VendorError) return error;
    const detail = error instanceof Error ? error.message : String(error);
    return new VendorError(this.system, 'UNAVAILABLE', `${this.system} could not be reached (${detail}).`, { cause: error });
  }

  private succeeded(): void {
    if (this.openUntil !== 0) this.log(`${this.system} answers again: calls resume`);
    this.consecutiveFailures = 0;
    this.openUntil = 0;
  }

  /** Outages and timeouts count towards opening the circuit; refusals, and a vendor asking to slow down, do not. */
  private failed(error: VendorError): void {
    if (error.failure !== 'UNAVAILABLE' && error.failure !== 'TIMEOUT') {
      if (this.state === 'half-open') this.succeeded();
      return;
    }
    this.consecutiveFailures++;
    if (this.state === 'half-open' || this.consecutiveFailures >= this.failureThreshold) {
      if (this.state === 'closed') this.log(`${this.system} failed ${this.consecutiveFailures} times in a row: failing fast for ${this.cooldownMs} ms`);
      this.openUntil = this.now() + this.cooldownMs;
    }
  }

  private backoff(attempt: number, retryAfter: number | undefined): number {
    if (retryAfter !== undefined) return Math.min(retryAfter, this.maxBackoffMs);
    const exponential = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (attempt - 1));
    return Math.round(exponential / 2 + Math.random() * (exponential / 2));
  }
}
