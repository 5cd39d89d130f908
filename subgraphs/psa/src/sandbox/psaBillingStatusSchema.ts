/**
 * The PSA sandbox's record of what billing reported back (see `psaBillingStatusPort.ts`): one row per project and
 * one per invoiced milestone. Installed on opening, so that a store seeded before them gets them too (they start
 * empty: statuses arrive with billing's events). A project or milestone deleted takes its rows with it.
 */
import type { SqliteStore } from '../../../platform/src/index.js';

const INVOICE_STATUSES = `('DRAFT', 'OPEN', 'PAID', 'VOID', 'UNCOLLECTIBLE')`;
const UTC_INSTANT = (column: string) => `${column} GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T*Z'`;
const MINOR = (column: string) => `typeof(${column}) = 'integer' AND ${column} >= 0`;

const TABLES = `
CREATE TABLE IF NOT EXISTS project_billing_status (
  project_id TEXT PRIMARY KEY REFERENCES project(id) ON DELETE CASCADE,
  as_of TEXT NOT NULL CHECK (${UTC_INSTANT('as_of')}),
  currency TEXT NOT NULL CHECK (currency IN ('USD', 'GBP', 'EUR', 'AUD')),
  billed_minor INTEGER NOT NULL CHECK (${MINOR('billed_minor')}),
  unbilled_minor INTEGER NOT NULL CHECK (${MINOR('unbilled_minor')}),
  last_invoice_id TEXT,
  last_invoice_number TEXT,
  last_invoice_status TEXT CHECK (last_invoice_status IS NULL OR last_invoice_status IN ${INVOICE_STATUSES}),
  updated_at TEXT NOT NULL,
  -- An invoice number or status without the invoice it belongs to means nothing.
  CHECK (last_invoice_id IS NOT NULL OR (last_invoice_number IS NULL AND last_invoice_status IS NULL)),
  CHECK ((last_invoice_id IS NULL) = (last_invoice_status IS NULL))) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS milestone_invoice (
  milestone_id TEXT PRIMARY KEY REFERENCES milestone(id) ON DELETE CASCADE,
  as_of TEXT NOT NULL CHECK (${UTC_INSTANT('as_of')}),
  invoice_id TEXT NOT NULL,
  invoice_number TEXT,
  invoice_status TEXT NOT NULL CHECK (invoice_status IN ${INVOICE_STATUSES}),
  updated_at TEXT NOT NULL) WITHOUT ROWID;
`;

/** Adds the billing status tables to a PSA store, once; safe to run on every open. */
export function installBillingStatus(store: SqliteStore): void {
  store.exec(TABLES);
}
