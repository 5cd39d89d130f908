/**
 * Invoice runs: what ERP says is due up to a day becomes draft invoices in billing, which are then finalized (billing
 * publishes `invoice.posted`). Every due posting and schedule line of a project goes on that project's invoice, one
 * line per source, at most 250 lines per invoice (Stripe's limit; more make further invoices).
 *
 * Exactly once: planning claims each source in the process's store (one claim per source), so a second run — or
 * the same run after a crash — plans nothing already planned; each invoice is created under its own idempotency key,
 * so creating it again after a lost answer returns the same invoice. A run interrupted anywhere is carried on by
 * `resume()` (at start-up and before every run). A refusal by billing fails that invoice alone and frees its
 * sources; a failure to reach billing leaves it to be carried on.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { formatMinor } from '../../../platform/src/index.js';
import { SystemCallError } from '../systems/systemClient.js';
import type { InvoiceRunRecord, InvoicingStore, PlannedInvoice, PlannedLine, RunInvoiceRecord } from './invoicingStore.js';
import type { BillablePosting, ContractType, InvoicingSystems, ProjectBillables } from './invoicingSystems.js';
import { LogCode, type Logger, withLogContext } from '../../../platform/src/logging/index.js';

/** Stripe's limit on an invoice's line items. */
export const MAX_INVOICE_LINES = 250;

const CONTRACT_LABEL: Record<ContractType, string> = {
  TIME_AND_MATERIALS: 'Time and materials',
  FIXED_FEE: 'Fixed fee',
  MILESTONE: 'Milestones',
  RETAINER: 'Retainer',
};

export interface InvoiceRunRequest {
  /** The last day the run bills: time and expenses dated up to it, instalments due by it, next month's retainers. */
  readonly periodEnd: string;
  /** Only these projects (all with something due when null). */
  readonly projectIds: readonly string[] | null;
  readonly requestedBy: string;
}

export interface InvoiceRunOutcome {
  /** Null for a preview. */
  readonly run: InvoiceRunRecord | null;
  readonly invoices: ReadonlyArray<RunInvoiceRecord | (PlannedInvoice & { readonly totalMinor: number })>;
}

function describePosting(posting: BillablePosting): string {
  switch (posting.kind) {
    case 'TIME':
      return `${posting.date} · ${posting.item ?? 'Time'} · ${((posting.minutes ?? 0) / 60).toFixed(2)} h at ${formatMinor(posting.rateMinor ?? 0)}`;
    case 'EXPENSE':
      return `${posting.date} · Expense · ${posting.item ?? 'other'}`;
    case 'MILESTONE':
      return `${posting.date} · Milestone · ${posting.memo}`;
  }
}

/** The invoices a project's due items make, before keys: one line per source, split at the line limit. */
export function invoicesFor(project: ProjectBillables, claimed: ReadonlySet<string>): Array<Omit<PlannedInvoice, 'key'>> {
  const dated: Array<PlannedLine & { date: string }> = [
    ...project.postings.map((posting) => ({
      sourceKey: posting.externalId,
      description: describePosting(posting),
      amountMinor: posting.billableMinor,
      date: posting.date,
    })),
    ...project.scheduleLines.map((line) => ({
      sourceKey: line.sourceKey,
      description: `${line.date} · ${line.description}`,
      amountMinor: line.amountMinor,
      date: line.date,
    })),
  ].filter((line) => line.amountMinor > 0 && !claimed.has(line.sourceKey));
  dated.sort((a, b) => a.date.localeCompare(b.date) || a.sourceKey.localeCompare(b.sourceKey));
  const invoices: Array<Omit<PlannedInvoice, 'key'>> = [];
  for (let start = 0; start < dated.length; start += MAX_INVOICE_LINES) {
    const chunk = dated.slice(start, start + MAX_INVOICE_LINES);
    const first = chunk[0]!.date;
    const last = chunk[chunk.length - 1]!.date;
    invoices.push({
      projectId: project.projectId,
      currency: project.currency,
      description: `${CONTRACT_LABEL[project.contractType]} · ${first} to ${last}`,
      servicePeriodStart: first,
      servicePeriodEnd: last,
      lines: chunk.map(({ sourceKey, description, amountMinor }) => ({ sourceKey, description, amountMinor })),
    });
  }
  return invoices;
}

