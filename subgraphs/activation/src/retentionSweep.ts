/**
 * The retention sweep of the activation service: every PSGRAPH_RETENTION_INTERVAL it trims the event bus (processed
 * events, old dead letters — the bus is shared, so one service doing it is enough, and several doing it at once
 * is harmless), the audit of replays that went with those dead letters, and finished runs. Each subgraph's outbox
 * is trimmed by its own relay. The timer is unref'd and stopped on close.
 */
import type { EventBus, TrimOutcome } from '../../platform/src/events/index.js';
import { type RetentionConfig, cutoff } from '../../platform/src/index.js';
import { LogCode, type Logger } from '../../platform/src/logging/index.js';
import type { ActivationStore } from './store/activationStore.js';
import { type RunTrimOutcome, trimFinishedRuns } from './store/runRetention.js';

export interface RetentionSweepOutcome {
  readonly bus: TrimOutcome;
  readonly runs: RunTrimOutcome;
}

export class RetentionSweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly options: {
      readonly bus: EventBus;
      readonly store: ActivationStore;
      readonly retention: RetentionConfig;
      readonly log: Logger;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.sweep().catch((error: Error) =>
        this.options.log.error(
          { err: error, code: LogCode.PROCESS_FAILED, process: 'retention' },
          `retention sweep failed; next in ${this.options.retention.intervalMs} ms`,
        ),
      );
    }, this.options.retention.intervalMs);
    this.timer.unref();
  }

  /** Trims once, now: what a scheduled sweep does. */
  async sweep(now = Date.now()): Promise<RetentionSweepOutcome> {
    const { bus, store, retention } = this.options;
    const deadLettersBefore = cutoff(retention.deadLetterRetentionMs, now);
    const trimmed = await bus.trimProcessed({ eventsBefore: cutoff(retention.eventRetentionMs, now), deadLettersBefore });
    store.eventDeadLetters.trim(deadLettersBefore.toISOString());
    const runs = trimFinishedRuns(store.sqlite, cutoff(retention.runRetentionMs, now));
    if (trimmed.events + trimmed.deadLetters + runs.runs + runs.runLogs + runs.reconciliationRuns > 0)
      this.options.log.info(
        { process: 'retention', events: trimmed.events, dead_letters: trimmed.deadLetters, ...runs },
        `retention trimmed ${trimmed.events} events, ${trimmed.deadLetters} dead letters, ${runs.runs} runs, ${runs.runLogs} run logs, ${runs.reconciliationRuns} reconciliation runs`,
      );
    return { bus: trimmed, runs };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
