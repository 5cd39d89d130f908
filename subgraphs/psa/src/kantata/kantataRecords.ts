/**
 * Kantata's records as the PSA port knows them: which Kantata object and field each port field comes from (see the
 * mapping table in docs/vendors/kantata.md), and the few conventions psgraph relies on — a role's code is its name
 * in capitals (`Data Engineer` → `DATA_ENGINEER`), a project's status follows its Kantata status colour, a milestone
 * is a story of type `milestone` whose custom status "Approved for Billing" means approved for billing.
 */
import type { MilestoneStatus, ProjectStatus, PsaProject, PsaResource, PsaRole } from '../psaPort.js';
import { type CustomField, type CustomValues, type FieldKey, choiceLabel, currencyAmount, numberValue, textValue } from './kantataCatalog.js';
import type { KantataRecord } from './kantataClient.js';

/** The external reference psgraph keeps on each workspace it knows: the canonical project ID. */
export const PROJECT_SERVICE_MODEL = 'Project';

/** The custom task status (of status type `completed`) that marks a milestone approved for billing. */
export const APPROVED_FOR_BILLING_STATUS = 'Approved for Billing';

export const text = (value: unknown): string => (value === null || value === undefined ? '' : String(value));
export const optional = (value: unknown): string | null => (value === null || value === undefined || value === '' ? null : String(value));

/** The rate-card role code of a Kantata role: its name in capitals, words joined by underscores. */
export function roleCode(name: string): string {
  return name
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

export const toRole = (role: KantataRecord | undefined): PsaRole => ({ code: roleCode(text(role?.['name'])), name: text(role?.['name']) });

/**
 * A project's status from its Kantata status, by the colour Kantata gives each status group: grey and light green
 * (not yet started, about to start) are planned, green is in progress, yellow (waiting on an action) is on hold,
 * blue (finished) is completed; red is a blocker or an end, cancelled only when its label says so.
 */
export function projectStatus(status: unknown): ProjectStatus {
  const { color, message } = (status ?? {}) as { color?: string; message?: string };
  switch (color) {
    case 'green':
      return 'ACTIVE';
    case 'yellow':
      return 'ON_HOLD';
    case 'blue':
      return 'COMPLETED';
    case 'red':
      return /cancel/i.test(message ?? '') ? 'CANCELLED' : 'ACTIVE';
    default:
      return 'PLANNED';
  }
}

export function milestoneStatus(story: { readonly state: unknown; readonly status: unknown }): MilestoneStatus {
  if (story['status'] === APPROVED_FOR_BILLING_STATUS) return 'APPROVED_FOR_BILLING';
  return story['state'] === 'completed' ? 'COMPLETED' : 'PLANNED';
}

/** What mapping a record needs beyond the record itself: the envelope's side-loads and the account's fields. */
export interface RecordContext {
  readonly fields: ReadonlyMap<FieldKey, CustomField>;
  readonly values: CustomValues;
  readonly serviceName: string;
  /** Side-loaded external references, users' roles and skills, by ID. */
  readonly externalReferences?: ReadonlyMap<string, KantataRecord>;
  readonly roles?: ReadonlyMap<string, KantataRecord>;
  readonly skills?: ReadonlyMap<string, KantataRecord>;
}

/** The canonical project ID psgraph keeps on a workspace, if it has one. */
export function canonicalIdOf(workspace: KantataRecord, context: Pick<RecordContext, 'externalReferences' | 'serviceName'>): string | null {
  const ids = (workspace['external_reference_ids'] ?? []) as readonly string[];
  for (const id of ids) {
    const reference = context.externalReferences?.get(String(id));
    if (reference && reference['service_name'] === context.serviceName && reference['service_model'] === PROJECT_SERVICE_MODEL)
      return text(reference['service_model_ref']);
  }
  return null;
}

/** A workspace as a PSA project; null for a workspace psgraph did not create (no canonical project ID). */
export function toProject(workspace: KantataRecord, context: RecordContext): PsaProject | null {
  const id = canonicalIdOf(workspace, context);
  if (id === null) return null;
  const value = (key: FieldKey) => context.values.get('Workspace', workspace.id, context.fields.get(key)!);
  return {
    id,
    psaId: workspace.id,
    accountId: text(textValue(value('accountId'))),
    code: text(textValue(value('projectCode'))),
    name: text(workspace['title']),
    status: projectStatus(workspace['status']),
    region: text(choiceLabel(context.fields.get('region')!, value('region'))),
    serviceLine: text(choiceLabel(context.fields.get('serviceLine')!, value('serviceLine'))),
    contractType: text(choiceLabel(context.fields.get('contractType')!, value('contractType'))),
    currency: text(workspace['currency']),
    startDate: text(workspace['start_date']),
    endDate: text(workspace['due_date']),
    managerId: text(workspace['primary_maven_id']),
  };
}

/** SQLite's NOCASE order (ASCII letters folded), as the sandbox orders a consultant's skills. */
export const nocase = (a: string, b: string): number => {
  const x = a.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const y = b.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return x < y ? -1 : x > y ? 1 : 0;
};

/** A user as a consultant: role, skills, home region, capacity and rates (custom fields) in their home currency. */
export function toResource(user: KantataRecord, context: RecordContext): PsaResource {
  const value = (key: FieldKey) => context.values.get('User', user.id, context.fields.get(key)!);
  const bill = currencyAmount(value('billRate'));
  const cost = currencyAmount(value('costRate'));
  const skills = ((user['skill_ids'] ?? []) as readonly string[])
    .map((id) => text(context.skills?.get(String(id))?.['name']))
    .filter(Boolean)
    .sort(nocase);
  return {
    id: user.id,
    name: text(user['full_name']),
    email: text(user['email_address']),
    role: toRole(context.roles?.get(text(user['role_id']))),
    region: text(choiceLabel(context.fields.get('homeRegion')!, value('homeRegion'))),
    skills,
    currency: bill?.currency ?? cost?.currency ?? '',
    costRateMinor: cost?.cents ?? 0,
    billRateMinor: bill?.cents ?? 0,
    weeklyCapacityHours: numberValue(value('weeklyCapacity')) ?? 0,
  };
}
