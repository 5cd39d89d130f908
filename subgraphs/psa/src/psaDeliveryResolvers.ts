/**
 * The PSA subgraph's delivery resolvers: timesheets and their entries, expenses, and the approvals that move them
 * (and milestones) towards billing. Arguments are checked here (ID formats, hours in whole minutes, amounts, date
 * ranges); the lifecycles' rules are the PSA's (`psaDeliveryPort.ts`).
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import {
  connection,
  dateRange,
  existing,
  inputError,
  isCanonicalProjectId,
  isNumericId,
  money,
  pageRequest,
  parseMinor,
  requireIdFormat,
} from '../../platform/src/index.js';
import type { QueryTimesheetsArgs, Resolvers } from './generated/resolverTypes.js';
import type { PsaContext } from './psaLoaders.js';

const numericId = (argument: string, id: string, what: string) => requireIdFormat(argument, id, isNumericId, `a numeric PSA ${what} ID`);
const projectId = (argument: string, id: string) =>
  requireIdFormat(argument, id, isCanonicalProjectId, 'a canonical project ID (prj_ and a 26-character ULID)');

/** Hours as the PSA keeps them: whole minutes, more than none and at most a day. */
function minutesOf(argument: string, hours: number): number {
  const minutes = Math.round(hours * 60);
  if (!Number.isFinite(hours) || Math.abs(hours * 60 - minutes) > 1e-9 || minutes < 1 || minutes > 1440)
    throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${argument}" must be hours in whole minutes, more than 0 and at most 24 (got ${hours}).`, {
      argument,
    });
  return minutes;
}

function reasonOf(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed.length === 0 || trimmed.length > 500)
    throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "reason" must say why, in 1 to 500 characters.', { argument: 'reason' });
  return trimmed;
}

function amountOf(argument: string, amount: string): number {
  const minor = parseMinor(amount);
  if (minor <= 0) throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${argument}" must be more than zero.`, { argument });
  return minor;
}

async function timesheets(args: QueryTimesheetsArgs, { delivery, loaders }: PsaContext) {
  const page = pageRequest('timesheets', args.first, args.after);
  const given = args.filter ?? {};
  dateRange('filter.weekStart', given.weekStart);
  const result = await delivery.searchTimesheets(
    {
      projectIds: given.projectId == null ? null : [projectId('filter.projectId', given.projectId)],
      resourceIds: given.resourceId == null ? null : [numericId('filter.resourceId', given.resourceId, 'consultant')],
      statuses: given.status,
      weekFrom: given.weekStart?.from,
      weekTo: given.weekStart?.to,
    },
    page,
  );
  for (const sheet of result.rows) loaders.timesheetById.prime(sheet.id, sheet);
  return connection('timesheets', page, result.rows, result.totalCount);
}

