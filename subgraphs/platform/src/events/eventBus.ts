/**
 * The event bus every psgraph service publishes business events to and consumes them from. One interface, two
 * backends: embedded (a SQLite log shared by the processes on one machine, no server) and Redis (Streams with
 * consumer groups for durable consumers, pub/sub for fan-out to every replica). The same test suite runs
 * against both.
 *
 * Guarantees, in plain words:
 * - `publish` resolves once the event is durably recorded; it survives a restart of the bus.
 * - `consume` is at-least-once per consumer group: each event reaches one consumer of the group, and is
 *   redelivered (to any consumer of the group) until a handler succeeds. An event whose handler fails
 *   `maxDeliveries` times is moved to the dead letters with the reason, and the group moves on.
 * - `subscribe` is fan-out: every subscriber, in every process, receives every event published while it is
 *   subscribed, at least once. Subscribers deduplicate by event ID (`dedupeById` helps).
 */

/** A business event as it travels on the bus. `type` names a versioned contract under contracts/events/. */
export interface BusEvent<TData = Record<string, unknown>> {
  /** Unique ID (ULID-like, time-ordered); consumers are idempotent by it. */
  readonly id: string;
  /** Contract name, e.g. `invoice.paid`. */
  readonly type: string;
  /** Contract version of `data`. */
  readonly version: number;
  /** When the business fact happened (ISO instant). */
  readonly occurredAt: string;
  /** The service that published it, e.g. `billing`. */
  readonly source: string;
  /**
   * The business key it is about, e.g. an invoice ID. Events are published in order, but a consumer group
   * with several consumers, or a retried event, may handle them out of order: handlers compare versions or
   * re-read state rather than trust arrival order.
   */
  readonly subject: string;
  readonly data: TData;
  /**
   * The W3C trace context of the span that published the event (the CloudEvents distributed-tracing extension),
   * so consumers continue its trace. Metadata, never business payload; absent when tracing was off.
   */
  readonly traceparent?: string;
}

export interface ConsumeOptions {
  /** Consumer group: each event reaches one consumer of the group. */
  readonly group: string;
  /** This consumer's name within the group (unique per process). */
  readonly consumer: string;
  /** Event types this group wants; other types are acknowledged without calling the handler. @default all */
  readonly types?: readonly string[];
  /** Handles one event; throwing means "not handled", and the event is redelivered. */
  readonly handler: (event: BusEvent) => Promise<void>;
  /** Deliveries after which a failing event is dead-lettered. @default 5 */
  readonly maxDeliveries?: number;
}

export interface Consumer {
  /** Stops taking new events and waits for the handler in progress. */
  stop(): Promise<void>;
}

export interface DeadLetter {
  readonly event: BusEvent;
  readonly group: string;
  readonly deliveries: number;
  readonly reason: string;
  readonly deadLetteredAt: string;
}

export type Listener = (event: BusEvent) => void;

/** Where a consumer group stands, for /metrics and operators: read-only, computed when asked. */
export interface ConsumerGroupStatus {
  /** The group's name (`ConsumeOptions.group`). */
  readonly name: string;
  /** Events delivered to a consumer of the group and not acknowledged yet (in a handler, or waiting to be retried). */
  readonly pending: number;
  /** Events on the bus that the group has not been handed yet (behind the head of the log). */
  readonly undelivered: number;
  /** Age in seconds of the oldest event the group has not finished (pending or undelivered); null when caught up. */
  readonly lagSeconds: number | null;
  /** Events of the group moved to the dead letters. */
  readonly deadLetters: number;
}

export interface EventBus {
  /** Durably appends the event; resolves when recorded. */
  publish(event: BusEvent): Promise<void>;
  /** Starts a durable, at-least-once consumer in a group. */
  consume(options: ConsumeOptions): Consumer;
  /** Fan-out to this process of every event published from now on (optionally only some types). */
  subscribe(types: readonly string[] | '*', listener: Listener): () => void;
  /** Events that exhausted their deliveries, newest last. */
  deadLetters(group?: string): Promise<DeadLetter[]>;
  /** Every consumer group the bus knows, by name, with its backlog and dead letters. */
  consumerGroups(): Promise<ConsumerGroupStatus[]>;
  /** Releases connections, timers and files. */
  close(): Promise<void>;
}

/** Wraps a listener so that an event delivered twice (at-least-once fan-out) reaches it once. */
export function dedupeById(listener: Listener, remember = 10_000): Listener {
  const seen = new Set<string>();
  return (event) => {
    if (seen.has(event.id)) return;
    seen.add(event.id);
    if (seen.size > remember) seen.delete(seen.values().next().value!);
    listener(event);
  };
}

export function matchesTypes(types: readonly string[] | '*' | undefined, type: string): boolean {
  return types === undefined || types === '*' || types.includes(type);
}
