/**
 * The Kantata wire server's index endpoints, one entry per collection as the API reference describes it: its
 * filters (those psgraph uses, and the common `created_*`/`updated_*` ones), its `order` values, what it can
 * `include` (side-loaded into id-keyed top-level collections, the `*_id`/`*_ids` keys onto the records only when
 * included) and its `optional_fields`; and Kantata's error bodies. One file over 400 lines on purpose: the
 * collections include one another (a workspace side-loaded onto a story, a submission onto a time entry), so they
 * live in one registry rather than in modules that would import each other.
 */
import type Database from 'better-sqlite3';
import { PROJECT_STATUSES } from './kantataWireData.js';

type Row = Record<string, unknown>;
export type Json = Record<string, unknown>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(`HTTP ${status}`);
  }
}

export const validation = (message: string, field?: string) => new ApiError(422, { errors: [{ type: 'validation', message, ...(field ? { field } : {}) }] });
export const notFound = (what: string) => new ApiError(404, { errors: [{ type: 'system', message: `${what} could not be found.` }] });

export interface Condition {
  readonly sql: string;
  readonly params: unknown[];
}

export interface Collection {
  readonly table: string;
  readonly key: string;
  readonly defaultOrder: string;
  readonly orders: Readonly<Record<string, string>>;
  readonly filters: Readonly<Record<string, (value: string, query: URLSearchParams) => Condition>>;
  /** Applied unless a parameter lifts it (e.g. unnamed resources). */
  readonly defaultWhere?: (query: URLSearchParams) => Condition | null;
  readonly render: (row: Row, query: URLSearchParams) => Json;
  readonly includes: Readonly<Record<string, (db: Database.Database, rows: Row[], records: Json[], side: SideLoads) => void>>;
}

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();
/** A prepared statement, compiled once per database: an index request runs the same few again and again. */
export function prepared(db: Database.Database, sql: string): Database.Statement {
  let statements = cache.get(db);
  if (!statements) cache.set(db, (statements = new Map()));
  let statement = statements.get(sql);
  if (!statement) statements.set(sql, (statement = db.prepare(sql)));
  return statement;
}

/** Side-loaded collections of one response, by key and ID. */
export type SideLoads = Map<string, Map<string, Json>>;

export const list = (value: string) =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
export const inList = (column: string, value: string): Condition => {
  const ids = list(value);
  return { sql: `${column} IN (${ids.map(() => '?').join(', ') || 'NULL'})`, params: ids };
};
const equals =
  (column: string) =>
  (value: string): Condition => ({ sql: `${column} = ?`, params: [value] });
const bool = (value: string | null) => value === 'true' || value === '1';
const stampFilters = (alias = ''): Collection['filters'] => ({
  created_after: (value) => ({ sql: `${alias}created_at > ?`, params: [iso(value)] }),
  created_before: (value) => ({ sql: `${alias}created_at < ?`, params: [iso(value)] }),
  updated_after: (value) => ({ sql: `${alias}updated_at > ?`, params: [iso(value)] }),
  updated_before: (value) => ({ sql: `${alias}updated_at < ?`, params: [iso(value)] }),
});
const iso = (value: string) => {
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new ApiError(400, { errors: [{ type: 'system', message: `${value} is not an ISO 8601 datetime.` }] });
  return new Date(parsed).toISOString();
};
const order = (column: string) => ({ [`${column}:asc`]: `${column} ASC`, [`${column}:desc`]: `${column} DESC` });
const stampOrders = { ...order('created_at'), ...order('updated_at') };

