/**
 * The account's configuration psgraph depends on, read once per process: the custom fields docs/vendors/kantata.md
 * asks the account to create (found by subject type and name, so no IDs need configuring) and their choices. A
 * field missing from the account is a setup error that names the field; a choice not found makes psgraph read
 * the fields again (at most once a minute), in case an administrator added it since.
 */
import { VendorError } from '../../../platform/src/vendor/vendorError.js';
import { KANTATA, type KantataClient, type KantataRecord, sideLoaded } from './kantataClient.js';

export type CustomFieldType = 'string' | 'number' | 'date' | 'currency' | 'single';

/** The custom fields psgraph reads and writes, by Kantata subject type and field name. */
export const CUSTOM_FIELDS = {
  projectCode: { subject: 'Workspace', name: 'Project Code', type: 'string' },
  accountId: { subject: 'Workspace', name: 'Salesforce Account ID', type: 'string' },
  region: { subject: 'Workspace', name: 'Delivery Region', type: 'single' },
  serviceLine: { subject: 'Workspace', name: 'Service Line', type: 'single' },
  contractType: { subject: 'Workspace', name: 'Contract Type', type: 'single' },
  homeRegion: { subject: 'User', name: 'Home Region', type: 'single' },
  weeklyCapacity: { subject: 'User', name: 'Weekly Capacity Hours', type: 'number' },
  billRate: { subject: 'User', name: 'Bill Rate', type: 'currency' },
  costRate: { subject: 'User', name: 'Cost Rate', type: 'currency' },
  bookingStatus: { subject: 'WorkspaceResource', name: 'Booking Status', type: 'single' },
  requestedMinutes: { subject: 'WorkspaceResource', name: 'Requested Minutes', type: 'number' },
  requestedStart: { subject: 'WorkspaceResource', name: 'Requested Start', type: 'date' },
  requestedEnd: { subject: 'WorkspaceResource', name: 'Requested End', type: 'date' },
  completedOn: { subject: 'Story', name: 'Completed On', type: 'date' },
  /** Optional: only withdrawing a milestone's billing approval needs it (an account without it keeps everything else). */
  billingNote: { subject: 'Story', name: 'Billing Approval Note', type: 'string', optional: true },
  // What billing reports back (kantataBillingStatus.ts). Optional: only the billing status calls need them.
  billed: { subject: 'Workspace', name: 'psgraph Billed', type: 'currency', optional: true },
  unbilled: { subject: 'Workspace', name: 'psgraph Unbilled', type: 'currency', optional: true },
  lastInvoiceId: { subject: 'Workspace', name: 'psgraph Last Invoice', type: 'string', optional: true },
  lastInvoiceNumber: { subject: 'Workspace', name: 'psgraph Last Invoice Number', type: 'string', optional: true },
  lastInvoiceStatus: { subject: 'Workspace', name: 'psgraph Last Invoice Status', type: 'string', optional: true },
  billingStatusAsOf: { subject: 'Workspace', name: 'psgraph Billing Status As Of', type: 'string', optional: true },
  invoiceId: { subject: 'Story', name: 'psgraph Invoice', type: 'string', optional: true },
  invoiceNumber: { subject: 'Story', name: 'psgraph Invoice Number', type: 'string', optional: true },
  invoiceStatus: { subject: 'Story', name: 'psgraph Invoice Status', type: 'string', optional: true },
  invoiceAsOf: { subject: 'Story', name: 'psgraph Invoice As Of', type: 'string', optional: true },
} as const satisfies Record<string, { subject: string; name: string; type: CustomFieldType; optional?: boolean }>;

export type FieldKey = keyof typeof CUSTOM_FIELDS;

export interface CustomField {
  readonly id: string;
  readonly key: FieldKey;
  /** Choice labels by choice ID, and back (single-choice fields). */
  readonly labels: ReadonlyMap<string, string>;
  readonly choices: ReadonlyMap<string, string>;
}

/** A custom field value as the API returns it: text, a number, `[cents, currency]`, or `[choice IDs]`. */
export type CustomValue = string | number | readonly unknown[] | null;

/** The side-loaded custom field values of an envelope, by subject and field. */
export class CustomValues {
  private readonly bySubject = new Map<string, Map<string, CustomValue>>();

  constructor(values: ReadonlyMap<string, KantataRecord>) {
    for (const value of values.values()) {
      const subject = `${String(value['subject_type'])}|${String(value['subject_id'])}`;
      let fields = this.bySubject.get(subject);
      if (!fields) this.bySubject.set(subject, (fields = new Map()));
      fields.set(String(value['custom_field_id']), (value['value'] ?? null) as CustomValue);
    }
  }

