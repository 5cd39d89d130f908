/**
 * The Kantata wire server's index requests, as the API reference describes them: `only=`, each endpoint's filters
 * (kantataWireCollections.ts), `order=<field>:<direction>`, `page`/`per_page` (200 at most), `include=` and
 * `optional_fields=`, and the envelope: `count`, `meta`, `results: [{ key, id }]` in order, one id-keyed top-level
 * collection per record type.
 */
import type Database from 'better-sqlite3';
import { ApiError, COLLECTIONS, type Condition, type Json, type SideLoads, inList, list, notFound, prepared } from './kantataWireCollections.js';

export { ApiError, type Json, notFound, validation } from './kantataWireCollections.js';

type Row = Record<string, unknown>;

/**
 * The ordered IDs of a listing, kept until the next change: paging through 230,000 time entries by OFFSET would
 * make the server's work grow with the square of the pages, which Kantata's own does not.
 */
const listings = new WeakMap<Database.Database, Map<string, readonly string[]>>();

/** Forgets the listings of earlier requests: call after every change. */
export function changed(db: Database.Database): void {
  listings.get(db)?.clear();
}

/** An index request: the page of matching records, rendered with their includes, in Kantata's envelope. */
export function listCollection(db: Database.Database, name: string, query: URLSearchParams, fixed?: Condition): Json {
  const collection = COLLECTIONS[name];
  if (!collection) throw notFound('The requested resource');
  const conditions: Condition[] = [];
  const only = query.get('only');
  if (only !== null) conditions.push(inList('t.id', only));
  const applied = new Set<(value: string, query: URLSearchParams) => Condition>();
  for (const [parameter, value] of query) {
    const filter = collection.filters[parameter];
    if (!filter || applied.has(filter)) continue;
    applied.add(filter);
    conditions.push(filter(value, query));
  }
  const defaultWhere = collection.defaultWhere?.(query);
  if (defaultWhere) conditions.push(defaultWhere);
  if (fixed) conditions.push(fixed);
  const orderName = query.get('order') ?? collection.defaultOrder;
  const orderBy = collection.orders[orderName];
  if (!orderBy) throw new ApiError(400, { errors: [{ type: 'system', message: `${orderName} is not a valid order for ${name}.` }] });
  const where = conditions.length > 0 ? `WHERE ${conditions.map((condition) => condition.sql).join(' AND ')}` : '';
  const params = conditions.flatMap((condition) => condition.params);
  const perPage = Math.min(200, Math.max(1, Number(query.get('per_page') ?? 20) || 20));
  const page = Math.max(1, Number(query.get('page') ?? 1) || 1);
  const idsSql = `SELECT t.id FROM ${collection.table} t ${where} ORDER BY ${orderBy}, t.id ASC`;
  let known = listings.get(db);
  if (!known) listings.set(db, (known = new Map()));
  const key = `${idsSql}|${JSON.stringify(params)}`;
  let ids = known.get(key);
  if (ids === undefined)
    known.set(
      key,
      (ids = prepared(db, idsSql)
        .pluck()
        .all(...params) as string[]),
    );
  const count = ids.length;
  const pageIds = ids.slice((page - 1) * perPage, page * perPage);
  const byId = new Map(
    (prepared(db, `SELECT * FROM ${collection.table} WHERE id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(pageIds)) as Row[]).map((row) => [
      String(row['id']),
      row,
    ]),
  );
  const rows = pageIds.flatMap((id) => (byId.has(String(id)) ? [byId.get(String(id))!] : []));
  const body = render(db, name, rows, query);
  return { count, meta: { count, page_count: Math.ceil(count / perPage), page_number: page, page_size: perPage }, ...body };
}

/** Records of a collection as a response body (also what writes answer with). */
export function render(db: Database.Database, name: string, rows: Row[], query: URLSearchParams): Json {
  const collection = COLLECTIONS[name]!;
  const records = rows.map((row) => ({ ...collection.render(row, query), id: String(row['id']) }));
  const side: SideLoads = new Map();
  for (const include of list(query.get('include') ?? '')) {
    const load = collection.includes[include];
    if (!load) throw new ApiError(400, { errors: [{ type: 'system', message: `${include} is not a valid include for ${name}.` }] });
    load(db, rows, records, side);
  }
  const own = new Map(records.map((record) => [String(record['id']), record]));
  const merged = side.get(collection.key) ?? new Map<string, Json>();
  for (const [id, record] of own) merged.set(id, record);
  return {
    results: records.map((record) => ({ key: collection.key, id: String(record['id']) })),
    [collection.key]: Object.fromEntries(merged),
    ...Object.fromEntries([...side].filter(([key]) => key !== collection.key).map(([key, values]) => [key, Object.fromEntries(values)])),
  };
}