/** `by_custom_choice_value` / `by_custom_text_value`: `(field:values):(field:values)` or `field:values;field:values`. */
function customFilter(subjectType: string, kind: 'choice' | 'text') {
  return (value: string): Condition => {
    const groups = value.includes('(') ? [...value.matchAll(/\(([^()]*)\)/g)].map((match) => match[1]!) : value.split(';');
    const byField = new Map<string, string[]>();
    for (const group of groups) {
      const [fieldId, ...rest] = group.split(':');
      const wanted = rest.join(':');
      byField.set(fieldId!, [...(byField.get(fieldId!) ?? []), ...(kind === 'choice' ? list(wanted) : wanted ? [wanted] : [])]);
    }
    const conditions = [...byField].map(([fieldId, values]): Condition => {
      const base = `SELECT 1 FROM custom_field_values v WHERE v.subject_type = '${subjectType}' AND v.subject_id = t.id AND v.custom_field_id = ?`;
      if (values.length === 0) return { sql: `EXISTS (${base})`, params: [fieldId] };
      if (kind === 'text')
        return { sql: `EXISTS (${base} AND json_extract(v.value, '$') IN (${values.map(() => '?').join(', ')}))`, params: [fieldId, ...values] };
      const blank = values.includes('blank');
      const ids = values.filter((id) => id !== 'blank').map(Number);
      const chosen = `EXISTS (${base} AND EXISTS (SELECT 1 FROM json_each(v.value) c WHERE c.value IN (${ids.map(() => '?').join(', ') || 'NULL'})))`;
      return blank ? { sql: `(${chosen} OR NOT EXISTS (${base}))`, params: [fieldId, ...ids, fieldId] } : { sql: chosen, params: [fieldId, ...ids] };
    });
    return { sql: conditions.map((condition) => condition.sql).join(' AND ') || '1', params: conditions.flatMap((condition) => condition.params) };
  };
}

/** `external_reference_*` filters: some external reference of the record matches every one given. */
function externalReferenceFilter(subjectType: string) {
  return (_value: string, query: URLSearchParams): Condition => {
    const clauses: string[] = [];
    const params: unknown[] = [];
    const name = query.get('external_reference_service_name');
    const model = query.get('external_reference_service_model');
    for (const [column, value] of [
      ['service_name', name],
      ['service_model', model],
    ] as const) {
      if (value === null) continue;
      clauses.push(`r.${column} = ?`);
      params.push(value);
    }
    const refs = query.get('external_reference_service_model_refs') ?? query.get('external_reference_service_model_ref');
    if (refs !== null) {
      const values = list(refs).slice(0, 200);
      clauses.push(`r.service_model_ref IN (${values.map(() => '?').join(', ') || 'NULL'})`);
      params.push(...values);
    }
    return {
      sql: `EXISTS (SELECT 1 FROM external_references r WHERE r.subject_type = '${subjectType}' AND r.subject_id = t.id${clauses.map((clause) => ` AND ${clause}`).join('')})`,
      params,
    };
  };
}

const externalReferenceFilters = (subjectType: string): Collection['filters'] => {
  const filter = externalReferenceFilter(subjectType);
  // All of them together make one condition; it is added once, under whichever of them the request names first.
  return Object.fromEntries(
    [
      'external_reference_service_name',
      'external_reference_service_model',
      'external_reference_service_model_ref',
      'external_reference_service_model_refs',
    ].map((name) => [name, filter]),
  );
};

const parseValue = (value: unknown) => (typeof value === 'string' ? (JSON.parse(value) as unknown) : value);
const numeric = (value: unknown) => (value === null || value === undefined ? value : String(value));

function sideLoad(side: SideLoads, key: string, id: string, record: Json): void {
  let collection = side.get(key);
  if (!collection) side.set(key, (collection = new Map()));
  collection.set(id, record);
}

/** Rows of `table` whose `column` is one of `ids`. */
function rowsIn(db: Database.Database, table: string, column: string, ids: readonly unknown[]): Row[] {
  const unique = [...new Set(ids.filter((id) => id !== null && id !== undefined).map(String))];
  if (unique.length === 0) return [];
  return prepared(db, `SELECT * FROM ${table} WHERE ${column} IN (SELECT value FROM json_each(?))`).all(JSON.stringify(unique)) as Row[];
}

