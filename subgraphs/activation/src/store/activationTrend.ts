/**
 * The activation health trend: per hour or day (UTC), runs started, activated and failed, exceptions raised and the
 * median cycle time — one grouped statement per figure over the window, every bucket present (zero when empty), so
 * a chart draws gaps as zeros rather than joining the points around them.
 */
import { type SqliteStore, jsonList } from '../../../platform/src/index.js';
import { cycleTimeSeconds } from '../events/activationEvents.js';
import { percentile } from '../figures.js';
import type { RunStore } from './runStore.js';

export type TrendBucket = 'HOUR' | 'DAY';

export interface ActivationTrendPoint {
  readonly start: string;
  readonly end: string;
  readonly runsStarted: number;
  readonly runsActivated: number;
  readonly runsFailed: number;
  readonly exceptionsRaised: number;
  readonly medianCycleTimeSeconds: number | null;
}

/** The most buckets one request may ask for: a month of hours, two years of days. */
export const MAX_TREND_BUCKETS = 744;

const BUCKET_MS: Record<TrendBucket, number> = { HOUR: 3_600_000, DAY: 86_400_000 };
/** How many leading characters of an ISO instant name its bucket: `2026-11-02T09` or `2026-11-02`. */
const KEY_LENGTH: Record<TrendBucket, number> = { HOUR: 13, DAY: 10 };

/** The bucket starts covering [from, to]: from the bucket holding `from` to the one holding `to`. */
export function trendBuckets(bucket: TrendBucket, from: Date, to: Date): Date[] {
  const size = BUCKET_MS[bucket];
  const starts: Date[] = [];
  for (let start = Math.floor(from.getTime() / size) * size; start <= to.getTime(); start += size) starts.push(new Date(start));
  return starts;
}

export function activationTrend(
  sqlite: SqliteStore,
  runs: RunStore,
  bucket: TrendBucket,
  starts: readonly Date[],
  regions: readonly string[] | null,
): ActivationTrendPoint[] {
  const size = BUCKET_MS[bucket];
  const keyLength = KEY_LENGTH[bucket];
  const from = starts[0]!.toISOString();
  const until = new Date(starts.at(-1)!.getTime() + size).toISOString();
  const params = { from, until, keyLength, regions: regions ? jsonList(regions) : null };
  const counted = (sql: string) =>
    new Map(
      sqlite
        .prepare<{ bucket: string; count: number }>(sql)
        .all(params)
        .map((row) => [row.bucket, row.count]),
    );
  const started = counted(
    `SELECT substr(requested_at, 1, :keyLength) AS bucket, COUNT(*) AS count FROM activation_run
     WHERE requested_at >= :from AND requested_at < :until AND (:regions IS NULL OR region IN (SELECT value FROM json_each(:regions))) GROUP BY bucket`,
  );
  const failed = counted(
    `SELECT substr(t.at, 1, :keyLength) AS bucket, COUNT(DISTINCT t.run_id) AS count FROM activation_transition t JOIN activation_run r ON r.id = t.run_id
     WHERE t.to_status IN ('VALIDATION_FAILED', 'COMPENSATING') AND t.at >= :from AND t.at < :until
       AND (:regions IS NULL OR r.region IN (SELECT value FROM json_each(:regions))) GROUP BY bucket`,
  );
  const raised = counted(
    `SELECT substr(raised_at, 1, :keyLength) AS bucket, COUNT(*) AS count FROM integration_exception
     WHERE raised_at >= :from AND raised_at < :until AND (:regions IS NULL OR region IN (SELECT value FROM json_each(:regions))) GROUP BY bucket`,
  );
  const cycleTimes = new Map<string, number[]>();
  // activatedRuns' window is inclusive; a run activated exactly at `until` belongs to the next bucket, outside.
  for (const run of runs.activatedRuns(from, until, regions)) {
    if (run.activatedAt! >= until) continue;
    const key = run.activatedAt!.slice(0, keyLength);
    const list = cycleTimes.get(key) ?? [];
    list.push(cycleTimeSeconds(run)!);
    cycleTimes.set(key, list);
  }
  return starts.map((start) => {
    const key = start.toISOString().slice(0, keyLength);
    const times = (cycleTimes.get(key) ?? []).sort((a, b) => a - b);
    return {
      start: start.toISOString(),
      end: new Date(start.getTime() + size).toISOString(),
      runsStarted: started.get(key) ?? 0,
      runsActivated: times.length,
      runsFailed: failed.get(key) ?? 0,
      exceptionsRaised: raised.get(key) ?? 0,
      medianCycleTimeSeconds: times.length === 0 ? null : percentile(times, 50),
    };
  });
}
