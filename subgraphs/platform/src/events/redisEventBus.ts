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
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  DisconnectsClientError,
  ErrorReply,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
} from 'redis';
import type { BusEvent, ConsumeOptions, Consumer, DeadLetter, EventBus, Listener } from './eventBus.js';
import { matchesTypes } from './eventBus.js';
import { type BusLog, type ConsumerTiming, failureReason, positive, type ResolvedTiming, resolveTiming, retryDelay, settleWithin, Sleeper } from './busSupport.js';

type RedisConnection = ReturnType<typeof createConnection>;

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

interface StreamEntry {
  readonly id: string;
  readonly message: Record<string, string> | null;
}

/** Consumers read one new entry at a time, so the group's other consumers get the next one (fair sharing). */
const READ_COUNT = 1;
/** Entries one XAUTOCLAIM takes, and XAUTOCLAIM calls per claim round (it scans COUNT × 10 PEL entries each). */
const CLAIM_COUNT = 10;
const CLAIM_CALLS_PER_ROUND = 10;
/** Stream entries one catch-up XRANGE reads. */
const CATCH_UP_COUNT = 500;
/** Event IDs a subscriber remembers to drop the copy pub/sub and the catch-up read both bring. */
const DEDUPE_WINDOW = 10_000;

export class RedisEventBus implements EventBus {
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
    this.consumers.add(consumer);
    void consumer.done.finally(() => this.consumers.delete(consumer));
    return consumer;
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

/** One consumer: a loop over its own blocking connection, handling one entry at a time. */
class RedisConsumer implements Consumer {
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
    private readonly bus: RedisEventBus,
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
    this.heartbeat = setInterval(() => {
      if (this.held.size === 0 || this.abandoned) return;
      this.bus.commands
        .xClaimJustId(this.bus.stream, group, consumer, 0, [...this.held])
        .catch((error: unknown) => this.bus.log(`renewing entries of consumer ${consumer} failed`, error));
    }, Math.max(1, Math.floor(this.timing.leaseMs / 3)));
    this.heartbeat.unref();
    try {
      await this.options.handler(event);
      return undefined;
    } catch (error) {
      return { reason: failureReason(error) };
    } finally {
      clearInterval(this.heartbeat);
    }
  }
}

/**
 * The fan-out side of one bus: a subscriber connection on the channel, and a cursor into the stream that
 * catch-up reads advance. Started by the first `subscribe`, stopped by `close`.
 */
class Fanout {
  private readonly subscriber: RedisConnection;
  private readonly recent = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  /** The last stream ID a catch-up read delivered; starts at the stream's end when the fan-out starts. */
  private readonly cursorReady: Promise<void>;
  private cursor = '0-0';
  private catchingUp: Promise<void> | undefined;
  private catchUpAgain = false;
  private closed = false;

  constructor(
    private readonly bus: RedisEventBus,
    private readonly listeners: ReadonlySet<{ types: readonly string[] | '*'; listener: Listener }>,
    catchUpIntervalMs: number,
  ) {
    // Issued before anything else on the command connection: "from now on" starts here.
    this.cursorReady = this.readStreamEnd();
    this.subscriber = bus.connection('subscriber');
    // `ready` fires on the first connection and after every reconnection: catch up with what pub/sub missed.
    this.subscriber.on('ready', () => void this.catchUp());
    this.subscriber
      .connect()
      .then(() => this.subscriber.subscribe(bus.channel, (message) => this.onAnnouncement(message)))
      .catch((error: unknown) => {
        if (!this.closed) bus.log('subscribing to the event channel failed; relying on catch-up reads', error);
      });
    this.timer = setInterval(() => void this.catchUp(), catchUpIntervalMs);
    this.timer.unref();
  }

