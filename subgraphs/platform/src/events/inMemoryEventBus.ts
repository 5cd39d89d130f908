/**
 * A process-local event bus with the same guarantees as the durable backends within one process (no
 * durability across restarts). For unit tests of publishers and consumers, and for single-process tools.
 */
import type { BusEvent, ConsumeOptions, Consumer, ConsumerGroupStatus, DeadLetter, EventBus, Listener } from './eventBus.js';
import { matchesTypes } from './eventBus.js';
import { handleInEventSpan } from './eventTracing.js';

export class InMemoryEventBus implements EventBus {
  private readonly log: BusEvent[] = [];
  private readonly listeners = new Set<{ types: readonly string[] | '*'; listener: Listener }>();
  private readonly groups = new Map<
    string,
    { offset: number; retries: BusEvent[]; deliveries: Map<string, number>; consumers: Set<() => void>; handling: Set<BusEvent> }
  >();
  private readonly dead: DeadLetter[] = [];
  /** When each event was published (ms), for the groups' lag. */
  private readonly publishedAt = new WeakMap<BusEvent, number>();

  async publish(event: BusEvent): Promise<void> {
    this.log.push(event);
    this.publishedAt.set(event, Date.now());
    for (const { types, listener } of this.listeners) if (matchesTypes(types, event.type)) queueMicrotask(() => listener(event));
    for (const group of this.groups.values()) for (const wake of group.consumers) wake();
  }

  consume(options: ConsumeOptions): Consumer {
    const group = this.groups.get(options.group) ?? {
      offset: 0,
      retries: [] as BusEvent[],
      deliveries: new Map<string, number>(),
      consumers: new Set<() => void>(),
      handling: new Set<BusEvent>(),
    };
    this.groups.set(options.group, group);
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
            this.dead.push({
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
    return this.dead.filter((letter) => group === undefined || letter.group === group);
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
          deadLetters: this.dead.filter((letter) => letter.group === name).length,
        };
      });
  }

  async close(): Promise<void> {
    this.listeners.clear();
    for (const group of this.groups.values()) group.consumers.clear();
  }
}
