/**
 * A job's contract terms as activation writes them over NetSuite, in the records the firm keeps them in
 * (`PSGRAPH_NETSUITE_CONTRACT_RATES`, `PSGRAPH_NETSUITE_PURCHASE_ORDERS`), as the sandbox writes them: a new job's
 * rates are its rate card's lines from the contract's start with the deal's negotiated rates in place of those
 * roles'; an existing job gets the negotiated ones only; a new job with a required PO gets its PO (the contract's
 * value, valid a quarter past its end). Every write is an upsert by external ID, so it is safe to send again.
 */
import type { JobUpsert } from '../erpPort.js';
import type { ErpPurchaseOrder } from '../erpPostingsPort.js';
import { type NetSuiteClient, suiteQlLiteral as literal } from './netsuiteClient.js';
import type { NetSuitePostingsMapping } from './netsuitePostings.js';
import { CUSTOM, RATE_CARD_LINE_SELECT, decimalAmount, toRateCardLine } from './netsuiteRecords.js';

export type NewPurchaseOrder = Pick<ErpPurchaseOrder, 'number' | 'expiresOn' | 'amountMinor'>;

/** How long a deal's PO runs past the contract's end. */
const PO_DAYS_PAST_END = 90;

const eid = (externalId: string) => `eid:${encodeURIComponent(externalId)}`;
const reference = (id: number) => ({ id: String(id) });

export class NetSuiteContractTerms {
  constructor(
    private readonly netsuite: NetSuiteClient,
    private readonly mapping: Pick<NetSuitePostingsMapping, 'contractRates' | 'purchaseOrders'>,
  ) {}

  /** The purchase order a new job gets, if its deal requires one and names it. */
  purchaseOrderOf(upsert: JobUpsert): NewPurchaseOrder | null {
    if (!upsert.poRequired || !upsert.poNumber || upsert.valueMinor <= 0) return null;
    const expires = new Date(`${upsert.endDate}T00:00:00Z`);
    expires.setUTCDate(expires.getUTCDate() + PO_DAYS_PAST_END);
    return { number: upsert.poNumber, expiresOn: expires.toISOString().slice(0, 10), amountMinor: upsert.valueMinor };
  }

  /** The job's own fields that hold its PO, when the firm keeps POs on the job. */
  jobFields(order: NewPurchaseOrder | null): Record<string, unknown> {
    const { record, fields } = this.mapping.purchaseOrders;
    if (!order || record !== 'job') return {};
    return { [fields.number]: order.number, [fields.expires]: order.expiresOn, [fields.amount]: decimalAmount(order.amountMinor) };
  }

  /** The job's contract rates (`eid:<projectId>:<role>:<from>`), and its PO record (`eid:<projectId>`) where POs are records. */
  async write(upsert: JobUpsert, jobId: number, rateCardId: number | null, order: NewPurchaseOrder | null): Promise<void> {
    const rates = new Map<string, number>();
    if (rateCardId !== null) {
      const lines = await this.netsuite.suiteql('upsertJob', `${RATE_CARD_LINE_SELECT} WHERE l.${CUSTOM.lineRateCard} = ${literal(rateCardId)}`);
      for (const line of lines.map(toRateCardLine)) rates.set(line.role, line.billRateMinor);
    }
    for (const rate of upsert.contractRates ?? []) rates.set(rate.role, rate.billRateMinor);
    const { contractRates, purchaseOrders } = this.mapping;
    await Promise.all(
      [...rates].map(([role, billRateMinor]) =>
        this.netsuite.record('upsertJob', true, 'PUT', `${contractRates.record}/${eid(`${upsert.externalId}:${role}:${upsert.startDate}`)}`, {
          name: `${role} from ${upsert.startDate}`,
          [contractRates.fields.job]: reference(jobId),
          [contractRates.fields.role]: role,
          [contractRates.fields.from]: upsert.startDate,
          [contractRates.fields.rate]: decimalAmount(billRateMinor),
        }),
      ),
    );
    if (order && purchaseOrders.record !== 'job') {
      const { record, fields } = purchaseOrders;
      await this.netsuite.record('upsertJob', true, 'PUT', `${record}/${eid(upsert.externalId)}`, {
        name: order.number,
        [fields.job]: reference(jobId),
        [fields.number]: order.number,
        [fields.expires]: order.expiresOn,
        [fields.amount]: decimalAmount(order.amountMinor),
      });
    }
  }

  /** The record paths (`<record>/<id>`) of the job's contract rates and PO record: they go when the job goes. */
  async recordsOf(jobId: number): Promise<string[]> {
    const { contractRates, purchaseOrders } = this.mapping;
    const owned = await Promise.all(
      [contractRates, ...(purchaseOrders.record === 'job' ? [] : [purchaseOrders])].map(async ({ record, fields }) =>
        (await this.netsuite.suiteql('deleteJob', `SELECT r.id FROM ${record} r WHERE r.${fields.job} = ${literal(jobId)} ORDER BY r.id`)).map(
          (row) => `${record}/${row['id']}`,
        ),
      ),
    );
    return owned.flat();
  }
}
