/**
 * The PSA sandbox: a Kantata/Certinia-shaped store in SQLite. It keeps the PSA's rules that matter to the
 * integration, in the store itself so that no caller can get around them:
 * - time is approved only through its weekly timesheet (Kantata's timesheet submission, Certinia's timecard
 *   header): one timesheet per consultant, project and week, and an entry's approval status *is* its timesheet's
 *   status — the entry has no approval column to disagree with;
 * - an entry is booked on an assignment of the timesheet's consultant on the timesheet's project, inside the
 *   timesheet's week and inside the project's dates, and never on a tentative (soft-booked) assignment;
 * - timesheets move OPEN → SUBMITTED → APPROVED | REJECTED → OPEN, and the time on a submitted or approved
 *   timesheet is locked;
 * - projects move through their own lifecycle, and their dates cannot shrink past booked time.
 * IDs are Kantata's: numeric strings, except the project's canonical `prj_…` ID kept as its external reference.
 */
import { join } from 'node:path';
import {
  type PageRequest,
  type SqliteStore,
  WhereBuilder,
  groupBy,
  isoFromDay,
  jsonList,
  openSandboxStore,
  searchPage,
} from '../../../shared/src/index.js';
import { ROLES } from '../../../shared/src/world/catalog.js';
import { generateProjectTime } from '../../../shared/src/world/time.js';
import { type World, type WorldOptions, buildWorld } from '../../../shared/src/world/world.js';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from '../../../shared/src/errors.js';
import { type BusEvent, type EventBus, OUTBOX_DDL, appendToOutbox, newEvent, startOutboxRelay } from '../../../shared/src/events/index.js';
import type {
  ApprovedTimeQuery,
  NewPsaProject,
  NewResourceRequest,
  PsaWrites,
  AssignmentStatus,
  MilestoneStatus,
  ProjectSearch,
  ProjectStatus,
  PsaApprovedTime,
  PsaAssignment,
  PsaMilestone,
  PsaProject,
  PsaResource,
  PsaResourceRequest,
  PsaSystem,
  PsaTimeTotals,
  ResourceRequestStatus,
  ResourceSearch,
  SearchResult,
} from '../psaPort.js';

const NUMERIC_ID = (column: string) => `${column} GLOB '[1-9]*' AND ${column} NOT GLOB '*[^0-9]*' AND length(${column}) <= 16`;
const ISO_DATE = (column: string) => `${column} = date(${column})`;
const REGIONS = `('NORTH_AMERICA', 'UK_IRELAND', 'EUROPE', 'APAC')`;
const CURRENCIES = `('USD', 'GBP', 'EUR', 'AUD')`;

/**
 * The tables, without secondary indexes or triggers: `seedPsa` bulk-loads them and then adds `INDEXES` and
 * `RULES`, as a database restore does. Building an index once from loaded rows is several times faster than
 * maintaining it row by row, and the loaded time is checked against the same placement rule in one pass.
 */
const TABLES = `
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

const INDEXES = `
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

