/**
 * The SOQL the Salesforce wire server understands, turned into SQLite SQL over tables named after the sObjects
 * and columns named after their API fields: `SELECT <fields | COUNT()> FROM <sObject> [WHERE …] [ORDER BY …]
 * [LIMIT n] [OFFSET n]`, with SOQL's literals (unquoted dates and datetimes, `true`/`false`, `null`) and
 * operators (`=`, `!=`, `<`, `<=`, `>`, `>=`, `LIKE`, `IN`, `NOT IN`, `AND`, `OR`, `NOT`). Relationship fields and
 * aggregate functions other than `COUNT()` are refused as Salesforce refuses an unknown field: MALFORMED_QUERY.
 */

export class SoqlError extends Error {
  constructor(
    readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE',
    message: string,
  ) {
    super(message);
  }
}

export interface TranslatedQuery {
  readonly sObject: string;
  readonly sql: string;
  /** `SELECT COUNT() FROM …`: Salesforce answers with totalSize and no records. */
  readonly count: boolean;
  readonly fields: readonly string[];
}

type Token = { kind: 'word' | 'string' | 'number' | 'symbol' | 'literal'; text: string };

const KEYWORDS = new Set([
  'SELECT',
  'FROM',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'ORDER',
  'BY',
  'ASC',
  'DESC',
  'NULLS',
  'FIRST',
  'LAST',
  'LIMIT',
  'OFFSET',
  'NULL',
  'TRUE',
  'FALSE',
  'COUNT',
]);
const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2}))?/;

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < soql.length) {
    const rest = soql.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const date = DATE.exec(rest);
    if (date) {
      tokens.push({ kind: 'literal', text: date[0] });
      i += date[0].length;
      continue;
    }
    if (rest[0] === "'") {
      let j = 1;
      let text = '';
      while (j < rest.length && rest[j] !== "'") {
        if (rest[j] === '\\' && j + 1 < rest.length) {
          // \% and \_ stay escaped (LIKE patterns, matched with ESCAPE '\'); other escapes are the character.
          text += rest[j + 1] === '%' || rest[j + 1] === '_' ? `\\${rest[j + 1]}` : rest[j + 1];
          j += 2;
        } else text += rest[j++];
      }
      if (rest[j] !== "'") throw new SoqlError('MALFORMED_QUERY', 'unterminated string literal');
      tokens.push({ kind: 'string', text });
      i += j + 1;
      continue;
    }
    const number = /^-?\d+(\.\d+)?/.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', text: number[0] });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(rest);
    if (word) {
      tokens.push({ kind: 'word', text: word[0] });
      i += word[0].length;
      continue;
    }
    const symbol = /^(!=|<=|>=|<>|[=<>(),])/.exec(rest);
    if (symbol) {
      tokens.push({ kind: 'symbol', text: symbol[0] });
      i += symbol[0].length;
      continue;
    }
    throw new SoqlError('MALFORMED_QUERY', `unexpected token at ${JSON.stringify(rest.slice(0, 20))}`);
  }
  return tokens;
}

const quoteIdentifier = (name: string) => `"${name}"`;
const quoteString = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Translates a query; `columnsOf(sObject)` names the fields an sObject has (undefined: no such sObject). */
export function translateSoql(soql: string, columnsOf: (sObject: string) => readonly string[] | undefined): TranslatedQuery {
  const tokens = tokenize(soql);
  const upper = (token: Token | undefined) => (token?.kind === 'word' ? token.text.toUpperCase() : undefined);
  if (upper(tokens[0]) !== 'SELECT') throw new SoqlError('MALFORMED_QUERY', 'a query starts with SELECT');
  const fromIndex = tokens.findIndex((token) => upper(token) === 'FROM');
  if (fromIndex < 0 || tokens[fromIndex + 1]?.kind !== 'word') throw new SoqlError('MALFORMED_QUERY', 'FROM <sObject> is missing');
  const sObject = tokens[fromIndex + 1]!.text;
  const columns = columnsOf(sObject);
  if (!columns) throw new SoqlError('INVALID_TYPE', `sObject type '${sObject}' is not supported.`);
  const known = new Map(columns.map((column) => [column.toLowerCase(), column]));
  const field = (name: string) => {
    const column = known.get(name.toLowerCase());
    if (!column) throw new SoqlError('INVALID_FIELD', `No such column '${name}' on entity '${sObject}'.`);
    return column;
  };

  const selected = tokens.slice(1, fromIndex);
  const count = selected.length === 3 && upper(selected[0]) === 'COUNT' && selected[1]?.text === '(' && selected[2]?.text === ')';
  const fields = count
    ? []
    : selected.filter((token) => token.text !== ',').map((token) => (token.kind === 'word' ? field(token.text) : undefinedField(token)));

  const tail: string[] = [];
  for (const token of tokens.slice(fromIndex + 2)) {
    const keyword = upper(token);
    if (token.kind === 'string' && tail.at(-1) === 'LIKE') {
      tail.push(`${quoteString(token.text)} ESCAPE '\\'`);
      continue;
    }
    if (keyword === 'NULL' && (tail.at(-1) === '=' || tail.at(-1) === '!=')) {
      // SOQL's `= null` / `!= null` are SQL's IS NULL / IS NOT NULL.
      tail[tail.length - 1] = tail.at(-1) === '=' ? 'IS' : 'IS NOT';
      tail.push('NULL');
    } else if (token.kind === 'word' && keyword && KEYWORDS.has(keyword)) {
      tail.push(keyword === 'TRUE' ? '1' : keyword === 'FALSE' ? '0' : keyword);
    } else if (token.kind === 'word') {
      tail.push(quoteIdentifier(field(token.text)));
    } else if (token.kind === 'string' || token.kind === 'literal') {
      tail.push(quoteString(token.kind === 'literal' ? normalizeDateTime(token.text) : token.text));
    } else {
      tail.push(token.text === '<>' ? '!=' : token.text);
    }
  }
  const select = count ? 'COUNT(*) AS expr0' : fields.map(quoteIdentifier).join(', ');
  return { sObject, sql: `SELECT ${select} FROM ${quoteIdentifier(sObject)} ${tail.join(' ')}`.trim(), count, fields };
}

function undefinedField(token: Token): never {
  throw new SoqlError('MALFORMED_QUERY', `unexpected ${JSON.stringify(token.text)} in the field list`);
}

/** Datetimes are stored as ISO strings in UTC with milliseconds, so that they compare as text. */
export function normalizeDateTime(text: string): string {
  if (text.length === 10) return text;
  return new Date(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')).toISOString();
}
