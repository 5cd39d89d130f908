/**
 * Pieces both durable backends share: the timing options of a consumer, the redelivery backoff, a sleep that
 * `stop()` can cut short, and the log hook. Internal to the events folder (not exported from its index).
 */
import { LogCode } from '../logging/logCodes.js';
import { createLogger } from '../logging/logger.js';

/** Where a backend reports what it cannot throw to a caller: a lost connection, a listener that threw. */
export type BusLog = (message: string, error?: unknown) => void;

let busLogger: ReturnType<typeof createLogger> | undefined;
export const defaultBusLog: BusLog = (message, error) => {
  busLogger ??= createLogger('events');
  busLogger.warn({ code: LogCode.EVENTS_FAILED, ...(error === undefined ? {} : { err: error }) }, message);
};

/** Timing both durable backends take; each option is documented with the reason for its default. */
export interface ConsumerTiming {
  /**
   * How long an unacknowledged delivery belongs to its consumer before another consumer of the group may take
   * it over (the embedded lease; Redis' XAUTOCLAIM min-idle-time). A live consumer renews it every third of
   * this while its handler runs, so a slow handler keeps its event; only a dead process loses it.
   * @default 10_000
   */
  readonly leaseMs?: number;
  /** First redelivery delay after a handler failed; doubled on every further failure. @default 100 */
  readonly retryDelayMs?: number;
  /** Cap of the redelivery delay; kept below the lease so the consumer that failed retries its own event. @default 5_000 */
  readonly maxRetryDelayMs?: number;
  /** How long `close()` waits for handlers in progress before abandoning them to the lease. @default 5_000 */
  readonly closeTimeoutMs?: number;
  /** Receives lost connections and listener failures. @default writes to stderr */
  readonly log?: BusLog;
}

export interface ResolvedTiming {
  readonly leaseMs: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly closeTimeoutMs: number;
  readonly log: BusLog;
}

export function resolveTiming(timing: ConsumerTiming): ResolvedTiming {
  const leaseMs = positive('leaseMs', timing.leaseMs ?? 10_000);
  return {
    leaseMs,
    retryDelayMs: positive('retryDelayMs', timing.retryDelayMs ?? 100),
    // A retry delay longer than the lease would hand the event to another consumer mid-backoff.
    maxRetryDelayMs: Math.min(positive('maxRetryDelayMs', timing.maxRetryDelayMs ?? 5_000), Math.floor(leaseMs / 2)),
    closeTimeoutMs: positive('closeTimeoutMs', timing.closeTimeoutMs ?? 5_000),
    log: timing.log ?? defaultBusLog,
  };
}

export function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of milliseconds, got ${value}.`);
  return value;
}

/** Delay before the next delivery of an event that has failed `deliveries` times: exponential, capped. */
export function retryDelay(deliveries: number, timing: ResolvedTiming): number {
  return Math.min(timing.retryDelayMs * 2 ** Math.max(0, deliveries - 1), timing.maxRetryDelayMs);
}

/** The dead-letter reason for a handler failure: the error's message, never empty. */
export function failureReason(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error) || 'handler failed';
}

/**
 * A sleep that `wake()` ends early (a local publish, `stop()`), on an unref'd timer so an idle consumer never
 * keeps the process alive.
 */
export class Sleeper {
  private timer: NodeJS.Timeout | undefined;
  private resolve: (() => void) | undefined;
  private woken = false;

  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(() => this.wake(), Math.max(0, ms));
      this.timer.unref();
    });
  }

  /** Ends the current sleep, or makes the next one return at once (so a wake between checks is not lost). */
  wake(): void {
    clearTimeout(this.timer);
    const resolve = this.resolve;
    this.resolve = undefined;
    if (resolve) resolve();
    else this.woken = true;
  }
}

/**
 * Resolves when `promise` settles or after `ms`, whichever is first; never rejects. The timer is not unref'd:
 * a shutdown that awaits it should really wait for the handlers in progress.
 */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