/** The PSA's rules, enforced on every change after the load. */
const RULES = `
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
CREATE TRIGGER timesheet_status_transition BEFORE UPDATE OF status ON timesheet
  WHEN NEW.status IS NOT OLD.status AND NOT (
       (OLD.status = 'OPEN' AND NEW.status = 'SUBMITTED')
    OR (OLD.status = 'SUBMITTED' AND NEW.status IN ('APPROVED', 'REJECTED'))
    OR (OLD.status = 'REJECTED' AND NEW.status = 'OPEN'))
  BEGIN SELECT RAISE(ABORT, 'timesheet: status cannot go from ' || OLD.status || ' to ' || NEW.status); END;

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

/**
 * Rounds each entry's value half up in integer arithmetic, as `monthlyApprovedTime` does with Math.round, so
 * the PSA's totals agree to the cent with what ERP posts and billing invoices from the same time.
 */
const entryValue = (rateColumn: string, entry = 'e') => `(${entry}.minutes * ${entry}.${rateColumn} + 30) / 60`;

/**
 * A project's time totals, kept per project and timesheet status by triggers (as Kantata and Certinia keep
 * rollups on the project): reading a page of projects' totals then reads a handful of rows per project instead
 * of every entry of every week (about 12,000 for a page of 50). Entries change only on open or rejected
 * timesheets, a timesheet's project never changes, and a status change moves its entries' sums from one status to
 * the other. `last_entry_date` is recomputed from the entries when an entry leaves a status, since a maximum cannot
 * be decremented. Installed after the load (and on opening a store seeded before the rollup existed).
 */
const TIME_ROLLUP_TABLE = `
CREATE TABLE IF NOT EXISTS project_time_rollup (
  project_id TEXT NOT NULL,
  status TEXT NOT NULL,
  entry_count INTEGER NOT NULL,
  minutes INTEGER NOT NULL,
  billable_minutes INTEGER NOT NULL,
  billable_value_minor INTEGER NOT NULL,
  cost_minor INTEGER NOT NULL,
  last_entry_date TEXT,
  PRIMARY KEY (project_id, status)) WITHOUT ROWID;`;

const SUM_COLUMNS = ['entry_count', 'minutes', 'billable_minutes', 'billable_value_minor', 'cost_minor'] as const;

/** The sums of the entries `alias` (one entry, or a group through `aggregate`), in the order of SUM_COLUMNS. */
const rollupSums = (alias: string, aggregate: (expression: string) => string, named = false) =>
  [
    '1',
    `${alias}.minutes`,
    `CASE WHEN ${alias}.billable = 1 THEN ${alias}.minutes ELSE 0 END`,
    `CASE WHEN ${alias}.billable = 1 THEN ${entryValue('bill_rate_minor', alias)} ELSE 0 END`,
    entryValue('cost_rate_minor', alias),
  ]
    .map((expression, i) => `${aggregate(expression)}${named ? ` AS ${SUM_COLUMNS[i]}` : ''}`)
    .join(', ');

const ROLLUP_COLUMNS = 'project_id, status, entry_count, minutes, billable_minutes, billable_value_minor, cost_minor, last_entry_date';
const ROLLUP_ADD = `ON CONFLICT (project_id, status) DO UPDATE SET entry_count = entry_count + excluded.entry_count,
  minutes = minutes + excluded.minutes, billable_minutes = billable_minutes + excluded.billable_minutes,
  billable_value_minor = billable_value_minor + excluded.billable_value_minor, cost_minor = cost_minor + excluded.cost_minor,
  last_entry_date = max(coalesce(last_entry_date, ''), excluded.last_entry_date)`;

/** Adds one entry (`NEW` or `OLD`) to its timesheet's project and status. */
const rollupAddEntry = (entry: 'NEW' | 'OLD') => `INSERT INTO project_time_rollup (${ROLLUP_COLUMNS})
  SELECT t.project_id, t.status, ${rollupSums(entry, (x) => x)}, ${entry}.work_date FROM timesheet t WHERE t.id = ${entry}.timesheet_id
  ${ROLLUP_ADD};`;

const rollupRecomputeLast = (key: string) => `UPDATE project_time_rollup SET last_entry_date = (SELECT MAX(e.work_date) FROM timesheet t JOIN time_entry e ON e.timesheet_id = t.id
    WHERE t.project_id = project_time_rollup.project_id AND t.status = project_time_rollup.status)
  WHERE (project_id, status) = ${key};`;

/** Takes the entry `OLD` away from its timesheet's project and status, and recomputes that key's last entry date. */
const ROLLUP_REMOVE_OLD_ENTRY = `UPDATE project_time_rollup SET entry_count = entry_count - 1, minutes = minutes - OLD.minutes,
    billable_minutes = billable_minutes - CASE WHEN OLD.billable = 1 THEN OLD.minutes ELSE 0 END,
    billable_value_minor = billable_value_minor - CASE WHEN OLD.billable = 1 THEN ${entryValue('bill_rate_minor', 'OLD')} ELSE 0 END,
    cost_minor = cost_minor - ${entryValue('cost_rate_minor', 'OLD')}
  WHERE (project_id, status) = (SELECT project_id, status FROM timesheet WHERE id = OLD.timesheet_id);
  ${rollupRecomputeLast(`(SELECT project_id, status FROM timesheet WHERE id = OLD.timesheet_id)`)}`;

const TIME_ROLLUP_TRIGGERS = `
CREATE TRIGGER IF NOT EXISTS time_rollup_entry_insert AFTER INSERT ON time_entry BEGIN ${rollupAddEntry('NEW')} END;
CREATE TRIGGER IF NOT EXISTS time_rollup_entry_delete AFTER DELETE ON time_entry BEGIN ${ROLLUP_REMOVE_OLD_ENTRY} END;
CREATE TRIGGER IF NOT EXISTS time_rollup_entry_update AFTER UPDATE ON time_entry BEGIN ${ROLLUP_REMOVE_OLD_ENTRY} ${rollupAddEntry('NEW')} END;
CREATE TRIGGER IF NOT EXISTS time_rollup_timesheet_status AFTER UPDATE OF status ON timesheet WHEN NEW.status IS NOT OLD.status BEGIN
  INSERT INTO project_time_rollup (${ROLLUP_COLUMNS})
    SELECT NEW.project_id, NEW.status, ${rollupSums('e', (x) => `SUM(${x})`)}, MAX(e.work_date) FROM time_entry e WHERE e.timesheet_id = NEW.id
    GROUP BY e.timesheet_id ${ROLLUP_ADD};
  UPDATE project_time_rollup SET (${SUM_COLUMNS.join(', ')}) =
    (SELECT ${SUM_COLUMNS.map((column) => `project_time_rollup.${column} - moved.${column}`).join(', ')}
     FROM (SELECT ${rollupSums('e', (x) => `SUM(${x})`, true)} FROM time_entry e WHERE e.timesheet_id = NEW.id) AS moved)
  WHERE project_id = OLD.project_id AND status = OLD.status AND EXISTS (SELECT 1 FROM time_entry WHERE timesheet_id = NEW.id);
  ${rollupRecomputeLast('(OLD.project_id, OLD.status)')}
