/**
 * The operations console's part of the process API: one exception with its history, assigning and noting it,
 * retrying many after a preview count, and the activation health trend. Every operator action is recorded in the
 * exception's history with the caller's subject (store/exceptionJournal.ts).
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { type Caller, inputError, requireIdFormat } from '../../platform/src/index.js';
import type { ActivationContext } from './activationLoaders.js';
import type { Resolvers } from './generated/resolverTypes.js';
import type { ResolutionAction } from './saga/activationRunner.js';
import { MAX_TREND_BUCKETS, activationTrend, trendBuckets } from './store/activationTrend.js';
import type { ExceptionRecord } from './store/activationRecords.js';

const EXCEPTION_ID = /^exc_[0-9A-HJKMNP-TV-Z]{26}$/;
const MAX_ASSIGNEE = 200;
const MAX_NOTE = 2_000;
const MAX_BULK_RETRY = 1_000;

export const exceptionId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => EXCEPTION_ID.test(v), 'an exception ID (exc_ followed by a 26-character ULID)');

function existingException(context: ActivationContext, id: string): ExceptionRecord {
  const exception = context.store.exceptions.byIds([id]).get(id);
  if (!exception) throw inputError(ErrorCode.NOT_FOUND, `Integration exception ${id} does not exist.`);
  return exception;
}

/**
 * Resolves an exception through the runner (which retries its run once none is left open) and records the action
 * with who took it — only when it closed the exception, so a repeated click is not recorded twice.
 */
export function resolveRecorded(
  context: ActivationContext,
  id: string,
  action: ResolutionAction,
  note: string | null,
  caller: Caller,
): { exception: ExceptionRecord; closed: boolean } {
  const before = existingException(context, id);
  const exception = context.runner.resolveException(id, action, note);
  const closed = before.status === 'OPEN' && exception.status !== 'OPEN';
  if (closed) context.store.exceptionJournal.record(id, action === 'WAIVE' ? 'WAIVED' : 'RETRIED', caller.subject, note);
  return { exception, closed };
}

function boundedText(argument: string, value: string, max: number): string {
  const text = value.trim();
  if (text.length < 1 || text.length > max) {
    throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${argument}" must be 1 to ${max} characters.`, { argument });
  }
  return text;
}

export const operationsResolvers: Resolvers = {
  Query: {
    integrationException: (_, args, { loaders }) => loaders.exceptionById.load(exceptionId('id', args.id)),
    activationTrend: (_, args, { store }) => {
      const from = new Date(args.from);
      const to = new Date(args.to);
      if (from > to) {
        throw inputError(ErrorCode.INVALID_DATE_RANGE, `Arguments "from" and "to" are inverted: from (${args.from}) is after to (${args.to}).`, {
          argument: 'from',
        });
      }
      const starts = trendBuckets(args.bucket, from, to);
      if (starts.length > MAX_TREND_BUCKETS) {
        throw inputError(ErrorCode.BAD_USER_INPUT, `The window holds ${starts.length} buckets; at most ${MAX_TREND_BUCKETS}: narrow it or use DAY.`, {
          argument: 'to',
        });
      }
      return activationTrend(store.sqlite, store.runs, args.bucket, starts, args.region ?? null);
    },
  },

  Mutation: {
    assignException: (_, args, context) => {
      const id = exceptionId('id', args.id);
      existingException(context, id);
      const assignee = args.assignee == null || args.assignee.trim() === '' ? null : boundedText('assignee', args.assignee, MAX_ASSIGNEE);
      context.store.exceptionJournal.assign(id, assignee, context.caller.subject);
      return existingException(context, id);
    },
    noteException: (_, args, context) => {
      const id = exceptionId('id', args.id);
      existingException(context, id);
      context.store.exceptionJournal.record(id, 'NOTED', context.caller.subject, boundedText('text', args.text, MAX_NOTE));
      return existingException(context, id);
    },
    retryExceptions: (_, args, context) => {
      const filter = args.filter;
      const open = context.store.exceptions.list({ statuses: ['OPEN'], types: filter.type, regions: filter.region, systems: filter.system });
      if (open.length > MAX_BULK_RETRY) {
        throw inputError(ErrorCode.BAD_USER_INPUT, `${open.length} open exceptions match; at most ${MAX_BULK_RETRY} at once: narrow the filter.`, {
          argument: 'filter',
        });
      }
      const runs = new Set(open.map((exception) => exception.runId)).size;
      if (args.preview) return { exceptions: open.length, runs, retried: 0 };
      let retried = 0;
      for (const exception of open) {
        // An earlier retry of the same run may have closed it (re-validation resolves what it no longer finds).
        if (resolveRecorded(context, exception.id, 'RETRY', 'bulk retry', context.caller).closed) retried++;
      }
      return { exceptions: open.length, runs, retried };
    },
  },

  IntegrationException: {
    assignee: (exception) => exception.assignee,
    history: (exception, _, { loaders }) => loaders.historyByExceptionId.load(exception.id),
  },
};
