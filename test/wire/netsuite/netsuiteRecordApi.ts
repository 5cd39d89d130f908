/**
 * The record API's writes on the wire server's account, with NetSuite's rules: `PUT <type>/eid:<externalId>`
 * creates or updates by external ID, `PATCH <type>/<id>` updates, `DELETE <type>/<id>` deletes (refused while
 * other records depend on the record); body fields in the REST API's names (`companyName`, references as
 * `{ "id": "12" }`, dates as ISO `YYYY-MM-DD`, sublists as `{ "items": [...] }`, replaced with `?replace=`).
 * Internal IDs continue after the highest in use per record type, entity IDs are auto-generated (`CUST-<id>`,
 * `PRJ-<id>`), and saving a customer creates its primary subsidiary relationship, as NetSuite does. Time
 * transactions (`timebill`, hours as a duration `H:MM`) and psgraph's custom records (postings, contract rates,
 * purchase orders, invoices, billed schedule lines, credit notes) are upserted the same way; a job with time,
 * postings or invoices cannot be deleted, nor an invoice a credit note refers to. (Over 400 lines: most of it is the
 * table of record types and their fields, which belongs beside the rules that read it.)
 */
import type Database from 'better-sqlite3';
import { toDisplayDate } from './suiteql.js';

/** A refusal, answered with NetSuite's error body. */
export class RecordApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly path?: string,
  ) {
    super(detail);
  }
}

type Kind = 'text' | 'bool' | 'date' | 'amount' | 'select' | 'integer' | 'duration';
interface Field {
  readonly column: string;
  readonly kind: Kind;
  /** For a reference: the table it points into. */
  readonly references?: string;
  /** For a select (an enumeration): its values. */
  readonly values?: readonly string[];
}

const text = (column: string): Field => ({ column, kind: 'text' });
const ref = (column: string, references: string): Field => ({ column, kind: 'text', references });

