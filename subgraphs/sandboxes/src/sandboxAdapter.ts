/**
 * The adapter of a sandbox system: its port over its SQLite store, its business events relayed from the store's
 * transactional outbox, and the store's statement count on /metrics (the N+1 tests read it).
 */
import { startOutboxRelay } from '../../platform/src/events/index.js';
import type { EventRelay, SqliteStore, SystemAdapter } from '../../platform/src/index.js';

export function sandboxAdapter<Port>(port: Port, store: SqliteStore): SystemAdapter<Port> {
  let relay: EventRelay | undefined;
  return {
    kind: 'sandbox',
    port,
    relayEvents: (bus) => (relay = startOutboxRelay(store, bus, { pollMs: 100 })),
    instrument: (metrics) => metrics.gauge('psgraph_sql_statements_total', 'SQL statements executed by this subgraph since start.', () => store.statementCount),
    close: async () => {
      await relay?.stop();
      store.close();
    },
  };
}
