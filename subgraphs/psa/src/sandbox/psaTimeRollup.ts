/**
 * The PSA sandbox's project time totals, kept by triggers: one row per project and timesheet status, so that a
 * page of projects reads a handful of rows each instead of every entry.
 */
import { type SqliteStore } from '../../../platform/src/index.js';

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

const rollupRecomputeLast = (
  key: string,
) => `UPDATE project_time_rollup SET last_entry_date = (SELECT MAX(e.work_date) FROM timesheet t JOIN time_entry e ON e.timesheet_id = t.id
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
