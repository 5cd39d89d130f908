/**
 * psgraph's expenses over Kantata, in the replica (kantataReplica.ts). An expense is Kantata's expense; where it is
 * comes from the expense report submissions that hold it, the latest deciding: none (or `cancelled`) is DRAFT, `new`
 * (the record's `pending`) SUBMITTED, `approved` APPROVED, `rejected` REJECTED — and a rejected one psgraph reopened
 * is DRAFT (Kantata keeps the report rejected; the expense can go on a new one). Its category is the Kantata expense
 * category whose name, in capitals with underscores, is the code (any other is OTHER); its currency is the one
 * Kantata gives it (its workspace's). Kantata keeps no approval count: the version is counted here, one for each
 * report holding the expense seen turning approved.
 *
 * Its events come from the reports' status changes, in the transaction that records them, whoever made the change
 * and whichever sees it first: `expense.approved`, and `expense.unapproved` for an approved report cancelled.
 */
import { type BusEvent, newEvent } from '../../../platform/src/events/index.js';
import { type PageRequest, type SearchResult, type SqliteStore, WhereBuilder, isNumericId, jsonList, searchPage } from '../../../platform/src/index.js';
import type { ExpenseCategory, ExpenseSearch, PsaExpense } from '../psaDeliveryPort.js';
import { upsert } from './kantataReplicaRows.js';

export const EXPENSE_CATEGORIES: readonly ExpenseCategory[] = ['TRAVEL', 'LODGING', 'MEALS', 'SOFTWARE', 'SUBCONTRACTOR', 'OTHER'];
/** The Kantata expense category of a code: `SUBCONTRACTOR` is `Subcontractor`. */
export const categoryName = (code: ExpenseCategory) => code.charAt(0) + code.slice(1).toLowerCase().replace(/_/g, ' ');
const categoryCode = (name: string): ExpenseCategory => {
  const code = name.trim().toUpperCase().replace(/\s+/g, '_') as ExpenseCategory;
  return EXPENSE_CATEGORIES.includes(code) ? code : 'OTHER';
};

const EXPENSE_DDL = `
CREATE TABLE IF NOT EXISTS kantata_expense (
  id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, user_id TEXT NOT NULL, date TEXT NOT NULL, category TEXT NOT NULL, notes TEXT,
  amount INTEGER NOT NULL, currency TEXT NOT NULL, receipt_id TEXT, billable INTEGER NOT NULL, updated_at TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 0, status_reason TEXT, reopened_report_id TEXT);
CREATE INDEX IF NOT EXISTS kantata_expense_workspace ON kantata_expense(workspace_id, date);
CREATE TABLE IF NOT EXISTS kantata_expense_report (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, resolution TEXT, resolved_at TEXT, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kantata_expense_report_line (report_id TEXT NOT NULL, expense_id TEXT NOT NULL, PRIMARY KEY (expense_id, report_id));`;

export interface ExpenseRow {
  readonly id: string;
  readonly workspace_id: string;
  readonly user_id: string;
  readonly date: string;
  readonly category: string;
  readonly notes: string | null;
  readonly amount: number;
  readonly currency: string;
  readonly receipt_id: string | null;
  readonly billable: number;
  readonly updated_at: string;
}

export interface ExpenseReportRow {
  readonly id: string;
  /** Kantata's, with the open state as its filter names it: new, approved, rejected, cancelled. */
  readonly status: string;
  readonly resolution: string | null;
  readonly resolved_at: string | null;
  readonly updated_at: string;
}

const EXPENSES = `(SELECT e.*, w.project_id, r.id AS report_id, r.resolved_at,
    CASE WHEN r.status = 'new' THEN 'SUBMITTED' WHEN r.status = 'approved' THEN 'APPROVED'
      WHEN r.status = 'rejected' AND e.reopened_report_id IS NOT r.id THEN 'REJECTED' ELSE 'DRAFT' END AS status
  FROM kantata_expense e JOIN kantata_workspace w ON w.id = e.workspace_id
  LEFT JOIN kantata_expense_report r ON r.id = (SELECT l.report_id FROM kantata_expense_report_line l WHERE l.expense_id = e.id
    ORDER BY CAST(l.report_id AS INTEGER) DESC LIMIT 1)
  WHERE w.project_id IS NOT NULL) x`;

type ExpenseQueryRow = ExpenseRow & {
  project_id: string;
  report_id: string | null;
  resolved_at: string | null;
  status: PsaExpense['status'];
  version: number;
  status_reason: string | null;
};

const toExpense = (row: ExpenseQueryRow): PsaExpense => ({
  id: row.id,
  projectId: row.project_id,
  resourceId: row.user_id,
  incurredOn: row.date,
  category: categoryCode(row.category),
  description: row.notes ?? '',
  amountMinor: row.amount,
  currency: row.currency,
  receiptRef: row.receipt_id,
  billable: row.billable === 1,
  status: row.status,
  version: row.version,
  approvedOn: row.status === 'APPROVED' && row.resolved_at !== null ? row.resolved_at.slice(0, 10) : null,
  statusReason: row.status_reason,
});

/** An expense with what psgraph needs to act on it in Kantata. */
export interface ExpenseState {
  readonly expense: PsaExpense;
  readonly workspaceId: string;
  readonly userId: string;
  /** The latest report holding it, if it was ever submitted. */
  readonly reportId: string | null;
}

export class KantataExpenseReplica {
  private readonly statements;

