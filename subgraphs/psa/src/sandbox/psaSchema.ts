/**
 * The PSA sandbox's tables, indexes and rules. The rules live in the store itself (CHECK constraints and
 * triggers), so that no caller can get around them: see `sandboxPsa.ts` for what they keep.
 */

/** A Kantata-style numeric ID column: digits, no leading zero, at most 16 of them. */
export const NUMERIC_ID = (column: string) => `${column} GLOB '[1-9]*' AND ${column} NOT GLOB '*[^0-9]*' AND length(${column}) <= 16`;
const ISO_DATE = (column: string) => `${column} = date(${column})`;
const REGIONS = `('NORTH_AMERICA', 'UK_IRELAND', 'EUROPE', 'APAC')`;
const CURRENCIES = `('USD', 'GBP', 'EUR', 'AUD')`;

/**
 * The tables, without secondary indexes or triggers: `seedPsa` bulk-loads them and then adds `INDEXES` and
 * `RULES`, as a database restore does. Building an index once from loaded rows is several times faster than
 * maintaining it row by row, and the loaded time is checked against the same placement rule in one pass.
 */
export const TABLES = `
CREATE TABLE role (code TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE resource (
  id TEXT PRIMARY KEY CHECK (${NUMERIC_ID('id')}),
  name TEXT NOT NULL, email TEXT NOT NULL,
  role TEXT NOT NULL REFERENCES role(code),
  region TEXT NOT NULL CHECK (region IN ${REGIONS}),
  currency TEXT NOT NULL CHECK (currency IN ${CURRENCIES}),
  cost_rate_minor INTEGER NOT NULL CHECK (cost_rate_minor >= 0),
  bill_rate_minor INTEGER NOT NULL CHECK (bill_rate_minor >= 0),
  weekly_capacity_hours INTEGER NOT NULL CHECK (weekly_capacity_hours BETWEEN 1 AND 60));
CREATE TABLE resource_skill (
  resource_id TEXT NOT NULL REFERENCES resource(id),
  skill TEXT NOT NULL COLLATE NOCASE,
  PRIMARY KEY (resource_id, skill)) WITHOUT ROWID;
CREATE TABLE project (
  id TEXT PRIMARY KEY CHECK (id GLOB 'prj_[0-9A-Z]*' AND length(id) = 30),
  psa_id TEXT NOT NULL CHECK (${NUMERIC_ID('psa_id')}),
  account_id TEXT NOT NULL CHECK (length(account_id) = 18 AND substr(account_id, 1, 3) = '001'),
  code TEXT NOT NULL, name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('PLANNED', 'ACTIVE', 'ON_HOLD', 'COMPLETED', 'CANCELLED')),
  region TEXT NOT NULL CHECK (region IN ${REGIONS}),
  service_line TEXT NOT NULL,
  contract_type TEXT NOT NULL CHECK (contract_type IN ('FIXED_FEE', 'TIME_AND_MATERIALS', 'MILESTONE', 'RETAINER')),
  currency TEXT NOT NULL CHECK (currency IN ${CURRENCIES}),
  start_date TEXT NOT NULL CHECK (${ISO_DATE('start_date')}),
  end_date TEXT NOT NULL CHECK (${ISO_DATE('end_date')}),
  manager_id TEXT NOT NULL REFERENCES resource(id),
  CHECK (start_date <= end_date));
CREATE TABLE milestone (
  id TEXT PRIMARY KEY CHECK (${NUMERIC_ID('id')}),
  project_id TEXT NOT NULL REFERENCES project(id),
  sort_order INTEGER NOT NULL, name TEXT NOT NULL,
  target_date TEXT NOT NULL CHECK (${ISO_DATE('target_date')}),
  actual_date TEXT CHECK (actual_date IS NULL OR ${ISO_DATE('actual_date')}),
  status TEXT NOT NULL CHECK (status IN ('PLANNED', 'COMPLETED', 'APPROVED_FOR_BILLING')),
  billable INTEGER NOT NULL CHECK (billable IN (0, 1)),
  amount_minor INTEGER CHECK (amount_minor IS NULL OR amount_minor >= 0),
  -- A milestone is done when it has an actual date; only a billable one has an amount or is approved for billing.
  CHECK ((status = 'PLANNED') = (actual_date IS NULL)),
  CHECK (status <> 'APPROVED_FOR_BILLING' OR billable = 1),
  CHECK ((billable = 1) = (amount_minor IS NOT NULL)));
CREATE TABLE resource_request (
  id TEXT PRIMARY KEY CHECK (${NUMERIC_ID('id')}),
  project_id TEXT NOT NULL REFERENCES project(id),
  role TEXT NOT NULL REFERENCES role(code),
  hours REAL NOT NULL CHECK (hours > 0),
  start_date TEXT NOT NULL CHECK (${ISO_DATE('start_date')}),
  end_date TEXT NOT NULL CHECK (${ISO_DATE('end_date')}),
  status TEXT NOT NULL CHECK (status IN ('OPEN', 'HELD', 'FULFILLED', 'CANCELLED')),
  CHECK (start_date <= end_date),
  -- The parent key of the assignment's composite foreign key.
  UNIQUE (id, project_id, role));
CREATE TABLE assignment (
  id TEXT PRIMARY KEY CHECK (${NUMERIC_ID('id')}),
  project_id TEXT NOT NULL REFERENCES project(id),
  resource_id TEXT NOT NULL REFERENCES resource(id),
  request_id TEXT,
  role TEXT NOT NULL REFERENCES role(code),
  status TEXT NOT NULL CHECK (status IN ('TENTATIVE', 'CONFIRMED', 'CLOSED')),
  bill_rate_minor INTEGER NOT NULL CHECK (bill_rate_minor >= 0),
  cost_rate_minor INTEGER NOT NULL CHECK (cost_rate_minor >= 0),
  -- An assignment fills a request of its own project, for the role requested.
  FOREIGN KEY (request_id, project_id, role) REFERENCES resource_request(id, project_id, role));
CREATE TABLE timesheet (
  id INTEGER PRIMARY KEY CHECK (id > 0),
  resource_id TEXT NOT NULL REFERENCES resource(id),
  project_id TEXT NOT NULL REFERENCES project(id),
  week_start TEXT NOT NULL CHECK (week_start = date(week_start, 'weekday 1')),
  status TEXT NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'SUBMITTED', 'APPROVED', 'REJECTED')),
  approved_on TEXT CHECK (approved_on IS NULL OR ${ISO_DATE('approved_on')}),
  CHECK ((status = 'APPROVED') = (approved_on IS NOT NULL)));
-- No approval column: an entry is approved exactly when its timesheet is.
CREATE TABLE time_entry (
  id INTEGER PRIMARY KEY CHECK (id > 0),
  timesheet_id INTEGER NOT NULL REFERENCES timesheet(id),
  assignment_id TEXT NOT NULL REFERENCES assignment(id),
  work_date TEXT NOT NULL CHECK (${ISO_DATE('work_date')}),
  minutes INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
  billable INTEGER NOT NULL CHECK (billable IN (0, 1)),
  bill_rate_minor INTEGER NOT NULL CHECK (bill_rate_minor >= 0),
  cost_rate_minor INTEGER NOT NULL CHECK (cost_rate_minor >= 0));

-- Where a piece of time may be booked: on an assignment of the timesheet's consultant on the timesheet's project
-- that is more than a soft booking, inside the timesheet's week and inside the project's dates.
CREATE VIEW time_entry_misplacement AS
SELECT e.id AS time_entry_id,
  CASE
    WHEN a.resource_id <> t.resource_id OR a.project_id <> t.project_id THEN 'its assignment is not the timesheet consultant''s on the timesheet''s project'
    WHEN a.status = 'TENTATIVE' THEN 'it is booked on a tentative assignment'
    WHEN e.work_date NOT BETWEEN t.week_start AND date(t.week_start, '+6 days') THEN 'its work date is outside the timesheet''s week'
    WHEN e.work_date NOT BETWEEN p.start_date AND p.end_date THEN 'its work date is outside the project''s dates'
  END AS problem
FROM time_entry e JOIN timesheet t ON t.id = e.timesheet_id JOIN project p ON p.id = t.project_id JOIN assignment a ON a.id = e.assignment_id
WHERE problem IS NOT NULL;
`;