/** The record types the server accepts, their table, and their fields by REST name. */
const RECORD_TYPES: Readonly<Record<string, { table: string; fields: Readonly<Record<string, Field>>; required: readonly string[] }>> = {
  customer: {
    table: 'customer',
    required: ['companyName', 'subsidiary'],
    fields: {
      companyName: text('companyname'),
      isPerson: { column: 'isperson', kind: 'bool' },
      parent: ref('parent', 'customer'),
      subsidiary: ref('subsidiary', 'subsidiary'),
      currency: ref('currency', 'currency'),
      terms: ref('terms', 'term'),
      vatRegNumber: text('vatregnumber'),
      taxable: { column: 'taxable', kind: 'bool' },
      creditHoldOverride: { column: 'creditholdoverride', kind: 'select', values: ['AUTO', 'ON', 'OFF'] },
    },
  },
  job: {
    table: 'job',
    required: ['companyName', 'parent', 'subsidiary'],
    fields: {
      companyName: text('companyname'),
      parent: ref('parent', 'customer'),
      subsidiary: ref('subsidiary', 'subsidiary'),
      currency: ref('currency', 'currency'),
      startDate: { column: 'startdate', kind: 'date' },
      projectedEndDate: { column: 'projectedenddate', kind: 'date' },
      custentity_psgraph_contract_type: text('custentity_psgraph_contract_type'),
      custentity_psgraph_contract_value: { column: 'custentity_psgraph_contract_value', kind: 'amount' },
      custentity_psgraph_budget: { column: 'custentity_psgraph_budget', kind: 'amount' },
      custentity_psgraph_po_required: { column: 'custentity_psgraph_po_required', kind: 'bool' },
      custentity_psgraph_po_number: text('custentity_psgraph_po_number'),
      custentity_psgraph_rate_card: ref('custentity_psgraph_rate_card', 'customrecord_psgraph_rate_card'),
    },
  },
  billingschedule: {
    table: 'billingschedule',
    required: ['name', 'scheduleType', 'project'],
    fields: {
      name: text('name'),
      scheduleType: { column: 'scheduletype', kind: 'select', values: ['STD', 'FBI', 'FBM', 'TM', 'CB', 'CUSTOM'] },
      frequency: {
        column: 'frequency',
        kind: 'select',
        values: ['DAILY', 'WEEKLY', 'BIWEEKLY', 'MONTHLY', 'BIMONTHLY', 'QUARTERLY', 'SEMIANNUALLY', 'ANNUALLY', 'CUSTOM'],
      },
      inArrears: { column: 'inarrears', kind: 'bool' },
      project: ref('job', 'job'),
    },
  },
  timebill: {
    table: 'timebill',
    required: ['employee', 'customer', 'hours', 'tranDate'],
    fields: {
      employee: ref('employee', 'employee'),
      customer: ref('customer', 'job'),
      item: ref('item', 'item'),
      subsidiary: ref('subsidiary', 'subsidiary'),
      hours: { column: 'hours', kind: 'duration' },
      rate: { column: 'rate', kind: 'amount' },
      isBillable: { column: 'isbillable', kind: 'bool' },
      tranDate: { column: 'trandate', kind: 'date' },
      memo: text('memo'),
    },
  },
  customrecord_psgraph_posting: {
    table: 'customrecord_psgraph_posting',
    required: ['name', 'custrecord_psgraph_dp_job', 'custrecord_psgraph_dp_date', 'custrecord_psgraph_dp_currency'],
    fields: {
      name: text('name'),
      isInactive: { column: 'isinactive', kind: 'bool' },
      custrecord_psgraph_dp_kind: { column: 'custrecord_psgraph_dp_kind', kind: 'select', values: ['TIME', 'EXPENSE', 'MILESTONE'] },
      custrecord_psgraph_dp_job: ref('custrecord_psgraph_dp_job', 'job'),
      custrecord_psgraph_dp_employee: ref('custrecord_psgraph_dp_employee', 'employee'),
      custrecord_psgraph_dp_item: text('custrecord_psgraph_dp_item'),
      custrecord_psgraph_dp_date: { column: 'custrecord_psgraph_dp_date', kind: 'date' },
      custrecord_psgraph_dp_minutes: { column: 'custrecord_psgraph_dp_minutes', kind: 'integer' },
      custrecord_psgraph_dp_rate: { column: 'custrecord_psgraph_dp_rate', kind: 'amount' },
      custrecord_psgraph_dp_billable_amount: { column: 'custrecord_psgraph_dp_billable_amount', kind: 'amount' },
      custrecord_psgraph_dp_cost_amount: { column: 'custrecord_psgraph_dp_cost_amount', kind: 'amount' },
      custrecord_psgraph_dp_billable: { column: 'custrecord_psgraph_dp_billable', kind: 'bool' },
      custrecord_psgraph_dp_currency: ref('custrecord_psgraph_dp_currency', 'currency'),
      custrecord_psgraph_dp_memo: text('custrecord_psgraph_dp_memo'),
      custrecord_psgraph_dp_posted_at: text('custrecord_psgraph_dp_posted_at'),
      custrecord_psgraph_dp_reversed_at: text('custrecord_psgraph_dp_reversed_at'),
      custrecord_psgraph_dp_billed_invoice: text('custrecord_psgraph_dp_billed_invoice'),
    },
  },
  customrecord_psgraph_invoice: {
    table: 'customrecord_psgraph_invoice',
    required: ['name', 'custrecord_psgraph_inv_job', 'custrecord_psgraph_inv_date', 'custrecord_psgraph_inv_currency'],
    fields: {
      name: text('name'),
      isInactive: { column: 'isinactive', kind: 'bool' },
      custrecord_psgraph_inv_number: text('custrecord_psgraph_inv_number'),
      custrecord_psgraph_inv_job: ref('custrecord_psgraph_inv_job', 'job'),
      custrecord_psgraph_inv_status: {
        column: 'custrecord_psgraph_inv_status',
        kind: 'select',
        values: ['DRAFT', 'OPEN', 'PAID', 'VOID', 'UNCOLLECTIBLE'],
      },
      custrecord_psgraph_inv_date: { column: 'custrecord_psgraph_inv_date', kind: 'date' },
      custrecord_psgraph_inv_currency: ref('custrecord_psgraph_inv_currency', 'currency'),
      custrecord_psgraph_inv_total: { column: 'custrecord_psgraph_inv_total', kind: 'amount' },
      custrecord_psgraph_inv_amount_paid: { column: 'custrecord_psgraph_inv_amount_paid', kind: 'amount' },
      custrecord_psgraph_inv_as_of: text('custrecord_psgraph_inv_as_of'),
      custrecord_psgraph_inv_updated_at: text('custrecord_psgraph_inv_updated_at'),
      custrecord_psgraph_inv_billed: { column: 'custrecord_psgraph_inv_billed', kind: 'bool' },
      custrecord_psgraph_inv_first_billed_at: text('custrecord_psgraph_inv_first_billed_at'),
      custrecord_psgraph_inv_sources: text('custrecord_psgraph_inv_sources'),
    },
  },
  customrecord_psgraph_billed_line: {
    table: 'customrecord_psgraph_billed_line',
    required: ['custrecord_psgraph_bl_job', 'custrecord_psgraph_bl_sequence', 'custrecord_psgraph_bl_invoice'],
    fields: {
      name: text('name'),
      isInactive: { column: 'isinactive', kind: 'bool' },
      custrecord_psgraph_bl_job: ref('custrecord_psgraph_bl_job', 'job'),
      custrecord_psgraph_bl_sequence: { column: 'custrecord_psgraph_bl_sequence', kind: 'integer' },
      custrecord_psgraph_bl_invoice: text('custrecord_psgraph_bl_invoice'),
    },
  },
  customrecord_psgraph_credit_note: {
    table: 'customrecord_psgraph_credit_note',
    required: ['custrecord_psgraph_cn_invoice', 'custrecord_psgraph_cn_job', 'custrecord_psgraph_cn_date', 'custrecord_psgraph_cn_total'],
    fields: {
      name: text('name'),
      isInactive: { column: 'isinactive', kind: 'bool' },
      custrecord_psgraph_cn_invoice: ref('custrecord_psgraph_cn_invoice', 'customrecord_psgraph_invoice'),
      custrecord_psgraph_cn_job: ref('custrecord_psgraph_cn_job', 'job'),
      custrecord_psgraph_cn_date: { column: 'custrecord_psgraph_cn_date', kind: 'date' },
      custrecord_psgraph_cn_currency: ref('custrecord_psgraph_cn_currency', 'currency'),
      custrecord_psgraph_cn_total: { column: 'custrecord_psgraph_cn_total', kind: 'amount' },
      custrecord_psgraph_cn_sources: text('custrecord_psgraph_cn_sources'),
      custrecord_psgraph_cn_recorded_at: text('custrecord_psgraph_cn_recorded_at'),
    },
  },
  customrecord_psgraph_contract_rate: {
    table: 'customrecord_psgraph_contract_rate',
    required: ['custrecord_psgraph_cr_job', 'custrecord_psgraph_cr_role', 'custrecord_psgraph_cr_effective_from'],
    fields: {
      name: text('name'),
      isInactive: { column: 'isinactive', kind: 'bool' },
      custrecord_psgraph_cr_job: ref('custrecord_psgraph_cr_job', 'job'),
      custrecord_psgraph_cr_role: text('custrecord_psgraph_cr_role'),
      custrecord_psgraph_cr_effective_from: { column: 'custrecord_psgraph_cr_effective_from', kind: 'date' },
      custrecord_psgraph_cr_effective_to: { column: 'custrecord_psgraph_cr_effective_to', kind: 'date' },
      custrecord_psgraph_cr_bill_rate: { column: 'custrecord_psgraph_cr_bill_rate', kind: 'amount' },
    },
  },
  customrecord_psgraph_purchase_order: {
    table: 'customrecord_psgraph_purchase_order',
    required: ['custrecord_psgraph_po_job', 'custrecord_psgraph_po_number'],
    fields: {
      name: text('name'),
      isInactive: { column: 'isinactive', kind: 'bool' },
      custrecord_psgraph_po_job: ref('custrecord_psgraph_po_job', 'job'),
      custrecord_psgraph_po_number: text('custrecord_psgraph_po_number'),
      custrecord_psgraph_po_expires: { column: 'custrecord_psgraph_po_expires', kind: 'date' },
      custrecord_psgraph_po_amount: { column: 'custrecord_psgraph_po_amount', kind: 'amount' },
    },
  },
  customersubsidiaryrelationship: {
    table: 'customersubsidiaryrelationship',
    required: ['entity', 'subsidiary'],
    fields: { entity: ref('entity', 'customer'), subsidiary: ref('subsidiary', 'subsidiary') },
  },
};

