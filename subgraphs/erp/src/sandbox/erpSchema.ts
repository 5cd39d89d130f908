/**
 * The ERP sandbox's tables, with NetSuite's rules that matter to the integration kept in the store itself
 * (see `sandboxErp.ts` for what they are).
 */

export const DDL = `
CREATE TABLE subsidiary (
  id INTEGER PRIMARY KEY CHECK (id > 0),
  name TEXT NOT NULL UNIQUE, country TEXT NOT NULL CHECK (length(country) = 2),
  currency TEXT NOT NULL CHECK (currency IN ('USD', 'GBP', 'EUR', 'AUD')), region TEXT NOT NULL UNIQUE,
  tax_regime TEXT NOT NULL,
  service_tax_rate_bp INTEGER NOT NULL CHECK (typeof(service_tax_rate_bp) = 'integer' AND service_tax_rate_bp BETWEEN 0 AND 10000));
CREATE TABLE customer (
  id INTEGER PRIMARY KEY CHECK (id > 0),
  entity_id TEXT NOT NULL UNIQUE CHECK (entity_id GLOB 'CUST-[0-9]*'),
  company_name TEXT NOT NULL, parent_id INTEGER REFERENCES customer(id),
  subsidiary_id INTEGER NOT NULL REFERENCES subsidiary(id),
  currency TEXT NOT NULL CHECK (currency IN ('USD', 'GBP', 'EUR', 'AUD')),
  external_id TEXT UNIQUE,
  terms_days INTEGER NOT NULL CHECK (typeof(terms_days) = 'integer' AND terms_days >= 0),
  tax_id TEXT, tax_exempt INTEGER NOT NULL CHECK (tax_exempt IN (0, 1)),
  credit_status TEXT NOT NULL DEFAULT 'GOOD' CHECK (credit_status IN ('GOOD', 'ON_HOLD')));
CREATE INDEX customer_parent ON customer(parent_id);
-- OneWorld: a customer trades with its primary subsidiary and with each secondary one it is related to.
CREATE TABLE customer_subsidiary (
  customer_id INTEGER NOT NULL REFERENCES customer(id), subsidiary_id INTEGER NOT NULL REFERENCES subsidiary(id),
  is_primary INTEGER NOT NULL CHECK (is_primary IN (0, 1)),
  PRIMARY KEY (customer_id, subsidiary_id)) WITHOUT ROWID;
CREATE UNIQUE INDEX customer_one_primary_subsidiary ON customer_subsidiary(customer_id) WHERE is_primary = 1;
-- As in NetSuite, saving a customer creates its primary subsidiary relationship.
CREATE TRIGGER customer_primary_subsidiary AFTER INSERT ON customer BEGIN
  INSERT INTO customer_subsidiary (customer_id, subsidiary_id, is_primary) VALUES (NEW.id, NEW.subsidiary_id, 1); END;
CREATE TABLE rate_card (
  id INTEGER PRIMARY KEY CHECK (id > 0), name TEXT NOT NULL,
  subsidiary_id INTEGER NOT NULL REFERENCES subsidiary(id), currency TEXT NOT NULL,
  UNIQUE (id, currency), UNIQUE (subsidiary_id, currency));
CREATE TABLE rate_card_line (
  rate_card_id INTEGER NOT NULL REFERENCES rate_card(id), role TEXT NOT NULL, role_name TEXT NOT NULL,
  sort_order INTEGER NOT NULL,
  bill_rate_minor INTEGER NOT NULL CHECK (typeof(bill_rate_minor) = 'integer' AND bill_rate_minor >= 0),
  PRIMARY KEY (rate_card_id, role)) WITHOUT ROWID;
CREATE TABLE job (
  id INTEGER PRIMARY KEY CHECK (id > 0),
  entity_id TEXT NOT NULL UNIQUE, company_name TEXT NOT NULL,
  external_id TEXT UNIQUE,
  customer_id INTEGER NOT NULL REFERENCES customer(id),
  subsidiary_id INTEGER NOT NULL REFERENCES subsidiary(id),
  contract_type TEXT NOT NULL CHECK (contract_type IN ('FIXED_FEE', 'TIME_AND_MATERIALS', 'MILESTONE', 'RETAINER')),
  currency TEXT NOT NULL,
  value_minor INTEGER NOT NULL CHECK (typeof(value_minor) = 'integer' AND value_minor >= 0),
  budget_minor INTEGER NOT NULL CHECK (typeof(budget_minor) = 'integer' AND budget_minor >= 0),
  po_required INTEGER NOT NULL CHECK (po_required IN (0, 1)), po_number TEXT,
  start_date TEXT NOT NULL CHECK (date(start_date) IS start_date),
  end_date TEXT NOT NULL CHECK (date(end_date) IS end_date AND end_date >= start_date),
  rate_card_id INTEGER NOT NULL,
  FOREIGN KEY (customer_id, subsidiary_id) REFERENCES customer_subsidiary(customer_id, subsidiary_id),
  FOREIGN KEY (rate_card_id, currency) REFERENCES rate_card(id, currency));
CREATE INDEX job_customer_subsidiary ON job(customer_id, subsidiary_id);
CREATE INDEX job_rate_card ON job(rate_card_id, currency);
CREATE TABLE billing_schedule (
  id INTEGER PRIMARY KEY CHECK (id > 0),
  job_id INTEGER NOT NULL UNIQUE REFERENCES job(id),
  schedule_type TEXT NOT NULL CHECK (schedule_type IN ('TIME_AND_MATERIALS', 'FIXED_INTERVAL', 'MILESTONE', 'RETAINER')),
  frequency TEXT NOT NULL CHECK (frequency IN ('MONTHLY', 'MILESTONE')),
  in_arrears INTEGER NOT NULL CHECK (in_arrears IN (0, 1)));
CREATE TABLE billing_schedule_line (
  schedule_id INTEGER NOT NULL REFERENCES billing_schedule(id),
  sequence INTEGER NOT NULL CHECK (sequence > 0),
  line_date TEXT NOT NULL CHECK (date(line_date) IS line_date), description TEXT NOT NULL,
  amount_minor INTEGER CHECK (amount_minor IS NULL OR (typeof(amount_minor) = 'integer' AND amount_minor >= 0)),
  milestone_ref TEXT,
  PRIMARY KEY (schedule_id, sequence)) WITHOUT ROWID;
-- A T&M line's amount is the period's approved time, so it has none of its own; every other line has one.
CREATE TRIGGER billing_schedule_line_amount BEFORE INSERT ON billing_schedule_line
  WHEN ((SELECT schedule_type FROM billing_schedule WHERE id = NEW.schedule_id) = 'TIME_AND_MATERIALS') <> (NEW.amount_minor IS NULL)
  BEGIN SELECT RAISE(ABORT, 'billing_schedule_line.amount_minor must be NULL exactly on time-and-materials schedules'); END;
CREATE TABLE posting (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES job(id),
  period TEXT NOT NULL CHECK (period GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]' AND substr(period, 6, 2) BETWEEN '01' AND '12'),
  type TEXT NOT NULL CHECK (type IN ('TIME_COST', 'REVENUE', 'BILLING')),
  amount_minor INTEGER NOT NULL CHECK (typeof(amount_minor) = 'integer'));
-- Covering indexes: a job's totals and a period range are both read without touching the table.
CREATE INDEX posting_job ON posting(job_id, type, amount_minor);
CREATE INDEX posting_period ON posting(period, type, job_id, amount_minor);
`;