export const INDEXES = `
CREATE UNIQUE INDEX resource_email ON resource(email);
CREATE INDEX resource_name ON resource(name, id);
CREATE INDEX resource_skill_by_skill ON resource_skill(skill, resource_id);
CREATE UNIQUE INDEX project_psa_id ON project(psa_id);
CREATE UNIQUE INDEX project_code ON project(code);
CREATE INDEX project_start ON project(start_date, id);
CREATE INDEX project_account ON project(account_id);
CREATE INDEX project_manager ON project(manager_id);
CREATE INDEX milestone_project ON milestone(project_id, sort_order);
CREATE INDEX resource_request_project ON resource_request(project_id);
CREATE UNIQUE INDEX assignment_request ON assignment(request_id);
CREATE INDEX assignment_project ON assignment(project_id);
CREATE INDEX assignment_resource ON assignment(resource_id);
-- One timesheet per consultant, project and week (Kantata's timesheet submission, Certinia's timecard header).
CREATE UNIQUE INDEX timesheet_week ON timesheet(resource_id, project_id, week_start);
CREATE INDEX timesheet_project ON timesheet(project_id, status);
CREATE INDEX timesheet_resource_approval ON timesheet(resource_id, status, week_start);
-- Covers the time totals and the utilization sums: a project's (or a consultant's) timesheets come from the
-- timesheet indexes, then each timesheet's entries are read from this index alone, never from the table.
CREATE INDEX time_entry_sums ON time_entry(timesheet_id, work_date, billable, minutes, bill_rate_minor, cost_rate_minor);
CREATE INDEX time_entry_assignment ON time_entry(assignment_id);
`;

