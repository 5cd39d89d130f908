/**
 * The CRM sandbox's tables, with the Salesforce rules that matter to the integration kept in the store itself
 * (see `sandboxCrm.ts` for what they are).
 */

export const DDL = `
CREATE TABLE crm_user (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE);
CREATE TABLE opportunity_stage (
  name TEXT PRIMARY KEY, sort_order INTEGER NOT NULL, probability INTEGER NOT NULL,
  is_closed INTEGER NOT NULL, is_won INTEGER NOT NULL, forecast_category TEXT NOT NULL);
CREATE TABLE account (
  id TEXT PRIMARY KEY CHECK (length(id) = 18 AND substr(id, 1, 3) = '001'),
  name TEXT NOT NULL, type TEXT NOT NULL CHECK (type IN ('CUSTOMER', 'PROSPECT')), industry TEXT,
  region TEXT NOT NULL, currency TEXT NOT NULL,
  street TEXT NOT NULL, city TEXT NOT NULL, state TEXT, postal_code TEXT NOT NULL, country TEXT NOT NULL,
  owner_id TEXT NOT NULL REFERENCES crm_user(id), parent_id TEXT REFERENCES account(id),
  tax_id TEXT, erp_customer_id TEXT, billing_customer_id TEXT);
CREATE INDEX account_parent ON account(parent_id);
CREATE INDEX account_region ON account(region);
CREATE TABLE opportunity (
  id TEXT PRIMARY KEY CHECK (length(id) = 18 AND substr(id, 1, 3) = '006'),
  account_id TEXT NOT NULL REFERENCES account(id), name TEXT NOT NULL,
  stage_name TEXT NOT NULL REFERENCES opportunity_stage(name),
  amount_minor INTEGER NOT NULL DEFAULT 0, currency TEXT NOT NULL, close_date TEXT NOT NULL,
  contract_type TEXT NOT NULL, service_line TEXT NOT NULL, delivery_region TEXT NOT NULL,
  po_required INTEGER NOT NULL, po_number TEXT, owner_id TEXT NOT NULL REFERENCES crm_user(id),
  project_id TEXT UNIQUE, erp_project_id TEXT, psa_project_id TEXT);
CREATE INDEX opportunity_account ON opportunity(account_id);
CREATE INDEX opportunity_close ON opportunity(close_date);
CREATE TABLE opportunity_line_item (
  id TEXT PRIMARY KEY CHECK (length(id) = 18 AND substr(id, 1, 3) = '00k'),
  opportunity_id TEXT NOT NULL REFERENCES opportunity(id), sort_order INTEGER NOT NULL,
  role TEXT NOT NULL, hours REAL NOT NULL CHECK (hours > 0), unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0));
CREATE INDEX line_item_opportunity ON opportunity_line_item(opportunity_id);
-- Salesforce: an opportunity with products has Amount = sum of its line items; direct updates are ignored.
CREATE TRIGGER line_item_insert AFTER INSERT ON opportunity_line_item BEGIN
  UPDATE opportunity SET amount_minor = (SELECT COALESCE(SUM(CAST(ROUND(hours * unit_price_minor) AS INTEGER)), 0)
    FROM opportunity_line_item WHERE opportunity_id = NEW.opportunity_id) WHERE id = NEW.opportunity_id; END;
CREATE TRIGGER line_item_update AFTER UPDATE ON opportunity_line_item BEGIN
  UPDATE opportunity SET amount_minor = (SELECT COALESCE(SUM(CAST(ROUND(hours * unit_price_minor) AS INTEGER)), 0)
    FROM opportunity_line_item WHERE opportunity_id = NEW.opportunity_id) WHERE id = NEW.opportunity_id; END;
CREATE TRIGGER line_item_delete AFTER DELETE ON opportunity_line_item BEGIN
  UPDATE opportunity SET amount_minor = (SELECT COALESCE(SUM(CAST(ROUND(hours * unit_price_minor) AS INTEGER)), 0)
    FROM opportunity_line_item WHERE opportunity_id = OLD.opportunity_id) WHERE id = OLD.opportunity_id; END;
CREATE TRIGGER opportunity_amount_is_derived AFTER UPDATE OF amount_minor ON opportunity
  WHEN EXISTS (SELECT 1 FROM opportunity_line_item WHERE opportunity_id = NEW.id)
   AND NEW.amount_minor <> (SELECT SUM(CAST(ROUND(hours * unit_price_minor) AS INTEGER)) FROM opportunity_line_item WHERE opportunity_id = NEW.id)
  BEGIN
    UPDATE opportunity SET amount_minor = (SELECT SUM(CAST(ROUND(hours * unit_price_minor) AS INTEGER)) FROM opportunity_line_item WHERE opportunity_id = NEW.id) WHERE id = NEW.id;
  END;
`;