const renderUser = (row: Row): Json => ({
  id: row['id'],
  full_name: row['full_name'],
  email_address: row['email_address'],
  created_at: row['created_at'],
  updated_at: row['updated_at'],
});
const renderRole = (row: Row): Json => ({ id: row['id'], name: row['name'], created_at: row['created_at'], updated_at: row['updated_at'] });
const renderResource = (row: Row): Json => ({
  id: row['id'],
  workspace_id: Number(row['workspace_id']),
  created_at: row['created_at'],
  updated_at: row['updated_at'],
});
/** A TimesheetSubmission as Kantata renders it; `user_id`, `workspace_id` and `time_entry_ids` only when included. */
const renderSubmission = (row: Row): Json => {
  const status = String(row['status']);
  return {
    id: String(row['id']),
    type: 'TimesheetSubmission',
    status,
    title: row['title'] ?? null,
    comment: row['comment'] ?? null,
    start_date: row['start_date'],
    end_date: row['end_date'],
    current_resolution_description: row['current_resolution_description'] ?? null,
    current_resolution_created_at_date: row['current_resolution_created_at_date'] ?? null,
    permissions: {
      can_cancel_submission: status === 'pending' || status === 'approved',
      can_approve_submission: status === 'pending',
      can_reject_submission: status === 'pending',
      can_resubmit_submission: status === 'rejected' || status === 'cancelled',
    },
    created_at: row['created_at'],
    updated_at: row['updated_at'],
  };
};
const renderTimeEntry = (row: Row): Json => ({
  id: row['id'],
  date_performed: row['date_performed'],
  time_in_minutes: row['time_in_minutes'],
  billable: row['billable'] === 1,
  rate_in_cents: row['rate_in_cents'],
  cost_rate_in_cents: row['cost_rate_in_cents'],
  created_at: row['created_at'],
  updated_at: row['updated_at'],
});
/** An Expense as Kantata renders it: `is_billable` (the request says `billable`); association IDs only when included. */
const renderExpense = (row: Row): Json => ({
  id: row['id'],
  date: row['date'],
  category: row['category'],
  amount_in_cents: row['amount_in_cents'],
  currency: row['currency'],
  is_billable: row['is_billable'] === 1,
  reimbursable: true,
  notes: row['notes'] ?? null,
  receipt_id: numeric(row['receipt_id']) ?? null,
  created_at: row['created_at'],
  updated_at: row['updated_at'],
});
/** `statuses=`: the filter's names (`new` for the open state, which the record calls `pending`). */
const submissionStatuses = (value: string): Condition => {
  const statuses = list(value).map((status) => (status === 'new' ? 'pending' : status));
  return { sql: `t.status IN (${statuses.map(() => '?').join(', ') || 'NULL'})`, params: statuses };
};

/** `include=custom_field_values` / `external_references` for a subject type: `<key>_ids` on each record. */
const subjectIncludes = (subjectType: string) => ({
  custom_field_values: (db: Database.Database, rows: Row[], records: Json[], side: SideLoads) => {
    const values = rowsIn(
      db,
      'custom_field_values',
      'subject_id',
      rows.map((row) => row['id']),
    ).filter((value) => value['subject_type'] === subjectType);
    records.forEach((record) => (record['custom_field_value_ids'] = []));
    const byId = new Map(records.map((record) => [String(record['id']), record]));
    for (const value of values) {
      const id = String(value['id']);
      (byId.get(String(value['subject_id']))?.['custom_field_value_ids'] as string[] | undefined)?.push(id);
      sideLoad(side, 'custom_field_values', id, { ...value, id, value: parseValue(value['value']), subject_id: Number(value['subject_id']) });
    }
  },
  external_references: (db: Database.Database, rows: Row[], records: Json[], side: SideLoads) => {
    const references = rowsIn(
      db,
      'external_references',
      'subject_id',
      rows.map((row) => row['id']),
    ).filter((reference) => reference['subject_type'] === subjectType);
    records.forEach((record) => (record['external_reference_ids'] = []));
    const byId = new Map(records.map((record) => [String(record['id']), record]));
    for (const reference of references) {
      const id = String(reference['id']);
      (byId.get(String(reference['subject_id']))?.['external_reference_ids'] as string[] | undefined)?.push(id);
      sideLoad(side, 'external_references', id, { ...reference, id, subject_id: Number(reference['subject_id']) });
    }
  },
});

