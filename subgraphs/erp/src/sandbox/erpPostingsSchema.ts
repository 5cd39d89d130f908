/**
 * The ERP sandbox's records for posting delivery (see `erpPostingsPort.ts`): employees (one per PSA consultant),
 * each contract's bill rates by role with effective dates (the deal's negotiated prices), purchase orders,
 * accounting periods, the job's status, and the delivery postings with their ledger lines. Installed on opening,
 * so that a store seeded before them gets them, filled from the same world as the rest.
 */
import { type SqliteStore, addMonths, isoFromDay, monthOf } from '../../../platform/src/index.js';
import { hasColumn } from '../../../sandboxes/src/index.js';
import type { World } from '../../../sandboxes/src/world/world.js';

const TABLES = `
CREATE TABLE IF NOT EXISTS employee (
  id INTEGER PRIMARY KEY CHECK (id > 0),
  entity_id TEXT NOT NULL UNIQUE CHECK (entity_id GLOB 'EMP-[0-9]*'),
  name TEXT NOT NULL,
  external_id TEXT NOT NULL UNIQUE,
  subsidiary_id INTEGER NOT NULL REFERENCES subsidiary(id),
  inactive INTEGER NOT NULL DEFAULT 0 CHECK (inactive IN (0, 1)));
CREATE TABLE IF NOT EXISTS contract_rate (
  job_id INTEGER NOT NULL REFERENCES job(id),
  role TEXT NOT NULL,
  effective_from TEXT NOT NULL CHECK (date(effective_from) IS effective_from),
  effective_to TEXT CHECK (effective_to IS NULL OR (date(effective_to) IS effective_to AND effective_to >= effective_from)),
  bill_rate_minor INTEGER NOT NULL CHECK (typeof(bill_rate_minor) = 'integer' AND bill_rate_minor >= 0),
  PRIMARY KEY (job_id, role, effective_from)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS purchase_order (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL UNIQUE REFERENCES job(id),
  po_number TEXT NOT NULL,
  expires_on TEXT NOT NULL CHECK (date(expires_on) IS expires_on),
  amount_minor INTEGER NOT NULL CHECK (typeof(amount_minor) = 'integer' AND amount_minor > 0));
CREATE TABLE IF NOT EXISTS accounting_period (
  period TEXT PRIMARY KEY CHECK (period GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]'),
  closed INTEGER NOT NULL CHECK (closed IN (0, 1))) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delivery_posting (
  id INTEGER PRIMARY KEY,
  external_id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('TIME', 'EXPENSE', 'MILESTONE')),
  job_id INTEGER NOT NULL REFERENCES job(id),
  employee_id INTEGER REFERENCES employee(id),
  item TEXT,
  trandate TEXT NOT NULL CHECK (date(trandate) IS trandate),
  minutes INTEGER CHECK (minutes IS NULL OR minutes > 0),
  rate_minor INTEGER,
  billable_minor INTEGER NOT NULL CHECK (typeof(billable_minor) = 'integer' AND billable_minor >= 0),
  cost_minor INTEGER NOT NULL CHECK (typeof(cost_minor) = 'integer' AND cost_minor >= 0),
  billable INTEGER NOT NULL CHECK (billable IN (0, 1)),
  currency TEXT NOT NULL,
  memo TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'POSTED' CHECK (status IN ('POSTED', 'REVERSED')),
  posted_at TEXT NOT NULL,
  reversed_at TEXT,
  CHECK ((status = 'REVERSED') = (reversed_at IS NOT NULL)),
  CHECK ((kind = 'TIME') = (minutes IS NOT NULL AND rate_minor IS NOT NULL AND employee_id IS NOT NULL)));
CREATE INDEX IF NOT EXISTS delivery_posting_job ON delivery_posting(job_id, trandate);
-- What each job has posted to bill (delivery postings) and what it has cost (its ledger's cost, history included), kept
-- by triggers: a posting's checks read them (PO consumption, a fixed fee's budget) on every batch, and summing a busy
-- job's postings each time would grow with every posting.
CREATE TABLE IF NOT EXISTS job_posted_total (
  job_id INTEGER PRIMARY KEY REFERENCES job(id),
  billable_minor INTEGER NOT NULL,
  cost_minor INTEGER NOT NULL DEFAULT 0);
DROP TRIGGER IF EXISTS delivery_posting_total_insert;
CREATE TRIGGER delivery_posting_total_insert AFTER INSERT ON delivery_posting WHEN NEW.status = 'POSTED' BEGIN
  INSERT INTO job_posted_total (job_id, billable_minor, cost_minor) VALUES (NEW.job_id, NEW.billable_minor, NEW.cost_minor)
    ON CONFLICT (job_id) DO UPDATE SET billable_minor = billable_minor + excluded.billable_minor, cost_minor = cost_minor + excluded.cost_minor; END;
DROP TRIGGER IF EXISTS delivery_posting_total_reverse;
CREATE TRIGGER delivery_posting_total_reverse AFTER UPDATE OF status ON delivery_posting
  WHEN OLD.status = 'POSTED' AND NEW.status = 'REVERSED' BEGIN
  UPDATE job_posted_total SET billable_minor = billable_minor - OLD.billable_minor, cost_minor = cost_minor - OLD.cost_minor WHERE job_id = OLD.job_id; END;

-- NetSuite refuses a transaction dated in a closed period, and an entry against a closed job.
DROP TRIGGER IF EXISTS delivery_posting_open_period;
CREATE TRIGGER delivery_posting_open_period BEFORE INSERT ON delivery_posting
  WHEN COALESCE((SELECT closed FROM accounting_period WHERE period = substr(NEW.trandate, 1, 7)), 1) = 1
  BEGIN SELECT RAISE(ABORT, 'delivery_posting: its period is closed or does not exist'); END;
DROP TRIGGER IF EXISTS delivery_posting_open_job;
CREATE TRIGGER delivery_posting_open_job BEFORE INSERT ON delivery_posting
  WHEN (SELECT status FROM job WHERE id = NEW.job_id) <> 'IN_PROGRESS'
  BEGIN SELECT RAISE(ABORT, 'delivery_posting: its job is closed'); END;
`;

