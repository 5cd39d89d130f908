/**
 * Billing status over Kantata: a project's billed and unbilled amounts and its last invoice in custom fields of its
 * workspace, each milestone's invoice in custom fields of its story (the fields docs/vendors/kantata.md asks for;
 * Kantata has no invoice of psgraph's billing to hold them). Amounts are Kantata currency values, `[minor units,
 * currency]`, as Kantata keeps every amount in the currency's minor units ("cents"); instants are text in UTC.
 *
 * Newer `asOf` wins: each record first reads the as-of Kantata holds for the subject, and writes nothing when it is
 * the same instant or later. The read and the write are two requests, so two writers of one subject could both
 * pass the check; the process layer has one consumer per billing flow, so psgraph never races itself here. The
 * values are written with `POST /custom_field_values` (which sets a value, replacing any the subject has: no
 * `PUT /custom_field_values/:id` needed), the status first and the as-of last, in two requests: a write cut off
 * between them left the older as-of, so the replay of the event writes it all again. Setting values is the same
 * state however often it is sent, so each request is retried like a read.
 *
 * Reads ask Kantata (workspaces by psgraph's external reference, stories by ID, with their custom field values):
 * the replica keeps no billing values. A field missing from the account is refused naming it
 * (SYSTEM_PERMISSION_DENIED), before anything is read or written.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from '../../../platform/src/index.js';
import type {
  InvoiceStatus,
  MilestoneInvoice,
  MilestoneInvoiceUpdate,
  ProjectBillingStatus,
  ProjectBillingStatusUpdate,
  PsaBillingStatus,
} from '../psaBillingStatusPort.js';
import { type CustomField, type CustomParamValue, type FieldKey, type KantataCatalog, currencyAmount, customFieldParam, textValue } from './kantataCatalog.js';
import { type Envelope, type KantataClient, type KantataRecord, resultsOf, sideLoaded } from './kantataClient.js';
import { type KantataPsaOptions, WORKSPACE_PARAMS } from './kantataReads.js';
import { canonicalIdOf } from './kantataRecords.js';
import type { KantataReplica } from './kantataReplica.js';
import { isoStamp } from './kantataSync.js';

const PROJECT_FIELDS = ['billed', 'unbilled', 'lastInvoiceId', 'lastInvoiceNumber', 'lastInvoiceStatus', 'billingStatusAsOf'] as const;
const MILESTONE_FIELDS = ['invoiceId', 'invoiceNumber', 'invoiceStatus', 'invoiceAsOf'] as const;
const STORY_PARAMS = { include: 'custom_field_values' } as const;

type Fields<K extends FieldKey> = Readonly<Record<K, CustomField>>;

/** The custom field values of one subject in an envelope: each value by field, with when Kantata last changed it. */
function valuesOf(envelope: Envelope, subjectType: string, subject: KantataRecord): Map<string, KantataRecord> {
  const all = sideLoaded(envelope, 'custom_field_values');
  const values = new Map<string, KantataRecord>();
  for (const id of (subject['custom_field_value_ids'] ?? []) as readonly unknown[]) {
    const value = all.get(String(id));
    if (value && value['subject_type'] === subjectType) values.set(String(value['custom_field_id']), value);
  }
  return values;
}

const valueOf = (values: ReadonlyMap<string, KantataRecord>, field: CustomField) =>
  (values.get(field.id)?.['value'] ?? null) as Parameters<typeof textValue>[0];
/** Kantata's clock on the as-of value: when the PSA last took an update. */
const changedAt = (values: ReadonlyMap<string, KantataRecord>, field: CustomField, asOf: string) => {
  const stamp = values.get(field.id)?.['updated_at'];
  return stamp ? isoStamp(stamp) : asOf;
};
/** A stored as-of that is the same instant as the update's or later: the update is not newer. */
const notNewer = (stored: string | null, asOf: string) => stored !== null && Date.parse(stored) >= Date.parse(asOf);

export class KantataBillingStatus implements PsaBillingStatus {
  constructor(
    private readonly kantata: KantataClient,
    private readonly catalog: KantataCatalog,
    private readonly replica: KantataReplica,
    private readonly options: Pick<KantataPsaOptions, 'serviceName' | 'replicaReady'>,
  ) {}

