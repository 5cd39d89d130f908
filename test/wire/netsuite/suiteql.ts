/**
 * SuiteQL (NetSuite's read-only SQL over its records, Oracle-flavoured) run on the wire server's SQLite records.
 * The statement is tokenized and rewritten, not pattern-matched: every identifier is quoted (SuiteQL's table
 * `transaction` is a keyword to SQLite), keywords and the functions SuiteQL offers pass through, anything else
 * (a second statement, a comment, an unknown function) is refused as NetSuite refuses it. Results come back as
 * SuiteQL's do: lower-case column names, every value as text, null columns left out; dates are stored in the
 * account's display format (`M/D/YYYY`), so only `TO_CHAR(date, 'YYYY-MM-DD')` gives a client ISO dates.
 */
import type Database from 'better-sqlite3';

export class SuiteQlError extends Error {}

const KEYWORDS = new Set(
  [
    'select',
    'from',
    'where',
    'and',
    'or',
    'not',
    'in',
    'is',
    'null',
    'as',
    'join',
    'left',
    'right',
    'inner',
    'outer',
    'cross',
    'on',
    'group',
    'by',
    'order',
    'asc',
    'desc',
    'having',
    'case',
    'when',
    'then',
    'else',
    'end',
    'distinct',
    'between',
    'like',
    'escape',
    'exists',
    'union',
    'all',
  ].map((word) => word.toUpperCase()),
);

/** The SQL functions the wire server's SuiteQL offers (SQLite's own, and TO_CHAR and NVL registered below). */
const FUNCTIONS = new Set(['SUM', 'COUNT', 'MIN', 'MAX', 'AVG', 'COALESCE', 'NVL', 'TO_CHAR', 'UPPER', 'LOWER', 'ROUND', 'ABS', 'SUBSTR', 'LENGTH']);

const TOKEN = /\s+|'(?:[^']|'')*'|\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|<>|!=|>=|<=|\|\||[(),.=<>+\-*/]/y;

/** SuiteQL as SQLite runs it over the wire server's tables. */
export function translateSuiteQl(suiteql: string): string {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < suiteql.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(suiteql);
    if (!match) throw new SuiteQlError(`Syntax error at position ${at}: "${suiteql.slice(at, at + 20)}"`);
    tokens.push(match[0]);
  }
  const significant = tokens.filter((token) => !/^\s+$/.test(token));
  if (significant[0]?.toUpperCase() !== 'SELECT') throw new SuiteQlError('Only SELECT statements are supported.');
  return tokens
    .map((token, i) => {
      if (!/^[A-Za-z_]/.test(token)) return token;
      const upper = token.toUpperCase();
      if (KEYWORDS.has(upper)) return upper;
      const next = tokens.slice(i + 1).find((candidate) => !/^\s+$/.test(candidate));
      if (next === '(') {
        if (!FUNCTIONS.has(upper)) throw new SuiteQlError(`Unknown identifier '${token}'.`);
        return upper;
      }
      return `"${token.toLowerCase()}"`;
    })
    .join('');
}

/** `M/D/YYYY` (the account's date format) as [year, month, day], or null. */
function displayDate(value: unknown): [number, number, number] | null {
  const match = typeof value === 'string' ? /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value) : null;
  return match ? [Number(match[3]), Number(match[1]), Number(match[2])] : null;
}

/** A date as the account shows it (`M/D/YYYY`), from ISO `YYYY-MM-DD`. */
export function toDisplayDate(iso: string): string {
  const [year, month, day] = iso.split('-').map(Number);
  return `${month}/${day}/${year}`;
}

/** Registers SuiteQL's Oracle functions on a connection: TO_CHAR (dates, numbers) and NVL. */
export function registerSuiteQlFunctions(db: Database.Database): void {
  db.function('to_char', { deterministic: true }, (value: unknown, format: unknown) => {
    if (value === null || value === undefined) return null;
    const date = displayDate(value);
    if (!date || typeof format !== 'string') return String(value);
    const pad = (n: number, width = 2) => String(n).padStart(width, '0');
    const [year, month, day] = date;
    return format.replace('YYYY', pad(year, 4)).replace('MM', pad(month)).replace('DD', pad(day));
  });
  db.function('nvl', { deterministic: true }, (value: unknown, fallback: unknown) => (value === null ? fallback : value) as never);
}

/** Runs SuiteQL: every row, as SuiteQL items (lower-case names, text values, nulls left out). */
export function runSuiteQl(db: Database.Database, suiteql: string): Array<Record<string, string>> {
  let rows: Array<Record<string, unknown>>;
  try {
    rows = db.prepare(translateSuiteQl(suiteql)).all() as Array<Record<string, unknown>>;
  } catch (error) {
    if (error instanceof SuiteQlError) throw error;
    throw new SuiteQlError((error as Error).message.replace(/"/g, "'"));
  }
  return rows.map((row) => {
    const item: Record<string, string> = {};
    for (const [name, value] of Object.entries(row)) if (value !== null && value !== undefined) item[name.toLowerCase()] = String(value);
    return item;
  });
}
