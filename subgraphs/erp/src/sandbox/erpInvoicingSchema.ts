/**
 * The ERP sandbox's record of billing (see `ErpPostings.recordInvoiceStatus`): the invoices billing raised, what
 * each bills (postings and schedule lines), and the marks that keep anything from being billed twice — a posting
 * or schedule line is billed by one invoice at a time, and voiding the invoice frees it. Installed on opening, after
 * the postings' tables.
 */
import { type SqliteStore, isoFromDay } from '../../../platform/src/index.js';
import { hasColumn } from '../../../sandboxes/src/index.js';
import type { World } from '../../../sandboxes/src/world/world.js';

const TABLES = `
CREATE TABLE IF NOT EXISTS erp_invoice (
  invoice_id TEXT PRIMARY KEY,
  number TEXT,
  job_id INTEGER NOT NULL REFERENCES job(id),
  status TEXT NOT NULL CHECK (status IN ('DRAFT', 'OPEN', 'PAID', 'VOID', 'UNCOLLECTIBLE')),
  trandate TEXT NOT NULL CHECK (date(trandate) IS trandate),
  currency TEXT NOT NULL,
  total_minor INTEGER NOT NULL CHECK (typeof(total_minor) = 'integer' AND total_minor >= 0),
  amount_paid_minor INTEGER NOT NULL CHECK (amount_paid_minor BETWEEN 0 AND total_minor),
  -- Whether the invoice's total stands in the job's billings (and its sources are marked billed).
  billed INTEGER NOT NULL CHECK (billed IN (0, 1)),
  as_of TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS erp_invoice_job ON erp_invoice(job_id, trandate);
CREATE TABLE IF NOT EXISTS erp_invoice_source (
  invoice_id TEXT NOT NULL REFERENCES erp_invoice(invoice_id),
  source_key TEXT NOT NULL,
  PRIMARY KEY (invoice_id, source_key)) WITHOUT ROWID;
-- A schedule line's billing, by job and sequence: a schedule replaced with the same lines keeps its marks.
CREATE TABLE IF NOT EXISTS billed_schedule_line (
  job_id INTEGER NOT NULL REFERENCES job(id),
  sequence INTEGER NOT NULL,
  invoice_id TEXT NOT NULL,
  PRIMARY KEY (job_id, sequence)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS billed_schedule_line_invoice ON billed_schedule_line(invoice_id);
CREATE TABLE IF NOT EXISTS erp_credit_note (
  credit_note_id TEXT PRIMARY KEY,
  invoice_id TEXT NOT NULL REFERENCES erp_invoice(invoice_id),
  trandate TEXT NOT NULL CHECK (date(trandate) IS trandate),
  total_minor INTEGER NOT NULL CHECK (typeof(total_minor) = 'integer' AND total_minor > 0),
  source_keys TEXT NOT NULL CHECK (json_valid(source_keys)),
  recorded_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS erp_credit_note_invoice ON erp_credit_note(invoice_id);
-- Nothing is billed twice: a posting billed by one invoice cannot be billed by another until that one is voided.
DROP TRIGGER IF EXISTS delivery_posting_billed_once;
CREATE TRIGGER delivery_posting_billed_once BEFORE UPDATE OF billed_invoice_id ON delivery_posting
  WHEN OLD.billed_invoice_id IS NOT NULL AND NEW.billed_invoice_id IS NOT NULL AND NEW.billed_invoice_id <> OLD.billed_invoice_id
  BEGIN SELECT RAISE(ABORT, 'delivery_posting: already billed by another invoice'); END;
`;

/** Invoices the seeded world's history holds; its schedule lines up to "today" were billed by them. */
export const SEEDED_HISTORY_INVOICE = 'seeded-history';

export function installInvoicing(store: SqliteStore, world: () => World): void {
  store.transaction(() => {
    if (!hasColumn(store, 'delivery_posting', 'billed_invoice_id')) {
      store.exec('ALTER TABLE delivery_posting ADD COLUMN billed_invoice_id TEXT');
      store.exec('CREATE INDEX IF NOT EXISTS delivery_posting_unbilled ON delivery_posting(job_id, trandate) WHERE billed_invoice_id IS NULL');
    }
    const fresh = store.db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'billed_schedule_line'").pluck().get() === 0;
    store.exec(TABLES);
    if (fresh) {
      // The seeded billing holds the invoices of every schedule line up to the world's "today".
      store.db
        .prepare(
          `INSERT INTO billed_schedule_line (job_id, sequence, invoice_id)
           SELECT s.job_id, l.sequence, ? FROM billing_schedule_line l JOIN billing_schedule s ON s.id = l.schedule_id WHERE l.line_date <= ?`,
        )
        .run(SEEDED_HISTORY_INVOICE, isoFromDay(world().asOfDay));
    }
  });
}