/** Periods open to posting: the last three months before the world's "today" and everything after. */
const OPEN_MONTHS_BEFORE_AS_OF = 3;
/** Periods ERP has: from the world's first project to a year after its "today". */
const PERIODS_AFTER_AS_OF = 12;

/** Adds what posting needs to an ERP store, once (filled from the world on first use); safe on every open. */
export function installPostings(store: SqliteStore, world: () => World): void {
  store.transaction(() => {
    if (!hasColumn(store, 'job', 'status')) {
      store.exec("ALTER TABLE job ADD COLUMN status TEXT NOT NULL DEFAULT 'IN_PROGRESS' CHECK (status IN ('IN_PROGRESS', 'CLOSED'))");
    }
    const totalsExist = store.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'job_posted_total'").get() !== undefined;
    const costKnown = totalsExist && hasColumn(store, 'job_posted_total', 'cost_minor');
    if (totalsExist && !costKnown) store.exec('ALTER TABLE job_posted_total ADD COLUMN cost_minor INTEGER NOT NULL DEFAULT 0');
    store.exec(TABLES);
    if (!costKnown) {
      // What each job has cost so far is its ledger's cost — the history and every posting since — which a fixed
      // fee's budget is checked against; the triggers keep it from here on.
      store.exec(`INSERT OR IGNORE INTO job_posted_total (job_id, billable_minor, cost_minor) SELECT id, 0, 0 FROM job;
        UPDATE job_posted_total SET cost_minor = (SELECT COALESCE(SUM(amount_minor), 0) FROM posting p WHERE p.job_id = job_posted_total.job_id AND p.type = 'TIME_COST');`);
    }
    if (store.db.prepare('SELECT COUNT(*) AS n FROM employee').pluck().get() === 0) fillFromWorld(store, world());
  });
}

function fillFromWorld(store: SqliteStore, world: World): void {
  const subsidiaryOfRegion = new Map(
    (store.db.prepare('SELECT id, region FROM subsidiary').all() as Array<{ id: number; region: string }>).map((row) => [row.region, row.id]),
  );
  const insertEmployee = store.db.prepare('INSERT INTO employee (id, entity_id, name, external_id, subsidiary_id) VALUES (?, ?, ?, ?, ?)');
  for (const consultant of world.consultants) {
    const id = 500_000 + consultant.index;
    insertEmployee.run(id, `EMP-${id}`, consultant.name, consultant.psaId, subsidiaryOfRegion.get(consultant.region)!);
  }

  const insertRate = store.db.prepare('INSERT INTO contract_rate (job_id, role, effective_from, bill_rate_minor) VALUES (?, ?, ?, ?)');
  const insertOrder = store.db.prepare('INSERT INTO purchase_order (job_id, po_number, expires_on, amount_minor) VALUES (?, ?, ?, ?)');
  const jobs = new Set(store.db.prepare('SELECT id FROM job').pluck().all() as number[]);
  for (const project of world.projects) {
    if (!jobs.has(project.erpId)) continue;
    const opportunity = world.opportunities[project.opportunityIndex]!;
    // The deal's negotiated price per role is the contract's rate, from the start of the work.
    for (const line of opportunity.lines) insertRate.run(project.erpId, line.role, isoFromDay(project.startDay), line.unitPriceMinor);
    if (opportunity.poRequired && opportunity.poNumber) {
      // A PO covers the contract's value and runs a quarter past the contract's end.
      insertOrder.run(project.erpId, opportunity.poNumber, isoFromDay(project.endDay + 90), Math.max(1, opportunity.amountMinor));
    }
  }
  store.db
    .prepare("UPDATE job SET status = 'CLOSED' WHERE id IN (SELECT value FROM json_each(?))")
    .run(JSON.stringify(world.projects.filter((project) => project.status === 'COMPLETED' || project.status === 'CANCELLED').map((project) => project.erpId)));

  const asOfMonth = monthOf(world.asOfDay);
  const firstMonth = monthOf(Math.min(...world.projects.map((project) => project.startDay), world.asOfDay));
  const firstOpen = addMonths(asOfMonth, -OPEN_MONTHS_BEFORE_AS_OF);
  const insertPeriod = store.db.prepare('INSERT INTO accounting_period (period, closed) VALUES (?, ?)');
  for (let month = firstMonth; month <= addMonths(asOfMonth, PERIODS_AFTER_AS_OF); month = addMonths(month, 1)) {
    insertPeriod.run(month, month < firstOpen ? 1 : 0);
  }
}
