/**
 * One consumer of a consumer group on the Redis event bus: a loop over its own blocking connection, handling one
 * entry at a time, claiming the entries of consumers that died, and dead-lettering an entry after its last
 * delivery (see `redisEventBus.ts` for the protocol).
 */
import { ErrorReply } from 'redis';
import { failureReason, retryDelay, settleWithin, Sleeper } from './busSupport.js';
import type { BusEvent, ConsumeOptions, Consumer } from './eventBus.js';
import { matchesTypes } from './eventBus.js';
import { handleInEventSpan } from './eventTracing.js';
import {
  CLAIM_CALLS_PER_ROUND,
  CLAIM_COUNT,
  entriesOf,
  fromFields,
  isDisconnect,
  READ_COUNT,
  type RedisConnection,
  retryOnDisconnect,
  type StreamEntry,
  type RedisBusContext,
} from './redisStreams.js';

/** One consumer: a loop over its own blocking connection, handling one entry at a time. */
export class RedisConsumer implements Consumer {
  readonly done: Promise<void>;
  private readonly sleeper = new Sleeper();
  private readonly maxDeliveries: number;
  private readonly reader: RedisConnection;
  /** Entries this consumer has claimed and not settled; the heartbeat keeps them from going idle. */
  private readonly held = new Set<string>();
  /** Failed entries waiting for their redelivery: ID → when, and the backoff they waited. */
  private readonly retries = new Map<string, { dueAt: number; delayMs: number }>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** The reader is connecting or blocked in XREADGROUP: destroying it loses nothing. */
  private waiting = false;
  private stopped = false;
  private abandoned = false;

  constructor(
    private readonly bus: RedisBusContext,
    private readonly options: ConsumeOptions,
  ) {
    this.maxDeliveries = Math.max(1, options.maxDeliveries ?? 5);
    this.reader = bus.connection(`consumer ${options.consumer} (group ${options.group})`);
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.wake();
    // A blocked XREADGROUP would hold stop() for up to blockMs (a connect, for as long as Redis is away).
    // Should the read have just been handed an entry, the entry stays pending for this consumer and is re-read
    // (ID 0) or claimed after the lease: not lost.
    if (this.waiting) this.reader.destroy();
    await this.done;
  }

  /** @internal Stops renewing entries of a handler that outlived `close()`, and never acknowledges them. */
  abandon(): void {
    this.stopped = true;
    this.abandoned = true;
    clearInterval(this.heartbeat);
    if (this.reader.isOpen) this.reader.destroy();
  }

  private get timing() {
    return this.bus.timing;
  }

  private async run(): Promise<void> {
    const { group, consumer } = this.options;
    let needGroup = true;
    let needHistory = true;
    let nextClaimAt = 0;
    let failures = 0;
    try {
      this.waiting = true;
      await this.reader.connect();
    } catch (error) {
      if (!this.stopped) this.bus.log(`consumer ${consumer} of group ${group} could not connect`, error);
      return;
    } finally {
      this.waiting = false;
    }
    while (!this.stopped) {
      try {
        if (needGroup) {
          await this.bus.ensureGroup(group);
          needGroup = false;
        }
        if (needHistory) {
          await this.readOwnPending();
          needHistory = false;
        }
        await this.redeliverDue();
        if (Date.now() >= nextClaimAt) {
          await this.claimIdle();
          nextClaimAt = Date.now() + this.timing.claimIntervalMs;
        }
        const block = this.blockTime(nextClaimAt);
        this.waiting = true;
        if (this.stopped) break;
        const reply = await this.reader.xReadGroup(group, consumer, { key: this.bus.stream, id: '>' }, { COUNT: READ_COUNT, BLOCK: block });
        this.waiting = false;
        for (const entry of entriesOf(reply)) {
          this.held.add(entry.id);
          await this.deliver(entry, 1);
        }
        failures = 0;
      } catch (error) {
        this.waiting = false;
        if (this.stopped) break;
        if (error instanceof ErrorReply && error.message.startsWith('NOGROUP')) {
          // The stream or group vanished (a Redis restart without AOF, a manual DEL): recreate and go on.
          needGroup = true;
        } else {
          // A read whose reply was lost with the connection left entries pending for this consumer.
          needHistory = true;
          // A lost connection has been reported by the connection itself; anything else is news.
          if (failures === 0 && !isDisconnect(error)) this.bus.log(`consumer ${consumer} of group ${group} failed; retrying`, error);
        }
        await this.sleeper.sleep(Math.min(50 * 2 ** failures++, 2_000));
      }
    }
    this.waiting = false;
    clearInterval(this.heartbeat);
    if (this.reader.isOpen) await settleWithin(this.reader.close(), this.timing.closeTimeoutMs);
    if (this.reader.isOpen) this.reader.destroy();
  }

  /** Longest the next XREADGROUP may block: until the next claim round or due retry, at most blockMs. */
  private blockTime(nextClaimAt: number): number {
    let until = Math.min(nextClaimAt, Date.now() + this.timing.blockMs);
    for (const { dueAt } of this.retries.values()) until = Math.min(until, dueAt);
    return Math.max(1, until - Date.now());
  }