const SUBLIST_ITEM_FIELDS: Readonly<Record<string, Field>> = {
  milestoneDate: { column: 'milestonedate', kind: 'date' },
  milestoneAmount: { column: 'milestoneamount', kind: 'amount' },
  comments: text('comments'),
};

export class RecordApi {
  constructor(private readonly db: Database.Database) {}

  /** The record type a path names (REST record type names are case-insensitive), or a 404. */
  static recordType(name: string): string {
    const type = name.toLowerCase();
    if (!RECORD_TYPES[type]) throw new RecordApiError(404, 'INVALID_RCRD_TYPE', `Record type '${name}' does not exist or is not supported.`);
    return type;
  }

  /** `PUT <type>/eid:<externalId>`: the record's internal ID, created or updated. */
  upsert(type: string, externalId: string, body: Record<string, unknown>, replace: readonly string[]): number {
    const { table } = RECORD_TYPES[type]!;
    const existing = this.db.prepare(`SELECT id FROM "${table}" WHERE externalid = ?`).get(externalId) as { id: number } | undefined;
    return this.db.transaction(() => (existing ? this.update(type, existing.id, body, replace) : this.create(type, externalId, body)))();
  }

  /** `PATCH <type>/<id>`. */
  patch(type: string, idOrEid: string, body: Record<string, unknown>, replace: readonly string[]): number {
    const id = this.resolve(type, idOrEid);
    return this.db.transaction(() => this.update(type, id, body, replace))();
  }

