/**
 * The billing sandbox's tables, with Stripe's invoice lifecycle kept in the store itself by triggers (see
 * `sandboxBilling.ts` for the rules).
 */
import { quoted } from '../billingTables.js';
import { INVOICE_STATUSES, INVOICE_TRANSITIONS } from '../invoiceLifecycle.js';
import { PAYMENT_APPLIES_TO_INVOICE } from './creditNotesSchema.js';

/** A Stripe object ID's shape as a GLOB pattern: the prefix, an underscore and 24 base-62 characters. */
const stripeIdPattern = (prefix: string) => `${prefix}_${'[0-9A-Za-z]'.repeat(24)}`;

/** The transition table compiled into SQL, so the trigger and the sandbox's own checks never disagree. */
const ALLOWED_TRANSITION_SQL = INVOICE_STATUSES.filter((from) => INVOICE_TRANSITIONS[from].length > 0)
  .map((from) => `(OLD.status = '${from}' AND NEW.status IN (${quoted(INVOICE_TRANSITIONS[from])}))`)
  .join('\n    OR ');

export const DDL = `
-- A Stripe customer per CRM account that buys; Stripe keeps the CRM link in metadata[psgraph_crm_account_id].
CREATE TABLE customer (
  id TEXT PRIMARY KEY CHECK (id GLOB '${stripeIdPattern('cus')}'),
  crm_account_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  currency TEXT NOT NULL,
  days_until_due INTEGER NOT NULL CHECK (days_until_due > 0));
-- A project's billing profile: whom it is billed to, in which currency, and how its invoices are numbered.
CREATE TABLE billing_project (
  project_id TEXT PRIMARY KEY CHECK (project_id GLOB 'prj_*' AND length(project_id) = 30),
  customer_id TEXT NOT NULL REFERENCES customer(id),
  currency TEXT NOT NULL,
  invoice_number_prefix TEXT NOT NULL UNIQUE,
  next_invoice_sequence INTEGER NOT NULL CHECK (next_invoice_sequence >= 1),
  UNIQUE (project_id, customer_id, currency));
CREATE INDEX billing_project_customer ON billing_project(customer_id);
CREATE TABLE invoice (
  id TEXT PRIMARY KEY CHECK (id GLOB '${stripeIdPattern('in')}'),
  number TEXT UNIQUE,
  status TEXT NOT NULL CONSTRAINT invoice_status_is_known CHECK (status IN (${quoted(INVOICE_STATUSES)})),
  project_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  description TEXT NOT NULL,
  subtotal_minor INTEGER NOT NULL CHECK (subtotal_minor >= 0),
  tax_minor INTEGER NOT NULL CHECK (tax_minor >= 0),
  total_minor INTEGER NOT NULL,
  amount_paid_minor INTEGER NOT NULL DEFAULT 0,
  -- What credit notes took off while it was unpaid, and gave back beyond that (creditNotesSchema.ts keeps them).
  pre_payment_credit_minor INTEGER NOT NULL DEFAULT 0,
  post_payment_credit_minor INTEGER NOT NULL DEFAULT 0,
  service_period_start TEXT NOT NULL,
  service_period_end TEXT NOT NULL,
  created_date TEXT NOT NULL,
  finalized_date TEXT,
  due_date TEXT,
  paid_date TEXT,
  voided_date TEXT,
  marked_uncollectible_date TEXT,
  -- The invoice bills the project's customer in the project's currency.
  FOREIGN KEY (project_id, customer_id, currency) REFERENCES billing_project(project_id, customer_id, currency),
  CONSTRAINT invoice_total_is_subtotal_plus_tax CHECK (total_minor = subtotal_minor + tax_minor),
  CONSTRAINT invoice_amount_paid_within_total CHECK (amount_paid_minor BETWEEN 0 AND total_minor),
  CONSTRAINT invoice_paid_in_full_when_paid CHECK (status <> 'PAID' OR amount_paid_minor = total_minor - pre_payment_credit_minor),
  CONSTRAINT invoice_credits_within_total CHECK (amount_paid_minor + pre_payment_credit_minor <= total_minor
    AND pre_payment_credit_minor + post_payment_credit_minor <= total_minor),
  CONSTRAINT invoice_number_only_when_finalized CHECK ((status = 'DRAFT') = (number IS NULL)),
  CONSTRAINT invoice_finalized_date_only_when_finalized CHECK ((status = 'DRAFT') = (finalized_date IS NULL)),
  CONSTRAINT invoice_due_date_when_finalized CHECK (status = 'DRAFT' OR due_date IS NOT NULL),
  CONSTRAINT invoice_paid_date_only_when_paid CHECK ((status = 'PAID') = (paid_date IS NOT NULL)),
  CONSTRAINT invoice_voided_date_only_when_void CHECK ((status = 'VOID') = (voided_date IS NOT NULL)),
  CONSTRAINT invoice_uncollectible_has_date CHECK (status <> 'UNCOLLECTIBLE' OR marked_uncollectible_date IS NOT NULL),
  CONSTRAINT invoice_service_period_in_order CHECK (service_period_start <= service_period_end));
CREATE INDEX invoice_project ON invoice(project_id, created_date);
CREATE INDEX invoice_customer ON invoice(customer_id, status);
CREATE INDEX invoice_created ON invoice(created_date);
CREATE INDEX invoice_status_due ON invoice(status, due_date);
CREATE TABLE payment (
  id TEXT PRIMARY KEY CHECK (id GLOB '${stripeIdPattern('py')}'),
  invoice_id TEXT NOT NULL REFERENCES invoice(id),
  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
  received_date TEXT NOT NULL);
CREATE INDEX payment_invoice ON payment(invoice_id);

CREATE TRIGGER invoice_status_transition BEFORE UPDATE OF status ON invoice
  WHEN NEW.status IS NOT OLD.status AND NOT (
    ${ALLOWED_TRANSITION_SQL})
  BEGIN SELECT RAISE(ABORT, 'invoice ' || OLD.id || ' cannot move from ' || OLD.status || ' to ' || NEW.status); END;
CREATE TRIGGER invoice_finalized_is_fixed BEFORE UPDATE OF subtotal_minor, tax_minor, total_minor, currency, customer_id, project_id ON invoice
  WHEN OLD.status <> 'DRAFT' AND (NEW.subtotal_minor IS NOT OLD.subtotal_minor OR NEW.tax_minor IS NOT OLD.tax_minor
    OR NEW.total_minor IS NOT OLD.total_minor OR NEW.currency IS NOT OLD.currency
    OR NEW.customer_id IS NOT OLD.customer_id OR NEW.project_id IS NOT OLD.project_id)
  BEGIN SELECT RAISE(ABORT, 'invoice ' || OLD.id || ' is finalized: its amounts, currency, customer and project are fixed'); END;
CREATE TRIGGER invoice_amount_paid_is_derived BEFORE UPDATE OF amount_paid_minor ON invoice
  WHEN NEW.amount_paid_minor IS NOT (SELECT COALESCE(SUM(amount_minor), 0) FROM payment WHERE invoice_id = NEW.id)
  BEGIN SELECT RAISE(ABORT, 'invoice ' || OLD.id || ': amount_paid is the sum of its payments'); END;
CREATE TRIGGER payment_needs_payable_invoice BEFORE INSERT ON payment
  WHEN (SELECT status FROM invoice WHERE id = NEW.invoice_id) NOT IN ('OPEN', 'UNCOLLECTIBLE')
  BEGIN SELECT RAISE(ABORT, 'invoice ' || NEW.invoice_id || ' is ' || (SELECT status FROM invoice WHERE id = NEW.invoice_id) || ': only open or uncollectible invoices take payments'); END;
${PAYMENT_APPLIES_TO_INVOICE.trim()}
-- A payment is a record of money received: corrections are refunds, never edits.
CREATE TRIGGER payment_is_immutable BEFORE UPDATE ON payment
  BEGIN SELECT RAISE(ABORT, 'payment ' || OLD.id || ' is immutable'); END;
CREATE TRIGGER payment_is_kept BEFORE DELETE ON payment
  BEGIN SELECT RAISE(ABORT, 'payment ' || OLD.id || ' cannot be deleted'); END;
`;
