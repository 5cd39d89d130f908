/**
 * The posting process's API: the billing exception queue, where each approved line stands, and the two actions an
 * operator takes on an exception — retry once the cause is fixed at its source, or waive the problem so the line
 * posts as it is. Staff only (the process API's guard), the actions with `integration:operate`.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { connection, inputError, money, isCanonicalProjectId, isNumericId, pageRequest, requireIdFormat } from '../../../platform/src/index.js';
import { latencyFigures } from '../figures.js';
import type { BillingExceptionFilter, PostingFiguresFilter, Resolvers } from '../generated/resolverTypes.js';
import type { BillingExceptionSearch, LineStatus } from './postingStore.js';
import type { Reconciliation } from './reconciliation.js';

const BILLING_EXCEPTION_ID = /^bex_[0-9A-HJKMNP-TV-Z]{26}$/;
const exceptionId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (value) => BILLING_EXCEPTION_ID.test(value), 'a billing exception ID (bex_ and a ULID)');
/** Open exceptions one bulk retry may take (each a line checked and posted in batches). */
const MAX_BULK_RETRY = 10_000;

function exceptionSearch(filter: BillingExceptionFilter | null | undefined): BillingExceptionSearch {
  const given = filter ?? {};
  const projectId =
    given.projectId == null ? null : requireIdFormat('filter.projectId', given.projectId, isCanonicalProjectId, 'a canonical project ID (prj_ and a ULID)');
  return { statuses: given.status, types: given.type, regions: given.region, projectId, ownerTeam: given.ownerTeam, ownerSystem: given.ownerSystem };
}

/** A figures filter checked: the window in order, the project ID well formed. */
export function figuresWindow(filter: PostingFiguresFilter | null | undefined): { from: string | null; to: string | null; projectId: string | null } {
  const given = filter ?? {};
  if (given.from && given.to && given.from > given.to)
    throw inputError(ErrorCode.INVALID_DATE_RANGE, `Argument "filter" is inverted: from (${given.from}) is after to (${given.to}).`, { argument: 'filter' });
  const projectId =
    given.projectId == null ? null : requireIdFormat('filter.projectId', given.projectId, isCanonicalProjectId, 'a canonical project ID (prj_ and a ULID)');
  return { from: given.from ?? null, to: given.to ?? null, projectId };
}

/** `olderThanMinutes` and `first` of a stuck list, checked. */
export function stuckArguments(olderThanMinutes: number | null | undefined, first: number | null | undefined, defaultFirst: number) {
  const minutes = olderThanMinutes ?? 60;
  const limit = first ?? defaultFirst;
  if (!Number.isInteger(minutes) || minutes < 0 || minutes > 525_600)
    throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "olderThanMinutes" must be a whole number of minutes from 0 to a year.', {
      argument: 'olderThanMinutes',
    });
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw inputError(ErrorCode.PAGE_SIZE_OUT_OF_RANGE, 'Argument "first" must be from 1 to 100.', { argument: 'first' });
  return { before: new Date(Date.now() - minutes * 60_000).toISOString(), limit };
}

/** A reconciliation as the schema shows it. */
export function reconciliationView(report: Reconciliation) {
  const { billing } = report;
  return {
    ...report,
    project: { id: report.projectId },
    invoices: billing.invoices,
    billingBilled: billing.currency ? money(billing.billingBilledMinor, billing.currency) : null,
    erpBilled: billing.currency ? money(billing.erpBilledMinor, billing.currency) : null,
  };
}

const notFound = (id: string) => inputError(ErrorCode.NOT_FOUND, `Billing exception ${id} does not exist.`);

export const postingResolvers: Resolvers = {
  Query: {
    billingExceptions: (_, args, { store }) => {
      const page = pageRequest('billingExceptions', args.first, args.after);
      const result = store.postings.searchExceptions(exceptionSearch(args.filter), page);
      return connection('billingExceptions', page, result.rows, result.totalCount);
    },
    billingException: (_, args, { store }) => store.postings.exceptionsById([exceptionId('id', args.id)]).get(args.id) ?? null,
    postingFigures: (_, args, { store }) => {
      const { byStatus, everHeldBack, latencies, openByType } = store.postings.figures(figuresWindow(args.filter));
      const count = (...statuses: LineStatus[]) => statuses.reduce((sum, status) => sum + (byStatus.get(status) ?? 0), 0);
      const approvedLines = count('PENDING', 'POSTED', 'EXCEPTION', 'REVERSED', 'WITHDRAWN');
      return {
        approvedLines,
        postedLines: count('POSTED'),
        heldBackLines: count('EXCEPTION'),
        pendingLines: count('PENDING'),
        correctedLines: count('REVERSED', 'WITHDRAWN'),
        exceptionRate: approvedLines === 0 ? null : everHeldBack / approvedLines,
        approvedToErp: latencyFigures(latencies),
        openExceptions: openByType.map((row) => ({ type: row.type, count: row.n })),
      };
    },
    stuckPostings: (_, args, { store }) => {
      const { before, limit } = stuckArguments(args.olderThanMinutes, args.first, 20);
      return store.postings.stuck(before, limit);
    },
    reconcileProject: async (_, args, { poster }) => {
      return reconciliationView(
        await poster.reconcile(requireIdFormat('projectId', args.projectId, isCanonicalProjectId, 'a canonical project ID (prj_ and a ULID)')),
      );
    },
    timesheetPosting: (_, args, { store }) =>
      store.postings.linesOfApproval('TIME', requireIdFormat('timesheetId', args.timesheetId, isNumericId, 'a numeric PSA timesheet ID'), args.version),
  },

  Mutation: {
    retryBillingExceptions: async (_, args, { store, poster }) => {
      const matched = store.postings.searchExceptions({ ...exceptionSearch(args.filter), statuses: ['OPEN'] }, { limit: MAX_BULK_RETRY, offset: 0 });
      if (matched.totalCount > MAX_BULK_RETRY)
        throw inputError(
          ErrorCode.BAD_USER_INPUT,
          `The filter selects ${matched.totalCount} open exceptions; narrow it to at most ${MAX_BULK_RETRY} per retry.`,
          {
            argument: 'filter',
          },
        );
      const lines = new Set(matched.rows.map((exception) => exception.sourceKey)).size;
      if (args.preview) return { exceptions: matched.totalCount, lines, posted: 0, stillHeldBack: lines };
      const outcome = await poster.retryMany(matched.rows);
      return { exceptions: matched.totalCount, lines, posted: outcome.posted, stillHeldBack: outcome.heldBack };
    },
    retryBillingException: async (_, args, { poster }) => (await poster.retry(exceptionId('id', args.id))) ?? Promise.reject(notFound(args.id)),
    waiveBillingException: async (_, args, { poster, caller }) => {
      const note = args.note.trim();
      if (note.length === 0 || note.length > 500)
        throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "note" must say why, in 1 to 500 characters.', { argument: 'note' });
      return (await poster.waive(exceptionId('id', args.id), note, caller.subject)) ?? Promise.reject(notFound(args.id));
    },
  },

  BillingException: {
    project: (exception) => ({ id: exception.projectId }),
  },

  DeliveryLine: {
    sourceKey: (record) => record.line.sourceKey,
    kind: (record) => record.line.kind,
    project: (record) => ({ id: record.line.projectId }),
    recordId: (record) => record.line.recordId,
    version: (record) => record.line.version,
    approvedAt: (record) => record.line.approvedAt,
    openExceptions: (record, _, { store }) => store.postings.exceptionsOfLine(record.line.sourceKey, ['OPEN']),
  },
};