  /** Entries this consumer name was handed before (a previous run, a lost reply): ID 0 reads them again. */
  private async readOwnPending(): Promise<void> {
    let after = '0';
    for (;;) {
      const reply = await this.reader.xReadGroup(this.options.group, this.options.consumer, { key: this.bus.stream, id: after }, { COUNT: 100 });
      const page = entriesOf(reply);
      if (page.length === 0 || this.stopped) return;
      after = page.at(-1)!.id;
      // Entries waiting for a redelivery are in the pending list too; their backoff decides when they run.
      const entries = page.filter((entry) => !this.retries.has(entry.id));
      for (const entry of entries) this.held.add(entry.id);
      for (const entry of entries) {
        if (this.stopped) return;
        await this.deliver(entry, undefined);
      }
    }
  }

  /** Takes over entries idle longer than the lease: their consumer died (or lost its connection for that long). */
  private async claimIdle(): Promise<void> {
    let cursor = '0-0';
    for (let call = 0; call < CLAIM_CALLS_PER_ROUND && !this.stopped; call++) {
      const reply = await this.bus.commands.xAutoClaim(this.bus.stream, this.options.group, this.options.consumer, this.timing.leaseMs, cursor, {
        COUNT: CLAIM_COUNT,
      });
      for (const id of reply.deletedMessages) {
        this.bus.log(`entry ${id} of ${this.bus.stream} was trimmed while pending for group ${this.options.group}; it cannot be delivered`);
      }
      const entries = reply.messages.filter((entry): entry is NonNullable<typeof entry> => entry !== null) as StreamEntry[];
      for (const entry of entries) {
        this.retries.delete(entry.id);
        this.held.add(entry.id);
      }
      for (const entry of entries) {
        if (this.stopped) return;
        await this.deliver(entry, undefined);
      }
      cursor = reply.nextId;
      if (cursor === '0-0') return;
    }
  }

  /** Redelivers failed entries whose backoff has passed, unless another consumer has taken them meanwhile. */
  private async redeliverDue(): Promise<void> {
    const now = Date.now();
    for (const [id, { dueAt, delayMs }] of [...this.retries]) {
      if (dueAt > now || this.stopped) continue;
      this.retries.delete(id);
      // Only an entry idle for the whole backoff is still ours: a takeover since would have reset its idle time.
      const claimed = await this.bus.commands.xClaim(this.bus.stream, this.options.group, this.options.consumer, delayMs, id);
      for (const entry of claimed) {
        if (entry === null) continue;
        this.held.add(entry.id);
        await this.deliver(entry as StreamEntry, undefined);
      }
    }
  }

  /** Handles one entry, then acknowledges it, schedules its redelivery, or dead-letters it. */
  private async deliver(entry: StreamEntry, knownDeliveries: number | undefined): Promise<void> {
    const { group, consumer } = this.options;
    try {
      if (!entry.message) {
        await this.bus.commands.xAck(this.bus.stream, group, entry.id);
        return;
      }
      let event: BusEvent;
      try {
        event = fromFields(entry.message);
      } catch (error) {
        await this.bus.deadLetter(group, consumer, entry, knownDeliveries ?? 1, `malformed stream entry: ${failureReason(error)}`);
        return;
      }
      if (!matchesTypes(this.options.types, event.type)) {
        await retryOnDisconnect(() => this.bus.commands.xAck(this.bus.stream, group, entry.id), 5);
        return;
      }
      const deliveries = knownDeliveries ?? (await this.bus.deliveryCount(group, entry.id));
      if (deliveries === undefined) return; // acknowledged by another consumer meanwhile
      if (deliveries > this.maxDeliveries) {
        // The consumer of the last delivery died holding it: it has had all the deliveries it gets.
        const reason = `not acknowledged after ${deliveries - 1} deliveries (the consumer stopped before finishing)`;
        await this.bus.deadLetter(group, consumer, entry, deliveries - 1, reason);
        return;
      }
      const failure = await this.handle(event);
      if (this.abandoned || this.bus.isClosed) return;
      if (!failure) {
        await retryOnDisconnect(() => this.bus.commands.xAck(this.bus.stream, group, entry.id), 5);
      } else if (deliveries >= this.maxDeliveries) {
        await this.bus.deadLetter(group, consumer, entry, deliveries, failure.reason);
      } else {
        const delayMs = retryDelay(deliveries, this.timing);
        this.retries.set(entry.id, { dueAt: Date.now() + delayMs, delayMs });
      }
    } finally {
      this.held.delete(entry.id);
    }
  }

  private async handle(event: BusEvent): Promise<{ reason: string } | undefined> {
    const { group, consumer } = this.options;
    this.heartbeat = setInterval(
      () => {
        if (this.held.size === 0 || this.abandoned) return;
        this.bus.commands
          .xClaimJustId(this.bus.stream, group, consumer, 0, [...this.held])
          .catch((error: unknown) => this.bus.log(`renewing entries of consumer ${consumer} failed`, error));
      },
      Math.max(1, Math.floor(this.timing.leaseMs / 3)),
    );
    this.heartbeat.unref();
    try {
      await handleInEventSpan(event, this.options.group, () => this.options.handler(event));
      return undefined;
    } catch (error) {
      return { reason: failureReason(error) };
    } finally {
      clearInterval(this.heartbeat);
    }
  }
}
