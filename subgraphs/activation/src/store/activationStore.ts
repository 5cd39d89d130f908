/**
 * The activation subgraph's own store (SQLite): runs, their step log and status history, idempotency keys, the
 * ID cross-reference, the exception queue, dead letters and the outbox of events to publish. Every change a
 * saga step makes here is one transaction, so a crash leaves either the state before it or the state after it,
 * never half of each; the events a change produces are in the same transaction (outbox), so they are published
 * exactly when the change is committed. Each part lives in its own file; they share one SQLite connection, so
 * a change may span them inside `sqlite.transaction`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OUTBOX_DDL } from '../../../platform/src/events/index.js';
import { SqliteStore, hasColumn } from '../../../platform/src/index.js';
import { CashFigures } from '../invoicing/cashFigures.js';
import { InvoicingStore } from '../invoicing/invoicingStore.js';
import { PostingStore } from '../posting/postingStore.js';
import { ACTIVATION_DDL } from './activationSchema.js';
import { DeadLetters } from './deadLetters.js';
import { EventDeadLetterAudit } from './eventDeadLetterAudit.js';
import { ExceptionJournal } from './exceptionJournal.js';
import { ExceptionQueue } from './exceptionQueue.js';
import { RunStore } from './runStore.js';
import { StepLog } from './stepLog.js';

export type * from './activationRecords.js';

export class ActivationStore {
  readonly sqlite: SqliteStore;
  readonly runs: RunStore;
  readonly steps: StepLog;
  readonly exceptions: ExceptionQueue;
  /** Who assigned, noted, retried or waived each exception, and when. */
  readonly exceptionJournal: ExceptionJournal;
  readonly deadLetters: DeadLetters;
  /** Who replayed which of the event bus's dead letters, and what was sent. */
  readonly eventDeadLetters: EventDeadLetterAudit;
  /** The posting process's lines and billing exceptions. */
  readonly postings: PostingStore;
  /** The invoicing process's runs, planned invoices, claims and status sync. */
  readonly invoicing: InvoicingStore;
  /** Project-to-cash figures and stuck lists, and the staffing events they read. */
  readonly cashFigures: CashFigures;

  constructor(file: string, options: { now?: () => Date } = {}) {
    mkdirSync(join(file, '..'), { recursive: true });
    this.sqlite = new SqliteStore(file);
    this.sqlite.exec(ACTIVATION_DDL);
    this.sqlite.exec(OUTBOX_DDL);
    // Stores from before tracing: their runs continue no trace.
    if (!hasColumn(this.sqlite, 'activation_run', 'trace_parent')) this.sqlite.exec('ALTER TABLE activation_run ADD COLUMN trace_parent TEXT');
    const now = options.now ?? (() => new Date());
    const iso = () => now().toISOString();
    this.runs = new RunStore(this.sqlite, iso, now);
    this.steps = new StepLog(this.sqlite, iso, this.runs);
    this.exceptions = new ExceptionQueue(this.sqlite, iso);
    this.exceptionJournal = new ExceptionJournal(this.sqlite, iso);
    this.deadLetters = new DeadLetters(this.sqlite, iso);
    this.eventDeadLetters = new EventDeadLetterAudit(this.sqlite, iso);
    this.postings = new PostingStore(this.sqlite, iso);
    this.invoicing = new InvoicingStore(this.sqlite, iso);
    this.cashFigures = new CashFigures(this.sqlite);
  }

  get statementCount(): number {
    return this.sqlite.statementCount;
  }

  close(): void {
    this.sqlite.close();
  }
}

/** Opens (creating on first use) the activation store in `dataDir/activation.db`. */
export function openActivationStore(dataDir: string, options: { now?: () => Date } = {}): ActivationStore {
  return new ActivationStore(join(dataDir, 'activation.db'), options);
}
