/**
 * The billing half of a project's reconciliation: billing's invoices (with the postings each line bills) against
 * ERP's record of them and its postings. Differences: a source on two live invoices, an invoice whose status ERP
 * does not have (or has another), a line billing another amount than ERP posted, and the project's billed totals
 * disagreeing between billing and ERP.
 */
import { formatMinor, parseMinor } from '../../../platform/src/index.js';
import type { Difference } from '../posting/reconciliation.js';
import type { CallSite } from '../systems/faults.js';
import type { SystemClient } from '../systems/systemClient.js';

interface BillingInvoicesAnswer {
  invoices: {
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    nodes: Array<{
      id: string;
      number: string | null;
      status: string;
      total: { amount: string; currency: string };
      lines: Array<{ sourceKey: string | null; amount: { amount: string } }>;
    }>;
  };
}

interface ErpAnswer {
  erpInvoices: Array<{ invoiceId: string; status: string; total: { amount: string } }>;
  erpDeliveryPostings: Array<{ externalId: string; billableAmount: { amount: string } }>;
}

export interface BillingTotals {
  readonly invoices: number;
  /** The invoices' currency; null when there are none. */
  readonly currency: string | null;
  /** Finalized, not voided invoices of billing that bill postings or schedule lines: their totals. */
  readonly billingBilledMinor: number;
  /** What ERP recorded as billed from billing's events. */
  readonly erpBilledMinor: number;
}

const site = (system: CallSite['system'], operationName: string): CallSite => ({ system, operationName, step: null, phase: 'read', runId: null });
const LIVE = new Set(['OPEN', 'PAID', 'UNCOLLECTIBLE']);

export async function reconcileBilling(projectId: string, client: SystemClient): Promise<{ totals: BillingTotals; differences: Difference[] }> {
  const [invoices, erp] = await Promise.all([
    invoicesOf(projectId, client),
    client.request<ErpAnswer>({
      site: site('erp', 'ReconcileErpBilling'),
      query: `query ReconcileErpBilling($p: ID!) {
        erpInvoices(projectId: $p) { invoiceId status total { amount } }
        erpDeliveryPostings(projectId: $p) { externalId billableAmount { amount } }
      }`,
      variables: { p: projectId },
    }),
  ]);
  // Only what psgraph invoiced (lines that name their source) is reconciled: the rest predates it.
  const traced = invoices.filter((invoice) => invoice.lines.some((line) => line.sourceKey !== null));
  const erpInvoices = new Map(erp.erpInvoices.map((invoice) => [invoice.invoiceId, invoice]));
  const posted = new Map(erp.erpDeliveryPostings.map((posting) => [posting.externalId, parseMinor(posting.billableAmount.amount)]));
  const differences: Difference[] = [];
  const billedBy = new Map<string, string[]>();
  let billingBilledMinor = 0;

  for (const invoice of traced) {
    const record = `invoice ${invoice.number ?? invoice.id}`;
    const live = LIVE.has(invoice.status);
    if (live) billingBilledMinor += parseMinor(invoice.total.amount);
    const inErp = erpInvoices.get(invoice.id);
    if (invoice.status !== 'DRAFT' && (!inErp || inErp.status !== invoice.status)) {
      differences.push({
        type: 'INVOICE_STATUS_NOT_IN_ERP',
        sourceKey: null,
        psaRecord: record,
        psa: null,
        process: null,
        erp: inErp?.status ?? null,
        billing: invoice.status,
        detail: `Billing has ${invoice.id} ${invoice.status}; ERP ${inErp ? `has it ${inErp.status}` : 'has no record of it'} (its status event has not been applied).`,
      });
    }
    for (const line of invoice.lines) {
      if (line.sourceKey === null) continue;
      if (live) billedBy.set(line.sourceKey, [...(billedBy.get(line.sourceKey) ?? []), invoice.id]);
      const amount = parseMinor(line.amount.amount);
      const erpAmount = posted.get(line.sourceKey);
      if (erpAmount !== undefined && erpAmount !== amount) {
        differences.push({
          type: 'BILLED_AMOUNT_DIFFERS',
          sourceKey: line.sourceKey,
          psaRecord: record,
          psa: null,
          process: null,
          erp: `billable ${formatMinor(erpAmount)}`,
          billing: `billed ${formatMinor(amount)}`,
          detail: 'The invoice line bills another amount than ERP posted.',
        });
      }
    }
  }
  for (const [sourceKey, ids] of billedBy) {
    if (ids.length < 2) continue;
    differences.push({
      type: 'BILLED_TWICE',
      sourceKey,
      psaRecord: `invoices ${ids.join(', ')}`,
      psa: null,
      process: null,
      erp: null,
      billing: `on ${ids.length} live invoices`,
      detail: 'One posting is billed by more than one live invoice: credit or void all but one.',
    });
  }
  const erpBilledMinor = erp.erpInvoices.filter((invoice) => LIVE.has(invoice.status)).reduce((sum, invoice) => sum + parseMinor(invoice.total.amount), 0);
  if (erpBilledMinor !== billingBilledMinor) {
    differences.push({
      type: 'BILLED_TOTAL_DIFFERS',
      sourceKey: null,
      psaRecord: `project ${projectId}`,
      psa: null,
      process: null,
      erp: `billed ${formatMinor(erpBilledMinor)}`,
      billing: `billed ${formatMinor(billingBilledMinor)}`,
      detail: 'ERP and billing disagree on what psgraph has billed for the project.',
    });
  }
  return { totals: { invoices: traced.length, currency: traced[0]?.total.currency ?? null, billingBilledMinor, erpBilledMinor }, differences };
}

async function invoicesOf(projectId: string, client: SystemClient): Promise<BillingInvoicesAnswer['invoices']['nodes']> {
  const nodes: BillingInvoicesAnswer['invoices']['nodes'] = [];
  let after: string | null = null;
  for (;;) {
    const answer: BillingInvoicesAnswer = await client.request<BillingInvoicesAnswer>({
      site: site('billing', 'ReconcileInvoices'),
      query: `query ReconcileInvoices($p: ID!, $after: String) {
        invoices(filter: { projectId: $p }, first: 100, after: $after) {
          pageInfo { hasNextPage endCursor } nodes { id number status total { amount currency } lines { sourceKey amount { amount } } }
        }
      }`,
      variables: { p: projectId, after },
    });
    nodes.push(...answer.invoices.nodes);
    if (!answer.invoices.pageInfo.hasNextPage) return nodes;
    after = answer.invoices.pageInfo.endCursor;
  }
}