  static of(envelope: Parameters<typeof sideLoaded>[0]): CustomValues {
    return new CustomValues(sideLoaded(envelope, 'custom_field_values'));
  }

  get(subjectType: string, subjectId: string, field: CustomField): CustomValue {
    return this.bySubject.get(`${subjectType}|${subjectId}`)?.get(field.id) ?? null;
  }
}

/** At most one re-read of the fields a minute for choices not found: a filter on a value nobody configured costs nothing more. */
const RELOAD_AFTER_MS = 60_000;

export class KantataCatalog {
  private fields: Promise<ReadonlyMap<FieldKey, CustomField>> | undefined;
  private loadedAt = 0;

  constructor(private readonly kantata: KantataClient) {}

  /** Every custom field psgraph uses (one call, the first time). */
  async all(): Promise<ReadonlyMap<FieldKey, CustomField>> {
    this.fields ??= this.load().catch((error: unknown) => {
      this.fields = undefined;
      throw error;
    });
    return this.fields;
  }

  async field(key: FieldKey): Promise<CustomField> {
    const field = (await this.all()).get(key);
    if (field) return field;
    // Only an optional field can be missing here: the account was set up without it.
    const wanted = CUSTOM_FIELDS[key];
    throw new VendorError(
      KANTATA,
      'PERMISSION',
      `Kantata has no ${wanted.subject} custom field "${wanted.name}" visible to psgraph's user: create it as docs/vendors/kantata.md describes.`,
    );
  }

  /** The choice ID of a label; read the fields again once when it is not there. Undefined: no such choice. */
  async choiceId(key: FieldKey, label: string): Promise<string | undefined> {
    const known = (await this.field(key)).choices.get(label);
    if (known !== undefined || Date.now() - this.loadedAt < RELOAD_AFTER_MS) return known;
    this.fields = undefined;
    return (await this.field(key)).choices.get(label);
  }

  private async load(): Promise<ReadonlyMap<FieldKey, CustomField>> {
    const envelope = await this.kantata.list('customFields', '/custom_fields', { include: 'choices' });
    this.loadedAt = Date.now();
    const fields = [...sideLoaded(envelope, 'custom_fields').values()];
    const choices = [...sideLoaded(envelope, 'custom_field_choices').values()];
    const catalog = new Map<FieldKey, CustomField>();
    for (const [key, wanted] of Object.entries(CUSTOM_FIELDS) as Array<[FieldKey, (typeof CUSTOM_FIELDS)[FieldKey]]>) {
      const field = fields.find((candidate) => candidate['subject_type'] === wanted.subject && candidate['name'] === wanted.name);
      if (!field && 'optional' in wanted) continue;
      if (!field) {
        throw new VendorError(
          KANTATA,
          'PERMISSION',
          `Kantata has no ${wanted.subject} custom field "${wanted.name}" visible to psgraph's user: create it as docs/vendors/kantata.md describes.`,
        );
      }
      const own = choices.filter((choice) => String(choice['custom_field_id']) === field.id);
      catalog.set(key, {
        id: field.id,
        key,
        labels: new Map(own.map((choice) => [choice.id, String(choice['label'])])),
        choices: new Map(own.map((choice) => [String(choice['label']), choice.id])),
      });
    }
    return catalog;
  }
}

/** A single-choice value's label (`[choiceId]` in the API). */
export function choiceLabel(field: CustomField, value: CustomValue): string | null {
  const id = Array.isArray(value) ? value[0] : value;
  if (id === null || id === undefined || id === '') return null;
  return field.labels.get(String(id)) ?? null;
}

/** A currency value (`[cents, "USD"]`). */
export function currencyAmount(value: CustomValue): { readonly cents: number; readonly currency: string } | null {
  if (!Array.isArray(value) || value.length < 2) return null;
  return { cents: Number(value[0]), currency: String(value[1]) };
}

export const textValue = (value: CustomValue): string | null => (value === null || value === '' || Array.isArray(value) ? null : String(value));

export const numberValue = (value: CustomValue): number | null => (value === null || value === '' || Array.isArray(value) ? null : Number(value));

export type CustomParamValue = string | number | readonly [number, string] | { choice: string };

/** A value as Kantata's write parameters take it (`custom_fields: [{ custom_field_id, value }]`, `custom_field_values`). */
export function customFieldParam(field: CustomField, value: CustomParamValue): { custom_field_id: number; value: string } {
  const text = typeof value === 'object' && 'choice' in value ? `[${value.choice}]` : Array.isArray(value) ? `[${value[0]}, ${value[1]}]` : String(value);
  return { custom_field_id: Number(field.id), value: text };
}
