/**
 * SQLite access for the sandbox systems. Every statement a subgraph runs goes through `SqliteStore.prepare`, so
 * the store can count executions: the N+1 test asserts that the count does not grow with the page size.
 */
import { basename } from 'node:path';
import Database from 'better-sqlite3';
import { type Attributes, inTrace, withSpan } from '../telemetry/index.js';

export type SqlParams = Record<string, unknown> | unknown[] | undefined;

/** A prepared statement whose every execution is counted. */
export interface CountedStatement<Row> {
  all(params?: SqlParams): Row[];
  get(params?: SqlParams): Row | undefined;
  run(params?: SqlParams): { changes: number; lastInsertRowid: number | bigint };
}

export class SqliteStore {
  readonly db: Database.Database;
  private executed = 0;

  constructor(readonly file: string) {
    this.db = new Database(file);
    // WAL lets readers run while a writer commits; NORMAL sync is durable across process crashes in WAL mode.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
  }

  /** How many statements this store has executed since it opened. */
  get statementCount(): number {
    return this.executed;
  }

  prepare<Row = Record<string, unknown>>(sql: string): CountedStatement<Row> {
    return this.wrap<Row>(sql, true);
  }

  /**
   * A statement for background housekeeping (the outbox relay's polling), left out of `statementCount`: that
   * count measures the work requests cause, and a timer's work would make it depend on how long a request took.
   */
  prepareBackground<Row = Record<string, unknown>>(sql: string): CountedStatement<Row> {
    return this.wrap<Row>(sql, false);
  }

  private wrap<Row>(sql: string, counted: boolean): CountedStatement<Row> {
    const statement = this.db.prepare(sql);
    const bind = (params: SqlParams): unknown[] => (params === undefined ? [] : [params]);
    const all = (params: SqlParams) => statement.all(...bind(params)) as Row[];
    const get = (params: SqlParams) => statement.get(...bind(params)) as Row | undefined;
    const run = (params: SqlParams) => {
      const result = statement.run(...bind(params));
      return { changes: result.changes, lastInsertRowid: result.lastInsertRowid };
    };
    // Each statement a request, a consumer or a saga step causes is a child span of it; a statement outside any
    // trace (a timer's housekeeping, a relay's polling) is not traced, or it would make a trace of its own every
    // few hundred milliseconds.
    let span: { name: string; attributes: Attributes } | undefined;
    const traced = <T>(execute: (params: SqlParams) => T, params: SqlParams): T => {
      span ??= sqlSpan(sql, this.file);
      return withSpan(span.name, span.attributes, () => execute(params));
    };
    return {
      all: (params) => {
        if (!counted) return all(params);
        this.executed++;
        return inTrace() ? traced(all, params) : all(params);
      },
      get: (params) => {
        if (!counted) return get(params);
        this.executed++;
        return inTrace() ? traced(get, params) : get(params);
      },
      run: (params) => {
        if (!counted) return run(params);
        this.executed++;
        return inTrace() ? traced(run, params) : run(params);
      },
    };
  }

  /** Runs `work` in one transaction: all of it is written, or none. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * A statement's span, by the database semantic conventions: named by its operation (`SELECT`, `INSERT`), with the
 * statement's text — parameters are bound apart, so no value a user entered is in it.
 */
function sqlSpan(sql: string, file: string): { name: string; attributes: Attributes } {
  const operation = /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
  return {
    name: operation,
    attributes: { 'db.system.name': 'sqlite', 'db.namespace': basename(file, '.db'), 'db.operation.name': operation, 'db.query.text': sql.trim() },
  };
}

/** Binds a list of keys as one parameter: `WHERE id IN (SELECT value FROM json_each(?))`. */
export function jsonList(keys: readonly (string | number)[]): string {
  return JSON.stringify(keys);
}

/** A table's column names: how a store made by an older version learns it needs a later one's columns. */
export function columnsOf(store: SqliteStore, table: string): string[] {
  return (store.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((info) => info.name);
}

/** Whether a table has a column (false for a table that does not exist). */
export function hasColumn(store: SqliteStore, table: string, column: string): boolean {
  return columnsOf(store, table).includes(column);
}
