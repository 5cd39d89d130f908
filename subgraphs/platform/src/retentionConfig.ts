/**
 * How long psgraph keeps what it no longer needs: processed events (the embedded event log, Redis streams, every
 * subgraph's outbox), the event bus's dead letters, and finished process runs. Read from the environment and
 * validated at start-up like every other setting; a duration is a whole number and a unit (`90d`, `12h`, `30m`,
 * `45s`), or `off` to keep forever.
 */
import { ConfigError } from './configError.js';

export interface RetentionConfig {
  /**
   * How long an event is kept after it was recorded, once every consumer group has processed it; events some
   * group has not processed are kept however old. Applies to the embedded log, Redis streams and outboxes (after
   * publication); `off` keeps them forever. @default 7d (PSGRAPH_EVENT_RETENTION)
   */
  readonly eventRetentionMs: number | null;
  /** How long the event bus keeps a dead letter (replayed or not) and the event it holds; `off`: forever. @default 30d (PSGRAPH_DEAD_LETTER_RETENTION) */
  readonly deadLetterRetentionMs: number | null;
  /**
   * How long a finished process run is kept after it finished: activation runs that ended (with their step logs)
   * and reconciliation runs; never a run in flight or one with an open exception; `off`: forever. @default 90d (PSGRAPH_RUN_RETENTION)
   */
  readonly runRetentionMs: number | null;
  /** How often the retention sweep runs. @default 1h (PSGRAPH_RETENTION_INTERVAL) */
  readonly intervalMs: number;
}

const UNITS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d{1,6})(s|m|h|d)$/;

/** A duration setting: `<n><s|m|h|d>`, or `off` (null) where keeping forever is allowed. */
export function readDuration(env: NodeJS.ProcessEnv, variable: string, fallback: string, options: { allowOff: boolean }): number | null {
  const raw = (env[variable] ?? '').trim() || fallback;
  if (options.allowOff && raw === 'off') return null;
  const match = DURATION.exec(raw);
  const ms = match ? Number(match[1]) * UNITS[match[2]!]! : 0;
  if (ms <= 0)
    throw new ConfigError(
      `${variable}=${raw} is not a duration: expected a positive whole number and a unit, e.g. ${fallback} (s, m, h or d)${options.allowOff ? ', or off' : ''}.`,
    );
  return ms;
}

export function loadRetentionConfig(env: NodeJS.ProcessEnv = process.env): RetentionConfig {
  return {
    eventRetentionMs: readDuration(env, 'PSGRAPH_EVENT_RETENTION', '7d', { allowOff: true }),
    deadLetterRetentionMs: readDuration(env, 'PSGRAPH_DEAD_LETTER_RETENTION', '30d', { allowOff: true }),
    runRetentionMs: readDuration(env, 'PSGRAPH_RUN_RETENTION', '90d', { allowOff: true }),
    intervalMs: readDuration(env, 'PSGRAPH_RETENTION_INTERVAL', '1h', { allowOff: false })!,
  };
}

/** The instant before which something kept for `retentionMs` may go; null (keep forever) gives the epoch. */
export function cutoff(retentionMs: number | null, now = Date.now()): Date {
  return new Date(retentionMs === null ? 0 : now - retentionMs);
}