  /** `DELETE <type>/<id>`. */
  delete(type: string, idOrEid: string): void {
    const id = this.resolve(type, idOrEid);
    if (type === 'job') {
      const dependents = this.db
        .prepare(
          `SELECT (SELECT COUNT(*) FROM billingschedule WHERE job = ?) + (SELECT COUNT(*) FROM transactionline WHERE entity = ?)
             + (SELECT COUNT(*) FROM timebill WHERE customer = ?) + (SELECT COUNT(*) FROM customrecord_psgraph_posting WHERE custrecord_psgraph_dp_job = ?)
             + (SELECT COUNT(*) FROM customrecord_psgraph_invoice WHERE custrecord_psgraph_inv_job = ?) AS n`,
        )
        .get(id, id, id, id, id) as { n: number };
      if (dependents.n > 0) {
        throw new RecordApiError(
          400,
          'THIS_RECORD_CANNOT_BE_DELETED_BECAUSE_IT_HAS_DEPENDENT_RECORDS',
          'This record cannot be deleted because it has dependent records.',
        );
      }
    }
    if (
      type === 'customrecord_psgraph_invoice' &&
      this.db.prepare('SELECT 1 FROM customrecord_psgraph_credit_note WHERE custrecord_psgraph_cn_invoice = ?').get(id)
    )
      throw new RecordApiError(
        400,
        'THIS_RECORD_CANNOT_BE_DELETED_BECAUSE_IT_HAS_DEPENDENT_RECORDS',
        'This record cannot be deleted because it has dependent records.',
      );
    if (type === 'customer') {
      const dependents = this.db
        .prepare('SELECT (SELECT COUNT(*) FROM job WHERE customer = ?) + (SELECT COUNT(*) FROM customer WHERE parent = ?) AS n')
        .get(id, id) as {
        n: number;
      };
      if (dependents.n > 0)
        throw new RecordApiError(
          400,
          'THIS_RECORD_CANNOT_BE_DELETED_BECAUSE_IT_HAS_DEPENDENT_RECORDS',
          'This record cannot be deleted because it has dependent records.',
        );
    }
    this.db.transaction(() => {
      if (type === 'billingschedule') this.db.prepare('DELETE FROM billingschedulemilestone WHERE billingschedule = ?').run(id);
      if (type === 'customer') this.db.prepare('DELETE FROM customersubsidiaryrelationship WHERE entity = ?').run(id);
      this.db.prepare(`DELETE FROM "${RECORD_TYPES[type]!.table}" WHERE id = ?`).run(id);
    })();
  }

  private resolve(type: string, idOrEid: string): number {
    const { table } = RECORD_TYPES[type]!;
    const row = idOrEid.startsWith('eid:')
      ? this.db.prepare(`SELECT id FROM "${table}" WHERE externalid = ?`).get(idOrEid.slice(4))
      : /^\d+$/.test(idOrEid)
        ? this.db.prepare(`SELECT id FROM "${table}" WHERE id = ?`).get(Number(idOrEid))
        : undefined;
    if (!row) throw new RecordApiError(404, 'NONEXISTENT_ID', 'The record instance does not exist. Provide a valid record instance ID.');
    return (row as { id: number }).id;
  }

