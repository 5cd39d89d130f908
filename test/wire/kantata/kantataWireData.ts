/**
 * The Kantata wire server's records: Kantata OX's objects with their API field names, stored in an in-memory
 * SQLite database, and seeded from the PSA sandbox's world (the same seed), laid out as a Kantata account set up
 * as docs/vendors/kantata.md asks: roles named after the rate card, custom fields for what Kantata has no field
 * for, a `psgraph` external reference with the canonical ID on every workspace.
 */
import type Database from 'better-sqlite3';
import { openSandboxPsa } from '../../../subgraphs/psa/src/sandbox/sandboxPsa.js';
import type { WorldOptions } from '../../../subgraphs/sandboxes/src/index.js';
import { CONTRACT_TYPES, REGIONS, ROLES, SERVICE_LINES } from '../../../subgraphs/sandboxes/src/world/catalog.js';

export const SCHEMA = `
CREATE TABLE roles (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT, updated_at TEXT);
CREATE TABLE skills (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT, updated_at TEXT);
CREATE TABLE users (id TEXT PRIMARY KEY, full_name TEXT, email_address TEXT, role_id TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE skill_memberships (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT, skill_id TEXT, level INTEGER);
CREATE INDEX skill_memberships_user ON skill_memberships(user_id);
CREATE TABLE custom_fields (id TEXT PRIMARY KEY, name TEXT, subject_type TEXT, value_type TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE custom_field_choices (id TEXT PRIMARY KEY, custom_field_id TEXT, label TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE custom_field_values (id INTEGER PRIMARY KEY AUTOINCREMENT, custom_field_id TEXT, subject_type TEXT, subject_id TEXT,
  value TEXT, created_at TEXT, updated_at TEXT, UNIQUE (subject_type, subject_id, custom_field_id));
CREATE TABLE workspaces (id TEXT PRIMARY KEY, title TEXT, start_date TEXT, due_date TEXT, currency TEXT, status_key INTEGER,
  primary_maven_id TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE external_references (id INTEGER PRIMARY KEY AUTOINCREMENT, subject_type TEXT, subject_id TEXT, service_name TEXT,
  service_model TEXT, service_model_ref TEXT, status TEXT, created_at TEXT, updated_at TEXT);
CREATE INDEX external_references_subject ON external_references(subject_type, subject_id);
CREATE INDEX external_references_ref ON external_references(service_model_ref);
CREATE TABLE stories (id TEXT PRIMARY KEY, workspace_id TEXT, title TEXT, story_type TEXT, state TEXT, status TEXT, due_date TEXT,
  billable INTEGER, budget_estimate_in_cents INTEGER, position INTEGER, created_at TEXT, updated_at TEXT);
CREATE INDEX stories_workspace ON stories(workspace_id);
CREATE TABLE workspace_resources (id TEXT PRIMARY KEY, workspace_id TEXT, user_id TEXT, role_id TEXT, resource_bill_rate INTEGER,
  resource_cost_rate INTEGER, created_at TEXT, updated_at TEXT);
CREATE INDEX workspace_resources_workspace ON workspace_resources(workspace_id);
CREATE TABLE resource_requests (id TEXT PRIMARY KEY, resource_id TEXT, status TEXT, approver_ids TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE timesheet_submissions (id TEXT PRIMARY KEY, user_id TEXT, workspace_id TEXT, start_date TEXT, end_date TEXT, status TEXT,
  title TEXT, comment TEXT, current_resolution_description TEXT, current_resolution_created_at_date TEXT, created_at TEXT, updated_at TEXT);
CREATE INDEX timesheet_submissions_week ON timesheet_submissions(workspace_id, user_id, start_date);
CREATE TABLE time_entries (id TEXT PRIMARY KEY, workspace_id TEXT, user_id TEXT, date_performed TEXT, time_in_minutes INTEGER,
  billable INTEGER, rate_in_cents INTEGER, cost_rate_in_cents INTEGER, recent_submission_id TEXT, created_at TEXT, updated_at TEXT);
CREATE INDEX time_entries_workspace ON time_entries(workspace_id);
CREATE INDEX time_entries_submission ON time_entries(recent_submission_id);
CREATE TABLE expense_categories (id TEXT PRIMARY KEY, name TEXT NOT NULL, deleted_at TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE expenses (id TEXT PRIMARY KEY, workspace_id TEXT, user_id TEXT, date TEXT, category TEXT, expense_category_id TEXT,
  amount_in_cents INTEGER, currency TEXT, notes TEXT, receipt_id TEXT, is_billable INTEGER, recent_submission_id TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE expense_report_submissions (id TEXT PRIMARY KEY, user_id TEXT, workspace_id TEXT, status TEXT, title TEXT, comment TEXT,
  current_resolution_description TEXT, current_resolution_created_at_date TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE expense_report_lines (submission_id TEXT, expense_id TEXT, PRIMARY KEY (submission_id, expense_id));
${[
  'workspaces',
  'users',
  'stories',
  'workspace_resources',
  'resource_requests',
  'timesheet_submissions',
  'time_entries',
  'expenses',
  'expense_report_submissions',
]
  .map((table) => `CREATE INDEX ${table}_created ON ${table}(created_at, id); CREATE INDEX ${table}_updated ON ${table}(updated_at, id);`)
  .join('\n')}
`;

