/**
 * The PSA sandbox's delivery records beyond time: expense reports, approval versions on timesheets and milestones,
 * and the rules of their lifecycles (see `psaDeliveryPort.ts`). Installed on opening, so that a store seeded before
 * them gets them too: seeded approvals count as version 1.
 */
import type { SqliteStore } from '../../../platform/src/index.js';
import { hasColumn } from '../../../sandboxes/src/index.js';
import { NUMERIC_ID, TIMESHEET_STATUS_TRANSITION } from './psaSchema.js';

export const EXPENSE_CATEGORIES = ['TRAVEL', 'LODGING', 'MEALS', 'SOFTWARE', 'SUBCONTRACTOR', 'OTHER'] as const;

const EXPENSE_TABLE = `
CREATE TABLE IF NOT EXISTS expense (
  id TEXT PRIMARY KEY CHECK (${NUMERIC_ID('id')}),
  project_id TEXT NOT NULL REFERENCES project(id),
  resource_id TEXT NOT NULL REFERENCES resource(id),
  incurred_on TEXT NOT NULL CHECK (incurred_on = date(incurred_on)),
  category TEXT NOT NULL CHECK (category IN (${EXPENSE_CATEGORIES.map((category) => `'${category}'`).join(', ')})),
  description TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
  currency TEXT NOT NULL CHECK (currency IN ('USD', 'GBP', 'EUR', 'AUD')),
  receipt_ref TEXT,
  billable INTEGER NOT NULL CHECK (billable IN (0, 1)),
  status TEXT NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'SUBMITTED', 'APPROVED', 'REJECTED')),
  version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  approved_on TEXT CHECK (approved_on IS NULL OR approved_on = date(approved_on)),
  status_reason TEXT,
  CHECK ((status = 'APPROVED') = (approved_on IS NOT NULL)));
CREATE INDEX IF NOT EXISTS expense_project ON expense(project_id, incurred_on);
CREATE INDEX IF NOT EXISTS expense_resource ON expense(resource_id, incurred_on);

DROP TRIGGER IF EXISTS expense_status_transition;
CREATE TRIGGER expense_status_transition BEFORE UPDATE OF status ON expense
  WHEN NEW.status IS NOT OLD.status AND NOT (
       (OLD.status = 'DRAFT' AND NEW.status = 'SUBMITTED')
    OR (OLD.status = 'SUBMITTED' AND NEW.status IN ('APPROVED', 'REJECTED'))
    OR (OLD.status IN ('REJECTED', 'APPROVED') AND NEW.status = 'DRAFT'))
  BEGIN SELECT RAISE(ABORT, 'expense: status cannot go from ' || OLD.status || ' to ' || NEW.status); END;
DROP TRIGGER IF EXISTS expense_locked;
CREATE TRIGGER expense_locked BEFORE UPDATE OF project_id, resource_id, incurred_on, category, amount_minor, currency, billable ON expense
  WHEN OLD.status IN ('SUBMITTED', 'APPROVED')
  BEGIN SELECT RAISE(ABORT, 'expense: it is submitted or approved, so it is locked'); END;
-- An expense is booked by a consultant staffed (more than soft-booked) on the project.
DROP TRIGGER IF EXISTS expense_by_staffed_consultant;
CREATE TRIGGER expense_by_staffed_consultant BEFORE INSERT ON expense
  WHEN NOT EXISTS (SELECT 1 FROM assignment WHERE project_id = NEW.project_id AND resource_id = NEW.resource_id AND status <> 'TENTATIVE')
  BEGIN SELECT RAISE(ABORT, 'expense: its consultant is not staffed on its project'); END;

DROP TRIGGER IF EXISTS milestone_status_transition;
CREATE TRIGGER milestone_status_transition BEFORE UPDATE OF status ON milestone
  WHEN NEW.status IS NOT OLD.status AND NOT (
       (OLD.status = 'PLANNED' AND NEW.status = 'COMPLETED')
    OR (OLD.status = 'COMPLETED' AND NEW.status = 'APPROVED_FOR_BILLING')
    OR (OLD.status = 'APPROVED_FOR_BILLING' AND NEW.status = 'COMPLETED'))
  BEGIN SELECT RAISE(ABORT, 'milestone: status cannot go from ' || OLD.status || ' to ' || NEW.status); END;

DROP TRIGGER IF EXISTS timesheet_status_transition;
${TIMESHEET_STATUS_TRANSITION}
`;

/** Adds what delivery needs to a PSA store, once; safe to run on every open. */
export function installDelivery(store: SqliteStore): void {
  store.transaction(() => {
    if (!hasColumn(store, 'timesheet', 'version')) {
      store.exec(`ALTER TABLE timesheet ADD COLUMN version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0);
        ALTER TABLE timesheet ADD COLUMN status_reason TEXT;
        UPDATE timesheet SET version = 1 WHERE status = 'APPROVED';`);
    }
    if (!hasColumn(store, 'milestone', 'billing_version')) {
      store.exec(`ALTER TABLE milestone ADD COLUMN billing_version INTEGER NOT NULL DEFAULT 0 CHECK (billing_version >= 0);
        UPDATE milestone SET billing_version = 1 WHERE status = 'APPROVED_FOR_BILLING';`);
    }
    store.exec(EXPENSE_TABLE);
  });
}
