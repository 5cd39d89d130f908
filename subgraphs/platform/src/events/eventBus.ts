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

/** A dead letter as the operations API shows it: a stable ID, and whether (and when) it was replayed. */
export interface BusDeadLetter extends DeadLetter {
  /** Stable per backend: the embedded log's row number, the Redis dead-letter stream's entry ID. */
  readonly id: string;
  readonly replayedAt: string | null;
}

/** Why a dead letter was not replayed; `code` is stable, the message says what to do. */
export class DeadLetterReplayError extends Error {
  override name = 'DeadLetterReplayError';
  constructor(
    readonly code: 'NOT_FOUND' | 'ALREADY_REPLAYED' | 'INVALID_EDIT',
    message: string,
  ) {
    super(message);
  }
}

/** Refuses an edit that would make the replay a different event rather than a corrected one. */
export function assertSameEvent(original: BusEvent, edited: BusEvent | undefined): void {
  if (edited === undefined) return;
  if (typeof edited !== 'object' || edited === null || typeof edited.data !== 'object' || edited.data === null)
    throw new DeadLetterReplayError('INVALID_EDIT', 'The edited event must be an event object with data.');
  if (edited.id !== original.id || edited.type !== original.type)
    throw new DeadLetterReplayError(
      'INVALID_EDIT',
      `The edited event must keep the id (${original.id}) and type (${original.type}) of the dead letter: consumers deduplicate by id.`,
    );
}

export interface ConsumerGroupStatus {
  readonly name: string;
  /** Handed to a consumer and not yet acknowledged (including those waiting for a retry). */
  readonly pending: number;
  /** Recorded after the last event handed to the group: not delivered yet. */
  readonly undelivered: number;
  /** Age of the oldest event the group has not processed; null when it is caught up. */
  readonly lagSeconds: number | null;
  /** Dead letters of the group not replayed yet. */
  readonly deadLetters: number;
}

export interface TrimPolicy {
  /** Processed events recorded before this instant are deleted. */
  readonly eventsBefore: Date;
  /** Dead letters (replayed or not) from before this instant are deleted. */
  readonly deadLettersBefore: Date;
}

export interface TrimOutcome {
  readonly events: number;
  readonly deadLetters: number;
}

export type Listener = (event: BusEvent) => void;

export interface EventBus {
  /** Durably appends the event; resolves when recorded. */
  publish(event: BusEvent): Promise<void>;
  /** Starts a durable, at-least-once consumer in a group. */
  consume(options: ConsumeOptions): Consumer;
  /** Fan-out to this process of every event published from now on (optionally only some types). */
  subscribe(types: readonly string[] | '*', listener: Listener): () => void;
  /** Events that exhausted their deliveries, newest last. */
  deadLetters(group?: string): Promise<DeadLetter[]>;
  /** Dead letters with their stable IDs and whether they were replayed, oldest first. */
  deadLetterRecords(group?: string): Promise<BusDeadLetter[]>;
  /**
   * Hands a dead letter's event — or `edited`, an operator's correction of it — to the consumer group that
   * dead-lettered it, and to no other group, with a fresh delivery budget; marks the letter replayed. Refuses
   * (`DeadLetterReplayError`) an unknown ID, a letter already replayed, and an edit that changes the event's
   * `id` or `type`, before writing anything. Checking an edit against its contract is the caller's: the bus
   * knows no contracts.
   */
  replayDeadLetter(id: string, edited?: BusEvent): Promise<BusDeadLetter>;
  /** Every consumer group's backlog: what it holds, what it has not been handed yet, and how old its oldest is. */
  consumerGroups(): Promise<ConsumerGroupStatus[]>;
  /**
   * Deletes what no consumer group needs any more: events recorded before `eventsBefore` that every group has
   * processed (handed out and acknowledged, or dead-lettered), and dead letters from before `deadLettersBefore`
   * (with the events only they still held). An event a group has not processed, however old, is kept.
   */
  trimProcessed(policy: TrimPolicy): Promise<TrimOutcome>;
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
