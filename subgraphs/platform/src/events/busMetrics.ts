/**
 * The event bus' consumer groups on a service's /metrics: events pending (delivered, not acknowledged), events not
 * yet delivered, the age of the oldest unfinished event, and dead letters, each by group. The bus is shared, so
 * one service reports it (the activation subgraph, whose groups do the process work); two would count it twice.
 */
import type { Metrics } from '../metrics.js';
import type { ConsumerGroupStatus, EventBus } from './eventBus.js';

/** Four gauges share one reading of the bus per scrape (they are collected together). */
const READING_REUSE_MS = 1_000;

export function instrumentEventBus(metrics: Metrics, bus: EventBus): void {
  let reading: { at: number; groups: Promise<ConsumerGroupStatus[]> } | undefined;
  const groups = (): Promise<ConsumerGroupStatus[]> => {
    if (!reading || Date.now() - reading.at > READING_REUSE_MS) reading = { at: Date.now(), groups: bus.consumerGroups() };
    return reading.groups;
  };
  const byGroup = (value: (group: ConsumerGroupStatus) => number) => async () =>
    (await groups()).map((group) => ({ labels: { group: group.name }, value: value(group) }));
  metrics.labelledGauge(
    'psgraph_event_bus_pending_events',
    'Events delivered to a consumer of the group and not acknowledged yet (being handled or waiting for a retry).',
    ['group'],
    byGroup((group) => group.pending),
  );
  metrics.labelledGauge(
    'psgraph_event_bus_undelivered_events',
    'Events on the bus not yet handed to the group (behind the head of the log).',
    ['group'],
    byGroup((group) => group.undelivered),
  );
  metrics.labelledGauge(
    'psgraph_event_bus_lag_seconds',
    'Age of the oldest event the group has not finished; 0 when it is caught up.',
    ['group'],
    byGroup((group) => group.lagSeconds ?? 0),
  );
  metrics.labelledGauge(
    'psgraph_event_bus_dead_letters',
    'Events of the group moved to the bus dead letters after exhausting their deliveries, not replayed yet.',
    ['group'],
    byGroup((group) => group.deadLetters),
  );
}
