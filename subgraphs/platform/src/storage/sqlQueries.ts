/**
 * Small helpers for SQL over a `SqliteStore` (the sandboxes' and the process layer's own): optional filters
 * compiled into one WHERE clause, a page and its total in two statements, and rows grouped by key for DataLoader
 * batches.
 */
import type { PageRequest, SearchResult } from '../subgraph/paging.js';
import { type SqliteStore, jsonList } from './sqliteStore.js';

export function groupBy<T, K>(rows: readonly T[], key: (row: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}

/** Builds a WHERE clause from optional conditions; absent filters add nothing. */
export class WhereBuilder {
  private readonly clauses: string[] = [];
  readonly params: Record<string, unknown> = {};

  add(clause: string, name: string, value: unknown): this {
    if (value === undefined || value === null) return this;
    this.clauses.push(clause);
    this.params[name] = Array.isArray(value) ? jsonList(value as string[]) : typeof value === 'boolean' ? (value ? 1 : 0) : value;
    return this;
  }

  /** Case-insensitive substring match on `column`; `%`, `_` and `\\` in the value match themselves. */
  contains(column: string, name: string, value: string | null | undefined): this {
    return this.add(
      `${column} LIKE '%' || :${name} || '%' ESCAPE '\\'`,
      name,
      value?.replace(/[\\%_]/g, (c) => `\\${c}`),
    );
  }

  raw(clause: string, when: boolean): this {
    if (when) this.clauses.push(clause);
    return this;
  }

  toString(): string {
    return this.clauses.length === 0 ? '' : `WHERE ${this.clauses.join(' AND ')}`;
  }
}

/** One statement for the page and one for the count, whatever the page size. */
export function searchPage<Row, T>(
  store: SqliteStore,
  query: { from: string; where: WhereBuilder; orderBy: string; columns?: string },
  page: PageRequest,
  map: (row: Row) => T,
): SearchResult<T> {
  const rows = store
    .prepare<Row>(`SELECT ${query.columns ?? '*'} FROM ${query.from} ${query.where} ORDER BY ${query.orderBy} LIMIT :limit OFFSET :offset`)
    .all({ ...query.where.params, limit: page.limit, offset: page.offset });
  const total = store.prepare<{ n: number }>(`SELECT COUNT(*) AS n FROM ${query.from} ${query.where}`).get(query.where.params)!;
  return { rows: rows.map(map), totalCount: total.n };
}
