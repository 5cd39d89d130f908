/**
 * The CRM sandbox's record of each account's billing status (see `AccountBillingStatusUpdate` in `crmPort.ts`):
 * one row per account, as Salesforce keeps it in custom fields on the Account. Installed on opening, so that a
 * store seeded before it gets it too (it starts empty: statuses arrive with billing's events).
 */
import type { SqliteStore } from '../../../platform/src/index.js';

const INVOICE_STATUSES = `('DRAFT', 'OPEN', 'PAID', 'VOID', 'UNCOLLECTIBLE')`;

const TABLE = `
CREATE TABLE IF NOT EXISTS account_billing_status (
  account_id TEXT PRIMARY KEY REFERENCES account(id),
  as_of TEXT NOT NULL CHECK (as_of GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T*Z'),
  receivables TEXT NOT NULL CHECK (json_valid(receivables) AND json_type(receivables) = 'array'),
  last_invoice_id TEXT NOT NULL,
  last_invoice_number TEXT,
  last_invoice_status TEXT NOT NULL CHECK (last_invoice_status IN ${INVOICE_STATUSES}),
  updated_at TEXT NOT NULL) WITHOUT ROWID;
`;

/** Adds the billing status table to a CRM store, once; safe to run on every open. */
export function installBillingStatus(store: SqliteStore): void {
  store.exec(TABLE);
}
