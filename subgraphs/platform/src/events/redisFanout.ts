/**
 * The fan-out side of the Redis event bus: pub/sub for latency, and catch-up reads of the stream for what pub/sub
 * dropped while a subscriber was disconnected (see `redisEventBus.ts`).
 */
import type { BusEvent, Listener } from './eventBus.js';
import { matchesTypes } from './eventBus.js';
import { CATCH_UP_COUNT, DEDUPE_WINDOW, fromFields, isDisconnect, type RedisConnection, type StreamEntry, type RedisBusContext } from './redisStreams.js';

/**
 * The fan-out side of one bus: a subscriber connection on the channel, and a cursor into the stream that
 * catch-up reads advance. Started by the first `subscribe`, stopped by `close`.
 */
export class Fanout {
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
    private readonly bus: RedisBusContext,
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
