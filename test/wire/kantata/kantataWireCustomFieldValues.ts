/**
 * Kantata's custom field values API on the wire server: `POST /custom_field_values` (one value under
 * `custom_field_value`, or up to 100 under `custom_field_values`), which sets a subject's value of a field and
 * replaces any it had, and `PUT /custom_field_values/:id`, which changes one value. Each value is validated as a
 * subject's `custom_fields` are (kantataWireWrites.ts); its subject's `updated_at` moves with it.
 */
import type Database from 'better-sqlite3';
import { type Json, notFound, validation } from './kantataWireQuery.js';
import type { KantataWireRecords } from './kantataWireWrites.js';

/** The subject types a value may be set on, by their tables. */
const SUBJECT_TABLES: Readonly<Record<string, string>> = {
  Workspace: 'workspaces',
  Story: 'stories',
  WorkspaceResource: 'workspace_resources',
  User: 'users',
};

/** Kantata's bulk limit. */
const MAX_BULK = 100;

export class KantataWireCustomFieldValues {
  constructor(
    private readonly db: Database.Database,
    private readonly records: KantataWireRecords,
  ) {}

  create(body: Json): Json {
    const bulk = body['custom_field_values'];
    const entries = bulk === undefined ? [body['custom_field_value']] : bulk;
    if (!Array.isArray(entries) || entries.length === 0 || entries.some((entry) => entry === null || typeof entry !== 'object'))
      throw validation('custom_field_value is required', 'custom_field_value');
    if (entries.length > MAX_BULK) throw validation(`At most ${MAX_BULK} custom field values can be created at once`, 'custom_field_values');
    const ids = (entries as Json[]).map((entry) => {
      const subjectType = String(entry['subject_type'] ?? '');
      const table = SUBJECT_TABLES[subjectType];
      if (!table) throw validation(`Subject type ${subjectType} is not valid`, 'subject_type');
      const subjectId = String(entry['subject_id'] ?? '');
      if (!this.records.exists(table, subjectId)) throw validation(`${subjectType} ${subjectId} could not be found`, 'subject_id');
      const id = this.records.setCustomField(subjectType, subjectId, entry);
      this.records.touch(table, subjectId);
      return id;
    });
    return this.render(ids);
  }

  update(id: string, body: Json): Json {
    const current = this.db.prepare('SELECT * FROM custom_field_values WHERE id = ?').get(id) as Json | undefined;
    if (!current) throw notFound(`Custom field value ${id}`);
    const input = (body['custom_field_value'] ?? {}) as Json;
    const subjectType = String(current['subject_type']);
    const subjectId = String(current['subject_id']);
    this.records.setCustomField(subjectType, subjectId, { custom_field_id: current['custom_field_id'], value: input['value'] });
    this.records.touch(SUBJECT_TABLES[subjectType]!, subjectId);
    return this.render([id]);
  }

  private render(ids: readonly string[]): Json {
    const values: Record<string, Json> = {};
    for (const id of ids) {
      const row = this.db.prepare('SELECT * FROM custom_field_values WHERE id = ?').get(id) as Json;
      values[id] = {
        id,
        custom_field_id: Number(row['custom_field_id']),
        subject_type: row['subject_type'],
        subject_id: Number(row['subject_id']),
        value: JSON.parse(String(row['value'])) as unknown,
        created_at: row['created_at'],
        updated_at: row['updated_at'],
      };
    }
    return { count: ids.length, results: ids.map((id) => ({ key: 'custom_field_values', id })), custom_field_values: values };
  }
}
