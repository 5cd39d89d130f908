/**
 * The distributed event bus: Redis Streams for durable consumer groups, pub/sub for low-latency fan-out.
 *
 * - `publish`: `XADD psgraph:events * <envelope fields>` and `PUBLISH psgraph:events:live <envelope JSON>` in one
 *   MULTI, so a recorded event is also announced. Durable when it returns as far as the server's AOF policy
 *   goes (`appendfsync always` loses nothing on a crash; Redis' default `everysec` may lose up to a second).
 * - `consume`: a consumer group per `group` (`XGROUP CREATE … 0 MKSTREAM`: a new group starts at the oldest
 *   retained event, as the other backends do). Each consumer first re-reads its own pending entries (ID `0`),
 *   then blocks on `XREADGROUP … >` on a connection of its own, and every `leaseMs / 2` runs `XAUTOCLAIM` for
 *   entries idle longer than `leaseMs`, so the entries of a consumer that died are taken over. While a handler
 *   runs, its entries are re-claimed `JUSTID` every `leaseMs / 3` (which resets their idle time without
 *   counting a delivery), so only a dead consumer's entries ever go idle. The delivery count is Redis' own
 *   (XPENDING); after `maxDeliveries` the entry is copied to `psgraph:events:dead` with group, reason and
 *   deliveries, and acknowledged.
 * - `subscribe`: SUBSCRIBE for latency, plus a catch-up `XRANGE` from the last stream ID read, on every
 *   (re)connection and every `catchUpIntervalMs`, because pub/sub drops what is published while a subscriber
 *   is disconnected. Events are deduplicated by ID, so each reaches a listener once.
 *
 * Connections reconnect with capped exponential backoff; commands issued meanwhile wait in node-redis' offline
 * queue, so a consumer resumes by itself after Redis restarts.
 */
import { ErrorReply } from 'redis';
import { type BusLog, type ConsumerTiming, positive, type ResolvedTiming, resolveTiming, settleWithin } from './busSupport.js';
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
import { RedisConsumer } from './redisConsumer.js';
import * as deadLetterReplay from './redisDeadLetters.js';
import { Fanout } from './redisFanout.js';
import {
  createConnection,
  fromFields,
  redactUrl,
  type RedisBusContext,
  type RedisConnection,
  retryOnDisconnect,
  type StreamEntry,
  toFields,
} from './redisStreams.js';

export interface RedisEventBusOptions extends ConsumerTiming {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (REDIS_URL). */
  readonly url: string;
  /** The stream every event is appended to. @default psgraph:events */
  readonly stream?: string;
  /** Where events that exhausted their deliveries go. @default `${stream}:dead` */
  readonly deadLetterStream?: string;
  /** The pub/sub channel that announces each event to subscribers. @default `${stream}:live` */
  readonly channel?: string;
  /**
   * Longest a consumer blocks in XREADGROUP before looking at retries and idle entries again; new events end
   * the block at once.
   * @default 1_000
   */
  readonly blockMs?: number;
  /** How often a consumer looks for entries idle longer than `leaseMs` (XAUTOCLAIM). @default leaseMs / 2 */
  readonly claimIntervalMs?: number;
  /** How often subscribers re-read the stream for events pub/sub did not bring. @default 1_000 */
  readonly catchUpIntervalMs?: number;
  /** How long `connect` waits for Redis to answer at start-up before failing. @default 10_000 */
  readonly connectTimeoutMs?: number;
}

export class RedisEventBus implements EventBus, RedisBusContext {
  /** Connects (waiting up to `connectTimeoutMs` for Redis) and returns the bus. */
  static async connect(options: RedisEventBusOptions): Promise<RedisEventBus> {
    const bus = new RedisEventBus(options);
    try {
      await bus.connectWithin(bus.commands, positive('connectTimeoutMs', options.connectTimeoutMs ?? 10_000));
    } catch (error) {
      bus.commands.destroy();
      throw error;
    }
    return bus;
  }

  readonly stream: string;
  readonly deadLetterStream: string;
  readonly channel: string;
  /** @internal */
  readonly commands: RedisConnection;
  /** @internal */
  readonly timing: ResolvedTiming & { readonly blockMs: number; readonly claimIntervalMs: number };
  private readonly url: string;
  private readonly catchUpIntervalMs: number;
  private readonly consumers = new Set<RedisConsumer>();
  private readonly listeners = new Set<{ types: readonly string[] | '*'; listener: Listener }>();
  private fanout: Fanout | undefined;
  private closed = false;

  private constructor(options: RedisEventBusOptions) {
    this.url = options.url;
    this.stream = options.stream ?? 'psgraph:events';
    this.deadLetterStream = options.deadLetterStream ?? `${this.stream}:dead`;
    this.channel = options.channel ?? `${this.stream}:live`;
    const timing = resolveTiming(options);
    this.timing = {
      ...timing,
      blockMs: positive('blockMs', options.blockMs ?? 1_000),
      claimIntervalMs: positive('claimIntervalMs', options.claimIntervalMs ?? Math.floor(timing.leaseMs / 2)),
    };
    this.catchUpIntervalMs = positive('catchUpIntervalMs', options.catchUpIntervalMs ?? 1_000);
    this.commands = this.connection('command');
  }

  async publish(event: BusEvent): Promise<void> {
    this.assertOpen();
    const fields = toFields(event);
    const announcement = JSON.stringify(event);
    // A reply lost with the connection leaves it unknown whether the XADD ran; publishing again may record the
    // event twice, which consumers and subscribers absorb by event ID (at-least-once).
    await retryOnDisconnect(() => this.commands.multi().xAdd(this.stream, '*', fields).publish(this.channel, announcement).exec(), 5);
  }

