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
import type { EmbeddedConsumerHost, Claimed, DeadLetterRow, EventRow, PendingRow } from './embeddedEventLog.js';
import {
  addReplayColumns,
  addTraceparentColumn,
  FANOUT_BATCH,
  prepareReplayStatements,
  prepareStatements,
  SCHEMA,
  SKIP_LIMIT,
  toDeadLetter,
  toEvent,
} from './embeddedEventLog.js';
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
  private readonly replaySql: ReturnType<typeof prepareReplayStatements>;
  private readonly consumers = new Set<EmbeddedConsumer>();
  private readonly listeners = new Set<{ types: readonly string[] | '*'; listener: Listener; afterSeq: number }>();
  private readonly fanoutSleeper = new Sleeper();
  private fanout: Promise<void> | undefined;
  private fanoutCursor = 0;
  private closed = false;
  /** Prepared on first use: only a service that reports its groups on /metrics asks. */

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
    addReplayColumns(this.db);
    this.replaySql = prepareReplayStatements(this.db);
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
    return (await this.deadLetterRecords(group)).map(({ event, group, deliveries, reason, deadLetteredAt }) => ({
      event,
      group,
      deliveries,
      reason,
      deadLetteredAt,
    }));
  }

  async deadLetterRecords(group?: string): Promise<BusDeadLetter[]> {
    this.assertOpen();
    return (this.replaySql.letters.all(group ?? null, group ?? null) as DeadLetterRow[]).map(toDeadLetter);
  }

  async replayDeadLetter(id: string, edited?: BusEvent): Promise<BusDeadLetter> {
    this.assertOpen();
    const replayed = this.db
      .transaction((): BusDeadLetter => {
        const row = /^\d{1,15}$/.test(id) ? (this.replaySql.letter.get(Number(id)) as DeadLetterRow | undefined) : undefined;
        if (!row) throw new DeadLetterReplayError('NOT_FOUND', `Dead letter ${id} does not exist (or was trimmed by the retention).`);
        const letter = toDeadLetter(row);
        if (letter.replayedAt !== null) throw new DeadLetterReplayError('ALREADY_REPLAYED', `Dead letter ${id} was replayed at ${letter.replayedAt}.`);
        assertSameEvent(letter.event, edited);
        const event = edited ?? (row.edited === null ? null : letter.event);
        this.replaySql.redeliver.run(row.group_name, row.seq, event === null ? null : JSON.stringify(event));
        this.replaySql.markReplayed.run(new Date().toISOString(), row.id);
        return toDeadLetter(this.replaySql.letter.get(row.id) as DeadLetterRow);
      })
      .immediate();
    for (const consumer of this.consumers) consumer.wake();
    return replayed;
  }

  async consumerGroups(): Promise<ConsumerGroupStatus[]> {
    this.assertOpen();
    const rows = this.replaySql.groups.all() as Array<{ name: string; pending: number; undelivered: number; oldest: string | null; dead_letters: number }>;
    const now = Date.now();
    return rows.map((row) => ({
      name: row.name,
      pending: row.pending,
      undelivered: row.undelivered,
      lagSeconds: row.oldest === null ? null : Math.max(0, (now - Date.parse(row.oldest)) / 1000),
      deadLetters: row.dead_letters,
    }));
  }

  async trimProcessed(policy: TrimPolicy): Promise<TrimOutcome> {
    this.assertOpen();
    // Batches, each its own transaction: other processes' publishes and claims wait for one batch at most.
    const drain = (statement: { run: (cutoff: string) => { changes: number } }, cutoff: Date) => {
      let deleted = 0;
      for (;;) {
        const { changes } = this.db.transaction(() => statement.run(cutoff.toISOString())).immediate();
        deleted += changes;
        if (changes === 0) return deleted;
      }
    };
    const deadLetters = drain(this.replaySql.trimDeadLetters, policy.deadLettersBefore);
    const events = drain(this.replaySql.trimEvents, policy.eventsBefore);
    return { events, deadLetters };
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
          const edited = this.replaySql.pendingEvent.get(group, pending.seq) as string | null | undefined;
          if (!row || !matchesTypes(options.types, row.type)) {
            this.sql.ack.run(group, pending.seq);
            continue;
          }
          if (pending.deliveries >= maxDeliveries) {
            // The last delivery's consumer died holding it: it has had all the deliveries it gets.
            const reason = `not acknowledged after ${pending.deliveries} deliveries (the consumer stopped before finishing)${
              pending.last_error ? `; last error: ${pending.last_error}` : ''
            }`;
            this.recordDeadLetter(group, pending.seq, pending.deliveries, reason, now);
            this.sql.ack.run(group, pending.seq);
            continue;
          }
          this.sql.takeOver.run(consumer, now + this.timing.leaseMs, group, pending.seq);
          return { seq: row.seq, event: edited ? (JSON.parse(edited) as BusEvent) : toEvent(row), deliveries: pending.deliveries + 1 };
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
          this.recordDeadLetter(group, seq, pending.deliveries, reason, now);
          this.sql.ack.run(group, seq);
        } else {
          this.sql.backOff.run(now + retryDelay(pending.deliveries, this.timing), reason, group, seq);
        }
      })
      .immediate();
  }

  /** Dead-letters a pending delivery, keeping the edited event a replay gave it; call inside the claim's transaction. */
  private recordDeadLetter(group: string, seq: number, deliveries: number, reason: string, now: number): void {
    const edited = this.replaySql.pendingEvent.get(group, seq) as string | null | undefined;
    const { lastInsertRowid } = this.sql.deadLetter.run(group, seq, deliveries, reason, new Date(now).toISOString());
    if (edited) this.replaySql.keepEdited.run(edited, lastInsertRowid);
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
