/**
 * Billing as one caller may see it (row-level access, enforced here where the data lives): a client user reads
 * only its own accounts' invoices, payments, receivables and project roll-ups — by ID, in searches, through
 * entity references and in subscriptions — and changes none; invoice state changes and credit notes are for staff, and creating
 * invoices is the process layer's own write (its invoice runs), as ERP's postings are.
 */
import { type Caller, accountsInScope, isClient, mayReadAccount, readable, readableLists, requireProcess, requireStaff } from '../../platform/src/index.js';
import type { BillingSystem } from './billingPort.js';

export function billingFor(caller: Caller, billing: BillingSystem): BillingSystem {
  const staffWrite = <T>(what: string, change: () => Promise<T>): Promise<T> => {
    requireStaff(caller, what);
    return change();
  };
  const staff: BillingSystem = {
    invoicesById: (ids) => billing.invoicesById(ids),
    invoicesByProjectId: (ids) => billing.invoicesByProjectId(ids),
    paymentsByInvoiceId: (ids) => billing.paymentsByInvoiceId(ids),
    invoiceLinesByInvoiceId: (ids) => billing.invoiceLinesByInvoiceId(ids),
    creditNotesByInvoiceId: (ids) => billing.creditNotesByInvoiceId(ids),
    invoiceSummariesByProjectId: (ids, asOf) => billing.invoiceSummariesByProjectId(ids, asOf),
    receivablesByAccountId: (ids, asOf) => billing.receivablesByAccountId(ids, asOf),
    searchInvoices: (search, page) => billing.searchInvoices(search, page),
    today: () => billing.today(),
    createInvoice: async (draft) => {
      requireProcess(caller, 'Creating an invoice');
      return billing.createInvoice(draft);
    },
    finalizeInvoice: (id) => staffWrite('Finalizing an invoice', () => billing.finalizeInvoice(id)),
    payInvoice: (id, amountMinor) => staffWrite('Recording a payment', () => billing.payInvoice(id, amountMinor)),
    voidInvoice: (id) => staffWrite('Voiding an invoice', () => billing.voidInvoice(id)),
    markUncollectible: (id) => staffWrite('Writing an invoice off', () => billing.markUncollectible(id)),
    issueCreditNote: (draft) => staffWrite('Issuing a credit note', () => billing.issueCreditNote(draft)),
  };
  if (!isClient(caller)) return staff;
  return {
    ...staff,
    invoicesById: async (ids) => readable(caller, await billing.invoicesById(ids), (invoice) => invoice.crmAccountId),
    invoicesByProjectId: async (ids) => readableLists(caller, await billing.invoicesByProjectId(ids), (invoice) => invoice.crmAccountId),
    // Reached from an invoice the caller may read; checked again here, as a port reached directly is no way around it.
    invoiceLinesByInvoiceId: async (ids) => {
      const own = readable(caller, await billing.invoicesById(ids), (invoice) => invoice.crmAccountId);
      return billing.invoiceLinesByInvoiceId(ids.filter((id) => own.has(id)));
    },
    creditNotesByInvoiceId: async (ids) => {
      const own = readable(caller, await billing.invoicesById(ids), (invoice) => invoice.crmAccountId);
      return billing.creditNotesByInvoiceId(ids.filter((id) => own.has(id)));
    },
    invoiceSummariesByProjectId: async (ids, asOf) => {
      // A project's roll-up is the caller's when the project has invoices and every one is to its own accounts.
      const invoices = await billing.invoicesByProjectId(ids);
      const own = ids.filter((id) => {
        const list = invoices.get(id) ?? [];
        return list.length > 0 && list.every((invoice) => mayReadAccount(caller, invoice.crmAccountId));
      });
      return billing.invoiceSummariesByProjectId(own, asOf);
    },
    receivablesByAccountId: (ids, asOf) =>
      billing.receivablesByAccountId(
        ids.filter((id) => mayReadAccount(caller, id)),
        asOf,
      ),
    searchInvoices: (search, page) => billing.searchInvoices({ ...search, crmAccountIds: accountsInScope(caller, search.crmAccountId) ?? null }, page),
  };
}
