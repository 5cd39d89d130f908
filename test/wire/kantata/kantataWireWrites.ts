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

/** The account's task status set: each status by name, with the state its category gives. */
const STORY_STATUSES: Readonly<Record<string, string>> = {
  'Not Started': 'not started',
  'In Progress': 'started',
  'Needs Info': 'needs info',
  Completed: 'completed',
  'Approved for Billing': 'completed',
};

const shiftDay = (iso: string, days: number) => new Date(Date.parse(`${iso}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
/** The Monday of a date's week (the account's week starts on Monday). */
const mondayOf = (iso: string) => shiftDay(iso, -((new Date(`${iso}T00:00:00Z`).getUTCDay() + 6) % 7));

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
    for (const entry of values as Json[]) this.setCustomField(subjectType, subjectId, entry);
  }

  /** One `{ custom_field_id, value }` onto a subject (replacing the value it had); the value's ID. */
  setCustomField(subjectType: string, subjectId: string, entry: Json): string {
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
    return String(
      this.db
        .prepare('SELECT id FROM custom_field_values WHERE subject_type = ? AND subject_id = ? AND custom_field_id = ?')
        .pluck()
        .get(subjectType, subjectId, field.id),
    );
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

  /**
   * `POST /timesheet_submissions`: `line_item_ids` (time entry IDs), `title` and `workspace_id` required, `user_id` when
   * submitting for someone else. The entries must be that user's, in that project, in one week and on no active
   * (pending or approved) submission; the week (`start_date`, `end_date`) is worked out from their dates.
   */
  createSubmission(input: Json, query: URLSearchParams): Json {
    const lineItems = input['line_item_ids'];
    if (!Array.isArray(lineItems) || lineItems.length === 0) throw validation("Line items can't be blank", 'line_item_ids');
    if (!input['title']) throw validation("Title can't be blank", 'title');
    if (!this.exists('workspaces', input['workspace_id'])) throw validation('Workspace does not exist', 'workspace_id');
    const workspaceId = String(input['workspace_id']);
    const entries = lineItems.map((id) => {
      if (!this.exists('time_entries', id)) throw validation(`Time entry ${String(id)} does not exist`, 'line_item_ids');
      return this.row('time_entries', String(id));
    });
    const userId = input['user_id'] === undefined ? String(entries[0]!['user_id']) : String(input['user_id']);
    const weeks = new Set(entries.map((entry) => mondayOf(String(entry['date_performed']))));
    if (entries.some((entry) => String(entry['workspace_id']) !== workspaceId || String(entry['user_id']) !== userId))
      throw validation("Line items must be the user's time in the submission's project", 'line_item_ids');
    if (weeks.size !== 1) throw validation('Line items must all be in the same week', 'line_item_ids');
    const active = this.db.prepare("SELECT 1 FROM timesheet_submissions WHERE id = ? AND status IN ('pending', 'approved')");
    if (entries.some((entry) => entry['recent_submission_id'] !== null && active.get(String(entry['recent_submission_id'])) !== undefined))
      throw validation('Line items are already on an active submission', 'line_item_ids');
    const [week] = weeks;
    const id = this.nextId('timesheet_submissions', 80_000_000);
    const stamp = this.nextStamp();
    this.insert('timesheet_submissions', {
      id,
      user_id: userId,
      workspace_id: workspaceId,
      start_date: week,
      end_date: shiftDay(week!, 6),
      status: 'pending',
      title: String(input['title']),
      comment: input['comment'] === undefined ? null : String(input['comment']),
      created_at: stamp,
      updated_at: stamp,
    });
    const onSubmission = this.db.prepare('UPDATE time_entries SET recent_submission_id = ?, updated_at = ? WHERE id = ?');
    for (const entry of entries) onSubmission.run(id, stamp, String(entry['id']));
    return render(this.db, 'timesheet_submissions', [this.row('timesheet_submissions', id)], query);
  }

  /**
   * `PUT /timesheet_submissions/:id/approve|reject|cancel` with `{ resolution: { description } }`. Approving and
   * rejecting take a pending submission; cancelling a pending or an approved one (what
   * `permissions.can_cancel_submission` allows: the reference does not say more).
   */
  actOnSubmission(id: string, action: string, resolution: Json, query: URLSearchParams): Json {
    if (!this.exists('timesheet_submissions', id)) throw notFound(`Timesheet submission ${id}`);
    const status = { approve: 'approved', reject: 'rejected', cancel: 'cancelled' }[action];
    if (!status) throw notFound('The requested resource');
    const current = String(this.row('timesheet_submissions', id)['status']);
    if (current !== 'pending' && !(action === 'cancel' && current === 'approved'))
      throw validation(`A submission that is ${current} cannot be ${status}`, 'status');
    const stamp = this.nextStamp();
    const description = resolution['description'] === undefined || resolution['description'] === null ? null : String(resolution['description']);
    this.db
      .prepare(
        'UPDATE timesheet_submissions SET status = ?, current_resolution_description = ?, current_resolution_created_at_date = ?, updated_at = ? WHERE id = ?',
      )
      .run(status, description, stamp, stamp, id);
    // Its time is no longer on an active submission, or it is now approved: the entries change with it.
    this.db.prepare('UPDATE time_entries SET updated_at = ? WHERE recent_submission_id = ?').run(stamp, id);
    return render(this.db, 'timesheet_submissions', [this.row('timesheet_submissions', id)], query);
  }

  /**
   * `PUT /time_entries/:id`: minutes, billable, notes, date. The reference does not say whether time on a pending or
   * approved submission can be edited; this server refuses it (the submission must be cancelled or rejected first).
   */
  updateTimeEntry(id: string, input: Json, query: URLSearchParams): Json {
    if (!this.exists('time_entries', id)) throw notFound(`Time entry ${id}`);
    const entry = this.row('time_entries', id);
    const submission = entry['recent_submission_id'] === null ? undefined : this.row('timesheet_submissions', String(entry['recent_submission_id']));
    if (submission && (submission['status'] === 'pending' || submission['status'] === 'approved'))
      throw validation('Time on a pending or approved timesheet submission cannot be changed', 'time_in_minutes');
    if (input['time_in_minutes'] !== undefined) {
      const minutes = Number(input['time_in_minutes']);
      if (!Number.isInteger(minutes) || minutes < 0 || minutes > 1440) throw validation('Time in minutes is not valid', 'time_in_minutes');
      this.db.prepare('UPDATE time_entries SET time_in_minutes = ? WHERE id = ?').run(minutes, id);
    }
    if (input['billable'] !== undefined) this.db.prepare('UPDATE time_entries SET billable = ? WHERE id = ?').run(input['billable'] === true ? 1 : 0, id);
    this.touch('time_entries', id);
    return render(this.db, 'time_entries', [this.row('time_entries', id)], query);
  }

  /**
   * `PUT /stories/:id`: `status` (a name from the account's task status set, whose category becomes `state`),
   * `state` (ignored when `status` is sent), `percentage_complete` (100 completes it) and custom fields. The
   * account is set up as docs/vendors/kantata.md asks, with "Approved for Billing" in the completed category.
   */
  updateStory(id: string, input: Json, query: URLSearchParams): Json {
    if (!this.exists('stories', id)) throw notFound(`Story ${id}`);
    let state: string | undefined;
    let status: string | undefined;
    if (input['status'] !== undefined) {
      status = String(input['status']);
      state = Object.hasOwn(STORY_STATUSES, status) ? STORY_STATUSES[status] : undefined;
      if (state === undefined) throw validation(`Status ${status} is not in the workspace's task status set`, 'status');
    } else if (input['state'] !== undefined || Number(input['percentage_complete']) === 100) {
      state = input['state'] === undefined ? 'completed' : String(input['state']);
      status = Object.keys(STORY_STATUSES).find((name) => STORY_STATUSES[name] === state);
      if (status === undefined) throw validation(`State ${state} is not valid`, 'state');
    }
    if (state !== undefined) this.db.prepare('UPDATE stories SET state = ?, status = ? WHERE id = ?').run(state, status, id);
    this.setCustomFields('Story', id, input['custom_fields']);
    this.touch('stories', id);
    return render(this.db, 'stories', [this.row('stories', id)], query);
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