/** `include=<name>`: the record's `<name>_id`, and the associated record side-loaded under `key`. */
const belongsTo =
  (column: string, idKey: string, table: string, key: string, render: (row: Row) => Json) =>
  (db: Database.Database, rows: Row[], records: Json[], side: SideLoads) => {
    rows.forEach((row, i) => (records[i]![idKey] = numeric(row[column]) ?? null));
    for (const associated of rowsIn(
      db,
      table,
      'id',
      rows.map((row) => row[column]),
    ))
      sideLoad(side, key, String(associated['id']), render(associated));
  };

export const COLLECTIONS: Readonly<Record<string, Collection>> = {
  workspaces: {
    table: 'workspaces',
    key: 'workspaces',
    defaultOrder: 'updated_at:desc',
    orders: { ...stampOrders, ...order('start_date'), ...order('due_date'), ...order('title') },
    filters: {
      ...stampFilters('t.'),
      ...externalReferenceFilters('Workspace'),
      by_custom_choice_value: customFilter('Workspace', 'choice'),
      by_custom_text_value: customFilter('Workspace', 'text'),
      start_date_after: (value) => ({ sql: 't.start_date > ?', params: [value] }),
      start_date_before: (value) => ({ sql: 't.start_date < ?', params: [value] }),
      due_date_after: (value) => ({ sql: 't.due_date > ?', params: [value] }),
      due_date_before: (value) => ({ sql: 't.due_date < ?', params: [value] }),
    },
    render: (row) => ({
      id: row['id'],
      title: row['title'],
      start_date: row['start_date'],
      due_date: row['due_date'],
      currency: row['currency'],
      status: { key: Number(row['status_key']), ...PROJECT_STATUSES[Number(row['status_key'])] },
      created_at: row['created_at'],
      updated_at: row['updated_at'],
    }),
    includes: {
      ...subjectIncludes('Workspace'),
      primary_maven: belongsTo('primary_maven_id', 'primary_maven_id', 'users', 'users', renderUser),
    },
  },
  users: {
    table: 'users',
    key: 'users',
    defaultOrder: 'alphabetical:asc',
    orders: { 'alphabetical:asc': 'full_name ASC', 'alphabetical:desc': 'full_name DESC', ...stampOrders },
    filters: {
      ...stampFilters('t.'),
      by_custom_choice_value: customFilter('User', 'choice'),
      by_custom_text_value: customFilter('User', 'text'),
      by_full_name: (value) => ({ sql: "lower(t.full_name) LIKE '%' || lower(?) || '%'", params: [value] }),
      account_role_ids: (value) => inList('t.role_id', value),
    },
    render: renderUser,
    includes: {
      ...subjectIncludes('User'),
      role: belongsTo('role_id', 'role_id', 'roles', 'roles', renderRole),
      skills: (db, rows, records, side) => {
        const memberships = rowsIn(
          db,
          'skill_memberships',
          'user_id',
          rows.map((row) => row['id']),
        );
        const skills = new Map(
          rowsIn(
            db,
            'skills',
            'id',
            memberships.map((membership) => membership['skill_id']),
          ).map((skill) => [String(skill['id']), skill]),
        );
        records.forEach((record) => (record['skill_ids'] = []));
        const byId = new Map(records.map((record) => [String(record['id']), record]));
        for (const membership of memberships) {
          const skill = skills.get(String(membership['skill_id']));
          if (!skill) continue;
          (byId.get(String(membership['user_id']))?.['skill_ids'] as string[]).push(String(skill['id']));
          sideLoad(side, 'skills', String(skill['id']), renderRole(skill));
        }
      },
    },
  },
  roles: { table: 'roles', key: 'roles', defaultOrder: 'created_at:asc', orders: stampOrders, filters: stampFilters('t.'), render: renderRole, includes: {} },
  custom_fields: {
    table: 'custom_fields',
    key: 'custom_fields',
    defaultOrder: 'created_at:asc',
    orders: stampOrders,
    filters: { ...stampFilters('t.'), subject_types: (value) => inList('t.subject_type', value) },
    render: (row) => ({ ...row }),
    includes: {
      choices: (db, rows, records, side) => {
        const choices = rowsIn(
          db,
          'custom_field_choices',
          'custom_field_id',
          rows.map((row) => row['id']),
        );
        records.forEach(
          (record) => (record['choice_ids'] = choices.filter((choice) => choice['custom_field_id'] === record['id']).map((choice) => choice['id'])),
        );
        for (const choice of choices)
          sideLoad(side, 'custom_field_choices', String(choice['id']), { ...choice, custom_field_id: Number(choice['custom_field_id']) });
      },
    },
  },
  stories: {
    table: 'stories',
    key: 'stories',
    defaultOrder: 'updated_at:desc',
    orders: { ...stampOrders, position: 'position ASC', ...order('due_date') },
    filters: {
      ...stampFilters('t.'),
      with_projects: (value) => inList('t.workspace_id', value),
      workspace_id: equals('t.workspace_id'),
      story_type: equals('t.story_type'),
      story_types: (value) => inList('t.story_type', value),
    },
    render: (row) => ({
      id: row['id'],
      title: row['title'],
      story_type: row['story_type'],
      state: row['state'],
      status: row['status'],
      due_date: row['due_date'],
      billable: row['billable'] === 1,
      budget_estimate_in_cents: row['budget_estimate_in_cents'],
      position: row['position'],
      created_at: row['created_at'],
      updated_at: row['updated_at'],
    }),
    includes: {
      ...subjectIncludes('Story'),
      workspace: belongsTo('workspace_id', 'workspace_id', 'workspaces', 'workspaces', (row) => COLLECTIONS['workspaces']!.render(row, new URLSearchParams())),
    },
  },
  workspace_resources: {
    table: 'workspace_resources',
    key: 'workspace_resources',
    defaultOrder: 'updated_at:desc',
    orders: stampOrders,
    filters: { ...stampFilters('t.'), workspace_id: equals('t.workspace_id'), user_id: equals('t.user_id'), role_id: equals('t.role_id') },
    defaultWhere: (query) =>
      bool(query.get('only_unnamed'))
        ? { sql: 't.user_id IS NULL', params: [] }
        : bool(query.get('include_unnamed'))
          ? null
          : { sql: 't.user_id IS NOT NULL', params: [] },
    render: (row, query) => {
      const optional = list(query.get('optional_fields') ?? '');
      return {
        ...renderResource(row),
        ...(optional.includes('resource_bill_rate') ? { resource_bill_rate: row['resource_bill_rate'] } : {}),
        ...(optional.includes('resource_cost_rate') ? { resource_cost_rate: row['resource_cost_rate'] } : {}),
      };
    },
    includes: {
      ...subjectIncludes('WorkspaceResource'),
      user: belongsTo('user_id', 'user_id', 'users', 'users', renderUser),
      role: belongsTo('role_id', 'role_id', 'roles', 'roles', renderRole),
    },
  },
  resource_requests: {
    table: 'resource_requests',
    key: 'resource_requests',
    defaultOrder: 'created_at:asc',
    orders: stampOrders,
    filters: stampFilters('t.'),
    render: (row) => ({
      id: row['id'],
      status: row['status'],
      approver_ids: JSON.parse(String(row['approver_ids'] ?? '[]')) as unknown,
      created_at: row['created_at'],
      updated_at: row['updated_at'],
    }),
    includes: { resource: belongsTo('resource_id', 'resource_id', 'workspace_resources', 'workspace_resources', renderResource) },
  },
  timesheet_submissions: {
    table: 'timesheet_submissions',
    key: 'timesheet_submissions',
    defaultOrder: 'date:desc',
    orders: { ...stampOrders, 'date:asc': 'start_date ASC', 'date:desc': 'start_date DESC' },
    filters: {
      ...stampFilters('t.'),
      workspace_id: equals('t.workspace_id'),
      workspace_ids: (value) => inList('t.workspace_id', value),
      user_ids: (value) => inList('t.user_id', value),
      statuses: submissionStatuses,
      start_date: equals('t.start_date'),
      end_date: equals('t.end_date'),
      active: (value) => ({ sql: bool(value) ? "t.status IN ('pending', 'approved')" : "t.status NOT IN ('pending', 'approved')", params: [] }),
      not_cancelled: (value) => ({ sql: bool(value) ? "t.status <> 'cancelled'" : '1', params: [] }),
    },
    render: renderSubmission,
    includes: {
      user: belongsTo('user_id', 'user_id', 'users', 'users', renderUser),
      workspace: belongsTo('workspace_id', 'workspace_id', 'workspaces', 'workspaces', (row) => COLLECTIONS['workspaces']!.render(row, new URLSearchParams())),
      time_entries: (db, rows, records, side) => {
        const entries = rowsIn(
          db,
          'time_entries',
          'recent_submission_id',
          rows.map((row) => row['id']),
        );
        const byId = new Map(records.map((record) => [String(record['id']), record]));
        records.forEach((record) => (record['time_entry_ids'] = []));
        for (const entry of entries) {
          (byId.get(String(entry['recent_submission_id']))?.['time_entry_ids'] as string[]).push(String(entry['id']));
          sideLoad(side, 'time_entries', String(entry['id']), renderTimeEntry(entry));
        }
      },
    },
  },
  time_entries: {
    table: 'time_entries',
    key: 'time_entries',
    defaultOrder: 'date_performed:desc',
    orders: { ...stampOrders, ...order('date_performed') },
    filters: {
      ...stampFilters('t.'),
      workspace_id: equals('t.workspace_id'),
      workspace_ids: (value) => inList('t.workspace_id', value),
      with_user_ids: (value) => inList('t.user_id', value),
      date_performed_between: (value) => {
        const [from, to] = value.split(':');
        return { sql: 't.date_performed BETWEEN ? AND ?', params: [from ?? '', to ?? ''] };
      },
      with_timesheet_id: (value) => ({
        sql: "t.recent_submission_id = ? AND EXISTS (SELECT 1 FROM timesheet_submissions s WHERE s.id = t.recent_submission_id AND s.status IN ('pending', 'approved'))",
        params: [value],
      }),
    },
    render: (row) => ({
      id: row['id'],
      workspace_id: Number(row['workspace_id']),
      user_id: Number(row['user_id']),
      date_performed: row['date_performed'],
      time_in_minutes: row['time_in_minutes'],
      billable: row['billable'] === 1,
      rate_in_cents: row['rate_in_cents'],
      cost_rate_in_cents: row['cost_rate_in_cents'],
      created_at: row['created_at'],
      updated_at: row['updated_at'],
    }),
    includes: {
      recent_submission: belongsTo('recent_submission_id', 'recent_submission_id', 'timesheet_submissions', 'timesheet_submissions', renderSubmission),
    },
  },
  expense_categories: {
    table: 'expense_categories',
    key: 'expense_categories',
    defaultOrder: 'alphabetical:asc',
    orders: { 'alphabetical:asc': 'name ASC', 'alphabetical:desc': 'name DESC' },
    filters: { matching: (value) => ({ sql: 't.name LIKE ?', params: [`%${value}%`] }) },
    defaultWhere: (query) => (query.get('only_active') === 'false' ? null : { sql: 't.deleted_at IS NULL', params: [] }),
    render: (row) => ({ id: row['id'], name: row['name'], deleted_at: row['deleted_at'] ?? null }),
    includes: {},
  },
  expenses: {
    table: 'expenses',
    key: 'expenses',
    defaultOrder: 'date:desc',
    orders: { ...stampOrders, ...order('date') },
    filters: {
      ...stampFilters('t.'),
      workspace_id: equals('t.workspace_id'),
      date_expensed_between: (value) => {
        const [from, to] = value.split(':');
        return { sql: 't.date BETWEEN ? AND ?', params: [from ?? '', to ?? ''] };
      },
    },
    render: renderExpense,
    includes: {
      user: belongsTo('user_id', 'user_id', 'users', 'users', renderUser),
      workspace: belongsTo('workspace_id', 'workspace_id', 'workspaces', 'workspaces', (row) => COLLECTIONS['workspaces']!.render(row, new URLSearchParams())),
      expense_category: belongsTo('expense_category_id', 'expense_category_id', 'expense_categories', 'expense_categories', (row) => ({
        id: row['id'],
        name: row['name'],
        deleted_at: row['deleted_at'] ?? null,
      })),
      recent_submission: belongsTo('recent_submission_id', 'recent_submission_id', 'expense_report_submissions', 'expense_report_submissions', (row) => ({
        ...renderSubmission(row),
        type: 'ExpenseReportSubmission',
      })),
    },
  },
  /** Only the caller's own reports unless `all_on_account=true`: this server's token is an administrator's, who sees them all with it. */
  expense_report_submissions: {
    table: 'expense_report_submissions',
    key: 'expense_report_submissions',
    defaultOrder: 'created_at:desc',
    orders: { ...stampOrders },
    filters: {
      ...stampFilters('t.'),
      workspace_id: equals('t.workspace_id'),
      workspace_ids: (value) => inList('t.workspace_id', value),
      user_ids: (value) => inList('t.user_id', value),
      statuses: submissionStatuses,
      all_on_account: () => ({ sql: '1', params: [] }),
    },
    defaultWhere: (query) => (bool(query.get('all_on_account')) ? null : { sql: '0', params: [] }),
    render: (row) => {
      const { start_date: _start, end_date: _end, ...rest } = renderSubmission(row);
      return { ...rest, type: 'ExpenseReportSubmission', locked: false };
    },
    includes: {
      user: belongsTo('user_id', 'user_id', 'users', 'users', renderUser),
      workspace: belongsTo('workspace_id', 'workspace_id', 'workspaces', 'workspaces', (row) => COLLECTIONS['workspaces']!.render(row, new URLSearchParams())),
      expenses: (db, rows, records, side) => {
        const byId = new Map(records.map((record) => [String(record['id']), record]));
        records.forEach((record) => (record['expense_ids'] = []));
        const lines = rowsIn(
          db,
          'expense_report_lines',
          'submission_id',
          rows.map((row) => row['id']),
        );
        const expenses = new Map(
          rowsIn(
            db,
            'expenses',
            'id',
            lines.map((line) => line['expense_id']),
          ).map((expense) => [String(expense['id']), expense]),
        );
        for (const line of lines) {
          const expense = expenses.get(String(line['expense_id']));
          if (!expense) continue;
          (byId.get(String(line['submission_id']))?.['expense_ids'] as string[]).push(String(expense['id']));
          sideLoad(side, 'expenses', String(expense['id']), renderExpense(expense));
        }
      },
    },
  },
};
