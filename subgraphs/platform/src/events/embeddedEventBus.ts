/**
 * The embedded event bus: one SQLite file (`<dataDir>/events.db`) that every psgraph process on the machine
 * opens. No server: WAL mode lets the processes read while one writes, and each process polls for what the
 * others wrote.
 *
 * - The log (`bus_events`) is append-only; `publish` is one INSERT, durable when it returns
 *   (`synchronous = FULL`: the WAL is synced on every commit, so an event survives a power cut too).
 * - A consumer group is a cursor (`bus_groups.next_seq`, the first event never handed out) plus its pending
 *   deliveries (`bus_pending`, one row per event handed out and not yet acknowledged: owner, delivery count,
 *   and `available_at`, the end of the owner's lease or of the retry backoff). Claiming runs in an IMMEDIATE
 *   transaction, so two consumers of a group, in any two processes, never hold the same event at once. A live
 *   consumer renews its lease while its handler runs; a dead one stops renewing and another consumer of the
 *   group takes the event over when the lease ends — the same model as Redis' PEL and XAUTOCLAIM.
 * - Fan-out (`subscribe`) reads the log from the sequence that was last when the listener subscribed.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type ConsumerTiming, positive, type ResolvedTiming, resolveTiming, retryDelay, settleWithin, Sleeper } from './busSupport.js';
import { EmbeddedConsumer } from './embeddedConsumer.js';
import type { EmbeddedConsumerHost, Claimed, EventRow, PendingRow } from './embeddedEventLog.js';
import { FANOUT_BATCH, addTraceparentColumn, prepareStatements, SCHEMA, SKIP_LIMIT, toEvent } from './embeddedEventLog.js';
import type { BusEvent, ConsumeOptions, Consumer, ConsumerGroupStatus, DeadLetter, EventBus, Listener } from './eventBus.js';
import { matchesTypes } from './eventBus.js';

export interface EmbeddedEventBusOptions extends ConsumerTiming {
  /** Folder of the event log file; created if missing (PSGRAPH_DATA_DIR). */
  readonly dataDir: string;
  /** @default events.db */
  readonly fileName?: string;
  /**
   * How often an idle consumer or subscriber looks for events other processes wrote. Events published in this
   * process wake its consumers and subscribers at once.
   * @default 25
   */
  readonly pollIntervalMs?: number;
}

export class EmbeddedEventBus implements EventBus, EmbeddedConsumerHost {
  /** The SQLite file all processes share. */
  readonly file: string;
  private readonly db: Database.Database;
  private readonly timing: ResolvedTiming;
  private readonly pollIntervalMs: number;
  private readonly sql: ReturnType<typeof prepareStatements>;
  private readonly consumers = new Set<EmbeddedConsumer>();
  private readonly listeners = new Set<{ types: readonly string[] | '*'; listener: Listener; afterSeq: number }>();
  private readonly fanoutSleeper = new Sleeper();
  private fanout: Promise<void> | undefined;
  private fanoutCursor = 0;
  private closed = false;
  /** Prepared on first use: only a service that reports its groups on /metrics asks. */
  private groupStatus: Database.Statement | undefined;

