/**
 * The tables of the activation subgraph's own store. The one-run-per-deal rule lives here: a partial UNIQUE index
 * on the opportunity over every status but COMPENSATED and CANCELLED. However many mutations and events race,
 * across however many processes, the database lets one of them create the run and the others find it.
 */
import { RELEASED_STATUSES, RUN_STATUSES, STEP_NAMES } from '../saga/activationStates.js';

/** A SQL list literal of fixed, known values (statuses, step names), for CHECK constraints and filters. */
export const sqlList = (values: readonly string[]) => `(${values.map((value) => `'${value}'`).join(', ')})`;

/** The activation store's tables; `CREATE … IF NOT EXISTS`, so opening an existing store changes nothing. */
export const ACTIVATION_DDL = `
CREATE TABLE IF NOT EXISTS activation_run (
  id TEXT PRIMARY KEY,
  opportunity_id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ${sqlList(RUN_STATUSES)}),
  trigger TEXT NOT NULL CHECK (trigger IN ('MUTATION', 'EVENT')),
  region TEXT,
  plan TEXT,
  cause TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  requested_at TEXT NOT NULL,
  closed_won_at TEXT,
  activated_at TEXT,
  finished_at TEXT,
  updated_at TEXT NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER);
-- One deal, one run that is in flight, parked or succeeded: so one deal can never yield two projects.
CREATE UNIQUE INDEX IF NOT EXISTS activation_run_one_per_opportunity ON activation_run(opportunity_id)
  WHERE status NOT IN ${sqlList(RELEASED_STATUSES)};
CREATE INDEX IF NOT EXISTS activation_run_status ON activation_run(status, lease_until);
CREATE INDEX IF NOT EXISTS activation_run_opportunity ON activation_run(opportunity_id, requested_at);
CREATE INDEX IF NOT EXISTS activation_run_project ON activation_run(project_id, requested_at);
CREATE INDEX IF NOT EXISTS activation_run_requested ON activation_run(requested_at, id);
CREATE TABLE IF NOT EXISTS activation_step (
  run_id TEXT NOT NULL REFERENCES activation_run(id),
  sequence INTEGER NOT NULL,
  name TEXT NOT NULL CHECK (name IN ${sqlList(STEP_NAMES)}),
  status TEXT NOT NULL DEFAULT 'PENDING',
  attempts INTEGER NOT NULL DEFAULT 0,
  compensation_attempts INTEGER NOT NULL DEFAULT 0,
  started_at TEXT,
  finished_at TEXT,
  error TEXT,
  output TEXT,
  PRIMARY KEY (run_id, sequence)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS activation_transition (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES activation_run(id),
  from_status TEXT,
  to_status TEXT NOT NULL,
  at TEXT NOT NULL,
  reason TEXT);
CREATE INDEX IF NOT EXISTS activation_transition_run ON activation_transition(run_id, id);
-- A client's key names one request: repeating it returns the same run; reusing it for another deal is refused.
CREATE TABLE IF NOT EXISTS idempotency_key (
  key TEXT PRIMARY KEY,
  opportunity_id TEXT NOT NULL,
  run_id TEXT NOT NULL REFERENCES activation_run(id),
  created_at TEXT NOT NULL);
-- The canonical project ID of a deal, minted once and reused by every run of that deal, and its IDs elsewhere.
CREATE TABLE IF NOT EXISTS project_xref (
  project_id TEXT PRIMARY KEY,
  opportunity_id TEXT NOT NULL UNIQUE,
  account_id TEXT,
  erp_customer_id TEXT,
  erp_project_id TEXT,
  erp_project_code TEXT,
  billing_schedule_id TEXT,
  psa_project_id TEXT,
  updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS integration_exception (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES activation_run(id),
  type TEXT NOT NULL,
  message TEXT NOT NULL,
  system TEXT NOT NULL CHECK (system IN ('CRM', 'ERP', 'PSA', 'ACTIVATION')),
  record_type TEXT NOT NULL,
  record_id TEXT NOT NULL,
  field TEXT,
  region TEXT,
  status TEXT NOT NULL CHECK (status IN ('OPEN', 'RESOLVED', 'WAIVED', 'CANCELLED')),
  occurrences INTEGER NOT NULL DEFAULT 1,
  raised_at TEXT NOT NULL,
  resolved_at TEXT,
  resolution TEXT,
  resolution_note TEXT);
-- One open exception per problem: seeing the same problem again counts an occurrence instead of a duplicate.
CREATE UNIQUE INDEX IF NOT EXISTS integration_exception_open_problem ON integration_exception(run_id, type, record_id, COALESCE(field, ''))
  WHERE status = 'OPEN';
CREATE INDEX IF NOT EXISTS integration_exception_status ON integration_exception(status, type, region);
CREATE INDEX IF NOT EXISTS integration_exception_run ON integration_exception(run_id);
CREATE TABLE IF NOT EXISTS closed_won_seen (
  opportunity_id TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  occurred_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letter (
  id INTEGER PRIMARY KEY,
  event_id TEXT,
  type TEXT,
  reason TEXT NOT NULL,
  payload TEXT NOT NULL,
  received_at TEXT NOT NULL);
`;