  async projectBillingStatusByProjectId(projectIds: readonly string[]): Promise<Map<string, ProjectBillingStatus>> {
    const fields = await this.fields(PROJECT_FIELDS);
    if (projectIds.length === 0) return new Map();
    const envelope = await this.kantata.lookup(
      'projectBillingStatusByProjectId',
      '/workspaces',
      'external_reference_service_model_refs',
      projectIds,
      this.workspaceParams(),
    );
    const wanted = new Set(projectIds);
    const statuses = new Map<string, ProjectBillingStatus>();
    for (const { projectId, workspace } of this.workspaces(envelope)) {
      if (!wanted.has(projectId)) continue;
      const status = this.projectStatus(projectId, valuesOf(envelope, 'Workspace', workspace), fields);
      if (status) statuses.set(projectId, status);
    }
    return statuses;
  }

  async milestoneInvoiceByMilestoneId(milestoneIds: readonly string[]): Promise<Map<string, MilestoneInvoice>> {
    const fields = await this.fields(MILESTONE_FIELDS);
    const ids = milestoneIds.filter((id) => /^\d+$/.test(id));
    if (ids.length === 0) return new Map();
    const envelope = await this.kantata.lookup('milestoneInvoiceByMilestoneId', '/stories', 'only', ids, STORY_PARAMS);
    const invoices = new Map<string, MilestoneInvoice>();
    for (const story of resultsOf(envelope, 'stories')) {
      const invoice = this.milestoneInvoice(story.id, valuesOf(envelope, 'Story', story), fields);
      if (invoice) invoices.set(story.id, invoice);
    }
    return invoices;
  }

  async recordProjectBillingStatus(update: ProjectBillingStatusUpdate): Promise<{ readonly applied: boolean }> {
    const fields = await this.fields(PROJECT_FIELDS);
    const asOf = new Date(update.asOf).toISOString();
    const envelope = await this.kantata.get('recordProjectBillingStatus', '/workspaces', {
      ...this.workspaceParams(),
      external_reference_service_model_refs: update.projectId,
    });
    const found = this.workspaces(envelope).find((candidate) => candidate.projectId === update.projectId);
    if (!found) throw inputError(ErrorCode.NOT_FOUND, `Project ${update.projectId} does not exist in the PSA.`);
    const stored = textValue(valueOf(valuesOf(envelope, 'Workspace', found.workspace), fields.billingStatusAsOf));
    if (notNewer(stored, asOf)) return { applied: false };
    await this.write('recordProjectBillingStatus', 'Workspace', found.workspace.id, [
      [fields.billed, [update.billedMinor, update.currency]],
      [fields.unbilled, [update.unbilledMinor, update.currency]],
      [fields.lastInvoiceId, update.lastInvoiceId ?? ''],
      [fields.lastInvoiceNumber, update.lastInvoiceNumber ?? ''],
      [fields.lastInvoiceStatus, update.lastInvoiceStatus ?? ''],
    ]);
    await this.write('recordProjectBillingStatus', 'Workspace', found.workspace.id, [[fields.billingStatusAsOf, asOf]]);
    return { applied: true };
  }

  async recordMilestoneInvoice(update: MilestoneInvoiceUpdate): Promise<{ readonly applied: boolean }> {
    const fields = await this.fields(MILESTONE_FIELDS);
    const asOf = new Date(update.asOf).toISOString();
    // A milestone is a story of one of psgraph's workspaces: the replica knows which (kantataMilestoneReplica.ts).
    await this.options.replicaReady();
    if (!this.replica.milestones.state(update.milestoneId)) throw inputError(ErrorCode.NOT_FOUND, `Milestone ${update.milestoneId} does not exist in the PSA.`);
    const envelope = await this.kantata.get('recordMilestoneInvoice', `/stories/${update.milestoneId}`, STORY_PARAMS);
    const [story] = resultsOf(envelope, 'stories');
    if (!story) throw inputError(ErrorCode.NOT_FOUND, `Milestone ${update.milestoneId} does not exist in the PSA.`);
    const stored = textValue(valueOf(valuesOf(envelope, 'Story', story), fields.invoiceAsOf));
    if (notNewer(stored, asOf)) return { applied: false };
    await this.write('recordMilestoneInvoice', 'Story', story.id, [
      [fields.invoiceId, update.invoiceId],
      [fields.invoiceNumber, update.invoiceNumber ?? ''],
      [fields.invoiceStatus, update.invoiceStatus],
    ]);
    await this.write('recordMilestoneInvoice', 'Story', story.id, [[fields.invoiceAsOf, asOf]]);
    return { applied: true };
  }

