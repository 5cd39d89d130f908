/**
 * The Kantata wire server's expense writes, as Kantata's reference describes them: `POST /expenses` (an expense
 * category required, no currency field: the expense is in its workspace's currency), `POST /expense_report_submissions`
 * (expenses of one user in one workspace, none already on an active report) and
 * `PUT /expense_report_submissions/:id/approve|reject|cancel` with `{ resolution: { description } }`.
 */
import type Database from 'better-sqlite3';
import { type Json, notFound, render, validation } from './kantataWireQuery.js';
import type { KantataWireRecords } from './kantataWireWrites.js';

export class KantataWireExpenses {
  constructor(
    private readonly db: Database.Database,
    private readonly records: KantataWireRecords,
    private readonly nextStamp: () => string,
  ) {}

  createExpense(input: Json, query: URLSearchParams): Json {
    if (!this.records.exists('workspaces', input['workspace_id'])) throw validation('Workspace does not exist', 'workspace_id');
    if (!input['date'] || !/^\d{4}-\d{2}-\d{2}$/.test(String(input['date']))) throw validation("Date can't be blank", 'date');
    if (!input['category']) throw validation("Category can't be blank", 'category');
    const category = this.db.prepare('SELECT * FROM expense_categories WHERE id = ? AND deleted_at IS NULL').get(String(input['expense_category_id']));
    if (input['expense_category_id'] === undefined || !category) throw validation('Expense category does not exist', 'expense_category_id');
    const amount = Number(input['amount_in_cents']);
    if (!Number.isInteger(amount) || amount <= 0) throw validation('Amount must be greater than 0', 'amount_in_cents');
    if (input['foreign_exchange_amount'] !== undefined) throw validation('You do not have permission to convert expenses', 'foreign_exchange_amount');
    if (input['user_id'] !== undefined && !this.records.exists('users', input['user_id'])) throw validation('User does not exist', 'user_id');
    const workspace = this.records.row('workspaces', String(input['workspace_id']));
    const id = this.records.nextId('expenses', 70_000_000);
    const stamp = this.nextStamp();
    this.records.insert('expenses', {
      id,
      workspace_id: String(input['workspace_id']),
      user_id: input['user_id'] === undefined ? null : String(input['user_id']),
      date: String(input['date']),
      category: String(input['category']),
      expense_category_id: String(input['expense_category_id']),
      amount_in_cents: amount,
      currency: workspace['currency'],
      notes: input['notes'] === undefined ? null : String(input['notes']),
      receipt_id: input['receipt_id'] === undefined || input['receipt_id'] === null ? null : String(input['receipt_id']),
      is_billable: input['billable'] === false ? 0 : 1,
      recent_submission_id: null,
      created_at: stamp,
      updated_at: stamp,
    });
    return render(this.db, 'expenses', [this.records.row('expenses', id)], query);
  }

  createReport(input: Json, query: URLSearchParams): Json {
    const lineItems = input['line_item_ids'];
    if (!Array.isArray(lineItems) || lineItems.length === 0) throw validation("Line items can't be blank", 'line_item_ids');
    if (!input['title']) throw validation("Title can't be blank", 'title');
    if (!this.records.exists('workspaces', input['workspace_id'])) throw validation('Workspace does not exist', 'workspace_id');
    const workspaceId = String(input['workspace_id']);
    const expenses = lineItems.map((id) => {
      if (!this.records.exists('expenses', id)) throw validation(`Expense ${String(id)} does not exist`, 'line_item_ids');
      return this.records.row('expenses', String(id));
    });
    const userId = input['user_id'] === undefined ? String(expenses[0]!['user_id']) : String(input['user_id']);
    if (expenses.some((expense) => String(expense['workspace_id']) !== workspaceId || String(expense['user_id']) !== userId))
      throw validation("Line items must be the user's expenses in the report's project", 'line_item_ids');
    const active = this.db.prepare("SELECT 1 FROM expense_report_submissions WHERE id = ? AND status IN ('pending', 'approved')");
    if (expenses.some((expense) => expense['recent_submission_id'] !== null && active.get(String(expense['recent_submission_id'])) !== undefined))
      throw validation('Line items are already on an active expense report', 'line_item_ids');
    const id = this.records.nextId('expense_report_submissions', 85_000_000);
    const stamp = this.nextStamp();
    this.records.insert('expense_report_submissions', {
      id,
      user_id: userId,
      workspace_id: workspaceId,
      status: 'pending',
      title: String(input['title']),
      comment: input['comment'] === undefined ? null : String(input['comment']),
      created_at: stamp,
      updated_at: stamp,
    });
    for (const expense of expenses) {
      this.records.insert('expense_report_lines', { submission_id: id, expense_id: String(expense['id']) });
      this.db.prepare('UPDATE expenses SET recent_submission_id = ?, updated_at = ? WHERE id = ?').run(id, stamp, String(expense['id']));
    }
    return render(this.db, 'expense_report_submissions', [this.records.row('expense_report_submissions', id)], query);
  }

  /** Approving and rejecting take a pending report; cancelling a pending or an approved one. */
  actOnReport(id: string, action: string, resolution: Json, query: URLSearchParams): Json {
    if (!this.records.exists('expense_report_submissions', id)) throw notFound(`Expense report submission ${id}`);
    const status = { approve: 'approved', reject: 'rejected', cancel: 'cancelled' }[action];
    if (!status) throw notFound('The requested resource');
    const current = String(this.records.row('expense_report_submissions', id)['status']);
    if (current !== 'pending' && !(action === 'cancel' && current === 'approved'))
      throw validation(`A submission that is ${current} cannot be ${status}`, 'status');
    const stamp = this.nextStamp();
    const description = resolution['description'] === undefined || resolution['description'] === null ? null : String(resolution['description']);
    this.db
      .prepare(
        'UPDATE expense_report_submissions SET status = ?, current_resolution_description = ?, current_resolution_created_at_date = ?, updated_at = ? WHERE id = ?',
      )
      .run(status, description, stamp, stamp, id);
    this.db.prepare('UPDATE expenses SET updated_at = ? WHERE recent_submission_id = ?').run(stamp, id);
    return render(this.db, 'expense_report_submissions', [this.records.row('expense_report_submissions', id)], query);
  }
}