  consume(options: ConsumeOptions): Consumer {
    this.assertOpen();
    const consumer = new RedisConsumer(this, options);
    // A second consumer, on the group's replay stream: the dead letters an operator replayed to this group only.
    const replays = new RedisConsumer(this.onStream(deadLetterReplay.replayStreamOf(this.stream, options.group)), options);
    for (const part of [consumer, replays]) {
      this.consumers.add(part);
      void part.done.finally(() => this.consumers.delete(part));
    }
    return { stop: async () => void (await Promise.all([consumer.stop(), replays.stop()])) };
  }

  async deadLetterRecords(group?: string): Promise<BusDeadLetter[]> {
    this.assertOpen();
    return deadLetterReplay.deadLetterRecords(this, group);
  }

  async replayDeadLetter(id: string, edited?: BusEvent): Promise<BusDeadLetter> {
    this.assertOpen();
    return deadLetterReplay.replayDeadLetter(this, id, edited);
  }

  async consumerGroups(): Promise<ConsumerGroupStatus[]> {
    this.assertOpen();
    return deadLetterReplay.consumerGroups(this);
  }

  async trimProcessed(policy: TrimPolicy): Promise<TrimOutcome> {
    this.assertOpen();
    return deadLetterReplay.trimProcessed(this, policy);
  }

  /**
   * @internal This bus as its consumers see it, reading `stream` instead: every other member, and `this` in the
   * bus' methods (group creation, dead-lettering, delivery counts), stay the bus' own.
   */
  private onStream(stream: string): RedisBusContext {
    return Object.create(this, { stream: { value: stream } }) as RedisBusContext;
  }

  subscribe(types: readonly string[] | '*', listener: Listener): () => void {
    this.assertOpen();
    const entry = { types, listener };
    this.listeners.add(entry);
    this.fanout ??= new Fanout(this, this.listeners, this.catchUpIntervalMs);
    return () => this.listeners.delete(entry);
  }

  async deadLetters(group?: string): Promise<DeadLetter[]> {
    this.assertOpen();
    const entries = (await this.commands.xRange(this.deadLetterStream, '-', '+')) as StreamEntry[];
    const letters: DeadLetter[] = [];
    for (const { message } of entries) {
      if (!message || (group !== undefined && message['group'] !== group)) continue;
      letters.push({
        event: fromFields(message),
        group: message['group'] ?? '',
        deliveries: Number(message['deliveries']),
        reason: message['reason'] ?? '',
        deadLetteredAt: message['deadLetteredAt'] ?? '',
      });
    }
    return letters;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const consumers = [...this.consumers];
    await settleWithin(Promise.all(consumers.map((consumer) => consumer.stop())), this.timing.closeTimeoutMs);
    // A handler still running after the grace period is abandoned: its entry stays pending, goes idle, and
    // another consumer of the group claims it, as if this process had died.
    for (const consumer of consumers) consumer.abandon();
    this.closed = true;
    this.listeners.clear();
    this.fanout?.close();
    await settleWithin(this.commands.close(), this.timing.closeTimeoutMs);
    if (this.commands.isOpen) this.commands.destroy();
  }

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal */
  get log(): BusLog {
    return this.timing.log;
  }

  /**
   * @internal A new connection that reconnects forever with capped exponential backoff and reports one lost
   * connection once (not every failed attempt while Redis is down).
   */
  connection(role: string): RedisConnection {
    const client = createConnection(this.url);
    let healthy = true;
    client.on('error', (error: unknown) => {
      if (!healthy || this.closed) return;
      healthy = false;
      this.log(`${role} connection to Redis at ${redactUrl(this.url)} lost; reconnecting`, error);
    });
    client.on('ready', () => {
      if (healthy) return;
      healthy = true;
      this.log(`${role} connection to Redis at ${redactUrl(this.url)} restored`);
    });
    return client;
  }

  /** @internal Connects `client`, failing after `timeoutMs` with a message that names the URL. */
  async connectWithin(client: RedisConnection, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const connecting = client.connect();
    try {
      await Promise.race([
        connecting,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis at ${redactUrl(this.url)} did not answer within ${timeoutMs} ms (REDIS_URL): is it running and reachable?`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      connecting.catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** @internal Creates the group at the oldest retained event; an existing group keeps its position. */
  async ensureGroup(group: string): Promise<void> {
    try {
      await this.commands.xGroupCreate(this.stream, group, '0', { MKSTREAM: true });
    } catch (error) {
      if (!(error instanceof ErrorReply && error.message.startsWith('BUSYGROUP'))) throw error;
    }
  }

  /** @internal Redis' delivery count of a pending entry (undefined when it is no longer pending). */
  async deliveryCount(group: string, id: string): Promise<number | undefined> {
    const [pending] = await this.commands.xPendingRange(this.stream, group, id, id, 1);
    return pending?.deliveriesCounter;
  }

  /** @internal Copies the entry to the dead-letter stream and acknowledges it, in one MULTI. */
  async deadLetter(group: string, consumer: string, entry: StreamEntry, deliveries: number, reason: string): Promise<void> {
    const letter = {
      ...(entry.message ?? {}),
      group,
      consumer,
      streamId: entry.id,
      deliveries: String(deliveries),
      reason,
      deadLetteredAt: new Date().toISOString(),
    };
    await retryOnDisconnect(() => this.commands.multi().xAdd(this.deadLetterStream, '*', letter).xAck(this.stream, group, entry.id).exec(), 5);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`The event bus on Redis at ${redactUrl(this.url)} is closed.`);
  }
}
