/**
 * The writes the Kantata wire server accepts, as Kantata carries them out: validation answered with 422 and
 * `{ errors: [{ type: "validation", message, field }] }`, IDs assigned by the account, `updated_at` moved on every
 * change (a custom field value's subject's too), deletes hard. Also what someone working in Kantata does that has
 * no psgraph write (logging time).
 */
import type Database from 'better-sqlite3';
import { CUSTOM_FIELD_DEFINITIONS, NEW_PROJECT_STATUS } from './kantataWireData.js';
import { type Json, changed, notFound, render, validation } from './kantataWireQuery.js';

type Row = Record<string, unknown>;

export class KantataWireRecords {
  constructor(
    private readonly db: Database.Database,
    private readonly nextStamp: () => string,
  ) {}

  /** A time entry logged in Kantata (on a submission, or none); its ID. */
  logTime(entry: {
    workspaceId: string;
    userId: string;
    date: string;
    minutes: number;
    billable: boolean;
    rate: number;
    costRate: number;
    submissionId?: string;
  }): string {
    const id = String((this.db.prepare('SELECT MAX(CAST(id AS INTEGER)) AS n FROM time_entries').get() as { n: number }).n + 1);
    const stamp = this.nextStamp();
    this.db
      .prepare(
        `INSERT INTO time_entries (id, workspace_id, user_id, date_performed, time_in_minutes, billable, rate_in_cents, cost_rate_in_cents,
           recent_submission_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        entry.workspaceId,
        entry.userId,
        entry.date,
        entry.minutes,
        entry.billable ? 1 : 0,
        entry.rate,
        entry.costRate,
        entry.submissionId ?? null,
        stamp,
        stamp,
      );
    changed(this.db);
    return id;
  }

  nextId(table: string, floor = 0): string {
    const { n } = this.db.prepare(`SELECT COALESCE(MAX(CAST(id AS INTEGER)), ?) AS n FROM ${table}`).get(floor) as { n: number };
    return String(n + 1);
  }

  exists(table: string, id: unknown): boolean {
    return id !== undefined && id !== null && this.db.prepare(`SELECT 1 FROM ${table} WHERE id = ?`).get(String(id)) !== undefined;
  }

  insert(table: string, row: Row): void {
    const names = Object.keys(row);
    this.db.prepare(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...names.map((name) => row[name] as never));
  }

  touch(table: string, id: string, stamp = this.nextStamp()): void {
    this.db.prepare(`UPDATE ${table} SET updated_at = ? WHERE id = ?`).run(stamp, id);
  }

  /** `custom_fields: [{ custom_field_id, value }]` onto a subject, in Kantata's value formats (`[choice IDs]`, `[cents, CODE]`). */
  setCustomFields(subjectType: string, subjectId: string, values: unknown): void {
    if (values === undefined) return;
    if (!Array.isArray(values)) throw validation('custom_fields must be an array', 'custom_fields');
    for (const entry of values as Json[]) {
      const field = CUSTOM_FIELD_DEFINITIONS.find((candidate) => candidate.id === String(entry['custom_field_id']));
      if (!field || field.subject_type !== subjectType)
        throw validation(`Custom field ${String(entry['custom_field_id'])} does not apply to ${subjectType}`, 'custom_fields');
      const value = parseCustomValue(field.value_type, String(entry['value'] ?? ''));
      if (field.value_type === 'single') {
        const choices = value as number[];
        const known = this.db.prepare('SELECT id FROM custom_field_choices WHERE custom_field_id = ?').pluck().all(field.id) as string[];
        if (choices.length !== 1 || !known.includes(String(choices[0]))) throw validation(`${field.name} is not a valid choice`, 'custom_fields');
      }
      const stamp = this.nextStamp();
      this.db
        .prepare(
          `INSERT INTO custom_field_values (custom_field_id, subject_type, subject_id, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (subject_type, subject_id, custom_field_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        )
        .run(field.id, subjectType, subjectId, JSON.stringify(value), stamp, stamp);
    }
  }

  createWorkspace(input: Json, query: URLSearchParams): Json {
    if (!input['title']) throw validation('Please give your project a title', 'title');
    if (input['creator_role'] !== undefined && !['maven', 'consultant', 'buyer', 'client'].includes(String(input['creator_role'])))
      throw validation('Please select a role for this project', 'creator_role');
    if (input['primary_maven_id'] !== undefined && !this.exists('users', input['primary_maven_id']))
      throw validation('Primary maven is not a user on this account', 'primary_maven_id');
    if (input['start_date'] && input['due_date'] && String(input['due_date']) < String(input['start_date']))
      throw validation('Due date must be on or after the start date', 'due_date');
    const reference = input['external_reference'] as Json | undefined;
    if (reference && (!reference['service_name'] || !reference['service_model'] || !reference['service_model_ref']))
      throw validation('External reference needs service_name, service_model and service_model_ref', 'external_reference');
    const id = this.nextId('workspaces');
    const stamp = this.nextStamp();
    this.insert('workspaces', {
      id,
      title: input['title'],
      start_date: input['start_date'] ?? null,
      due_date: input['due_date'] ?? null,
      currency: input['currency'] ?? 'USD',
      status_key: input['status_key'] ?? NEW_PROJECT_STATUS,
      primary_maven_id: input['primary_maven_id'] === undefined ? null : String(input['primary_maven_id']),
      created_at: stamp,
      updated_at: stamp,
    });
    if (reference) {
      this.insert('external_references', {
        subject_type: 'Workspace',
        subject_id: id,
        service_name: reference['service_name'],
        service_model: reference['service_model'],
        service_model_ref: reference['service_model_ref'],
        status: reference['status'] ?? 'successful',
        created_at: stamp,
        updated_at: stamp,
      });
    }
    this.setCustomFields('Workspace', id, input['custom_fields']);
    this.touch('workspaces', id);
    return render(this.db, 'workspaces', [this.row('workspaces', id)], query);
  }

  /** A hard delete, as Kantata's is: the workspace, its tasks, resources and their requests, custom field values. */
  deleteWorkspace(id: string): undefined {
    if (!this.exists('workspaces', id)) throw notFound(`Workspace ${id}`);
    const resources = this.db.prepare('SELECT id FROM workspace_resources WHERE workspace_id = ?').pluck().all(id) as string[];
    const stories = this.db.prepare('SELECT id FROM stories WHERE workspace_id = ?').pluck().all(id) as string[];
    const removeValues = this.db.prepare('DELETE FROM custom_field_values WHERE subject_type = ? AND subject_id = ?');
    for (const resource of resources) removeValues.run('WorkspaceResource', resource);
    for (const story of stories) removeValues.run('Story', story);
    removeValues.run('Workspace', id);
    this.db.prepare('DELETE FROM resource_requests WHERE resource_id IN (SELECT id FROM workspace_resources WHERE workspace_id = ?)').run(id);
    this.db.prepare('DELETE FROM workspace_resources WHERE workspace_id = ?').run(id);
    this.db.prepare('DELETE FROM stories WHERE workspace_id = ?').run(id);
    this.db.prepare("DELETE FROM external_references WHERE subject_type = 'Workspace' AND subject_id = ?").run(id);
    this.db.prepare('DELETE FROM workspaces WHERE id = ?').run(id);
    return undefined;
  }

  /** A request and, with `resource_workspace_id` and `resource_role_id`, the unnamed workspace resource it asks to staff. */
  createResourceRequest(input: Json, query: URLSearchParams): Json {
    const approvers = input['approver_ids'];
    if (!Array.isArray(approvers) || approvers.length === 0) throw validation("Approvers can't be blank", 'approver_ids');
    if (!approvers.every((approver) => this.exists('users', approver))) throw validation('Approvers must be users on this account', 'approver_ids');
    let resourceId = input['resource_id'] === undefined ? undefined : String(input['resource_id']);
    if (resourceId !== undefined && !this.exists('workspace_resources', resourceId)) throw validation('Resource does not exist', 'resource_id');
    if (resourceId === undefined) {
      if (!this.exists('workspaces', input['resource_workspace_id'])) throw validation('Resource workspace does not exist', 'resource_workspace_id');
      if (!this.exists('roles', input['resource_role_id'])) throw validation('Resource role does not exist', 'resource_role_id');
      resourceId = this.nextId('workspace_resources');
      const stamp = this.nextStamp();
      this.insert('workspace_resources', {
        id: resourceId,
        workspace_id: String(input['resource_workspace_id']),
        user_id: null,
        role_id: String(input['resource_role_id']),
        resource_bill_rate: null,
        resource_cost_rate: null,
        created_at: stamp,
        updated_at: stamp,
      });
      this.setCustomFields('WorkspaceResource', resourceId, input['custom_fields']);
      this.touch('workspace_resources', resourceId);
    }
    const id = this.nextId('resource_requests');
    const stamp = this.nextStamp();
    this.insert('resource_requests', {
      id,
      resource_id: resourceId,
      status: 'new',
      approver_ids: JSON.stringify(approvers.map(String)),
      created_at: stamp,
      updated_at: stamp,
    });
    return render(this.db, 'resource_requests', [this.row('resource_requests', id)], query);
  }

  /** `PUT /resource_requests/:id` with a status, or the `approve`/`reject`/`cancel` actions. */
  updateResourceRequest(id: string, input: Json, action: string | undefined, query: URLSearchParams): Json {
    if (!this.exists('resource_requests', id)) throw notFound(`Resource request ${id}`);
    const status = action === undefined ? String(input['status'] ?? '') : { approve: 'approved', reject: 'rejected', cancel: 'cancelled' }[action];
    if (!status || !['new', 'approved', 'rejected', 'cancelled'].includes(status)) throw validation('Status is not valid', 'status');
    const current = this.row('resource_requests', id);
    if (current['status'] !== status) {
      this.db.prepare('UPDATE resource_requests SET status = ? WHERE id = ?').run(status, id);
      this.touch('resource_requests', id);
    }
    return render(this.db, 'resource_requests', [this.row('resource_requests', id)], query);
  }

  /** `PUT /workspace_resources/:id`: its user (naming an unnamed resource), rates and custom fields. */
  updateWorkspaceResource(id: string, input: Json, query: URLSearchParams): Json {
    if (!this.exists('workspace_resources', id)) throw notFound(`Workspace resource ${id}`);
    if (input['user_id'] !== undefined) {
      if (!this.exists('users', input['user_id'])) throw validation('User does not exist', 'user_id');
      this.db.prepare('UPDATE workspace_resources SET user_id = ? WHERE id = ?').run(String(input['user_id']), id);
    }
    for (const rate of ['resource_bill_rate', 'resource_cost_rate'])
      if (input[rate] !== undefined) this.db.prepare(`UPDATE workspace_resources SET ${rate} = ? WHERE id = ?`).run(Number(input[rate]), id);
    this.setCustomFields('WorkspaceResource', id, input['custom_fields']);
    this.touch('workspace_resources', id);
    return render(this.db, 'workspace_resources', [this.row('workspace_resources', id)], query);
  }

  /** `PUT /timesheet_submissions/:id/approve|reject|cancel`. */
  actOnSubmission(id: string, action: string, query: URLSearchParams): Json {
    if (!this.exists('timesheet_submissions', id)) throw notFound(`Timesheet submission ${id}`);
    const status = { approve: 'approved', reject: 'rejected', cancel: 'cancelled' }[action];
    if (!status) throw notFound('The requested resource');
    if (this.row('timesheet_submissions', id)['status'] !== 'new')
      throw validation('Only a pending timesheet submission can be approved, rejected or cancelled', 'status');
    this.db.prepare('UPDATE timesheet_submissions SET status = ? WHERE id = ?').run(status, id);
    this.touch('timesheet_submissions', id);
    return render(this.db, 'timesheet_submissions', [this.row('timesheet_submissions', id)], query);
  }

  row(table: string, id: string): Row {
    return this.db.prepare(`SELECT * FROM ${table} WHERE id = ?`).get(id) as Row;
  }
}

/** A custom field value from its write format: text, a number, `[cents, CODE]` or `[choice IDs]`. */
function parseCustomValue(type: string, text: string): unknown {
  if (type === 'number') {
    if (!/^-?\d+$/.test(text.trim())) throw validation(`${text} is not a whole number`, 'custom_fields');
    return Number(text);
  }
  if (type === 'date') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) throw validation(`${text} is not a date`, 'custom_fields');
    return text;
  }
  if (type === 'currency') {
    const match = /^\[\s*(-?\d+)\s*,\s*"?([A-Z]{3})"?\s*\]$/.exec(text);
    if (!match) throw validation(`${text} is not an amount in cents and a currency`, 'custom_fields');
    return [Number(match[1]), match[2]];
  }
  if (type === 'single') {
    const match = /^\[([\d\s,]*)\]$/.exec(text);
    if (!match) throw validation(`${text} is not a list of choices`, 'custom_fields');
    return match[1]!
      .split(',')
      .filter((part) => part.trim())
      .map(Number);
  }
  return text;
}
