/**
 * Billing status back to every system: consumes `invoice.posted`, `.paid`, `.voided` and `.marked_uncollectible`
 * in the `billing-status` consumer group and tells
 * - ERP: the invoice and what it bills (its postings and schedule lines marked billed, the job's billings and
 *   payments moved; a voided invoice frees them — and frees the invoicing process's claims, so they bill again);
 * - CRM: the account's receivables (billing's, live) and the invoice's status as its last;
 * - the PSA: the project's billed (billing's) and unbilled (ERP's) amounts and last invoice, and each milestone the
 *   invoice bills, with the invoice.
 * Each write carries the event's instant and the systems keep the newest, so a duplicate, a replay or a late event
 * changes nothing. How far each status got is recorded per system (the "status not yet in CRM or PSA" stuck list
 * reads it). A system whose vendor adapter does not take billing status (SYSTEM_OPERATION_UNSUPPORTED) is noted and
 * skipped; another refusal is a dead letter with its reason; a failure to reach a system is thrown, so the bus
 * delivers the event again.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import type { BusEvent, Consumer, EventBus } from '../../../platform/src/events/index.js';
import { type EventContracts, contractChecked } from '../events/eventContracts.js';
import type { DeadLetters } from '../store/deadLetters.js';
import { SystemCallError } from '../systems/systemClient.js';
import type { InvoicingStore, SyncTarget } from './invoicingStore.js';
import type { BillingInvoiceView, BillingStatus, InvoicingSystems } from './invoicingSystems.js';
import { LogCode, type Logger } from '../../../platform/src/logging/index.js';

export const BILLING_STATUS_CONSUMER_GROUP = 'billing-status';
export const CREDIT_NOTE_EVENT_TYPE = 'credit_note.issued';
export const INVOICE_EVENT_TYPES = ['invoice.posted', 'invoice.paid', 'invoice.voided', 'invoice.marked_uncollectible', CREDIT_NOTE_EVENT_TYPE];

interface InvoiceEventData {
  readonly invoiceId: string;
  readonly projectId: string;
  readonly crmAccountId: string;
  readonly status: BillingStatus;
  readonly currency: string;
  readonly totalMinor: number;
  readonly amountPaidMinor: number;
}

interface CreditNoteEventData {
  readonly creditNoteId: string;
  readonly invoiceId: string;
  readonly projectId: string;
  readonly crmAccountId: string;
  readonly currency: string;
  readonly totalMinor: number;
  readonly issuedAt: string;
  readonly sourceKeys: readonly string[];
}

/** `milestone:<id>:v<n>` → the milestone's ID. */
const MILESTONE_KEY = /^milestone:([^:]+):v\d+$/;

export class InvoiceStatusSync {
  constructor(
    private readonly store: InvoicingStore,
    private readonly systems: InvoicingSystems,
    private readonly log?: Logger,
  ) {}

  async handle(event: BusEvent): Promise<void> {
    if (event.type === CREDIT_NOTE_EVENT_TYPE) return this.creditNote(event);
    const data = event.data as unknown as InvoiceEventData;
    const asOf = event.occurredAt;
    this.store.syncSeen({
      invoiceId: data.invoiceId,
      status: data.status,
      eventId: event.id,
      occurredAt: asOf,
      projectId: data.projectId,
      accountId: data.crmAccountId,
    });
    if (data.status === 'VOID') this.store.voided(data.invoiceId);
    const invoice = await this.systems.invoice(data.invoiceId);
    if (!invoice) throw new Error(`billing does not know invoice ${data.invoiceId} named by event ${event.id}`);
    // The event's status and amount paid are what this event reports; the invoice may have moved on since.
    const reached = (target: SyncTarget, skipped?: string) => this.store.syncReached(data.invoiceId, data.status, target, skipped);

    await this.systems.recordInErp(invoice, data.status, asOf, data.amountPaidMinor);
    reached('erp');
    await this.tellCrmAndPsa(invoice, data.status, asOf, reached);
  }