  constructor(options: EmbeddedEventBusOptions) {
    this.timing = resolveTiming(options);
    this.pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 25);
    mkdirSync(options.dataDir, { recursive: true });
    this.file = join(options.dataDir, options.fileName ?? 'events.db');
    this.db = new Database(this.file);
    // Other processes hold the write lock for one short transaction at a time; wait rather than fail. First,
    // because switching a new file to WAL takes a lock too.
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    addTraceparentColumn(this.db);
    this.sql = prepareStatements(this.db);
  }

  async publish(event: BusEvent): Promise<void> {
    this.assertOpen();
    this.sql.insert.run({ ...event, data: JSON.stringify(event.data ?? {}), traceparent: event.traceparent ?? null });
    // Same-process consumers and subscribers need not wait for their next poll.
    for (const consumer of this.consumers) consumer.wake();
    this.fanoutSleeper.wake();
  }

  consume(options: ConsumeOptions): Consumer {
    this.assertOpen();
    const consumer = new EmbeddedConsumer(this, options, this.timing, this.pollIntervalMs);
    this.consumers.add(consumer);
    void consumer.done.finally(() => this.consumers.delete(consumer));
    return consumer;
  }

  subscribe(types: readonly string[] | '*', listener: Listener): () => void {
    this.assertOpen();
    const lastSeq = this.sql.lastSeq.get() as number;
    const entry = { types, listener, afterSeq: lastSeq };
    this.listeners.add(entry);
    if (!this.fanout) {
      this.fanoutCursor = lastSeq;
      this.fanout = this.runFanout().finally(() => (this.fanout = undefined));
    }
    return () => {
      this.listeners.delete(entry);
      if (this.listeners.size === 0) this.fanoutSleeper.wake();
    };
  }

  async deadLetters(group?: string): Promise<DeadLetter[]> {
    this.assertOpen();
    const rows = this.sql.deadLetters.all(group ?? null, group ?? null) as Array<
      EventRow & { group_name: string; deliveries: number; reason: string; dead_lettered_at: string }
    >;
    return rows.map((row) => ({
      event: toEvent(row),
      group: row.group_name,
      deliveries: row.deliveries,
      reason: row.reason,
      deadLetteredAt: row.dead_lettered_at,
    }));
  }

  async consumerGroups(): Promise<ConsumerGroupStatus[]> {
    this.assertOpen();
    // Sequence numbers and recording times grow together: the oldest unfinished event is the lowest pending
    // sequence, else the group's cursor (the first event not handed out), when there is such an event.
    this.groupStatus ??= this.db.prepare(
      `SELECT g.group_name AS name,
              (SELECT count(*) FROM bus_pending p WHERE p.group_name = g.group_name) AS pending,
              (SELECT count(*) FROM bus_events e WHERE e.seq >= g.next_seq) AS undelivered,
              (SELECT e.recorded_at FROM bus_events e
                WHERE e.seq >= coalesce((SELECT min(p.seq) FROM bus_pending p WHERE p.group_name = g.group_name), g.next_seq)
                ORDER BY e.seq LIMIT 1) AS oldest_recorded_at,
              (SELECT count(*) FROM bus_dead_letters d WHERE d.group_name = g.group_name) AS dead_letters
       FROM bus_groups g ORDER BY g.group_name`,
    );
    const rows = this.groupStatus.all() as Array<{
      name: string;
      pending: number;
      undelivered: number;
      oldest_recorded_at: string | null;
      dead_letters: number;
    }>;
    const now = Date.now();
    return rows.map((row) => ({
      name: row.name,
      pending: row.pending,
      undelivered: row.undelivered,
      lagSeconds: row.oldest_recorded_at === null ? null : Math.max(0, now - Date.parse(row.oldest_recorded_at)) / 1000,
      deadLetters: row.dead_letters,
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const consumers = [...this.consumers];
    await settleWithin(Promise.all(consumers.map((consumer) => consumer.stop())), this.timing.closeTimeoutMs);
    // A handler still running after the grace period is abandoned: its lease lapses and another consumer of the
    // group takes the event over, as if this process had died.
    for (const consumer of consumers) consumer.abandon();
    this.listeners.clear();
    this.fanoutSleeper.wake();
    await this.fanout;
    this.closed = true;
    this.db.close();
  }

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal Registers the group and makes this consumer's own unacknowledged events (from a previous run) claimable now. */
  prepareConsumer(group: string, consumer: string): void {
    this.sql.ensureGroup.run(group);
    this.sql.releaseOwn.run(group, consumer);
  }

  /** @internal How long an idle consumer of `group` may sleep: 0 when there is work to claim. */
  idleDelay(group: string): number {
    const probe = this.sql.probe.get(group) as { has_new: number; next_available: number | null } | undefined;
    if (!probe) return 0;
    if (probe.has_new) return 0;
    if (probe.next_available === null) return this.pollIntervalMs;
    return Math.max(0, Math.min(this.pollIntervalMs, probe.next_available - Date.now()));
  }

  /**
   * @internal Takes the next event for the group: first a pending one whose lease or backoff has ended (lowest
   * sequence first), else the next new one. Events over their delivery budget are dead-lettered on the way.
   */
  claim(options: ConsumeOptions, maxDeliveries: number): Claimed | undefined {
    const { group, consumer } = options;
    return this.db
      .transaction((): Claimed | undefined => {
        const now = Date.now();
        for (;;) {
          const pending = this.sql.nextAvailable.get(group, now) as PendingRow | undefined;
          if (!pending) break;
          const row = this.sql.event.get(pending.seq) as EventRow | undefined;
          if (!row || !matchesTypes(options.types, row.type)) {
            this.sql.ack.run(group, pending.seq);
            continue;
          }
          if (pending.deliveries >= maxDeliveries) {
            // The last delivery's consumer died holding it: it has had all the deliveries it gets.
            const reason = `not acknowledged after ${pending.deliveries} deliveries (the consumer stopped before finishing)${
              pending.last_error ? `; last error: ${pending.last_error}` : ''
            }`;
            this.sql.deadLetter.run(group, pending.seq, pending.deliveries, reason, new Date(now).toISOString());
            this.sql.ack.run(group, pending.seq);
            continue;
          }
          this.sql.takeOver.run(consumer, now + this.timing.leaseMs, group, pending.seq);
          return { seq: row.seq, event: toEvent(row), deliveries: pending.deliveries + 1 };
        }
        const nextSeq = this.sql.nextSeq.get(group) as number;
        const rows = this.sql.newEvents.all(nextSeq, SKIP_LIMIT) as EventRow[];
        for (const row of rows) {
          this.sql.advance.run(row.seq + 1, group);
          if (!matchesTypes(options.types, row.type)) continue;
          this.sql.hold.run(group, row.seq, consumer, now + this.timing.leaseMs);
          return { seq: row.seq, event: toEvent(row), deliveries: 1 };
        }
        return undefined;
      })
      .immediate();
  }

  /** @internal Extends the lease of an event whose handler is still running. */
  renew(group: string, seq: number, consumer: string): void {
    this.sql.renew.run(Date.now() + this.timing.leaseMs, group, seq, consumer);
  }

  /** @internal The handler succeeded: the event is done for the group, whoever holds it now. */
  ack(group: string, seq: number): void {
    this.sql.ack.run(group, seq);
  }

  /** @internal The handler failed: back off and offer it to any consumer of the group, or dead-letter it. */
  fail(group: string, seq: number, reason: string, maxDeliveries: number): void {
    this.db
      .transaction(() => {
        const pending = this.sql.pending.get(group, seq) as PendingRow | undefined;
        if (!pending) return; // another consumer took it over and finished it
        const now = Date.now();
        if (pending.deliveries >= maxDeliveries) {
          this.sql.deadLetter.run(group, seq, pending.deliveries, reason, new Date(now).toISOString());
          this.sql.ack.run(group, seq);
        } else {
          this.sql.backOff.run(now + retryDelay(pending.deliveries, this.timing), reason, group, seq);
        }
      })
      .immediate();
  }

  private async runFanout(): Promise<void> {
    while (!this.closed && this.listeners.size > 0) {
      let rows: EventRow[] = [];
      try {
        rows = this.sql.eventsAfter.all(this.fanoutCursor, FANOUT_BATCH) as EventRow[];
      } catch (error) {
        this.timing.log('reading the event log for subscribers failed; retrying', error);
      }
      for (const row of rows) {
        this.fanoutCursor = row.seq;
        const event = toEvent(row);
        for (const entry of this.listeners) {
          if (row.seq <= entry.afterSeq || !matchesTypes(entry.types, event.type)) continue;
          try {
            entry.listener(event);
          } catch (error) {
            this.timing.log(`a subscriber of ${event.type} threw`, error);
          }
        }
      }
      if (rows.length < FANOUT_BATCH) await this.fanoutSleeper.sleep(this.pollIntervalMs);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`The event bus over ${this.file} is closed.`);
  }
}
