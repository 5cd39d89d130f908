/**
 * Argument checks shared by the subgraphs' entry points. Each throws a GraphQLError with a stable code that
 * names the argument and what would be valid.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { GraphQLError } from 'graphql';
import { dayFromIso } from '../values/dates.js';
import { inputError, invalidIdError } from './errors.js';

export interface DayRange {
  readonly fromDay: number | null;
  readonly toDay: number | null;
}

/** Validates an optional `{ from, to }` date range (already-parsed Date scalars). */
export function dateRange(argument: string, range: { from?: string | null; to?: string | null } | null | undefined, maxDays?: number): DayRange {
  const fromDay = range?.from ? dayFromIso(range.from) : null;
  const toDay = range?.to ? dayFromIso(range.to) : null;
  if (fromDay !== null && toDay !== null && fromDay > toDay) {
    throw inputError(ErrorCode.INVALID_DATE_RANGE, `Argument "${argument}" is inverted: from (${range!.from}) is after to (${range!.to}).`, {
      argument,
    });
  }
  if (maxDays !== undefined) {
    if (fromDay === null || toDay === null) {
      throw inputError(ErrorCode.INVALID_DATE_RANGE, `Argument "${argument}" needs both from and to.`, { argument });
    }
    if (toDay - fromDay + 1 > maxDays) {
      throw inputError(ErrorCode.INVALID_DATE_RANGE, `Argument "${argument}" spans ${toDay - fromDay + 1} days; at most ${maxDays} are allowed.`, {
        argument,
        maximumDays: maxDays,
      });
    }
  }
  return { fromDay, toDay };
}

/** Returns `id` when `isValid(id)`, else throws INVALID_ID naming the argument and the expected format. */
export function requireIdFormat(argument: string, id: string, isValid: (id: string) => boolean, expected: string): string {
  if (!isValid(id)) throw invalidIdError(argument, id, expected);
  return id;
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

export function requireMonth(argument: string, month: string | null | undefined): string | null {
  if (month == null) return null;
  if (!MONTH.test(month)) throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${argument}" must be a month like "2026-10", got "${month}".`, { argument });
  return month;
}

/** An entity this subgraph knows only by its key (e.g. `Project` in CRM): its other fields live elsewhere. */
export interface EntityReference {
  readonly id: string;
}

/**
 * The key of an entity reference another subgraph sent (`_entities`). A malformed key is a data or gateway
 * bug, not user input; it is surfaced as INVALID_ID rather than resolved to nothing.
 */
export function referenceKey(typename: string, id: unknown, isValid: (id: string) => boolean): string {
  if (typeof id !== 'string' || !isValid(id)) {
    throw new GraphQLError(`${typename} reference has an invalid id ${JSON.stringify(id)}.`, { extensions: { code: ErrorCode.INVALID_ID } });
  }
  return id;
}
