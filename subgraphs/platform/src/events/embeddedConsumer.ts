/** One consumer of the embedded event bus: claim, handle, acknowledge — one event at a time (see `embeddedEventBus.ts`). */
import { failureReason, type ResolvedTiming, Sleeper } from './busSupport.js';
import type { EmbeddedConsumerHost, Claimed } from './embeddedEventLog.js';
import type { ConsumeOptions, Consumer } from './eventBus.js';
import { handleInEventSpan } from './eventTracing.js';

/** One consumer's loop: claim, handle, acknowledge — one event at a time. */
export class EmbeddedConsumer implements Consumer {
  readonly done: Promise<void>;
  private readonly sleeper = new Sleeper();
  private readonly maxDeliveries: number;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly bus: EmbeddedConsumerHost,
    private readonly options: ConsumeOptions,
    private readonly timing: ResolvedTiming,
    private readonly pollIntervalMs: number,
  ) {
    this.maxDeliveries = Math.max(1, options.maxDeliveries ?? 5);
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.wake();
    await this.done;
  }

  /** @internal Stops renewing the lease of a handler that outlived `close()`. */
  abandon(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
  }

  /** @internal */
  wake(): void {
    this.sleeper.wake();
  }

  private async run(): Promise<void> {
    const { group, consumer } = this.options;
    let prepared = false;
    while (!this.stopped && !this.bus.isClosed) {
      try {
        if (!prepared) {
          this.bus.prepareConsumer(group, consumer);
          prepared = true;
        }
        const delay = this.bus.idleDelay(group);
        if (delay > 0) {
          await this.sleeper.sleep(delay);
          continue;
        }
        const claimed = this.bus.claim(this.options, this.maxDeliveries);
        if (claimed) await this.deliver(claimed);
      } catch (error) {
        if (this.bus.isClosed) return;
        // SQLITE_BUSY past the busy timeout, a full disk: keep the consumer alive and try again.
        this.timing.log(`consumer ${consumer} of group ${group} failed to read the event log; retrying`, error);
        await this.sleeper.sleep(this.pollIntervalMs * 4);
      }
    }
  }

  private async deliver({ seq, event }: Claimed): Promise<void> {
    const { group, consumer } = this.options;
    this.heartbeat = setInterval(
      () => {
        if (this.bus.isClosed) return clearInterval(this.heartbeat);
        try {
          this.bus.renew(group, seq, consumer);
        } catch (error) {
          this.timing.log(`renewing the lease of ${event.id} failed`, error);
        }
      },
      Math.max(1, Math.floor(this.timing.leaseMs / 3)),
    );
    this.heartbeat.unref();
    let failure: { reason: string } | undefined;
    try {
      await handleInEventSpan(event, this.options.group, () => this.options.handler(event));
    } catch (error) {
      failure = { reason: failureReason(error) };
    } finally {
      clearInterval(this.heartbeat);
    }
    if (this.bus.isClosed) return;
    if (failure) this.bus.fail(group, seq, failure.reason, this.maxDeliveries);
    else this.bus.ack(group, seq);
  }
}
