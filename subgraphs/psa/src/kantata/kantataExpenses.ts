/**
 * Expenses over Kantata (kantataExpenseReplica.ts says what an expense is there): read from the replica, created with
 * `POST /expenses` and moved through their approvals with expense report submissions — `POST
 * /expense_report_submissions` (submit: one report per expense, as psgraph approves expenses one by one),
 * `PUT /expense_report_submissions/:id/approve|reject|cancel` (un-approving is cancelling the approved report, the
 * only reversal Kantata has). Each write first reads the expense and its reports as Kantata holds them now, so it is
 * refused for the sandbox's reasons with the sandbox's codes and messages; what it changes goes into the replica with
 * its event, in one local transaction.
 *
 * Kantata's create has no currency field (an expense is in its workspace's currency; another needs
 * `foreign_exchange_amount` and the right to convert, which psgraph does not take): an expense in another currency
 * is refused with SYSTEM_OPERATION_UNSUPPORTED naming Kantata. Its category is an expense category of the account
 * named after the code; its receipt is a Kantata receipt attachment's ID.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from '../../../platform/src/index.js';
import { VendorError } from '../../../platform/src/vendor/vendorError.js';
import type { NewExpense, PsaDelivery, PsaExpense } from '../psaDeliveryPort.js';
import { type Envelope, KANTATA, type KantataClient, resultsOf } from './kantataClient.js';
import { type ExpenseState, categoryName } from './kantataExpenseReplica.js';
import type { KantataPsaOptions } from './kantataReads.js';
import type { KantataReplica } from './kantataReplica.js';
import { EXPENSE_PARAMS, EXPENSE_REPORT_PARAMS, applyExpenseReportRecord, expenseRow } from './kantataSync.js';
import { missing, refuse, sendOnce } from './kantataWrites.js';

export class KantataExpenses {
  /** The account's expense categories by name (read once; again once when one is not found). */
  private categories: Promise<Map<string, string>> | undefined;

  constructor(
    private readonly kantata: KantataClient,
    private readonly replica: KantataReplica,
    private readonly options: Pick<KantataPsaOptions, 'replicaReady' | 'commit'>,
  ) {}

  async expensesById(ids: readonly string[]): Promise<Map<string, PsaExpense>> {
    await this.options.replicaReady();
    return this.replica.expenses.byId(ids);
  }

  async searchExpenses(...args: Parameters<PsaDelivery['searchExpenses']>) {
    await this.options.replicaReady();
    return this.replica.expenses.search(...args);
  }

  async createExpense(expense: NewExpense): Promise<PsaExpense> {
    await this.options.replicaReady();
    const workspaceId = this.replica.workspaceIdOf(expense.projectId);
    if (workspaceId === undefined) throw missing(`Project ${expense.projectId}`);
    const assignments = this.replica.assignmentsByProjectId([expense.projectId]).get(expense.projectId) ?? [];
    if (!assignments.some((assignment) => assignment.resourceId === expense.resourceId && assignment.status !== 'TENTATIVE')) {
      const user = /^\d+$/.test(expense.resourceId) ? await this.kantata.get('readUser', '/users', { only: expense.resourceId }) : null;
      if (!user || resultsOf(user, 'users').length === 0) throw missing(`Resource ${expense.resourceId}`);
      throw refuse(`Resource ${expense.resourceId} is not staffed on project ${expense.projectId}: only its consultants book expenses to it.`);
    }
    const currency = this.replica.expenses.workspaceCurrency(workspaceId);
    if (expense.currency !== currency)
      throw inputError(
        ErrorCode.SYSTEM_OPERATION_UNSUPPORTED,
        `Recording an expense in ${expense.currency} on project ${expense.projectId}, whose currency is ${currency ?? 'unknown'}, over Kantata is not supported by psgraph yet: do it in Kantata itself (Kantata records an expense in its project's currency).`,
        { system: 'Kantata' },
      );
    if (expense.receiptRef != null && !/^\d+$/.test(expense.receiptRef))
      throw inputError(
        ErrorCode.BAD_USER_INPUT,
        `Receipt ${expense.receiptRef} is not a Kantata receipt: over Kantata a receipt is the ID of one attached in Kantata.`,
      );
    const name = categoryName(expense.category);
    const body = {
      expense: {
        workspace_id: Number(workspaceId),
        user_id: Number(expense.resourceId),
        date: expense.incurredOn,
        expense_category_id: Number(await this.categoryId(name)),
        category: name,
        amount_in_cents: expense.amountMinor,
        billable: expense.billable,
        reimbursable: true,
        notes: expense.description,
        ...(expense.receiptRef != null ? { receipt_id: Number(expense.receiptRef) } : {}),
      },
    };
    // A POST: sent once (Kantata has no idempotency key); a lost answer is reported, not guessed at.
    const envelope = await this.kantata.send('createExpense', false, 'POST', '/expenses', body, EXPENSE_PARAMS);
    const [record] = resultsOf(envelope, 'expenses');
    this.options.commit(() => this.replica.expenses.applyExpense(expenseRow(record!)));
    return this.replica.expenses.state(record!.id)!.expense;
  }

  async submitExpense(id: string): Promise<PsaExpense> {
    const state = await this.current(id);
    const { expense } = state;
    if (expense.status === 'SUBMITTED') return expense;
    if (expense.status !== 'DRAFT') throw refuse(`Expense ${id} is ${expense.status.toLowerCase()}; only a draft expense can be submitted.`);
    const body = {
      expense_report_submission: {
        line_item_ids: [Number(id)],
        title: `Expense ${id}`,
        workspace_id: Number(state.workspaceId),
        user_id: Number(state.userId),
      },
    };
    return this.write(id, 'SUBMITTED', () => this.kantata.send('submitExpense', false, 'POST', '/expense_report_submissions', body, EXPENSE_REPORT_PARAMS));
  }

  async approveExpense(id: string): Promise<PsaExpense> {
    const state = await this.current(id);
    if (state.expense.status === 'APPROVED') return state.expense;
    if (state.expense.status !== 'SUBMITTED') throw refuse(`Expense ${id} is ${state.expense.status.toLowerCase()}; only a submitted expense can be approved.`);
    return this.resolve(state, 'approve', 'APPROVED', {});
  }

  async rejectExpense(id: string, reason: string): Promise<PsaExpense> {
    const state = await this.current(id);
    if (state.expense.status === 'REJECTED') return state.expense;
    if (state.expense.status !== 'SUBMITTED') throw refuse(`Expense ${id} is ${state.expense.status.toLowerCase()}; only a submitted expense can be rejected.`);
    return this.resolve(state, 'reject', 'REJECTED', { description: reason });
  }

  async reopenExpense(id: string, reason: string): Promise<PsaExpense> {
    const state = await this.current(id);
    const { expense } = state;
    if (expense.status === 'DRAFT') return expense;
    if (expense.status === 'SUBMITTED') throw refuse(`Expense ${id} is submitted: approve or reject it first.`);
    if (expense.status === 'REJECTED') {
      // Kantata keeps the report rejected, the expense free to go on a new one: nothing to call.
      this.options.commit(() => this.replica.expenses.reopenRejected(id, state.reportId!, reason));
      return this.replica.expenses.state(id)!.expense;
    }
    // Un-approving is cancelling the approved report (Kantata has no other reversal): `expense.unapproved`.
    return this.resolve(state, 'cancel', 'DRAFT', { description: reason });
  }

  // ---- helpers ----

  private resolve(state: ExpenseState, action: 'approve' | 'reject' | 'cancel', goal: PsaExpense['status'], resolution: { description?: string }) {
    const path = `/expense_report_submissions/${state.reportId!}/${action}`;
    // Not retried blindly: a second approval of an approved report is refused; a lost answer is looked for instead.
    return this.write(state.expense.id, goal, () => this.kantata.send(`${action}Expense`, false, 'PUT', path, { resolution }, EXPENSE_REPORT_PARAMS));
  }

  /** Sends a write whose answer is expense reports; applies them with their events. A lost answer: the expense is read again. */
  private write(id: string, goal: PsaExpense['status'], send: () => Promise<Envelope>): Promise<PsaExpense> {
    return sendOnce(
      send,
      async () => {
        const now = await this.current(id);
        return now.expense.status === goal ? now.expense : null;
      },
      (envelope) => {
        this.options.commit((events) => {
          for (const record of resultsOf(envelope, 'expense_report_submissions')) applyExpenseReportRecord(this.replica, record, envelope, events);
        });
        return this.replica.expenses.state(id)!.expense;
      },
    );
  }

  /** The expense as Kantata holds it now, with its consultant's reports on the project, applied with the events of any change since the last poll. */
  private async current(id: string): Promise<ExpenseState> {
    await this.options.replicaReady();
    const known = this.replica.expenses.state(id);
    if (!known) throw missing(`Expense ${id}`);
    const [expense, reports] = await Promise.all([
      this.kantata.get('readExpense', `/expenses/${id}`, EXPENSE_PARAMS),
      this.kantata.list('readExpense', '/expense_report_submissions', { ...EXPENSE_REPORT_PARAMS, workspace_id: known.workspaceId, user_ids: known.userId }),
    ]);
    this.options.commit((events) => {
      for (const record of resultsOf(expense, 'expenses')) this.replica.expenses.applyExpense(expenseRow(record));
      const records = resultsOf(reports, 'expense_report_submissions').sort((a, b) => Number(a.id) - Number(b.id));
      for (const record of records) applyExpenseReportRecord(this.replica, record, reports, events);
    });
    return this.replica.expenses.state(id)!;
  }

  private async categoryId(name: string): Promise<string> {
    const find = async () => {
      this.categories ??= this.kantata
        .list('expenseCategories', '/expense_categories', {})
        .then((envelope) => new Map(resultsOf(envelope, 'expense_categories').map((record) => [String(record['name']), record.id])))
        .catch((error: unknown) => {
          this.categories = undefined;
          throw error;
        });
      return (await this.categories).get(name);
    };
    let id = await find();
    if (id === undefined) {
      this.categories = undefined;
      id = await find();
    }
    if (id === undefined)
      throw new VendorError(
        KANTATA,
        'PERMISSION',
        `Kantata has no expense category "${name}" visible to psgraph's user: create it as docs/vendors/kantata.md describes.`,
      );
    return id;
  }
}