export interface InvoicerOptions {
  readonly store: InvoicingStore;
  readonly systems: InvoicingSystems;
  readonly log?: Logger;
}

export class Invoicer {
  /** Runs and resumptions go one at a time in this process; the claims keep other processes' runs apart. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: InvoicerOptions) {}

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** ERP's unbilled work in progress, live. */
  unbilledWip() {
    return this.options.systems.unbilledWip();
  }

  /** What a run would invoice now, without writing anything. */
  async preview(request: InvoiceRunRequest): Promise<InvoiceRunOutcome> {
    const invoices = await this.plan(request);
    return {
      run: null,
      invoices: invoices.map((invoice, i) => ({
        ...invoice,
        key: `preview:${i + 1}`,
        totalMinor: invoice.lines.reduce((sum, line) => sum + line.amountMinor, 0),
      })),
    };
  }

  run(request: InvoiceRunRequest): Promise<InvoiceRunOutcome> {
    return this.serially(async () => {
      await this.resumeNow();
      const { run, planned } = this.options.store.startRun(request.periodEnd, request.requestedBy, await this.plan(request));
      this.options.log?.info({ run_id: run.id, process: 'invoicing', period_end: request.periodEnd, invoices: planned.length }, 'invoice run started');
      for (const invoice of planned) await this.complete(invoice);
      const finished = this.options.store.finishRun(run.id);
      this.options.log?.info({ run_id: run.id, process: 'invoicing' }, 'invoice run finished');
      return { run: finished, invoices: this.options.store.invoicesOfRun(run.id) };
    });
  }

  /** Carries on every invoice planned or created but not finalized (after a crash or a failure to reach billing). */
  resume(): Promise<number> {
    return this.serially(() => this.resumeNow());
  }

  private async resumeNow(): Promise<number> {
    const unfinished = this.options.store.unfinished();
    for (const invoice of unfinished) await this.complete(invoice);
    for (const runId of new Set(unfinished.map((invoice) => invoice.runId))) this.options.store.finishRun(runId);
    return unfinished.length;
  }

  private async plan(request: InvoiceRunRequest): Promise<Array<Omit<PlannedInvoice, 'key'>>> {
    const billables = await this.options.systems.billables(request.periodEnd, request.projectIds);
    const claimed = this.options.store.claimed(
      billables.flatMap((project) => [...project.postings.map((p) => p.externalId), ...project.scheduleLines.map((l) => l.sourceKey)]),
    );
    return billables.flatMap((project) => invoicesFor(project, claimed));
  }

  /** Creates and finalizes one invoice of a run; what it logs carries the run's ID. */
  private complete(invoice: RunInvoiceRecord): Promise<void> {
    return withLogContext({ run_id: invoice.runId }, () => this.completeInRun(invoice));
  }

  private async completeInRun(invoice: RunInvoiceRecord): Promise<void> {
    const { store, systems } = this.options;
    try {
      const created = await systems.createInvoice(invoice);
      store.created(invoice.key, created.id);
      if (created.status !== 'DRAFT') {
        store.finalized(invoice.key, created.number);
        return;
      }
      try {
        const finalized = await systems.finalize(created.id);
        store.finalized(invoice.key, finalized.number);
      } catch (error) {
        // Another process (or this one, before a crash) finalized it meanwhile: that is the outcome wanted.
        if (!(error instanceof SystemCallError) || error.code !== ErrorCode.INVALID_STATE_TRANSITION) throw error;
        const now = await systems.invoice(created.id);
        if (!now || now.status === 'DRAFT') throw error;
        store.finalized(invoice.key, now.number);
      }
    } catch (error) {
      if (error instanceof SystemCallError && !error.transient) {
        store.failed(invoice.key, error.code, error.message);
        this.options.log?.warn(
          { code: LogCode.PROCESS_FAILED, process: 'invoicing', invoice_key: invoice.key, error_code: error.code },
          `billing refused invoice ${invoice.key}: ${error.message}`,
        );
        return;
      }
      this.options.log?.warn({ err: error, process: 'invoicing', invoice_key: invoice.key }, `invoice ${invoice.key} left to resume`);
    }
  }
}
