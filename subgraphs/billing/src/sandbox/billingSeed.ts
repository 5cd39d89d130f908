/** Seeds a fresh billing sandbox from the deterministic world's billing plan. */
import { type SqliteStore, isoFromDay } from '../../../platform/src/index.js';
import { planProjectBilling } from '../../../sandboxes/src/world/billing.js';
import { generateProjectTime } from '../../../sandboxes/src/world/time.js';
import { type World, billingCustomerIdOf } from '../../../sandboxes/src/world/world.js';

export const invoiceNumber = (prefix: string, sequence: number) => `${prefix}-${String(sequence).padStart(3, '0')}`;

/**
 * Seeds from the world's billing plan. Paid and partly paid invoices are written open and then paid through
 * their payment, so the seed passes through the same triggers as every later payment does.
 */
export function seedBilling(store: SqliteStore, world: World): void {
  const insertCustomer = store.prepare('INSERT INTO customer (id, crm_account_id, name, currency, days_until_due) VALUES (?, ?, ?, ?, ?)');
  for (const account of world.accounts) {
    const customerId = billingCustomerIdOf(world, account);
    if (customerId !== null) insertCustomer.run([customerId, account.crmId, account.name, account.currency, account.paymentTermsDays]);
  }
  const insertProject = store.prepare(
    'INSERT INTO billing_project (project_id, customer_id, currency, invoice_number_prefix, next_invoice_sequence) VALUES (?, ?, ?, ?, ?)',
  );
  const insertInvoice = store.prepare(
    `INSERT INTO invoice (id, number, status, project_id, customer_id, currency, description, subtotal_minor, tax_minor, total_minor,
       service_period_start, service_period_end, created_date, finalized_date, due_date, voided_date, marked_uncollectible_date)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertPayment = store.prepare('INSERT INTO payment (id, invoice_id, amount_minor, received_date) VALUES (?, ?, ?, ?)');
  const date = (day: number | null) => (day === null ? null : isoFromDay(day));
  for (const project of world.projects) {
    const customerId = billingCustomerIdOf(world, world.accounts[project.accountIndex]!);
    if (customerId === null) throw new Error(`Project ${project.id} bills account #${project.accountIndex}, which is not a billing customer`);
    const { invoices } = planProjectBilling(world, project, generateProjectTime(world, project));
    const prefix = `MER-${String(project.index + 1).padStart(5, '0')}`;
    const lastIssued = Math.max(0, ...invoices.filter((invoice) => invoice.status !== 'DRAFT').map((invoice) => invoice.sequence));
    insertProject.run([project.id, customerId, project.currency, prefix, lastIssued + 1]);
    for (const invoice of invoices) {
      const draft = invoice.status === 'DRAFT';
      insertInvoice.run([
        invoice.id,
        draft ? null : invoiceNumber(prefix, invoice.sequence),
        invoice.status === 'PAID' ? 'OPEN' : invoice.status,
        project.id,
        customerId,
        project.currency,
        invoice.description,
        invoice.subtotalMinor,
        invoice.taxMinor,
        invoice.totalMinor,
        isoFromDay(invoice.servicePeriodStartDay),
        isoFromDay(invoice.servicePeriodEndDay),
        isoFromDay(invoice.createdDay),
        date(invoice.finalizedDay),
        date(invoice.dueDay),
        date(invoice.voidedDay),
        date(invoice.uncollectibleDay),
      ]);
      if (invoice.paymentId !== null && invoice.paidDay !== null) {
        insertPayment.run([invoice.paymentId, invoice.id, invoice.amountPaidMinor, isoFromDay(invoice.paidDay)]);
      }
    }
  }
}