const TIME_ENTRY_PLACEMENT = `SELECT RAISE(ABORT, 'time entry ' || time_entry_id || ': ' || problem) FROM time_entry_misplacement WHERE time_entry_id = NEW.id;`;
const TIME_LOCKED = `'time entry: its timesheet is submitted or approved, so its time is locked'`;

/**
 * Timesheets move OPEN → SUBMITTED → APPROVED | REJECTED, back to OPEN from REJECTED, and from APPROVED to correct
 * them (un-approved: what was posted from them is reversed). Shared with `installDelivery`, which replaces the
 * older rule (without the way back from APPROVED) in stores seeded before it.
 */
export const TIMESHEET_STATUS_TRANSITION = `CREATE TRIGGER timesheet_status_transition BEFORE UPDATE OF status ON timesheet
  WHEN NEW.status IS NOT OLD.status AND NOT (
       (OLD.status = 'OPEN' AND NEW.status = 'SUBMITTED')
    OR (OLD.status = 'SUBMITTED' AND NEW.status IN ('APPROVED', 'REJECTED'))
    OR (OLD.status IN ('REJECTED', 'APPROVED') AND NEW.status = 'OPEN'))
  BEGIN SELECT RAISE(ABORT, 'timesheet: status cannot go from ' || OLD.status || ' to ' || NEW.status); END;`;

/** The PSA's rules, enforced on every change after the load. */
export const RULES = `
CREATE TRIGGER time_entry_placement_insert AFTER INSERT ON time_entry BEGIN ${TIME_ENTRY_PLACEMENT} END;
CREATE TRIGGER time_entry_placement_update AFTER UPDATE OF timesheet_id, assignment_id, work_date ON time_entry BEGIN ${TIME_ENTRY_PLACEMENT} END;
CREATE TRIGGER time_entry_locked_insert BEFORE INSERT ON time_entry
  WHEN (SELECT status FROM timesheet WHERE id = NEW.timesheet_id) IN ('SUBMITTED', 'APPROVED')
  BEGIN SELECT RAISE(ABORT, ${TIME_LOCKED}); END;
CREATE TRIGGER time_entry_locked_update BEFORE UPDATE ON time_entry
  WHEN (SELECT status FROM timesheet WHERE id = OLD.timesheet_id) IN ('SUBMITTED', 'APPROVED')
    OR (SELECT status FROM timesheet WHERE id = NEW.timesheet_id) IN ('SUBMITTED', 'APPROVED')
  BEGIN SELECT RAISE(ABORT, ${TIME_LOCKED}); END;
CREATE TRIGGER time_entry_locked_delete BEFORE DELETE ON time_entry
  WHEN (SELECT status FROM timesheet WHERE id = OLD.timesheet_id) IN ('SUBMITTED', 'APPROVED')
  BEGIN SELECT RAISE(ABORT, ${TIME_LOCKED}); END;

CREATE TRIGGER timesheet_identity_is_fixed BEFORE UPDATE OF resource_id, project_id, week_start ON timesheet
  WHEN NEW.resource_id IS NOT OLD.resource_id OR NEW.project_id IS NOT OLD.project_id OR NEW.week_start IS NOT OLD.week_start
  BEGIN SELECT RAISE(ABORT, 'timesheet: its consultant, project and week cannot change'); END;
${TIMESHEET_STATUS_TRANSITION}

CREATE TRIGGER assignment_identity_is_fixed BEFORE UPDATE OF resource_id, project_id ON assignment
  WHEN NEW.resource_id IS NOT OLD.resource_id OR NEW.project_id IS NOT OLD.project_id
  BEGIN SELECT RAISE(ABORT, 'assignment: its consultant and project cannot change'); END;
CREATE TRIGGER assignment_fills_a_staffed_request BEFORE INSERT ON assignment WHEN NEW.request_id IS NOT NULL
  BEGIN SELECT RAISE(ABORT, 'assignment: its resource request is neither held nor fulfilled')
    WHERE (SELECT status FROM resource_request WHERE id = NEW.request_id) NOT IN ('HELD', 'FULFILLED'); END;

CREATE TRIGGER project_status_transition BEFORE UPDATE OF status ON project
  WHEN NEW.status IS NOT OLD.status AND NOT (
       (OLD.status = 'PLANNED' AND NEW.status IN ('ACTIVE', 'CANCELLED'))
    OR (OLD.status = 'ACTIVE' AND NEW.status IN ('ON_HOLD', 'COMPLETED', 'CANCELLED'))
    OR (OLD.status = 'ON_HOLD' AND NEW.status IN ('ACTIVE', 'CANCELLED')))
  BEGIN SELECT RAISE(ABORT, 'project: status cannot go from ' || OLD.status || ' to ' || NEW.status); END;
CREATE TRIGGER project_dates_cover_booked_time BEFORE UPDATE OF start_date, end_date ON project
  BEGIN SELECT RAISE(ABORT, 'project: booked time would fall outside the project''s dates')
    WHERE EXISTS (SELECT 1 FROM timesheet t JOIN time_entry e ON e.timesheet_id = t.id
                  WHERE t.project_id = NEW.id AND (e.work_date < NEW.start_date OR e.work_date > NEW.end_date)); END;
`;
