/**
 * The process layer on /metrics, read from its store at scrape time: runs by state, how long the oldest in-flight
 * run has gone without moving, open exceptions by queue, type, owning system and region, open process dead
 * letters — and the event bus' consumer groups. Every label is a bounded enum of the code (states, exception
 * types, systems, regions, group names), never a record's ID.
 *
 * The statements are "background" ones: a scrape must not change `psgraph_sql_statements_total`, which measures
 * the work requests cause.
 */
import { instrumentEventBus } from '../../platform/src/events/busMetrics.js';
import type { EventBus } from '../../platform/src/events/index.js';
import type { Metrics } from '../../platform/src/index.js';
import { IN_FLIGHT_STATUSES, RUN_STATUSES } from './saga/activationStates.js';
import type { ActivationStore } from './store/activationStore.js';
import { sqlList } from './store/activationSchema.js';

/** Label value of an exception or run without a region. */
const NO_REGION = 'none';

export function instrumentActivation(metrics: Metrics, store: ActivationStore, bus: EventBus): void {
  const sqlite = store.sqlite;
  const runsByState = sqlite.prepareBackground<{ status: string; count: number }>('SELECT status, count(*) AS count FROM activation_run GROUP BY status');
  const oldestInFlight = sqlite.prepareBackground<{ updated_at: string | null }>(
    `SELECT min(updated_at) AS updated_at FROM activation_run WHERE status IN ${sqlList(IN_FLIGHT_STATUSES)}`,
  );
  const openExceptions = sqlite.prepareBackground<{ queue: string; type: string; system: string; region: string | null; count: number }>(
    `SELECT 'integration' AS queue, type, system, region, count(*) AS count FROM integration_exception WHERE status = 'OPEN' GROUP BY type, system, region
     UNION ALL
     SELECT 'billing' AS queue, type, owner_system AS system, region, count(*) AS count FROM billing_exception WHERE status = 'OPEN' GROUP BY type, owner_system, region`,
  );
  const openDeadLetters = sqlite.prepareBackground<{ count: number }>(`SELECT count(*) AS count FROM dead_letter WHERE status = 'OPEN'`);

  metrics.labelledGauge('psgraph_activation_runs', 'Activation runs by state (status).', ['state'], () => {
    const counts = new Map(runsByState.all().map((row) => [row.status, row.count]));
    // Every state, zeros included: an alert on a state must see 0, not an absent series.
    return RUN_STATUSES.map((state) => ({ labels: { state }, value: counts.get(state) ?? 0 }));
  });
  metrics.gauge(
    'psgraph_activation_oldest_in_flight_run_age_seconds',
    'Seconds since the least recently updated in-flight run (requested, validating, provisioning, linking, compensating) last moved; 0 when none is in flight.',
    () => {
      const updatedAt = oldestInFlight.get()?.updated_at;
      return updatedAt ? Math.max(0, Date.now() - Date.parse(updatedAt)) / 1000 : 0;
    },
  );
  metrics.labelledGauge(
    'psgraph_exceptions_open',
    'Open exceptions by queue (integration: activation runs; billing: posting checks), type, owning system and region.',
    ['queue', 'type', 'system', 'region'],
    () =>
      openExceptions.all().map((row) => ({
        labels: { queue: row.queue, type: row.type, system: row.system, region: row.region ?? NO_REGION },
        value: row.count,
      })),
  );
  metrics.gauge(
    'psgraph_process_dead_letters_open',
    'Events the process layer could not handle (kept as received), not yet replayed.',
    () => openDeadLetters.get()?.count ?? 0,
  );
  instrumentEventBus(metrics, bus);
}
