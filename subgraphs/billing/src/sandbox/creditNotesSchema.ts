/**
 * The billing sandbox's credit notes, installed on opening (a store seeded by an older version gets them too), with
 * Stripe's rules kept in the store by triggers: a credit note is issued on an open or paid invoice only; it credits
 * no more than the invoice's total less what was credited before, nor any line more than its amount less what was
 * credited on it; it first reduces what remains to be paid (never below 0) and gives back the rest, and the invoice's
 * credited amounts are the sums of its credit notes'. Credit notes are never edited or deleted (Stripe voids them;
 * psgraph issues none it would void).
 *
 * A store seeded before credit notes keeps its CHECK that a paid invoice's amount paid is its whole total (SQLite
 * cannot change a table's CHECK in place): there, an invoice credited while open cannot then be paid in full. Delete
 * its billing.db to seed it afresh.
 */
import type { SqliteStore } from '../../../platform/src/index.js';
import { hasColumn } from '../../../sandboxes/src/index.js';
import { CREDIT_NOTE_TABLES } from '../billingTables.js';

/** The payment that clears what remains — the total less payments and the credit notes issued before payment — makes the invoice paid. */
export const PAYMENT_APPLIES_TO_INVOICE = `
CREATE TRIGGER payment_applies_to_invoice AFTER INSERT ON payment BEGIN
  UPDATE invoice SET
    amount_paid_minor = amount_paid_minor + NEW.amount_minor,
    status = CASE WHEN amount_paid_minor + NEW.amount_minor = total_minor - pre_payment_credit_minor THEN 'PAID' ELSE status END,
    paid_date = CASE WHEN amount_paid_minor + NEW.amount_minor = total_minor - pre_payment_credit_minor THEN NEW.received_date ELSE paid_date END
  WHERE id = NEW.invoice_id;
END;`;

const invoiceOf = (creditNoteId: string) => `(SELECT invoice_id FROM credit_note WHERE id = ${creditNoteId})`;

const TRIGGERS = `
DROP TRIGGER IF EXISTS payment_applies_to_invoice;
${PAYMENT_APPLIES_TO_INVOICE}
DROP TRIGGER IF EXISTS credit_note_on_creditable_invoice;
CREATE TRIGGER credit_note_on_creditable_invoice BEFORE INSERT ON credit_note
  WHEN (SELECT status FROM invoice WHERE id = NEW.invoice_id) IS NOT 'OPEN' AND (SELECT status FROM invoice WHERE id = NEW.invoice_id) IS NOT 'PAID'
  BEGIN SELECT RAISE(ABORT, 'credit_note: credit notes are issued on open or paid invoices only'); END;
DROP TRIGGER IF EXISTS credit_note_within_invoice;
CREATE TRIGGER credit_note_within_invoice BEFORE INSERT ON credit_note
  WHEN NEW.total_minor > (SELECT total_minor - pre_payment_credit_minor - post_payment_credit_minor FROM invoice WHERE id = NEW.invoice_id)
  BEGIN SELECT RAISE(ABORT, 'credit_note: more than the invoice has left to credit'); END;
DROP TRIGGER IF EXISTS credit_note_split_as_stripe;
CREATE TRIGGER credit_note_split_as_stripe BEFORE INSERT ON credit_note
  WHEN NEW.pre_payment_minor IS NOT (
    SELECT CASE WHEN status = 'OPEN' THEN MIN(NEW.total_minor, MAX(0, total_minor - pre_payment_credit_minor - amount_paid_minor)) ELSE 0 END
    FROM invoice WHERE id = NEW.invoice_id)
  BEGIN SELECT RAISE(ABORT, 'credit_note: a credit note first reduces what remains to be paid, and only that'); END;
DROP TRIGGER IF EXISTS credit_note_applies_to_invoice;
CREATE TRIGGER credit_note_applies_to_invoice AFTER INSERT ON credit_note BEGIN
  UPDATE invoice SET
    pre_payment_credit_minor = pre_payment_credit_minor + NEW.pre_payment_minor,
    post_payment_credit_minor = post_payment_credit_minor + NEW.post_payment_minor
  WHERE id = NEW.invoice_id;
END;
DROP TRIGGER IF EXISTS invoice_credits_are_derived;
CREATE TRIGGER invoice_credits_are_derived BEFORE UPDATE OF pre_payment_credit_minor, post_payment_credit_minor ON invoice
  WHEN NEW.pre_payment_credit_minor IS NOT (SELECT COALESCE(SUM(pre_payment_minor), 0) FROM credit_note WHERE invoice_id = NEW.id)
    OR NEW.post_payment_credit_minor IS NOT (SELECT COALESCE(SUM(post_payment_minor), 0) FROM credit_note WHERE invoice_id = NEW.id)
  BEGIN SELECT RAISE(ABORT, 'invoice ' || OLD.id || ': its credited amounts are the sums of its credit notes'); END;
DROP TRIGGER IF EXISTS credit_note_line_within_invoice_line;
CREATE TRIGGER credit_note_line_within_invoice_line BEFORE INSERT ON credit_note_line
  WHEN NEW.source_key IS NOT NULL AND NEW.amount_minor + (
    SELECT COALESCE(SUM(l.amount_minor), 0) FROM credit_note_line l JOIN credit_note n ON n.id = l.credit_note_id
    WHERE n.invoice_id = ${invoiceOf('NEW.credit_note_id')} AND l.source_key = NEW.source_key
  ) > COALESCE((SELECT amount_minor FROM invoice_line WHERE invoice_id = ${invoiceOf('NEW.credit_note_id')} AND source_key = NEW.source_key), 0)
  BEGIN SELECT RAISE(ABORT, 'credit_note_line: more than the invoice line has left to credit, or a source the invoice does not bill'); END;
DROP TRIGGER IF EXISTS credit_note_is_immutable;
CREATE TRIGGER credit_note_is_immutable BEFORE UPDATE ON credit_note
  BEGIN SELECT RAISE(ABORT, 'credit_note: a credit note is never edited'); END;
DROP TRIGGER IF EXISTS credit_note_is_kept;
CREATE TRIGGER credit_note_is_kept BEFORE DELETE ON credit_note
  BEGIN SELECT RAISE(ABORT, 'credit_note: a credit note is never deleted'); END;
DROP TRIGGER IF EXISTS credit_note_line_is_immutable;
CREATE TRIGGER credit_note_line_is_immutable BEFORE UPDATE ON credit_note_line
  BEGIN SELECT RAISE(ABORT, 'credit_note_line: a line is never edited'); END;
DROP TRIGGER IF EXISTS credit_note_line_is_kept;
CREATE TRIGGER credit_note_line_is_kept BEFORE DELETE ON credit_note_line
  BEGIN SELECT RAISE(ABORT, 'credit_note_line: a line is never deleted'); END;
`;

/** Adds the invoice's credited amounts (when missing), the credit note tables and their triggers. */
export function installCreditNotes(store: SqliteStore): void {
  store.transaction(() => {
    if (!hasColumn(store, 'invoice', 'pre_payment_credit_minor')) {
      store.exec('ALTER TABLE invoice ADD COLUMN pre_payment_credit_minor INTEGER NOT NULL DEFAULT 0');
      store.exec('ALTER TABLE invoice ADD COLUMN post_payment_credit_minor INTEGER NOT NULL DEFAULT 0');
    }
    store.exec(CREDIT_NOTE_TABLES);
    store.exec(TRIGGERS);
  });
}