END;`;

/** Creates and fills the time rollup if this store has none yet; idempotent, safe for two processes at once. */
export function installTimeRollup(store: SqliteStore): void {
  store.db
    .transaction(() => {
      const exists = store.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'project_time_rollup'").get() !== undefined;
      store.exec(TIME_ROLLUP_TABLE);
      if (!exists) {
        store.exec(`INSERT INTO project_time_rollup (${ROLLUP_COLUMNS})
          SELECT t.project_id, t.status, ${rollupSums('e', (x) => `SUM(${x})`)}, MAX(e.work_date)
          FROM timesheet t JOIN time_entry e ON e.timesheet_id = t.id GROUP BY t.project_id, t.status`);
      }
      store.exec(TIME_ROLLUP_TRIGGERS);
    })
    .immediate();
}

/**
 * Fills a fresh PSA store (created with `TABLES`) from the world, in the caller's transaction, then builds the
 * indexes, checks every loaded entry against the placement rule and installs the rules for later changes. Time is
 * the bulk (about 230,000 entries at the default volume), so every row goes through one prepared statement and
 * day numbers are formatted once.
 */
export function seedPsa(store: SqliteStore, world: World): void {
  const isoDays = new Map<number, string>();
  const iso = (day: number): string => {
    let text = isoDays.get(day);
    if (text === undefined) isoDays.set(day, (text = isoFromDay(day)));
    return text;
  };

  const insertRole = store.prepare('INSERT INTO role (code, name) VALUES (?, ?)');
  for (const role of ROLES) insertRole.run([role.code, role.name]);

  const insertResource = store.prepare(
    `INSERT INTO resource (id, name, email, role, region, currency, cost_rate_minor, bill_rate_minor, weekly_capacity_hours)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertSkill = store.prepare('INSERT INTO resource_skill (resource_id, skill) VALUES (?, ?)');
  for (const consultant of world.consultants) {
    insertResource.run([
      consultant.psaId,
      consultant.name,
      consultant.email,
      consultant.role,
      consultant.region,
      consultant.currency,
      consultant.costRateMinor,
      consultant.billRateMinor,
      consultant.weeklyCapacityHours,
    ]);
    for (const skill of consultant.skills) insertSkill.run([consultant.psaId, skill]);
  }

  const insertProject = store.prepare(
    `INSERT INTO project (id, psa_id, account_id, code, name, status, region, service_line, contract_type, currency, start_date, end_date, manager_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertMilestone = store.prepare(
    `INSERT INTO milestone (id, project_id, sort_order, name, target_date, actual_date, status, billable, amount_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertRequest = store.prepare(
    'INSERT INTO resource_request (id, project_id, role, hours, start_date, end_date, status) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertAssignment = store.prepare(
    `INSERT INTO assignment (id, project_id, resource_id, request_id, role, status, bill_rate_minor, cost_rate_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertTimesheet = store.prepare('INSERT INTO timesheet (id, resource_id, project_id, week_start, status, approved_on) VALUES (?, ?, ?, ?, ?, ?)');
  const insertEntry = store.prepare(
    `INSERT INTO time_entry (id, timesheet_id, assignment_id, work_date, minutes, billable, bill_rate_minor, cost_rate_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );

  for (const project of world.projects) {
    insertProject.run([
      project.id,
      project.psaId,
      world.accounts[project.accountIndex]!.crmId,
      project.code,
      project.name,
      project.status,
      project.region,
      project.serviceLine,
      project.contractType,
      project.currency,
      iso(project.startDay),
      iso(project.endDay),
      world.consultants[project.managerIndex]!.psaId,
    ]);
    project.milestones.forEach((milestone, order) =>
      insertMilestone.run([
        milestone.psaId,
        project.id,
        order,
        milestone.name,
        iso(milestone.targetDay),
        milestone.actualDay === null ? null : iso(milestone.actualDay),
        milestone.status,
        milestone.billable ? 1 : 0,
        milestone.billable ? milestone.amountMinor : null,
      ]),
    );
    for (const request of project.requests) {
      insertRequest.run([request.psaId, project.id, request.role, request.hours, iso(request.startDay), iso(request.endDay), request.status]);
      const assignment = request.assignment;
      if (!assignment) continue;
      insertAssignment.run([
        assignment.psaId,
        project.id,
        world.consultants[assignment.consultantIndex]!.psaId,
        request.psaId,
        request.role,
        assignment.status,
        assignment.billRateMinor,
        assignment.costRateMinor,
      ]);
    }

    const time = generateProjectTime(world, project);
    // The PSA keeps one timesheet per consultant, project and week. The world can staff one consultant on two
    // lines of a small project and then issue two sheets for the same week; their time goes on the first one.
    const sheetIdBySeedIndex: number[] = [];
    const sheetIdByConsultantWeek = new Map<string, number>();
    time.timesheets.forEach((sheet, index) => {
      const key = `${sheet.consultantIndex}|${sheet.weekStartDay}`;
      const existing = sheetIdByConsultantWeek.get(key);
      if (existing !== undefined) {
        sheetIdBySeedIndex[index] = existing;
        return;
      }
      const id = Number(sheet.psaId);
      insertTimesheet.run([
        id,
        world.consultants[sheet.consultantIndex]!.psaId,
        project.id,
        iso(sheet.weekStartDay),
        sheet.status,
        sheet.approvedDay === null ? null : iso(sheet.approvedDay),
      ]);
      sheetIdByConsultantWeek.set(key, id);
      sheetIdBySeedIndex[index] = id;
    });
    for (const entry of time.entries) {
      insertEntry.run([
        Number(entry.psaId),
        sheetIdBySeedIndex[entry.timesheetIndex]!,
        entry.assignmentPsaId,
        iso(entry.day),
        entry.minutes,
        entry.billable ? 1 : 0,
        entry.billRateMinor,
        entry.costRateMinor,
      ]);
    }
  }
  store.exec(INDEXES);
  const misplaced = store.prepare<{ time_entry_id: number; problem: string }>('SELECT time_entry_id, problem FROM time_entry_misplacement LIMIT 1').get();
  if (misplaced) throw new Error(`PSA seed: time entry ${misplaced.time_entry_id}: ${misplaced.problem}.`);
  store.exec(RULES);
  installTimeRollup(store);
}

interface ProjectRow {
  id: string;
  psa_id: string;
  account_id: string;
  code: string;
  name: string;
  status: ProjectStatus;
  region: string;
  service_line: string;
  contract_type: string;
  currency: string;
  start_date: string;
  end_date: string;
  manager_id: string;
}

interface ResourceRow {
  id: string;
  name: string;
  email: string;
  role: string;
  role_name: string;
  region: string;
  currency: string;
  cost_rate_minor: number;
  bill_rate_minor: number;
  weekly_capacity_hours: number;
  /** JSON array of skill names. */
  skills: string;
}

interface MilestoneRow {
  id: string;
  project_id: string;
  name: string;
  target_date: string;
  actual_date: string | null;
  status: MilestoneStatus;
  billable: 0 | 1;
  amount_minor: number | null;
  currency: string;
}

interface ResourceRequestRow {
  id: string;
  project_id: string;
  role: string;
  role_name: string;
  hours: number;
  start_date: string;
  end_date: string;
  status: ResourceRequestStatus;
}

interface AssignmentRow {
  id: string;
  project_id: string;
  resource_id: string;
  request_id: string | null;
  role: string;
  role_name: string;
  status: AssignmentStatus;
  bill_rate_minor: number;
  cost_rate_minor: number;
  currency: string;
}

interface TimeTotalsRow {
  project_id: string;
  entry_count: number;
  total_minutes: number;
  approved_minutes: number;
  submitted_minutes: number;
  open_minutes: number;
  approved_billable_minutes: number;
  approved_billable_value_minor: number;
  approved_cost_minor: number;
  last_entry_date: string | null;
}

const toProject = (row: ProjectRow): PsaProject => ({
  id: row.id,
  psaId: row.psa_id,
  accountId: row.account_id,
  code: row.code,
  name: row.name,
  status: row.status,
  region: row.region,
  serviceLine: row.service_line,
  contractType: row.contract_type,
  currency: row.currency,
  startDate: row.start_date,
  endDate: row.end_date,
  managerId: row.manager_id,
});

const toResource = (row: ResourceRow): PsaResource => ({
  id: row.id,
  name: row.name,
  email: row.email,
  role: { code: row.role, name: row.role_name },
  region: row.region,
  skills: JSON.parse(row.skills) as string[],
  currency: row.currency,
  costRateMinor: row.cost_rate_minor,
  billRateMinor: row.bill_rate_minor,
  weeklyCapacityHours: row.weekly_capacity_hours,
});

const toMilestone = (row: MilestoneRow): PsaMilestone => ({
  id: row.id,
  projectId: row.project_id,
  name: row.name,
  targetDate: row.target_date,
  actualDate: row.actual_date,
  status: row.status,
  billable: row.billable === 1,
  amountMinor: row.amount_minor,
  currency: row.currency,
});

const toResourceRequest = (row: ResourceRequestRow): PsaResourceRequest => ({
  id: row.id,
  projectId: row.project_id,
  role: { code: row.role, name: row.role_name },
  hours: row.hours,
  startDate: row.start_date,
  endDate: row.end_date,
  status: row.status,
});

const toAssignment = (row: AssignmentRow): PsaAssignment => ({
  id: row.id,
  projectId: row.project_id,
  resourceId: row.resource_id,
  requestId: row.request_id,
  role: { code: row.role, name: row.role_name },
  status: row.status,
  billRateMinor: row.bill_rate_minor,
  costRateMinor: row.cost_rate_minor,
  currency: row.currency,
});

const toTimeTotals = (row: TimeTotalsRow): PsaTimeTotals => ({
  projectId: row.project_id,
  timeEntryCount: row.entry_count,
  totalMinutes: row.total_minutes,
  approvedMinutes: row.approved_minutes,
  submittedMinutes: row.submitted_minutes,
  openMinutes: row.open_minutes,
  approvedBillableMinutes: row.approved_billable_minutes,
  approvedBillableValueMinor: row.approved_billable_value_minor,
  approvedCostMinor: row.approved_cost_minor,
  lastEntryDate: row.last_entry_date,
});

const RESOURCE_COLUMNS = `r.id, r.name, r.email, r.role, ro.name AS role_name, r.region, r.currency, r.cost_rate_minor, r.bill_rate_minor,
  r.weekly_capacity_hours, (SELECT json_group_array(skill) FROM (SELECT skill FROM resource_skill s WHERE s.resource_id = r.id ORDER BY skill)) AS skills`;
const RESOURCE_FROM = 'resource r JOIN role ro ON ro.code = r.role';
const ASSIGNMENT_SELECT = `SELECT a.id, a.project_id, a.resource_id, a.request_id, a.role, ro.name AS role_name, a.status, a.bill_rate_minor,
  a.cost_rate_minor, p.currency FROM assignment a JOIN role ro ON ro.code = a.role JOIN project p ON p.id = a.project_id`;


const APPROVED_TIME_WHERE = `FROM timesheet t JOIN time_entry e ON e.timesheet_id = t.id
  WHERE t.resource_id IN (SELECT value FROM json_each(:resourceIds)) AND t.status = 'APPROVED'
    AND t.week_start BETWEEN date(:fromDate, '-6 days') AND :toDate AND e.work_date BETWEEN :fromDate AND :toDate`;
const APPROVED_TIME_SUMS = `t.resource_id AS resource_id, SUM(CASE WHEN e.billable = 1 THEN e.minutes ELSE 0 END) AS billable_minutes,
  SUM(CASE WHEN e.billable = 0 THEN e.minutes ELSE 0 END) AS non_billable_minutes`;

interface ApprovedTimeRow {
  resource_id: string;
  period_key: string;
  billable_minutes: number;
  non_billable_minutes: number;
}

export class SandboxPsa implements PsaSystem, PsaWrites {
  private readonly projectsByIdStatement;
  private readonly resourcesByIdStatement;
  private readonly milestonesStatement;
  private readonly requestsStatement;
  private readonly assignmentsByProjectStatement;
  private readonly assignmentsByResourceStatement;
  private readonly assignmentsByRequestStatement;
  private readonly timeTotalsStatement;
  private readonly approvedTimeByMonthStatement;
  private readonly approvedTimeByWeekStatement;

  constructor(readonly store: SqliteStore) {
    // Kantata's subscribed events, kept in an outbox written with each change and relayed to the bus.
    store.exec(OUTBOX_DDL);
    this.projectsByIdStatement = store.prepare<ProjectRow>('SELECT * FROM project WHERE id IN (SELECT value FROM json_each(?))');
    this.resourcesByIdStatement = store.prepare<ResourceRow>(`SELECT ${RESOURCE_COLUMNS} FROM ${RESOURCE_FROM} WHERE r.id IN (SELECT value FROM json_each(?))`);
    this.milestonesStatement = store.prepare<MilestoneRow>(
      `SELECT m.*, p.currency FROM milestone m JOIN project p ON p.id = m.project_id
       WHERE m.project_id IN (SELECT value FROM json_each(?)) ORDER BY m.project_id, m.sort_order`,
    );
    this.requestsStatement = store.prepare<ResourceRequestRow>(
      `SELECT q.id, q.project_id, q.role, ro.name AS role_name, q.hours, q.start_date, q.end_date, q.status
       FROM resource_request q JOIN role ro ON ro.code = q.role
       WHERE q.project_id IN (SELECT value FROM json_each(?)) ORDER BY q.project_id, q.id`,
    );
    this.assignmentsByProjectStatement = store.prepare<AssignmentRow>(
      `${ASSIGNMENT_SELECT} WHERE a.project_id IN (SELECT value FROM json_each(?)) ORDER BY a.project_id, a.id`,
    );
    this.assignmentsByResourceStatement = store.prepare<AssignmentRow>(
      `${ASSIGNMENT_SELECT} WHERE a.resource_id IN (SELECT value FROM json_each(?)) ORDER BY a.resource_id, p.start_date, a.id`,
    );
    this.assignmentsByRequestStatement = store.prepare<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.request_id IN (SELECT value FROM json_each(?))`);
    this.timeTotalsStatement = store.prepare<TimeTotalsRow>(
      `SELECT project_id, SUM(entry_count) AS entry_count, SUM(minutes) AS total_minutes,
         SUM(CASE WHEN status = 'APPROVED' THEN minutes ELSE 0 END) AS approved_minutes,
         SUM(CASE WHEN status = 'SUBMITTED' THEN minutes ELSE 0 END) AS submitted_minutes,
         SUM(CASE WHEN status = 'OPEN' THEN minutes ELSE 0 END) AS open_minutes,
         SUM(CASE WHEN status = 'APPROVED' THEN billable_minutes ELSE 0 END) AS approved_billable_minutes,
         SUM(CASE WHEN status = 'APPROVED' THEN billable_value_minor ELSE 0 END) AS approved_billable_value_minor,
         SUM(CASE WHEN status = 'APPROVED' THEN cost_minor ELSE 0 END) AS approved_cost_minor,
         MAX(last_entry_date) AS last_entry_date
       FROM project_time_rollup
       WHERE project_id IN (SELECT value FROM json_each(?)) AND entry_count > 0
       GROUP BY project_id`,
    );
    this.approvedTimeByMonthStatement = store.prepare<ApprovedTimeRow>(
      `SELECT ${APPROVED_TIME_SUMS}, substr(e.work_date, 1, 7) AS period_key ${APPROVED_TIME_WHERE} GROUP BY t.resource_id, period_key`,
    );
    // The Monday on or before the work date: step back six days, then forward to the next Monday.
    this.approvedTimeByWeekStatement = store.prepare<ApprovedTimeRow>(
      `SELECT ${APPROVED_TIME_SUMS}, date(e.work_date, '-6 days', 'weekday 1') AS period_key ${APPROVED_TIME_WHERE} GROUP BY t.resource_id, period_key`,
    );
  }

  get statementCount(): number {
    return this.store.statementCount;
  }

  async projectsById(ids: readonly string[]): Promise<Map<string, PsaProject>> {
    return new Map(this.projectsByIdStatement.all([jsonList(ids)]).map((row) => [row.id, toProject(row)]));
  }

  async searchProjects(search: ProjectSearch, page: PageRequest): Promise<SearchResult<PsaProject>> {
    const where = new WhereBuilder()
      .add('status IN (SELECT value FROM json_each(:statuses))', 'statuses', search.statuses)
      .add('region IN (SELECT value FROM json_each(:regions))', 'regions', search.regions)
      .add('service_line IN (SELECT value FROM json_each(:serviceLines))', 'serviceLines', search.serviceLines)
      .add('contract_type IN (SELECT value FROM json_each(:contractTypes))', 'contractTypes', search.contractTypes)
      .add('account_id = :accountId', 'accountId', search.accountId)
      .add('end_date >= :activeFrom', 'activeFrom', search.activeFrom)
      .add('start_date <= :activeTo', 'activeTo', search.activeTo)
      .add('start_date >= :startFrom', 'startFrom', search.startFrom)
      .add('start_date <= :startTo', 'startTo', search.startTo);
    return searchPage<ProjectRow, PsaProject>(this.store, { from: 'project', where, orderBy: 'start_date, id' }, page, toProject);
  }

  async resourcesById(ids: readonly string[]): Promise<Map<string, PsaResource>> {
    return new Map(this.resourcesByIdStatement.all([jsonList(ids)]).map((row) => [row.id, toResource(row)]));
  }

  async searchResources(search: ResourceSearch, page: PageRequest): Promise<SearchResult<PsaResource>> {
    return searchPage<ResourceRow, PsaResource>(this.store, { from: RESOURCE_FROM, where: resourceWhere(search), orderBy: 'r.name, r.id', columns: RESOURCE_COLUMNS }, page, toResource);
  }

  async resourcesMatching(search: ResourceSearch, limit: number): Promise<readonly PsaResource[]> {
    const where = resourceWhere(search);
    return this.store
      .prepare<ResourceRow>(`SELECT ${RESOURCE_COLUMNS} FROM ${RESOURCE_FROM} ${where} ORDER BY r.name, r.id LIMIT :limit`)
      .all({ ...where.params, limit })
      .map(toResource);
  }

  async milestonesByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaMilestone[]>> {
    return groupBy(this.milestonesStatement.all([jsonList(projectIds)]).map(toMilestone), (milestone) => milestone.projectId);
  }

  async resourceRequestsByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaResourceRequest[]>> {
    return groupBy(this.requestsStatement.all([jsonList(projectIds)]).map(toResourceRequest), (request) => request.projectId);
  }

  async assignmentsByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaAssignment[]>> {
    return groupBy(this.assignmentsByProjectStatement.all([jsonList(projectIds)]).map(toAssignment), (assignment) => assignment.projectId);
  }

  async assignmentsByResourceId(resourceIds: readonly string[]): Promise<Map<string, PsaAssignment[]>> {
    return groupBy(this.assignmentsByResourceStatement.all([jsonList(resourceIds)]).map(toAssignment), (assignment) => assignment.resourceId);
  }

  async assignmentsByRequestId(requestIds: readonly string[]): Promise<Map<string, PsaAssignment>> {
    return new Map(this.assignmentsByRequestStatement.all([jsonList(requestIds)]).map((row) => [row.request_id!, toAssignment(row)]));
  }

  async timeTotalsByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaTimeTotals>> {
    return new Map(this.timeTotalsStatement.all([jsonList(projectIds)]).map((row) => [row.project_id, toTimeTotals(row)]));
  }

  async approvedTimeByPeriod(query: ApprovedTimeQuery): Promise<readonly PsaApprovedTime[]> {
    const statement = query.granularity === 'WEEK' ? this.approvedTimeByWeekStatement : this.approvedTimeByMonthStatement;
    return statement
      .all({ resourceIds: jsonList(query.resourceIds), fromDate: query.fromDate, toDate: query.toDate })
      .map((row) => ({
        resourceId: row.resource_id,
        periodKey: row.period_key,
        billableMinutes: row.billable_minutes,
        nonBillableMinutes: row.non_billable_minutes,
      }));
  }

  async createProject(project: NewPsaProject): Promise<PsaProject> {
    return this.store.transaction(() => {
      if (this.projectsByIdStatement.all([jsonList([project.id])]).length > 0) {
        throw inputError(ErrorCode.CONFLICT, `A project with external reference ${project.id} already exists in the PSA.`);
      }
      const psaId = this.store.prepare<{ next: number }>('SELECT COALESCE(MAX(CAST(psa_id AS INTEGER)), 1000000) + 1 AS next FROM project').get()!.next;
      this.store
        .prepare(
          `INSERT INTO project (id, psa_id, account_id, code, name, status, region, service_line, contract_type, currency, start_date, end_date, manager_id)
           VALUES (?, ?, ?, ?, ?, 'PLANNED', ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run([
          project.id,
          String(psaId),
          project.accountId,
          project.code,
          project.name,
          project.region,
          project.serviceLine,
          project.contractType,
          project.currency,
          project.startDate,
          project.endDate,
          project.managerId,
        ]);
      return toProject(this.projectsByIdStatement.all([jsonList([project.id])])[0]!);
    });
  }

  async createResourceRequests(projectId: string, requests: readonly NewResourceRequest[]): Promise<PsaResourceRequest[]> {
    return this.store.transaction(() => {
      if (this.projectsByIdStatement.all([jsonList([projectId])]).length === 0) throw inputError(ErrorCode.NOT_FOUND, `Project ${projectId} does not exist in the PSA.`);
      const nextId = this.store.prepare<{ next: number }>('SELECT COALESCE(MAX(CAST(id AS INTEGER)), 30000000) + 1 AS next FROM resource_request');
      const insert = this.store.prepare("INSERT INTO resource_request (id, project_id, role, hours, start_date, end_date, status) VALUES (?, ?, ?, ?, ?, ?, 'OPEN')");
      const created: string[] = [];
      for (const request of requests) {
        const id = String(nextId.get()!.next);
        insert.run([id, projectId, request.role, request.hours, request.startDate, request.endDate]);
        created.push(id);
      }
      const byId = new Map((this.requestsStatement.all([jsonList([projectId])]).map(toResourceRequest)).map((request) => [request.id, request]));
      const result = created.map((id) => byId.get(id)!);
      for (const request of result) {
        this.emit(
          newEvent('resource_request.created', {
            source: 'psa',
            subject: request.id,
            data: { resourceRequestId: request.id, projectId, role: request.role.code, hours: request.hours, startDate: request.startDate, endDate: request.endDate },
          }),
        );
      }
      return result;
    });
  }

  async cancelResourceRequests(projectId: string): Promise<PsaResourceRequest[]> {
    return this.store.transaction(() => {
      this.store.prepare("UPDATE resource_request SET status = 'CANCELLED' WHERE project_id = ? AND status IN ('OPEN', 'HELD')").run([projectId]);
      return this.requestsStatement.all([jsonList([projectId])]).map(toResourceRequest);
    });
  }

  async deleteProject(projectId: string): Promise<boolean> {
    return this.store.transaction(() => {
      if (this.projectsByIdStatement.all([jsonList([projectId])]).length === 0) return false;
      const staffed = this.store
        .prepare<{ n: number }>('SELECT (SELECT COUNT(*) FROM assignment WHERE project_id = ?) + (SELECT COUNT(*) FROM timesheet WHERE project_id = ?) AS n')
        .get([projectId, projectId])!.n;
      if (staffed > 0) throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Project ${projectId} has assignments or time; it can be cancelled, not deleted.`);
      this.store.prepare('DELETE FROM milestone WHERE project_id = ?').run([projectId]);
      this.store.prepare('DELETE FROM resource_request WHERE project_id = ?').run([projectId]);
      this.store.prepare('DELETE FROM project WHERE id = ?').run([projectId]);
      return true;
    });
  }

  async confirmAssignment(assignmentId: string): Promise<PsaAssignment> {
    return this.store.transaction(() => {
      const current = this.store.prepare<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.id = ?`).get([assignmentId]);
      if (!current) throw inputError(ErrorCode.NOT_FOUND, `Assignment ${assignmentId} does not exist in the PSA.`);
      if (current.status === 'CLOSED') throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Assignment ${assignmentId} is closed; it cannot be confirmed.`);
      if (current.status === 'CONFIRMED') return toAssignment(current);
      this.store.prepare("UPDATE assignment SET status = 'CONFIRMED' WHERE id = ?").run([assignmentId]);
      if (current.request_id !== null) this.store.prepare("UPDATE resource_request SET status = 'FULFILLED' WHERE id = ? AND status = 'HELD'").run([current.request_id]);
      const confirmed = toAssignment(this.store.prepare<AssignmentRow>(`${ASSIGNMENT_SELECT} WHERE a.id = ?`).get([assignmentId])!);
      this.emit(
        newEvent('assignment.confirmed', {
          source: 'psa',
          subject: confirmed.id,
          data: { assignmentId: confirmed.id, projectId: confirmed.projectId, resourceId: confirmed.resourceId, resourceRequestId: confirmed.requestId, role: confirmed.role.code },
        }),
      );
      return confirmed;
    });
  }

  relayEvents(bus: EventBus): { stop(): Promise<void>; flush(): Promise<void> } {
    return startOutboxRelay(this.store, bus, { pollMs: 100 });
  }

  private emit(event: BusEvent): void {
    appendToOutbox(this.store, event);
  }

  close(): void {
    this.store.close();
  }
}

function resourceWhere(search: ResourceSearch): WhereBuilder {
  return new WhereBuilder()
    .add('r.id IN (SELECT value FROM json_each(:ids))', 'ids', search.ids)
    .add('r.role IN (SELECT value FROM json_each(:roles))', 'roles', search.roles)
    .add('r.region IN (SELECT value FROM json_each(:regions))', 'regions', search.regions)
    .add('EXISTS (SELECT 1 FROM resource_skill s WHERE s.resource_id = r.id AND s.skill = :skill)', 'skill', search.skill)
    .contains('r.name', 'nameContains', search.nameContains);
}

/** Opens (creating and seeding on first use) the PSA sandbox in `dataDir/psa.db`. */
export function openSandboxPsa(dataDir: string, world: WorldOptions): SandboxPsa {
  const store = openSandboxStore({ file: join(dataDir, 'psa.db'), ddl: TABLES, world, seed: (fresh) => seedPsa(fresh, buildWorld(world)) });
  // A store seeded before the time rollup existed gets it now.
  installTimeRollup(store);
  return new SandboxPsa(store);
}
