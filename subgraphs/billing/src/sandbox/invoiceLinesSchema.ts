/**
 * The billing sandbox's invoice lines and the keys invoices were created under, installed on opening (a store
 * seeded by an older version gets them too). The rule that no source is billed twice lives here, in the store: a
 * line that bills a source is refused while another invoice that is not void bills it, and an invoice is never
 * un-voided, so voiding an invoice is what frees its sources.
 */
import type { SqliteStore } from '../../../platform/src/index.js';

const TABLES = `
CREATE TABLE IF NOT EXISTS invoice_line (
  invoice_id TEXT NOT NULL REFERENCES invoice(id),
  line_number INTEGER NOT NULL CHECK (line_number >= 1),
  -- What the line bills (an ERP posting's external ID, a billing-schedule line); null on lines psgraph did not write.
  source_key TEXT,
  description TEXT NOT NULL,
  amount_minor INTEGER NOT NULL CHECK (typeof(amount_minor) = 'integer' AND (source_key IS NULL OR amount_minor > 0)),
  PRIMARY KEY (invoice_id, line_number)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS invoice_line_source ON invoice_line(source_key) WHERE source_key IS NOT NULL;
-- The idempotency key each invoice psgraph created was created under (Stripe: metadata[psgraph_invoice_key]).
CREATE TABLE IF NOT EXISTS invoice_creation (
  key TEXT PRIMARY KEY,
  invoice_id TEXT NOT NULL UNIQUE REFERENCES invoice(id)) WITHOUT ROWID;
DROP TRIGGER IF EXISTS invoice_line_source_billed_once;
CREATE TRIGGER invoice_line_source_billed_once BEFORE INSERT ON invoice_line
  WHEN NEW.source_key IS NOT NULL AND EXISTS (
    SELECT 1 FROM invoice_line l JOIN invoice i ON i.id = l.invoice_id WHERE l.source_key = NEW.source_key AND i.status <> 'VOID')
  BEGIN SELECT RAISE(ABORT, 'invoice_line: the source is already billed by an invoice that is not void'); END;
-- As Stripe adds invoice items only to drafts.
DROP TRIGGER IF EXISTS invoice_line_on_draft;
CREATE TRIGGER invoice_line_on_draft BEFORE INSERT ON invoice_line
  WHEN NEW.source_key IS NOT NULL AND (SELECT status FROM invoice WHERE id = NEW.invoice_id) IS NOT 'DRAFT'
  BEGIN SELECT RAISE(ABORT, 'invoice_line: lines are added to draft invoices only'); END;
DROP TRIGGER IF EXISTS invoice_line_is_immutable;
CREATE TRIGGER invoice_line_is_immutable BEFORE UPDATE ON invoice_line
  BEGIN SELECT RAISE(ABORT, 'invoice_line: a line is never edited'); END;
DROP TRIGGER IF EXISTS invoice_line_kept_once_finalized;
CREATE TRIGGER invoice_line_kept_once_finalized BEFORE DELETE ON invoice_line
  WHEN (SELECT status FROM invoice WHERE id = OLD.invoice_id) IS NOT 'DRAFT'
  BEGIN SELECT RAISE(ABORT, 'invoice_line: a finalized invoice keeps its lines'); END;
`;

/**
 * Creates the tables and triggers if missing. Invoices that were there before (the seed's) get one line each,
 * their description and subtotal, billing no source — as the Stripe wire server's seeded invoices show them.
 */
export function installInvoiceLines(store: SqliteStore): void {
  store.transaction(() => {
    const fresh = store.db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'invoice_line'").pluck().get() === 0;
    store.exec(TABLES);
    if (fresh) {
      store.exec(
        'INSERT INTO invoice_line (invoice_id, line_number, source_key, description, amount_minor) SELECT id, 1, NULL, description, subtotal_minor FROM invoice',
      );
    }
  });
}
