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
import type { BillingInvoice } from './billingPort.js';
import type { Resolvers } from './generated/resolverTypes.js';

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

export const billingResolvers: Resolvers = {
  Query: {
    invoice: (_, args, { loaders }) => loaders.invoiceById.load(invoiceId('id', args.id)),
    invoices: async (_, args, { billing, loaders, today }) => {
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
    __resolveReference: (reference, { loaders }) => loaders.invoiceById.load(referenceKey('Invoice', reference.id, isInvoiceId)),
    project: (invoice) => ({ id: invoice.projectId }),
    account: (invoice) => ({ id: invoice.crmAccountId }),
    subtotal: (invoice) => money(invoice.subtotalMinor, invoice.currency),
    tax: (invoice) => money(invoice.taxMinor, invoice.currency),
    total: (invoice) => money(invoice.totalMinor, invoice.currency),
    // The total less credit notes issued before payment (Stripe: amount_due); no customer credit balance is applied.
    amountDue: (invoice) => money(invoice.amountDueMinor, invoice.currency),
    amountPaid: (invoice) => money(invoice.amountPaidMinor, invoice.currency),
    amountRemaining: (invoice) => money(invoice.amountDueMinor - invoice.amountPaidMinor, invoice.currency),
    isOverdue: (invoice, _, { today }) => daysOverdue(invoice, today) !== null,
    daysOverdue: (invoice, _, { today }) => daysOverdue(invoice, today),
    isPartiallyPaid: (invoice) => invoice.status === 'OPEN' && invoice.amountPaidMinor > 0,
    payments: (invoice, _, { loaders }) => loaders.paymentsByInvoiceId.load(invoice.id),
    lines: async (invoice, _, { loaders }) => (await loaders.invoiceLinesByInvoiceId.load(invoice.id)).map((line) => ({ ...line, currency: invoice.currency })),
    creditNotes: (invoice, _, { loaders }) => loaders.creditNotesByInvoiceId.load(invoice.id),
  },

  CreditNote: {
    invoice: async (creditNote, _, { loaders }) => {
      const invoice = await loaders.invoiceById.load(creditNote.invoiceId);
      if (!invoice) throw inputError(ErrorCode.NOT_FOUND, `Invoice ${creditNote.invoiceId} no longer exists.`, { invoiceId: creditNote.invoiceId });
      return invoice;
    },
    total: (creditNote) => money(creditNote.totalMinor, creditNote.currency),
    lines: (creditNote) => creditNote.lines.map((line) => ({ ...line, currency: creditNote.currency })),
  },

  CreditNoteLine: {
    amount: (line) => money(line.amountMinor, line.currency),
  },

  InvoiceLine: {
    amount: (line) => money(line.amountMinor, line.currency),
  },

  Payment: {
    amount: (payment) => money(payment.amountMinor, payment.currency),
  },

  Project: {
    __resolveReference: (reference) => ({ id: referenceKey('Project', reference.id, isCanonicalProjectId) }),
    invoices: async (project, args, { loaders }) => {
      const invoices = await loaders.invoicesByProjectId.load(project.id);
      // Filtered here, not in SQL, so that every status filter in a request shares the one batch per project list.
      return args.status == null ? invoices : invoices.filter((invoice) => args.status!.includes(invoice.status));
    },
    invoiceSummary: async (project, _, { loaders }) => {
      const summary = await loaders.invoiceSummaryByProjectId.load(project.id);
      // Without a billing profile there is no currency to state the zeros in: say so rather than invent one.
      if (!summary) throw inputError(ErrorCode.NOT_FOUND, `Billing has no billing profile for project ${project.id}.`, { projectId: project.id });
      return summary;
    },
  },

  InvoiceSummary: {
    billed: (summary) => money(summary.billedMinor, summary.currency),
    paid: (summary) => money(summary.paidMinor, summary.currency),
    outstanding: (summary) => money(summary.outstandingMinor, summary.currency),
    overdue: (summary) => money(summary.overdueMinor, summary.currency),
  },

  Account: {
    __resolveReference: (reference) => ({ id: referenceKey('Account', reference.id, isAccountId) }),
    receivables: (account, _, { loaders }) => loaders.receivablesByAccountId.load(account.id),
  },

  Receivable: {
    outstanding: (receivable) => money(receivable.outstandingMinor, receivable.currency),
    overdue: (receivable) => money(receivable.overdueMinor, receivable.currency),
  },
};
