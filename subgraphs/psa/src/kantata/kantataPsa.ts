/**
 * The PSA port over Kantata OX: the reads (kantataReads.ts) and the writes psgraph makes. Each write checks first,
 * against Kantata itself, what the sandbox checks, and refuses with the sandbox's codes and messages. Kantata has no
 * idempotency key: a create is sent once and never retried blindly; when its answer is lost, psgraph looks the
 * record up by its external reference before anything else. Cancels are PUTs of the same status and the delete is
 * a DELETE (gone is gone): those are retried like reads. What a write changes goes into the replica at once, with
 * the events it means, so psgraph reads its own writes.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from '../../../platform/src/index.js';
import { VendorError } from '../../../platform/src/vendor/vendorError.js';
import type { NewPsaProject, NewResourceRequest, PsaAssignment, PsaProject, PsaResourceRequest, PsaWrites } from '../psaPort.js';
import type { PsaDelivery } from '../psaDeliveryPort.js';
import type { PsaBillingStatus } from '../psaBillingStatusPort.js';
import { KantataBillingStatus } from './kantataBillingStatus.js';
import { kantataDelivery } from './kantataDelivery.js';
import { CUSTOM_FIELDS, CustomValues, type FieldKey, customFieldParam } from './kantataCatalog.js';
import { type Envelope, KANTATA, resultsOf, sideLoaded } from './kantataClient.js';
import { KantataReads, WORKSPACE_PARAMS } from './kantataReads.js';
import { PROJECT_SERVICE_MODEL, text } from './kantataRecords.js';
import type { ResourceRow } from './kantataReplica.js';
import { RESOURCE_PARAMS, isoStamp, resourceRow } from './kantataSync.js';

export class KantataPsa extends KantataReads implements PsaWrites {
  /** Timesheets and expenses through their approvals over Kantata's submissions, milestones over their stories; logging time not yet (kantataDelivery.ts). */
  readonly delivery: PsaDelivery = kantataDelivery(this.kantata, this.catalog, this.replica, this.options);
  /** A project's billing status and its milestones' invoices, in custom fields of workspaces and stories (kantataBillingStatus.ts). */
  readonly billingStatus: PsaBillingStatus = new KantataBillingStatus(this.kantata, this.catalog, this.replica, this.options);

  async createProject(project: NewPsaProject): Promise<PsaProject> {
    if (await this.findWorkspace(project.id))
      throw inputError(ErrorCode.CONFLICT, `A project with external reference ${project.id} already exists in the PSA.`);
    const customFields = [
      customFieldParam(await this.catalog.field('projectCode'), project.code),
      customFieldParam(await this.catalog.field('accountId'), project.accountId),
      ...(await Promise.all(
        (
          [
            ['region', project.region],
            ['serviceLine', project.serviceLine],
            ['contractType', project.contractType],
          ] as const
        ).map(async ([key, value]) => customFieldParam(await this.catalog.field(key), { choice: await this.requireChoice(key, value) })),
      )),
    ];
    const body = {
      workspace: {
        title: project.name,
        start_date: project.startDate,
        due_date: project.endDate,
        currency: project.currency,
        budgeted: true,
        creator_role: 'maven',
        primary_maven_id: Number(project.managerId),
        external_reference: {
          service_name: this.options.serviceName,
          service_model: PROJECT_SERVICE_MODEL,
          service_model_ref: project.id,
          status: 'successful',
        },
        custom_fields: customFields,
      },
    };
    let envelope: Envelope;
    try {
      envelope = await this.kantata.send('createProject', false, 'POST', '/workspaces', body, WORKSPACE_PARAMS);
    } catch (error) {
      // The answer was lost, not necessarily the workspace: look for it rather than create a second one.
      if (error instanceof VendorError && (error.failure === 'UNAVAILABLE' || error.failure === 'TIMEOUT')) {
        const created = await this.findWorkspace(project.id).catch(() => null);
        if (created) return created;
      }
      throw error;
    }
    const [created] = await this.projects(envelope);
    if (!created) throw new VendorError(KANTATA, 'UNAVAILABLE', `Kantata answered the creation of project ${project.id} without the workspace.`);
    return created;
  }

  async createResourceRequests(projectId: string, requests: readonly NewResourceRequest[]): Promise<PsaResourceRequest[]> {
    const project = await this.findWorkspace(projectId);
    if (!project) throw inputError(ErrorCode.NOT_FOUND, `Project ${projectId} does not exist in the PSA.`);
    await this.options.replicaReady();
    const roleIds = requests.map((request, i) => {
      const roleId = this.replica.roleIdOf(request.role);
      if (!roleId)
        throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "requests[${i}].role" is not a Kantata role: "${request.role}".`, {
          argument: `requests[${i}].role`,
        });
      return roleId;
    });
    const fields = await this.catalog.all();
    const created: string[] = [];
    // One POST per request, each sent once: a request whose answer is lost is found by the caller's search
    // (the project's requests) rather than created twice.
    for (const [i, request] of requests.entries()) {
      const minutes = Math.round(request.hours * 60);
      const envelope = await this.kantata.send(
        'createResourceRequests',
        false,
        'POST',
        '/resource_requests',
        {
          resource_request: {
            resource_workspace_id: Number(project.psaId),
            resource_role_id: Number(roleIds[i]),
            approver_ids: [Number(project.managerId)],
            workspace_allocation_start_date: request.startDate,
            workspace_allocation_end_date: request.endDate,
            custom_fields: [
              customFieldParam(fields.get('requestedMinutes')!, minutes),
              customFieldParam(fields.get('requestedStart')!, request.startDate),
              customFieldParam(fields.get('requestedEnd')!, request.endDate),
            ],
          },
        },
        { include: 'resource' },
      );
      const [record] = resultsOf(envelope, 'resource_requests');
      if (!record) throw new VendorError(KANTATA, 'UNAVAILABLE', `Kantata answered a new resource request of project ${projectId} without it.`);
      const resource = sideLoaded(envelope, 'workspace_resources').get(text(record['resource_id']));
      this.options.commit((events) => {
        this.replica.applyResource(
          {
            id: text(record['resource_id']),
            workspace_id: project.psaId,
            user_id: null,
            role_id: roleIds[i]!,
            booking: null,
            bill_rate: null,
            cost_rate: null,
            requested_minutes: minutes,
            requested_start: request.startDate,
            requested_end: request.endDate,
            updated_at: isoStamp(resource?.['updated_at'] ?? record['updated_at']),
          },
          events,
        );
        this.replica.applyRequest({
          id: record.id,
          resource_id: text(record['resource_id']),
          status: text(record['status']),
          updated_at: isoStamp(record['updated_at']),
        });
        this.replica.announceRequests(events);
      });
      created.push(record.id);
    }
    const byId = new Map(this.replica.requestsById(created).map((request) => [request.id, request]));
    return created.map((id) => byId.get(id)!);
  }

  async cancelResourceRequests(projectId: string): Promise<PsaResourceRequest[]> {
    const project = await this.findWorkspace(projectId);
    if (!project) return [];
    // Requests someone opened or approved in Kantata since the last poll are cancelled too.
    await this.options.syncNow();
    const standing = (this.replica.requestsByProjectId([projectId]).get(projectId) ?? []).filter(
      (request) => request.status === 'OPEN' || request.status === 'HELD',
    );
    for (const request of standing) {
      const envelope = await this.kantata.send(
        'cancelResourceRequests',
        true,
        'PUT',
        `/resource_requests/${request.id}`,
        { resource_request: { status: 'cancelled' } },
        { include: 'resource' },
      );
      const [record] = resultsOf(envelope, 'resource_requests');
      if (record) {
        this.options.commit(() =>
          this.replica.applyRequest({
            id: record.id,
            resource_id: text(record['resource_id']),
            status: text(record['status']),
            updated_at: isoStamp(record['updated_at']),
          }),
        );
      }
    }
    return this.replica.requestsByProjectId([projectId]).get(projectId) ?? [];
  }

  async deleteProject(projectId: string): Promise<boolean> {
    const project = await this.findWorkspace(projectId);
    if (!project) return false;
    const [named, entries] = await Promise.all([
      this.kantata.get('deleteProject', '/workspace_resources', { workspace_id: project.psaId, per_page: 1 }),
      this.kantata.get('deleteProject', '/time_entries', { workspace_id: project.psaId, from_archived_workspaces: true, per_page: 1 }),
    ]);
    if (named.count > 0 || entries.count > 0)
      throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Project ${projectId} has assignments or time; it can be cancelled, not deleted.`);
    try {
      await this.kantata.send('deleteProject', true, 'DELETE', `/workspaces/${project.psaId}`);
    } catch (error) {
      // Deleted already (a retry whose first answer was lost): gone is what was asked.
      if (!(error instanceof VendorError && error.failure === 'NOT_FOUND')) throw error;
    }
    this.options.commit(() => this.replica.removeWorkspace(project.psaId));
    return true;
  }

  async confirmAssignment(assignmentId: string): Promise<PsaAssignment> {
    const current = await this.workspaceResource(assignmentId);
    if (!current || current.user_id === null) throw inputError(ErrorCode.NOT_FOUND, `Assignment ${assignmentId} does not exist in the PSA.`);
    if (current.booking === 'CLOSED') throw inputError(ErrorCode.INVALID_STATE_TRANSITION, `Assignment ${assignmentId} is closed; it cannot be confirmed.`);
    await this.options.replicaReady();
    // What Kantata holds now goes into the replica first (a confirmation made there is its own event).
    this.options.commit((events) => this.replica.applyResource(current, events));
    // A project the replica has not seen yet (created in Kantata since the last poll) is read in first.
    if (!this.replica.assignment(assignmentId)) await this.options.syncNow();
    if (current.booking === 'TENTATIVE') {
      const booking = await this.catalog.field('bookingStatus');
      const confirmed = await this.requireChoice('bookingStatus', 'Confirmed');
      const envelope = await this.kantata.send(
        'confirmAssignment',
        true,
        'PUT',
        `/workspace_resources/${assignmentId}`,
        { workspace_resource: { custom_fields: [customFieldParam(booking, { choice: confirmed })] } },
        RESOURCE_PARAMS,
      );
      const [record] = resultsOf(envelope, 'workspace_resources');
      const fields = await this.catalog.all();
      if (record) this.options.commit((events) => this.replica.applyResource(resourceRow(record, CustomValues.of(envelope), fields), events));
    }
    const assignment = this.replica.assignment(assignmentId);
    if (!assignment) throw inputError(ErrorCode.NOT_FOUND, `Assignment ${assignmentId} does not exist in the PSA.`);
    return assignment;
  }

  // ---- helpers ----

  /** A workspace resource as Kantata holds it now (named ones only: an unnamed resource is no assignment). */
  private async workspaceResource(id: string): Promise<ResourceRow | null> {
    const envelope = await this.kantata.lookup('findAssignment', '/workspace_resources', 'only', [id], RESOURCE_PARAMS);
    const [record] = resultsOf(envelope, 'workspace_resources');
    return record ? resourceRow(record, CustomValues.of(envelope), await this.catalog.all()) : null;
  }

  private async requireChoice(key: FieldKey, value: string): Promise<string> {
    const id = await this.catalog.choiceId(key, value);
    if (id === undefined) {
      const field = CUSTOM_FIELDS[key];
      throw inputError(ErrorCode.BAD_USER_INPUT, `"${value}" is not a choice of the Kantata ${field.subject} field "${field.name}".`);
    }
    return id;
  }
}