/** Kantata's project statuses psgraph meets: key, colour and label, as `status: { key, color, message }`. */
export const PROJECT_STATUSES: Readonly<Record<number, { readonly color: string; readonly message: string }>> = {
  200: { color: 'gray', message: 'Not Started' },
  310: { color: 'green', message: 'In Progress' },
  410: { color: 'yellow', message: 'On Hold' },
  501: { color: 'red', message: 'Cancelled' },
  600: { color: 'blue', message: 'Completed' },
};
const STATUS_KEY: Readonly<Record<string, number>> = { PLANNED: 200, ACTIVE: 310, ON_HOLD: 410, CANCELLED: 501, COMPLETED: 600 };
export const NEW_PROJECT_STATUS = 200;

/** The custom fields of the account, as docs/vendors/kantata.md asks for them (IDs are the account's own). */
export const CUSTOM_FIELD_DEFINITIONS = [
  { id: '7001', subject_type: 'Workspace', name: 'Project Code', value_type: 'string' },
  { id: '7002', subject_type: 'Workspace', name: 'Salesforce Account ID', value_type: 'string' },
  { id: '7003', subject_type: 'Workspace', name: 'Delivery Region', value_type: 'single', choices: REGIONS },
  { id: '7004', subject_type: 'Workspace', name: 'Service Line', value_type: 'single', choices: SERVICE_LINES },
  { id: '7005', subject_type: 'Workspace', name: 'Contract Type', value_type: 'single', choices: CONTRACT_TYPES.map(([type]) => type) },
  { id: '7011', subject_type: 'User', name: 'Home Region', value_type: 'single', choices: REGIONS },
  { id: '7012', subject_type: 'User', name: 'Weekly Capacity Hours', value_type: 'number' },
  { id: '7013', subject_type: 'User', name: 'Bill Rate', value_type: 'currency' },
  { id: '7014', subject_type: 'User', name: 'Cost Rate', value_type: 'currency' },
  { id: '7021', subject_type: 'WorkspaceResource', name: 'Booking Status', value_type: 'single', choices: ['Tentative', 'Confirmed', 'Closed'] },
  { id: '7022', subject_type: 'WorkspaceResource', name: 'Requested Minutes', value_type: 'number' },
  { id: '7023', subject_type: 'WorkspaceResource', name: 'Requested Start', value_type: 'date' },
  { id: '7024', subject_type: 'WorkspaceResource', name: 'Requested End', value_type: 'date' },
  { id: '7031', subject_type: 'Story', name: 'Completed On', value_type: 'date' },
  { id: '7032', subject_type: 'Story', name: 'Billing Approval Note', value_type: 'string' },
  { id: '7041', subject_type: 'Workspace', name: 'psgraph Billed', value_type: 'currency' },
  { id: '7042', subject_type: 'Workspace', name: 'psgraph Unbilled', value_type: 'currency' },
  { id: '7043', subject_type: 'Workspace', name: 'psgraph Last Invoice', value_type: 'string' },
  { id: '7044', subject_type: 'Workspace', name: 'psgraph Last Invoice Number', value_type: 'string' },
  { id: '7045', subject_type: 'Workspace', name: 'psgraph Last Invoice Status', value_type: 'string' },
  { id: '7046', subject_type: 'Workspace', name: 'psgraph Billing Status As Of', value_type: 'string' },
  { id: '7051', subject_type: 'Story', name: 'psgraph Invoice', value_type: 'string' },
  { id: '7052', subject_type: 'Story', name: 'psgraph Invoice Number', value_type: 'string' },
  { id: '7053', subject_type: 'Story', name: 'psgraph Invoice Status', value_type: 'string' },
  { id: '7054', subject_type: 'Story', name: 'psgraph Invoice As Of', value_type: 'string' },
] as const;

/** The account's expense categories, as docs/vendors/kantata.md asks for them (with one psgraph does not use). */
export const EXPENSE_CATEGORY_NAMES = ['Travel', 'Lodging', 'Meals', 'Software', 'Subcontractor', 'Other', 'Mileage'] as const;

/** Choice IDs: the field's ID times 100 plus the choice's position. */
export const choiceIdOf = (fieldId: string, index: number) => String(Number(fieldId) * 100 + index + 1);

type Row = Record<string, unknown>;