  // ---- helpers ----

  /** The fields a call needs, each found in the account (or the first missing one refused by name). */
  private async fields<K extends FieldKey>(keys: readonly K[]): Promise<Fields<K>> {
    const found = {} as Record<K, CustomField>;
    for (const key of keys) found[key] = await this.catalog.field(key);
    return found;
  }

  private workspaceParams() {
    return { ...WORKSPACE_PARAMS, external_reference_service_name: this.options.serviceName };
  }

  /** The envelope's workspaces psgraph created, with their canonical project IDs. */
  private workspaces(envelope: Envelope): Array<{ projectId: string; workspace: KantataRecord }> {
    const context = { serviceName: this.options.serviceName, externalReferences: sideLoaded(envelope, 'external_references') };
    return resultsOf(envelope, 'workspaces').flatMap((workspace) => {
      const projectId = canonicalIdOf(workspace, context);
      return projectId ? [{ projectId, workspace }] : [];
    });
  }

  /** One bulk `POST /custom_field_values` (at most 100 values: psgraph sends six at most). */
  private async write(
    operation: string,
    subjectType: string,
    subjectId: string,
    values: ReadonlyArray<readonly [CustomField, CustomParamValue]>,
  ): Promise<void> {
    const body = {
      custom_field_values: values.map(([field, value]) => ({ subject_type: subjectType, subject_id: Number(subjectId), ...customFieldParam(field, value) })),
    };
    await this.kantata.send(operation, true, 'POST', '/custom_field_values', body);
  }

  /** Null when billing never reported on the project (no as-of). */
  private projectStatus(
    projectId: string,
    values: ReadonlyMap<string, KantataRecord>,
    fields: Fields<(typeof PROJECT_FIELDS)[number]>,
  ): ProjectBillingStatus | null {
    const asOf = textValue(valueOf(values, fields.billingStatusAsOf));
    if (asOf === null) return null;
    const billed = currencyAmount(valueOf(values, fields.billed));
    const unbilled = currencyAmount(valueOf(values, fields.unbilled));
    return {
      projectId,
      asOf: new Date(asOf).toISOString(),
      currency: billed?.currency ?? unbilled?.currency ?? '',
      billedMinor: billed?.cents ?? 0,
      unbilledMinor: unbilled?.cents ?? 0,
      lastInvoiceId: textValue(valueOf(values, fields.lastInvoiceId)),
      lastInvoiceNumber: textValue(valueOf(values, fields.lastInvoiceNumber)),
      lastInvoiceStatus: textValue(valueOf(values, fields.lastInvoiceStatus)) as InvoiceStatus | null,
      updatedAt: changedAt(values, fields.billingStatusAsOf, asOf),
    };
  }

  /** Null when the milestone was never invoiced (no invoice or no as-of). */
  private milestoneInvoice(
    milestoneId: string,
    values: ReadonlyMap<string, KantataRecord>,
    fields: Fields<(typeof MILESTONE_FIELDS)[number]>,
  ): MilestoneInvoice | null {
    const asOf = textValue(valueOf(values, fields.invoiceAsOf));
    const invoiceId = textValue(valueOf(values, fields.invoiceId));
    if (asOf === null || invoiceId === null) return null;
    return {
      milestoneId,
      asOf: new Date(asOf).toISOString(),
      invoiceId,
      invoiceNumber: textValue(valueOf(values, fields.invoiceNumber)),
      invoiceStatus: textValue(valueOf(values, fields.invoiceStatus)) as InvoiceStatus,
      updatedAt: changedAt(values, fields.invoiceAsOf, asOf),
    };
  }
}
