/**
 * A system of record as a subgraph runs over it. Each system subgraph has a port — what it needs from its
 * system, reads and writes, in the system's own terms — and an adapter per kind of system that implements it:
 * the sandbox (SQLite, the embedded default) and a vendor's (Salesforce, Kantata, NetSuite, Stripe). The port
 * describes the system; what only an adapter has — where its business events come from, what it counts, how it
 * is let go — is here, beside it.
 */
import type { EventBus } from '../events/eventBus.js';
import type { HttpHandler } from '../http/graphqlHttpHandler.js';
import type { Metrics } from '../metrics.js';

/** The system's business events on their way to the bus, until stopped. */
export interface EventRelay {
  /** Deliver now what is waiting, without waiting for it (after a write psgraph made). */
  notify(): void;
  /** Resolves once everything the system has recorded so far is on the bus (tests wait on it). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export interface SystemAdapter<Port> {
  /** The system as named to users: `sandbox` or the vendor (`Salesforce`). */
  readonly kind: string;
  readonly port: Port;
  /** Starts delivering the system's business events (`opportunity.closed_won`, `invoice.paid`, …) to the bus. */
  relayEvents(bus: EventBus): EventRelay;
  /** Registers what the adapter counts on the subgraph's /metrics (SQL statements, vendor API calls). */
  instrument(metrics: Metrics): void;
  /**
   * HTTP endpoints the vendor calls on the subgraph (e.g. `/webhooks/stripe`), served beside `/graphql`. They are
   * the vendor's way in: each checks the vendor's signature before it believes anything.
   */
  readonly routes?: Readonly<Record<string, HttpHandler>>;
  /** Stops the adapter's background work and releases its connections and files. */
  close(): Promise<void>;
}