  /** A catch-up read still in flight finds `closed` set and delivers nothing. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    if (this.subscriber.isOpen) this.subscriber.destroy();
  }

  private async readStreamEnd(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const [last] = (await this.bus.commands.xRevRange(this.bus.stream, '+', '-', { COUNT: 1 })) as StreamEntry[];
        this.cursor = last?.id ?? '0-0';
        return;
      } catch (error) {
        if (attempt === 0) this.bus.log('reading the end of the event stream failed; retrying', error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 1_000)).unref());
      }
    }
  }

  private onAnnouncement(message: string): void {
    let event: BusEvent;
    try {
      event = JSON.parse(message) as BusEvent;
    } catch (error) {
      this.bus.log('an event announcement was not JSON; ignored', error);
      return;
    }
    this.deliver(event);
  }

  private catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    this.catchingUp = (async () => {
      try {
        await this.cursorReady;
        do {
          this.catchUpAgain = false;
          for (;;) {
            if (this.closed) return;
            const entries = (await this.bus.commands.xRange(this.bus.stream, `(${this.cursor}`, '+', { COUNT: CATCH_UP_COUNT })) as StreamEntry[];
            for (const entry of entries) {
              this.cursor = entry.id;
              if (!entry.message) continue;
              try {
                this.deliver(fromFields(entry.message));
              } catch (error) {
                this.bus.log(`stream entry ${entry.id} is not an event; skipped`, error);
              }
            }
            if (entries.length < CATCH_UP_COUNT) break;
          }
        } while (this.catchUpAgain);
      } catch (error) {
        // Redis is away: the next reconnection or tick catches up, and the connection has reported the loss.
        if (!isDisconnect(error)) this.bus.log('catching up with the event stream failed', error);
      } finally {
        this.catchingUp = undefined;
      }
    })();
    return this.catchingUp;
  }

  private deliver(event: BusEvent): void {
    if (this.closed || this.recent.has(event.id)) return;
    this.recent.add(event.id);
    if (this.recent.size > DEDUPE_WINDOW) this.recent.delete(this.recent.values().next().value!);
    for (const { types, listener } of this.listeners) {
      if (!matchesTypes(types, event.type)) continue;
      try {
        listener(event);
      } catch (error) {
        this.bus.log(`a subscriber of ${event.type} threw`, error);
      }
    }
  }
}

/** A client that reconnects forever: 50 ms doubling to 1 s between attempts, with jitter so replicas spread out. */
function createConnection(url: string) {
  return createClient({
    url,
    socket: {
      connectTimeout: 5_000,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1_000) + Math.floor(Math.random() * 50),
    },
  });
}

/** The envelope as stream fields (all strings; `data` as JSON). */
function toFields(event: BusEvent): Record<string, string> {
  return {
    id: event.id,
    type: event.type,
    version: String(event.version),
    occurredAt: event.occurredAt,
    source: event.source,
    subject: event.subject,
    data: JSON.stringify(event.data ?? {}),
  };
}

function fromFields(fields: Record<string, string>): BusEvent {
  const { id, type, version, occurredAt, source, subject, data } = fields;
  if (id === undefined || type === undefined || data === undefined) throw new Error('missing id, type or data');
  return {
    id,
    type,
    version: Number(version ?? 1),
    occurredAt: occurredAt ?? '',
    source: source ?? '',
    subject: subject ?? '',
    data: JSON.parse(data) as Record<string, unknown>,
  };
}

function entriesOf(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  return reply.flatMap((stream: { messages?: StreamEntry[] }) => stream.messages ?? []);
}

/** The connection failed under a command (as opposed to Redis replying with an error, or a bug). */
function isDisconnect(error: unknown): boolean {
  if (error instanceof ErrorReply) return false;
  return (
    error instanceof SocketClosedUnexpectedlyError ||
    error instanceof DisconnectsClientError ||
    error instanceof ClientClosedError ||
    error instanceof ClientOfflineError ||
    error instanceof ConnectionTimeoutError ||
    error instanceof SocketTimeoutError ||
    /^E[A-Z]+$/.test(String((error as NodeJS.ErrnoException | undefined)?.code ?? ''))
  );
}

/**
 * Runs `command`, again when the connection dropped under it (the retry waits in node-redis' offline queue
 * until the connection is back). Errors Redis replied with, and bugs, are not retried.
 */
async function retryOnDisconnect<T>(command: () => Promise<T>, attempts: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await command();
    } catch (error) {
      if (!isDisconnect(error) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

/** The URL as written, with its password masked, for messages. */
export function redactUrl(url: string): string {
  try {
    const { password } = new URL(url);
    return password ? url.replace(`:${password}@`, ':***@') : url;
  } catch {
    return '(unparseable URL)';
  }
}