/** Lays the PSA sandbox's world out as Kantata records; `stamp` is every seeded record's created_at and updated_at. */
export function seedKantata(db: Database.Database, options: { world: WorldOptions; dataDir: string; serviceName: string; stamp: string }): void {
  const sandbox = openSandboxPsa(options.dataDir, options.world);
  const source = sandbox.store.db;
  const { stamp, serviceName } = options;
  const statements = new Map<string, Database.Statement>();
  const insert = (table: string, row: Row) => {
    const names = Object.keys(row);
    const sql = `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`;
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    statement.run(...names.map((name) => row[name] as never));
  };
  const choice = new Map<string, string>();
  const setValue = (fieldId: string, subjectType: string, subjectId: string, value: unknown) =>
    insert('custom_field_values', {
      custom_field_id: fieldId,
      subject_type: subjectType,
      subject_id: subjectId,
      value: JSON.stringify(value),
      created_at: stamp,
      updated_at: stamp,
    });
  const choose = (fieldId: string, label: string) => [Number(choice.get(`${fieldId}|${label}`))];

  db.transaction(() => {
    for (const field of CUSTOM_FIELD_DEFINITIONS) {
      insert('custom_fields', {
        id: field.id,
        name: field.name,
        subject_type: field.subject_type,
        value_type: field.value_type,
        created_at: stamp,
        updated_at: stamp,
      });
      ('choices' in field ? field.choices : []).forEach((label, index) => {
        const id = choiceIdOf(field.id, index);
        choice.set(`${field.id}|${label}`, id);
        insert('custom_field_choices', { id, custom_field_id: field.id, label, created_at: stamp, updated_at: stamp });
      });
    }
    const roleIds = new Map(ROLES.map((role, index) => [role.code as string, String(101 + index)]));
    ROLES.forEach((role) => insert('roles', { id: roleIds.get(role.code), name: role.name, created_at: stamp, updated_at: stamp }));
    EXPENSE_CATEGORY_NAMES.forEach((name, i) => insert('expense_categories', { id: String(9001 + i), name, created_at: stamp, updated_at: stamp }));

    const skills = source.prepare('SELECT DISTINCT skill FROM resource_skill ORDER BY skill').pluck().all() as string[];
    const skillIds = new Map(skills.map((skill, index) => [skill.toLowerCase(), String(501 + index)]));
    skills.forEach((skill) => insert('skills', { id: skillIds.get(skill.toLowerCase()), name: skill, created_at: stamp, updated_at: stamp }));
    for (const user of source.prepare('SELECT * FROM resource').all() as Row[]) {
      const id = String(user['id']);
      insert('users', {
        id,
        full_name: user['name'],
        email_address: user['email'],
        role_id: roleIds.get(String(user['role'])),
        created_at: stamp,
        updated_at: stamp,
      });
      setValue('7011', 'User', id, choose('7011', String(user['region'])));
      setValue('7012', 'User', id, user['weekly_capacity_hours']);
      setValue('7013', 'User', id, [user['bill_rate_minor'], user['currency']]);
      setValue('7014', 'User', id, [user['cost_rate_minor'], user['currency']]);
    }
    for (const membership of source.prepare('SELECT * FROM resource_skill').all() as Row[])
      insert('skill_memberships', { user_id: membership['resource_id'], skill_id: skillIds.get(String(membership['skill']).toLowerCase()), level: 3 });

    const workspaceOf = new Map<string, string>();
    for (const project of source.prepare('SELECT * FROM project').all() as Row[]) {
      const id = String(project['psa_id']);
      workspaceOf.set(String(project['id']), id);
      insert('workspaces', {
        id,
        title: project['name'],
        start_date: project['start_date'],
        due_date: project['end_date'],
        currency: project['currency'],
        status_key: STATUS_KEY[String(project['status'])],
        primary_maven_id: project['manager_id'],
        created_at: stamp,
        updated_at: stamp,
      });
      insert('external_references', {
        subject_type: 'Workspace',
        subject_id: id,
        service_name: serviceName,
        service_model: 'Project',
        service_model_ref: project['id'],
        status: 'successful',
        created_at: stamp,
        updated_at: stamp,
      });
      setValue('7001', 'Workspace', id, project['code']);
      setValue('7002', 'Workspace', id, project['account_id']);
      setValue('7003', 'Workspace', id, choose('7003', String(project['region'])));
      setValue('7004', 'Workspace', id, choose('7004', String(project['service_line'])));
      setValue('7005', 'Workspace', id, choose('7005', String(project['contract_type'])));
    }
    for (const milestone of source.prepare('SELECT * FROM milestone').all() as Row[]) {
      const id = String(milestone['id']);
      const status = String(milestone['status']);
      insert('stories', {
        id,
        workspace_id: workspaceOf.get(String(milestone['project_id'])),
        title: milestone['name'],
        story_type: 'milestone',
        state: status === 'PLANNED' ? 'not started' : 'completed',
        status: status === 'PLANNED' ? 'Not Started' : status === 'APPROVED_FOR_BILLING' ? 'Approved for Billing' : 'Completed',
        due_date: milestone['target_date'],
        billable: milestone['billable'],
        budget_estimate_in_cents: milestone['amount_minor'] ?? 0,
        position: milestone['sort_order'],
        created_at: stamp,
        updated_at: stamp,
      });
      if (milestone['actual_date'] !== null) setValue('7031', 'Story', id, milestone['actual_date']);
    }

    const assignments = new Map(
      (source.prepare('SELECT * FROM assignment').all() as Row[]).map((assignment) => [String(assignment['request_id']), assignment]),
    );
    const managers = new Map(
      (source.prepare('SELECT id, manager_id FROM project').all() as Row[]).map((project) => [String(project['id']), project['manager_id']]),
    );
    for (const request of source.prepare('SELECT * FROM resource_request').all() as Row[]) {
      const assignment = assignments.get(String(request['id']));
      // A request's staffing slot: the assignment once someone is named, an unnamed resource until then.
      const resourceId = assignment ? String(assignment['id']) : String(Number(request['id']) + 15_000_000);
      insert('workspace_resources', {
        id: resourceId,
        workspace_id: workspaceOf.get(String(request['project_id'])),
        user_id: assignment ? assignment['resource_id'] : null,
        role_id: roleIds.get(String(request['role'])),
        resource_bill_rate: assignment ? assignment['bill_rate_minor'] : null,
        resource_cost_rate: assignment ? assignment['cost_rate_minor'] : null,
        created_at: stamp,
        updated_at: stamp,
      });
      if (assignment) setValue('7021', 'WorkspaceResource', resourceId, choose('7021', bookingLabel(String(assignment['status']))));
      setValue('7022', 'WorkspaceResource', resourceId, Math.round(Number(request['hours']) * 60));
      setValue('7023', 'WorkspaceResource', resourceId, request['start_date']);
      setValue('7024', 'WorkspaceResource', resourceId, request['end_date']);
      const status = String(request['status']);
      insert('resource_requests', {
        id: request['id'],
        resource_id: resourceId,
        status: status === 'OPEN' ? 'new' : status === 'CANCELLED' ? 'cancelled' : 'approved',
        approver_ids: JSON.stringify([String(managers.get(String(request['project_id'])))]),
        created_at: stamp,
        updated_at: stamp,
      });
    }

    // Kantata's record calls an open submission `pending` (its filter calls it `new`).
    const submissionStatus: Readonly<Record<string, string>> = { SUBMITTED: 'pending', APPROVED: 'approved', REJECTED: 'rejected' };
    for (const sheet of source.prepare("SELECT * FROM timesheet WHERE status <> 'OPEN'").all() as Row[]) {
      insert('timesheet_submissions', {
        id: String(sheet['id']),
        user_id: sheet['resource_id'],
        workspace_id: workspaceOf.get(String(sheet['project_id'])),
        start_date: sheet['week_start'],
        end_date: new Date(Date.parse(`${String(sheet['week_start'])}T00:00:00Z`) + 6 * 86_400_000).toISOString().slice(0, 10),
        status: submissionStatus[String(sheet['status'])],
        title: `Week of ${String(sheet['week_start'])}`,
        // The approval's resolution, made on the day the sandbox approved it.
        current_resolution_created_at_date: sheet['approved_on'] === null ? null : `${String(sheet['approved_on'])}T12:00:00.000Z`,
        created_at: stamp,
        updated_at: stamp,
      });
    }
    const entries = source
      .prepare(
        `SELECT e.id, t.project_id, t.resource_id, e.work_date, e.minutes, e.billable, e.bill_rate_minor, e.cost_rate_minor,
           CASE WHEN t.status = 'OPEN' THEN NULL ELSE t.id END AS submission_id
         FROM time_entry e JOIN timesheet t ON t.id = e.timesheet_id`,
      )
      .raw()
      .iterate() as IterableIterator<unknown[]>;
    const insertEntry = db.prepare(
      `INSERT INTO time_entries (id, workspace_id, user_id, date_performed, time_in_minutes, billable, rate_in_cents, cost_rate_in_cents,
         recent_submission_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const [id, projectId, userId, date, minutes, billable, rate, costRate, submissionId] of entries) {
      insertEntry.run(
        String(id),
        workspaceOf.get(String(projectId)),
        userId,
        date,
        minutes,
        billable,
        rate,
        costRate,
        submissionId === null ? null : String(submissionId),
        stamp,
        stamp,
      );
    }
  })();
  sandbox.close();
}

export const bookingLabel = (status: string) => status.charAt(0) + status.slice(1).toLowerCase();
