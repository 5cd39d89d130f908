/**
 * Resolvers of the billing subgraph. Arguments are validated at the entry points (ID formats, page sizes, date
 * ranges); everything that reads the billing system goes through the request's DataLoaders, and everything
 * that depends on "today" uses the request's one `today`.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import {
  connection,
  dateRange,
  dayFromIso,
  inputError,
  isCanonicalProjectId,
  isSalesforceId,
  isStripeId,
  money,
  pageRequest,
  requireIdFormat,
  referenceKey,
} from '../../platform/src/index.js';
import type { BillingContext } from './billingLoaders.js';
import type { BillingInvoice, BillingPayment, InvoiceStatus, InvoiceSummaryRecord, ReceivableRecord } from './billingPort.js';

interface InvoiceFilterInput {
  status?: InvoiceStatus[] | null;
  projectId?: string | null;
  accountId?: string | null;
  overdue?: boolean | null;
  partiallyPaid?: boolean | null;
  createdDate?: { from?: string | null; to?: string | null } | null;
  dueDate?: { from?: string | null; to?: string | null } | null;
}

const isInvoiceId = (id: string) => isStripeId(id, 'in');
const isAccountId = (id: string) => isSalesforceId(id, 'Account');

const invoiceId = (argument: string, id: string) => requireIdFormat(argument, id, isInvoiceId, 'a Stripe invoice ID (in_ and 24 letters or digits)');
const projectId = (argument: string, id: string) =>
  requireIdFormat(argument, id, isCanonicalProjectId, 'a canonical project ID (prj_ and a 26-character ULID)');
const accountId = (argument: string, id: string) => requireIdFormat(argument, id, isAccountId, 'an 18-character Salesforce Account ID (prefix 001)');

/** Whole days past the due date on `today`; null unless the invoice is open and past due. */
function daysOverdue(invoice: BillingInvoice, today: string): number | null {
  if (invoice.status !== 'OPEN' || invoice.dueDate === null || invoice.dueDate >= today) return null;
  return dayFromIso(today) - dayFromIso(invoice.dueDate);
}

export const billingResolvers = {
  Query: {
    invoice: (_: unknown, args: { id: string }, { loaders }: BillingContext) => loaders.invoiceById.load(invoiceId('id', args.id)),
    invoices: async (_: unknown, args: { filter?: InvoiceFilterInput | null; first?: number | null; after?: string | null }, { billing, loaders, today }: BillingContext) => {
      const page = pageRequest('invoices', args.first, args.after);
      const filter = args.filter ?? {};
      dateRange('filter.createdDate', filter.createdDate);
      dateRange('filter.dueDate', filter.dueDate);
      const result = await billing.searchInvoices(
        {
          statuses: filter.status,
          projectId: filter.projectId == null ? null : projectId('filter.projectId', filter.projectId),
          crmAccountId: filter.accountId == null ? null : accountId('filter.accountId', filter.accountId),
          overdue: filter.overdue,
          partiallyPaid: filter.partiallyPaid,
          createdFrom: filter.createdDate?.from,
          createdTo: filter.createdDate?.to,
          dueFrom: filter.dueDate?.from,
          dueTo: filter.dueDate?.to,
          asOf: today,
        },
        page,
      );
      for (const invoice of result.rows) loaders.invoiceById.prime(invoice.id, invoice);
      return connection('invoices', page, result.rows, result.totalCount);
    },
  },

  Invoice: {
    __resolveReference: (reference: { id: unknown }, { loaders }: BillingContext) => loaders.invoiceById.load(referenceKey('Invoice', reference.id, isInvoiceId)),
    project: (invoice: BillingInvoice) => ({ id: invoice.projectId }),
    account: (invoice: BillingInvoice) => ({ id: invoice.crmAccountId }),
    subtotal: (invoice: BillingInvoice) => money(invoice.subtotalMinor, invoice.currency),
    tax: (invoice: BillingInvoice) => money(invoice.taxMinor, invoice.currency),
    total: (invoice: BillingInvoice) => money(invoice.totalMinor, invoice.currency),
    // The sandbox applies no customer credit balance, so what is due is the total (Stripe: amount_due).
    amountDue: (invoice: BillingInvoice) => money(invoice.totalMinor, invoice.currency),
    amountPaid: (invoice: BillingInvoice) => money(invoice.amountPaidMinor, invoice.currency),
    amountRemaining: (invoice: BillingInvoice) => money(invoice.totalMinor - invoice.amountPaidMinor, invoice.currency),
    isOverdue: (invoice: BillingInvoice, _: unknown, { today }: BillingContext) => daysOverdue(invoice, today) !== null,
    daysOverdue: (invoice: BillingInvoice, _: unknown, { today }: BillingContext) => daysOverdue(invoice, today),
    isPartiallyPaid: (invoice: BillingInvoice) => invoice.status === 'OPEN' && invoice.amountPaidMinor > 0,
    payments: (invoice: BillingInvoice, _: unknown, { loaders }: BillingContext) => loaders.paymentsByInvoiceId.load(invoice.id),
  },

  Payment: {
    amount: (payment: BillingPayment) => money(payment.amountMinor, payment.currency),
  },

  Project: {
    __resolveReference: (reference: { id: unknown }) => ({ id: referenceKey('Project', reference.id, isCanonicalProjectId) }),
    invoices: async (project: { id: string }, args: { status?: InvoiceStatus[] | null }, { loaders }: BillingContext) => {
      const invoices = await loaders.invoicesByProjectId.load(project.id);
      // Filtered here, not in SQL, so that every status filter in a request shares the one batch per project list.
      return args.status == null ? invoices : invoices.filter((invoice) => args.status!.includes(invoice.status));
    },
    invoiceSummary: async (project: { id: string }, _: unknown, { loaders }: BillingContext) => {
      const summary = await loaders.invoiceSummaryByProjectId.load(project.id);
      // Without a billing profile there is no currency to state the zeros in: say so rather than invent one.
      if (!summary) throw inputError(ErrorCode.NOT_FOUND, `Billing has no billing profile for project ${project.id}.`, { projectId: project.id });
      return summary;
    },
  },

  InvoiceSummary: {
    billed: (summary: InvoiceSummaryRecord) => money(summary.billedMinor, summary.currency),
    paid: (summary: InvoiceSummaryRecord) => money(summary.paidMinor, summary.currency),
    outstanding: (summary: InvoiceSummaryRecord) => money(summary.outstandingMinor, summary.currency),
    overdue: (summary: InvoiceSummaryRecord) => money(summary.overdueMinor, summary.currency),
  },

  Account: {
    __resolveReference: (reference: { id: unknown }) => ({ id: referenceKey('Account', reference.id, isAccountId) }),
    receivables: (account: { id: string }, _: unknown, { loaders }: BillingContext) => loaders.receivablesByAccountId.load(account.id),
  },

  Receivable: {
    outstanding: (receivable: ReceivableRecord) => money(receivable.outstandingMinor, receivable.currency),
    overdue: (receivable: ReceivableRecord) => money(receivable.overdueMinor, receivable.currency),
  },
};
