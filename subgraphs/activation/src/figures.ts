/** Latency figures from durations, as the process API reports them (activation cycle time, approval to ERP). */

/** Nearest-rank percentile of sorted values: the smallest value with at least p % of the values at or below it. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** p50/p90/p99, mean and max of durations in seconds; null when there are none. */
export function latencyFigures(seconds: readonly number[]) {
  if (seconds.length === 0) return null;
  const sorted = [...seconds].sort((a, b) => a - b);
  return {
    p50Seconds: percentile(sorted, 50),
    p90Seconds: percentile(sorted, 90),
    p99Seconds: percentile(sorted, 99),
    meanSeconds: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    maxSeconds: sorted[sorted.length - 1]!,
  };
}