  private create(type: string, externalId: string, body: Record<string, unknown>): number {
    const { table, required } = RECORD_TYPES[type]!;
    const missing = required.filter((name) => body[name] === undefined || body[name] === null);
    if (missing.length > 0) throw new RecordApiError(400, 'USER_ERROR', `Please enter value(s) for: ${missing.join(', ')}.`);
    const values = this.columns(type, body);
    const id = type === 'customer' || type === 'job' ? this.nextId(table) : undefined;
    if (type === 'customer')
      Object.assign(values, { entityid: `CUST-${id}`, currency: values['currency'] ?? this.currencyOf('subsidiary', values['subsidiary']) });
    if (type === 'job') {
      Object.assign(values, {
        entityid: `PRJ-${id}`,
        customer: values['parent'],
        currency: values['currency'] ?? this.currencyOf('customer', values['parent']),
      });
      this.requireRelationship(values['parent'], values['subsidiary']);
    }
    if (type === 'customersubsidiaryrelationship') {
      const taken = this.db
        .prepare('SELECT 1 FROM customersubsidiaryrelationship WHERE entity = ? AND subsidiary = ?')
        .get(values['entity'], values['subsidiary']);
      if (taken) throw new RecordApiError(400, 'DUP_RCRD', 'This customer already has a relationship with this subsidiary.');
      values['isprimarysub'] = 'F';
    }
    if (type === 'billingschedule' || type.startsWith('customrecord_')) values['isinactive'] ??= 'F';
    // A new project takes the account's default status, In Progress.
    if (type === 'job') values['entitystatus'] ??= 2;
    const row = { ...(id === undefined ? {} : { id }), ...values, externalid: externalId };
    const names = Object.keys(row);
    const result = this.db
      .prepare(`INSERT INTO "${table}" (${names.map((name) => `"${name}"`).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`)
      .run(...names.map((name) => row[name as keyof typeof row] as never));
    const created = Number(result.lastInsertRowid);
    if (type === 'customer')
      this.db.prepare("INSERT INTO customersubsidiaryrelationship (entity, subsidiary, isprimarysub) VALUES (?, ?, 'T')").run(created, values['subsidiary']);
    if (type === 'billingschedule') this.writeMilestones(created, body, true);
    return created;
  }

  private update(type: string, id: number, body: Record<string, unknown>, replace: readonly string[]): number {
    const { table } = RECORD_TYPES[type]!;
    const values = this.columns(type, body);
    if (type === 'customer' && values['subsidiary'] !== undefined) {
      const current = this.db.prepare('SELECT subsidiary FROM customer WHERE id = ?').get(id) as { subsidiary: number };
      const used = this.db.prepare('SELECT 1 FROM job WHERE customer = ?').get(id);
      if (used && current.subsidiary !== Number(values['subsidiary']))
        throw new RecordApiError(400, 'USER_ERROR', 'You cannot change the primary subsidiary of a customer that has transactions.', 'subsidiary');
    }
    if (type === 'job') {
      if (values['parent'] !== undefined) values['customer'] = values['parent'];
      const current = this.db.prepare('SELECT customer, subsidiary FROM job WHERE id = ?').get(id) as { customer: number; subsidiary: number };
      this.requireRelationship(values['customer'] ?? current.customer, values['subsidiary'] ?? current.subsidiary);
    }
    const names = Object.keys(values);
    if (names.length > 0)
      this.db
        .prepare(`UPDATE "${table}" SET ${names.map((name) => `"${name}" = ?`).join(', ')} WHERE id = ?`)
        .run(...names.map((name) => values[name] as never), id);
    if (type === 'billingschedule') this.writeMilestones(id, body, replace.includes('milestone'));
    return id;
  }

