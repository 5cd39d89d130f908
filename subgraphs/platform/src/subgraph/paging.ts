/**
 * Cursor paging shared by every list field. Cursors are opaque (base64url of the list's name and an offset),
 * bound to the field that issued them, and page sizes are capped: a reporting tool cannot ask for everything
 * at once by accident.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from './errors.js';

/** The largest `first` any list field accepts. */
export const MAX_PAGE_SIZE = 100;

/** A page of a search and the number of rows the whole search matches. */
export interface SearchResult<T> {
  readonly rows: readonly T[];
  readonly totalCount: number;
}

export interface PageRequest {
  readonly limit: number;
  readonly offset: number;
}

export function pageRequest(list: string, first: number | null | undefined, after: string | null | undefined): PageRequest {
  const limit = first ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw inputError(ErrorCode.PAGE_SIZE_OUT_OF_RANGE, `Argument "first" must be between 1 and ${MAX_PAGE_SIZE}, got ${limit}.`, {
      argument: 'first',
      maximum: MAX_PAGE_SIZE,
    });
  }
  return { limit, offset: after == null ? 0 : decodeCursor(list, after) + 1 };
}

export function encodeCursor(list: string, offset: number): string {
  return Buffer.from(`${list}:${offset}`).toString('base64url');
}

function decodeCursor(list: string, cursor: string): number {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^([a-zA-Z]+):(\d{1,9})$/.exec(decoded);
  if (!match || match[1] !== list) {
    throw inputError(ErrorCode.INVALID_CURSOR, `Argument "after" is not a cursor issued by ${list}.`, { argument: 'after' });
  }
  return Number(match[2]);
}

export interface Connection<T> {
  readonly totalCount: number;
  readonly pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  readonly edges: ReadonlyArray<{ cursor: string; node: T }>;
  readonly nodes: readonly T[];
}

export function connection<T>(list: string, page: PageRequest, nodes: readonly T[], totalCount: number): Connection<T> {
  const edges = nodes.map((node, i) => ({ cursor: encodeCursor(list, page.offset + i), node }));
  return {
    totalCount,
    pageInfo: {
      hasNextPage: page.offset + nodes.length < totalCount,
      hasPreviousPage: page.offset > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
    edges,
    nodes,
  };
}
