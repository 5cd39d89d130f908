/**
 * A process-local event bus with the same guarantees as the durable backends within one process (no
 * durability across restarts). For unit tests of publishers and consumers, and for single-process tools.
 */
import type {
  BusDeadLetter,
  BusEvent,
  ConsumeOptions,
  Consumer,
  ConsumerGroupStatus,
  DeadLetter,
  EventBus,
  Listener,
  TrimOutcome,
  TrimPolicy,
} from './eventBus.js';
import { assertSameEvent, DeadLetterReplayError, matchesTypes } from './eventBus.js';
import { handleInEventSpan } from './eventTracing.js';

export class InMemoryEventBus implements EventBus {
  private readonly log: BusEvent[] = [];
  private readonly listeners = new Set<{ types: readonly string[] | '*'; listener: Listener }>();
  private readonly groups = new Map<
    string,
    { offset: number; retries: BusEvent[]; deliveries: Map<string, number>; consumers: Set<() => void>; handling: Set<BusEvent> }
  >();
  private readonly dead: Array<{ -readonly [K in keyof BusDeadLetter]: BusDeadLetter[K] }> = [];
  private deadLetterCount = 0;
  /** When each event was published (ms), for the groups' lag and the retention. */
  private readonly publishedAt = new WeakMap<BusEvent, number>();

  async publish(event: BusEvent): Promise<void> {
    this.log.push(event);
    this.publishedAt.set(event, Date.now());
    for (const { types, listener } of this.listeners) if (matchesTypes(types, event.type)) queueMicrotask(() => listener(event));
    for (const group of this.groups.values()) for (const wake of group.consumers) wake();
  }

  consume(options: ConsumeOptions): Consumer {
    const group = this.group(options.group);
    const maxDeliveries = options.maxDeliveries ?? 5;
    let stopped = false;
    let running: Promise<void> = Promise.resolve();
    /** Takes the group's next event synchronously, so two consumers of the group never take the same one. */
    const claim = (): BusEvent | undefined => {
      if (group.retries.length > 0) return group.retries.shift();
      while (group.offset < this.log.length) {
        const event = this.log[group.offset++]!;
        if (matchesTypes(options.types, event.type)) return event;
      }
      return undefined;
    };
    const drain = async () => {
      while (!stopped) {
        const event = claim();
        if (!event) return;
        const attempt = (group.deliveries.get(event.id) ?? 0) + 1;
        group.deliveries.set(event.id, attempt);
        group.handling.add(event);
        try {
          await handleInEventSpan(event, options.group, () => options.handler(event));
        } catch (error) {
          if (attempt >= maxDeliveries) {
            group.deliveries.delete(event.id);
            this.dead.push({
              id: String(++this.deadLetterCount),
              replayedAt: null,
              event,
              group: options.group,
              deliveries: attempt,
              reason: (error as Error).message ?? String(error),
              deadLetteredAt: new Date().toISOString(),
            });
          } else {
            group.retries.push(event);
          }
        } finally {
          group.handling.delete(event);
        }
      }
    };
    const wake = () => {
      running = running.then(drain);
    };
    group.consumers.add(wake);
    wake();
    return {
      stop: async () => {
        stopped = true;
        group.consumers.delete(wake);
        await running;
      },
    };
  }

  subscribe(types: readonly string[] | '*', listener: Listener): () => void {
    const entry = { types, listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  async deadLetters(group?: string): Promise<DeadLetter[]> {
    return (await this.deadLetterRecords(group)).map(({ event, group, deliveries, reason, deadLetteredAt }) => ({
      event,
      group,
      deliveries,
      reason,
      deadLetteredAt,
    }));
  }

  async deadLetterRecords(group?: string): Promise<BusDeadLetter[]> {
    return this.dead.filter((letter) => group === undefined || letter.group === group).map((letter) => ({ ...letter }));
  }

  async replayDeadLetter(id: string, edited?: BusEvent): Promise<BusDeadLetter> {
    const letter = this.dead.find((candidate) => candidate.id === id);
    if (!letter) throw new DeadLetterReplayError('NOT_FOUND', `Dead letter ${id} does not exist (or was trimmed by the retention).`);
    if (letter.replayedAt !== null) throw new DeadLetterReplayError('ALREADY_REPLAYED', `Dead letter ${id} was replayed at ${letter.replayedAt}.`);
    assertSameEvent(letter.event, edited);
    letter.replayedAt = new Date().toISOString();
    const group = this.group(letter.group);
    group.retries.push(edited ?? letter.event);
    for (const wake of group.consumers) wake();
    return { ...letter };
  }

  async trimProcessed(policy: TrimPolicy): Promise<TrimOutcome> {
    const before = this.dead.length;
    const keptLetters = this.dead.filter((letter) => Date.parse(letter.deadLetteredAt) >= policy.deadLettersBefore.getTime());
    this.dead.splice(0, this.dead.length, ...keptLetters);
    // The log is trimmed from its start only, so that the groups' offsets stay positions in it.
    const processedByAll = Math.min(this.log.length, ...[...this.groups.values()].map((group) => group.offset));
    let trimmed = 0;
    while (trimmed < processedByAll && this.publishedAt.get(this.log[trimmed]!)! < policy.eventsBefore.getTime()) trimmed++;
    this.log.splice(0, trimmed);
    for (const group of this.groups.values()) group.offset -= trimmed;
    return { events: trimmed, deadLetters: before - keptLetters.length };
  }

  private group(name: string) {
    const group = this.groups.get(name) ?? {
      offset: 0,
      retries: [] as BusEvent[],
      deliveries: new Map<string, number>(),
      consumers: new Set<() => void>(),
      handling: new Set<BusEvent>(),
    };
    this.groups.set(name, group);
    return group;
  }

  async consumerGroups(): Promise<ConsumerGroupStatus[]> {
    const now = Date.now();
    return [...this.groups]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, group]) => {
        const unfinished = [...group.handling, ...group.retries, ...this.log.slice(group.offset, group.offset + 1)];
        const oldest = Math.min(...unfinished.map((event) => this.publishedAt.get(event) ?? now));
        return {
          name,
          pending: group.handling.size + group.retries.length,
          undelivered: this.log.length - group.offset,
          lagSeconds: unfinished.length === 0 ? null : Math.max(0, now - oldest) / 1000,
          deadLetters: this.dead.filter((letter) => letter.group === name && letter.replayedAt === null).length,
        };
      });
  }

  async close(): Promise<void> {
    this.listeners.clear();
    for (const group of this.groups.values()) group.consumers.clear();
  }
}