  /**
   * A credit note: ERP records it against its invoice (the job's billings fall), and CRM and the PSA get the
   * account's receivables and the project's billed amount as billing now has them, with the invoice's status.
   */
  private async creditNote(event: BusEvent): Promise<void> {
    const data = event.data as unknown as CreditNoteEventData;
    const status = `CREDIT_NOTE ${data.creditNoteId}`;
    this.store.syncSeen({
      invoiceId: data.invoiceId,
      status,
      eventId: event.id,
      occurredAt: event.occurredAt,
      projectId: data.projectId,
      accountId: data.crmAccountId,
    });
    const reached = (target: SyncTarget, skipped?: string) => this.store.syncReached(data.invoiceId, status, target, skipped);
    try {
      await this.systems.recordCreditNoteInErp({ ...data, date: data.issuedAt.slice(0, 10) });
    } catch (error) {
      // Its invoice's status event is processed first in the log's order; should it not be yet, try again later.
      if (error instanceof SystemCallError && error.code === ErrorCode.NOT_FOUND)
        throw new Error(`ERP has not recorded invoice ${data.invoiceId} yet: ${error.message}`, { cause: error });
      throw error;
    }
    reached('erp');
    const invoice = await this.systems.invoice(data.invoiceId);
    if (!invoice) throw new Error(`billing does not know invoice ${data.invoiceId} named by event ${event.id}`);
    await this.tellCrmAndPsa(invoice, invoice.status, event.occurredAt, reached);
  }

  private async tellCrmAndPsa(
    invoice: BillingInvoiceView,
    status: BillingStatus,
    asOf: string,
    reached: (target: SyncTarget, skipped?: string) => void,
  ): Promise<void> {
    const view = await this.systems.billingView(invoice.accountId, invoice.projectId);
    await this.tell('crm', reached, () => this.systems.recordInCrm({ accountId: invoice.accountId, asOf, receivables: view.receivables, invoice, status }));

    const position = await this.systems.position(invoice.projectId);
    await this.tell('psa', reached, async () => {
      await this.systems.recordProjectInPsa({
        projectId: invoice.projectId,
        asOf,
        currency: invoice.currency,
        billedMinor: view.billedMinor ?? 0,
        unbilledMinor: position?.unbilledMinor ?? 0,
        invoice,
        status,
      });
      for (const key of invoice.sourceKeys) {
        const milestone = MILESTONE_KEY.exec(key);
        if (milestone) await this.systems.recordMilestoneInPsa({ milestoneId: milestone[1]!, asOf, invoice, status });
      }
    });
  }

  private async tell(target: SyncTarget, reached: (target: SyncTarget, skipped?: string) => void, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
      reached(target);
    } catch (error) {
      if (error instanceof SystemCallError && error.code === ErrorCode.SYSTEM_OPERATION_UNSUPPORTED) {
        reached(target, `${target}: ${error.message}`);
        this.log?.info({ consumer: 'billing-status', system: target }, `${target} does not take billing status: ${error.message}`);
        return;
      }
      throw error;
    }
  }
}

export interface InvoiceEventsConsumerOptions {
  readonly bus: EventBus;
  readonly sync: InvoiceStatusSync;
  readonly deadLetters: DeadLetters;
  readonly contracts: EventContracts;
  readonly consumer: string;
  readonly log?: Logger;
}

export function consumeInvoiceEvents(options: InvoiceEventsConsumerOptions): Consumer {
  const handle = contractChecked(
    { contracts: options.contracts, deadLetters: options.deadLetters, log: options.log, name: 'billing-status' },
    async (event) => {
      try {
        await options.sync.handle(event);
      } catch (error) {
        // A refusal will not change on redelivery: it is recorded with its reason for an operator, not retried.
        if (!(error instanceof SystemCallError) || error.transient) throw error;
        options.deadLetters.record({
          eventId: event.id,
          type: event.type,
          reason: `${error.system} refused: ${error.code} ${error.message}`,
          payload: JSON.stringify(event),
        });
        options.log?.warn(
          { code: LogCode.EVENT_DEAD_LETTERED, consumer: 'billing-status', event_id: event.id, event_type: event.type, error_code: error.code },
          `dead-lettered ${event.type} ${event.id}: ${error.message}`,
        );
      }
    },
  );
  return options.bus.consume({ group: BILLING_STATUS_CONSUMER_GROUP, consumer: options.consumer, types: INVOICE_EVENT_TYPES, handler: handle });
}