  constructor(private readonly store: SqliteStore) {
    store.exec(EXPENSE_DDL);
    const prepare = <Row>(sql: string) => store.prepareBackground<Row>(sql);
    this.statements = {
      expense: prepare(
        upsert('kantata_expense', ['id', 'workspace_id', 'user_id', 'date', 'category', 'notes', 'amount', 'currency', 'receipt_id', 'billable', 'updated_at']),
      ),
      report: prepare(upsert('kantata_expense_report', ['id', 'status', 'resolution', 'resolved_at', 'updated_at'])),
      reportRow: prepare<ExpenseReportRow>('SELECT * FROM kantata_expense_report WHERE id = ?'),
      line: prepare('INSERT INTO kantata_expense_report_line (report_id, expense_id) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      latest: prepare<{ report_id: string }>(
        'SELECT report_id FROM kantata_expense_report_line WHERE expense_id = ? ORDER BY CAST(report_id AS INTEGER) DESC LIMIT 1',
      ),
      change: prepare('UPDATE kantata_expense SET version = version + :approved, status_reason = :reason, reopened_report_id = :reopened WHERE id = :id'),
      one: prepare<ExpenseQueryRow>(`SELECT * FROM ${EXPENSES} WHERE x.id = ?`),
    };
  }

  applyExpense(row: ExpenseRow): void {
    this.statements.expense.run({ ...row });
  }

  /** Records a report and the expenses it holds; its status change is the event of each expense it is the latest report of. */
  applyReport(row: ExpenseReportRow, expenseIds: readonly string[], events: BusEvent[] | null): void {
    const before = this.statements.reportRow.get([row.id]);
    this.statements.report.run({ ...row });
    for (const expenseId of expenseIds) this.statements.line.run([row.id, expenseId]);
    const after = this.statements.reportRow.get([row.id])!;
    if (before?.status === after.status) return;
    const reason = after.resolution?.trim() || null;
    for (const expenseId of expenseIds) {
      // An older report of the expense changing is history: the latest says where the expense is.
      if (this.statements.latest.get([expenseId])?.report_id !== row.id) continue;
      const known = this.state(expenseId);
      if (!known) continue;
      const change = (approved: 0 | 1, statusReason: string | null) =>
        this.statements.change.run({ id: expenseId, approved, reason: statusReason, reopened: null });
      let event: { type: string; data: Record<string, unknown> } | null = null;
      if (after.status === 'approved') {
        change(1, null);
        const { expense } = this.state(expenseId)!;
        event = {
          type: 'expense.approved',
          data: {
            expenseId,
            version: expense.version,
            projectId: expense.projectId,
            resourceId: expense.resourceId,
            incurredOn: expense.incurredOn,
            category: expense.category,
            amountMinor: expense.amountMinor,
            currency: expense.currency,
            billable: expense.billable,
            receiptRef: expense.receiptRef,
            approvedOn: expense.approvedOn,
          },
        };
      } else if (after.status === 'rejected' || after.status === 'cancelled') {
        change(0, reason);
        // Cancelling an approval reverses what was posted; cancelling a report nobody approved changes nothing posted.
        if (after.status === 'cancelled' && before?.status === 'approved') {
          const reasonText = reason ?? 'Cancelled in Kantata';
          event = { type: 'expense.unapproved', data: { expenseId, version: known.expense.version, projectId: known.expense.projectId, reason: reasonText } };
        }
      } else {
        change(0, null);
      }
      if (events !== null && event !== null)
        events.push(newEvent(event.type, { source: 'psa', subject: expenseId, occurredAt: new Date(after.updated_at), data: event.data }));
    }
  }

  /** The currency Kantata records a workspace's expenses in: the workspace's. */
  workspaceCurrency(workspaceId: string): string | undefined {
    return this.store.prepareBackground<{ currency: string }>('SELECT currency FROM kantata_workspace WHERE id = ?').get([workspaceId])?.currency;
  }

  /** A rejected expense reopened by psgraph: Kantata keeps its report rejected (the expense can go on a new one). */
  reopenRejected(id: string, reportId: string, reason: string): void {
    this.statements.change.run({ id, approved: 0, reason, reopened: reportId });
  }

  state(id: string): ExpenseState | undefined {
    if (!isNumericId(id)) return undefined;
    const row = this.statements.one.get([id]);
    return row ? { expense: toExpense(row), workspaceId: row.workspace_id, userId: row.user_id, reportId: row.report_id } : undefined;
  }

  byId(ids: readonly string[]): Map<string, PsaExpense> {
    const rows = this.store
      .prepareBackground<ExpenseQueryRow>(`SELECT * FROM ${EXPENSES} WHERE x.id IN (SELECT value FROM json_each(?))`)
      .all([jsonList(ids.filter(isNumericId))]);
    return new Map(rows.map((row) => [row.id, toExpense(row)]));
  }

  search(search: ExpenseSearch, page: PageRequest): SearchResult<PsaExpense> {
    const where = new WhereBuilder()
      .add('x.project_id IN (SELECT value FROM json_each(:projectIds))', 'projectIds', search.projectIds)
      .add('x.user_id IN (SELECT value FROM json_each(:resourceIds))', 'resourceIds', search.resourceIds)
      .add('x.status IN (SELECT value FROM json_each(:statuses))', 'statuses', search.statuses);
    return searchPage<ExpenseQueryRow, PsaExpense>(this.store, { from: EXPENSES, where, orderBy: 'x.date, CAST(x.id AS INTEGER)' }, page, toExpense);
  }
}