  /** The body's fields as column values: references checked, booleans `T`/`F`, dates in the display format. */
  private columns(type: string, body: Record<string, unknown>): Record<string, unknown> {
    const { fields } = RECORD_TYPES[type]!;
    const values: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(body)) {
      if (name === 'milestone' && type === 'billingschedule') continue;
      const field = fields[name];
      if (!field) throw new RecordApiError(400, 'INVALID_CONTENT', `Invalid field '${name}' for record type '${type}'.`, name);
      values[field.column] = this.value(field, name, value);
    }
    return values;
  }

  private value(field: Field, name: string, value: unknown): unknown {
    if (value === null) return null;
    const invalid = () => new RecordApiError(400, 'INVALID_VALUE', `Invalid value for the field ${name}.`, name);
    if (field.references) {
      const id = Number((value as { id?: unknown }).id);
      if (!Number.isInteger(id) || !this.db.prepare(`SELECT 1 FROM "${field.references}" WHERE id = ?`).get(id))
        throw new RecordApiError(400, 'INVALID_KEY_OR_REF', `Invalid ${name} reference key ${String((value as { id?: unknown }).id)}.`, name);
      return id;
    }
    switch (field.kind) {
      case 'bool':
        if (typeof value !== 'boolean') throw invalid();
        return value ? 'T' : 'F';
      case 'date':
        if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) throw invalid();
        return toDisplayDate(value);
      case 'integer':
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid();
        return value;
      case 'duration': {
        // A duration is `H:MM` (or decimal hours), kept as decimal hours as SuiteQL answers it.
        const match = typeof value === 'string' ? /^(\d+):([0-5]\d)$/.exec(value) : null;
        if (match) return Number(match[1]) + Number(match[2]) / 60;
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalid();
        return value;
      }
      case 'amount':
        if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid();
        return value;
      case 'select': {
        const id = typeof value === 'string' ? value : (value as { id?: unknown }).id;
        if (typeof id !== 'string' || !field.values!.includes(id)) throw invalid();
        return id;
      }
      default:
        if (typeof value !== 'string') throw invalid();
        return value;
    }
  }

  /** The milestone sublist: lines sent replace the schedule's (`replace=milestone`, or a new schedule) or are added. */
  private writeMilestones(scheduleId: number, body: Record<string, unknown>, replace: boolean): void {
    const sublist = body['milestone'] as { items?: unknown } | undefined;
    if (replace) this.db.prepare('DELETE FROM billingschedulemilestone WHERE billingschedule = ?').run(scheduleId);
    if (sublist === undefined) return;
    if (!Array.isArray(sublist.items)) throw new RecordApiError(400, 'INVALID_CONTENT', 'The milestone sublist must have items.', 'milestone');
    const insert = this.db.prepare(
      "INSERT INTO billingschedulemilestone (billingschedule, milestonedate, milestoneamount, comments, milestonecompleted) VALUES (?, ?, ?, ?, 'F')",
    );
    for (const [i, item] of (sublist.items as Array<Record<string, unknown>>).entries()) {
      const values: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(item)) {
        const field = SUBLIST_ITEM_FIELDS[name];
        if (!field) throw new RecordApiError(400, 'INVALID_CONTENT', `Invalid field '${name}' for sublist milestone.`, `milestone.items[${i}].${name}`);
        values[field.column] = this.value(field, name, value);
      }
      if (values['milestonedate'] === undefined)
        throw new RecordApiError(400, 'USER_ERROR', 'Please enter value(s) for: Milestone Date.', `milestone.items[${i}]`);
      insert.run(
        scheduleId,
        values['milestonedate'] as string,
        (values['milestoneamount'] ?? null) as number | null,
        (values['comments'] ?? null) as string | null,
      );
    }
  }

  /** OneWorld: a job's customer must trade with the job's subsidiary. */
  private requireRelationship(customer: unknown, subsidiary: unknown): void {
    if (!this.db.prepare('SELECT 1 FROM customersubsidiaryrelationship WHERE entity = ? AND subsidiary = ?').get(customer, subsidiary)) {
      throw new RecordApiError(400, 'USER_ERROR', `The subsidiary ${String(subsidiary)} is not one the customer trades with.`, 'subsidiary');
    }
  }

  private currencyOf(table: 'subsidiary' | 'customer', id: unknown): number | null {
    return (this.db.prepare(`SELECT currency FROM "${table}" WHERE id = ?`).get(id) as { currency: number } | undefined)?.currency ?? null;
  }

  /** NetSuite issues internal IDs in sequence; the account continues after the highest one in use. */
  private nextId(table: string): number {
    return (this.db.prepare(`SELECT COALESCE(MAX(id), 0) + 1 AS next FROM "${table}"`).get() as { next: number }).next;
  }
}