export const psaDeliveryResolvers: Resolvers = {
  Query: {
    timesheet: (_, args, { loaders }) => loaders.timesheetById.load(numericId('id', args.id, 'timesheet')),
    timesheets: (_, args, context) => timesheets(args, context),
    expense: async (_, args, { delivery }) => (await delivery.expensesById([numericId('id', args.id, 'expense')])).get(args.id) ?? null,
    expenses: async (_, args, { delivery }) => {
      const page = pageRequest('expenses', args.first, args.after);
      const filter = args.filter ?? {};
      const result = await delivery.searchExpenses(
        {
          projectIds: filter.projectId == null ? null : [projectId('filter.projectId', filter.projectId)],
          resourceIds: filter.resourceId == null ? null : [numericId('filter.resourceId', filter.resourceId, 'consultant')],
          statuses: filter.status,
        },
        page,
      );
      return connection('expenses', page, result.rows, result.totalCount);
    },
  },

  Mutation: {
    logTime: (_, { input }, { delivery }) =>
      delivery.logTime({
        assignmentId: numericId('input.assignmentId', input.assignmentId, 'assignment'),
        workDate: input.workDate,
        minutes: minutesOf('input.hours', input.hours),
        billable: input.billable ?? true,
      }),
    correctTimeEntry: (_, { id, input }, { delivery }) =>
      delivery.correctTimeEntry(numericId('id', id, 'time entry'), {
        minutes: input.hours == null ? null : minutesOf('input.hours', input.hours),
        billable: input.billable ?? null,
      }),
    submitTimesheet: (_, { id }, { delivery }) => delivery.submitTimesheet(numericId('id', id, 'timesheet')),
    approveTimesheet: (_, { id }, { delivery }) => delivery.approveTimesheet(numericId('id', id, 'timesheet')),
    rejectTimesheet: (_, { id, reason }, { delivery }) => delivery.rejectTimesheet(numericId('id', id, 'timesheet'), reasonOf(reason)),
    reopenTimesheet: (_, { id, reason }, { delivery }) => delivery.reopenTimesheet(numericId('id', id, 'timesheet'), reasonOf(reason)),
    createExpense: (_, { input }, { delivery }) =>
      delivery.createExpense({
        projectId: projectId('input.projectId', input.projectId),
        resourceId: numericId('input.resourceId', input.resourceId, 'consultant'),
        incurredOn: input.incurredOn,
        category: input.category,
        description: input.description,
        amountMinor: amountOf('input.amount', input.amount),
        currency: input.currency,
        receiptRef: input.receiptRef ?? null,
        billable: input.billable,
      }),
    submitExpense: (_, { id }, { delivery }) => delivery.submitExpense(numericId('id', id, 'expense')),
    approveExpense: (_, { id }, { delivery }) => delivery.approveExpense(numericId('id', id, 'expense')),
    rejectExpense: (_, { id, reason }, { delivery }) => delivery.rejectExpense(numericId('id', id, 'expense'), reasonOf(reason)),
    reopenExpense: (_, { id, reason }, { delivery }) => delivery.reopenExpense(numericId('id', id, 'expense'), reasonOf(reason)),
    completeMilestone: (_, { id, actualDate }, { delivery }) => delivery.completeMilestone(numericId('id', id, 'milestone'), actualDate),
    approveMilestoneForBilling: (_, { id }, { delivery }) => delivery.approveMilestoneForBilling(numericId('id', id, 'milestone')),
    withdrawMilestoneBillingApproval: (_, { id, reason }, { delivery }) =>
      delivery.withdrawMilestoneBillingApproval(numericId('id', id, 'milestone'), reasonOf(reason)),
  },

  Timesheet: {
    project: (sheet, _, { loaders }) => existing(loaders.projectById.load(sheet.projectId), `Project ${sheet.projectId}`),
    resource: (sheet, _, { loaders }) => existing(loaders.resourceById.load(sheet.resourceId), `Resource ${sheet.resourceId}`),
    entries: (sheet, _, { loaders }) => loaders.timeEntriesByTimesheetId.load(sheet.id),
    totalHours: async (sheet, _, { loaders }) => (await loaders.timeEntriesByTimesheetId.load(sheet.id)).reduce((sum, entry) => sum + entry.minutes, 0) / 60,
  },

  TimeEntry: {
    timesheet: (entry, _, { loaders }) => existing(loaders.timesheetById.load(entry.timesheetId), `Timesheet ${entry.timesheetId}`),
    hours: (entry) => entry.minutes / 60,
    billRate: (entry) => money(entry.billRateMinor, entry.currency),
    costRate: (entry) => money(entry.costRateMinor, entry.currency),
  },

  Expense: {
    project: (expense, _, { loaders }) => existing(loaders.projectById.load(expense.projectId), `Project ${expense.projectId}`),
    resource: (expense, _, { loaders }) => existing(loaders.resourceById.load(expense.resourceId), `Resource ${expense.resourceId}`),
    amount: (expense) => money(expense.amountMinor, expense.currency),
  },
};
