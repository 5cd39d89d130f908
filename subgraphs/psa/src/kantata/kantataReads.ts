/**
 * The PSA port's reads over Kantata OX. Projects and consultants are read from the API, batched (workspaces by their
 * psgraph external references, users by `only=`, 200 keys a call); searches list every match (200 a call) and page
 * locally, because psgraph's order breaks ties by the canonical project ID, which Kantata cannot sort by — so
 * their cost grows with the matches, never with the page size. What hangs off many projects at once — milestones,
 * staffing and time — is read from the local replica (kantataReplica.ts): the API cannot answer it per project
 * in a bounded number of calls.
 */
import type { BusEvent } from '../../../platform/src/events/index.js';
import type { PageRequest, SearchResult } from '../../../platform/src/index.js';
import type {
  ApprovedTimeQuery,
  ProjectSearch,
  PsaApprovedTime,
  PsaAssignment,
  PsaMilestone,
  PsaProject,
  PsaResource,
  PsaResourceRequest,
  PsaSystem,
  PsaTimeTotals,
  ResourceSearch,
} from '../psaPort.js';
import { CustomValues, type KantataCatalog } from './kantataCatalog.js';
import { type Envelope, type KantataClient, resultsOf, sideLoaded } from './kantataClient.js';
import { type RecordContext, toProject, toResource } from './kantataRecords.js';
import type { KantataReplica } from './kantataReplica.js';
import { isoStamp } from './kantataSync.js';

export const WORKSPACE_PARAMS = { include: 'custom_field_values,external_references,primary_maven', include_archived: true } as const;
const USER_PARAMS = { include: 'custom_field_values,role,skills' } as const;

export interface KantataPsaOptions {
  /** The `service_name` of psgraph's external references. */
  readonly serviceName: string;
  /** Resolves once the replica has been filled (starting its sync if need be). */
  readonly replicaReady: () => Promise<void>;
  /** Brings the replica up to what Kantata holds now (one polling round), before a write that depends on it. */
  readonly syncNow: () => Promise<void>;
  /** One local transaction of psgraph's own write: replica rows, and the events they mean into the outbox. */
  readonly commit: (work: (events: BusEvent[]) => void) => void;
}

/** A day before or after an ISO date: Kantata's `…_after` and `…_before` date filters exclude the date given. */
const shiftDay = (iso: string, days: number) => new Date(Date.parse(`${iso}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
const isIsoDate = (value: string | null | undefined): value is string => typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
/** SQLite's LIKE: ASCII letters match either case. */
const asciiLower = (value: string) => value.replace(/[A-Z]/g, (c) => c.toLowerCase());
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class KantataReads implements PsaSystem {
  constructor(
    protected readonly kantata: KantataClient,
    protected readonly catalog: KantataCatalog,
    protected readonly replica: KantataReplica,
    protected readonly options: KantataPsaOptions,
  ) {}

  // ---- projects ----

  async projectsById(ids: readonly string[]): Promise<Map<string, PsaProject>> {
    if (ids.length === 0) return new Map();
    const envelope = await this.kantata.lookup('projectsById', '/workspaces', 'external_reference_service_model_refs', ids, this.workspaceFilter());
    const wanted = new Set(ids);
    return new Map((await this.projects(envelope)).filter((project) => wanted.has(project.id)).map((project) => [project.id, project]));
  }

  async searchProjects(search: ProjectSearch, page: PageRequest): Promise<SearchResult<PsaProject>> {
    const lists = [search.statuses, search.regions, search.serviceLines, search.contractTypes];
    if (lists.some((list) => list?.length === 0)) return { rows: [], totalCount: 0 };
    const choices: string[] = [];
    for (const [key, values] of [
      ['region', search.regions],
      ['serviceLine', search.serviceLines],
      ['contractType', search.contractTypes],
    ] as const) {
      if (!values) continue;
      const ids = (await Promise.all(values.map((value) => this.catalog.choiceId(key, value)))).filter((id): id is string => id !== undefined);
      if (ids.length === 0) return { rows: [], totalCount: 0 };
      choices.push(`(${(await this.catalog.field(key)).id}:${ids.join(',')})`);
    }
    const startAfter = isIsoDate(search.startFrom) ? shiftDay(search.startFrom, -1) : undefined;
    const startBefore = [search.startTo, search.activeTo].filter(isIsoDate).sort()[0];
    const envelope = await this.kantata.list('searchProjects', '/workspaces', {
      ...WORKSPACE_PARAMS,
      ...(choices.length > 0 ? { by_custom_choice_value: choices.join(':') } : {}),
      ...(search.accountId ? { by_custom_text_value: `(${(await this.catalog.field('accountId')).id}:${search.accountId})` } : {}),
      ...(startAfter ? { start_date_after: startAfter } : {}),
      ...(startBefore ? { start_date_before: shiftDay(startBefore, 1) } : {}),
      ...(isIsoDate(search.activeFrom) ? { due_date_after: shiftDay(search.activeFrom, -1) } : {}),
    });
    // Kantata's filters narrow the listing; the sandbox's own conditions decide, so both answer alike.
    const matches = (await this.projects(envelope))
      .filter(
        (project) =>
          (!search.statuses || search.statuses.includes(project.status)) &&
          (!search.regions || search.regions.includes(project.region)) &&
          (!search.serviceLines || search.serviceLines.includes(project.serviceLine)) &&
          (!search.contractTypes || search.contractTypes.includes(project.contractType)) &&
          (search.accountId == null || project.accountId === search.accountId) &&
          (search.accountIds == null || search.accountIds.includes(project.accountId)) &&
          (search.activeFrom == null || project.endDate >= search.activeFrom) &&
          (search.activeTo == null || project.startDate <= search.activeTo) &&
          (search.startFrom == null || project.startDate >= search.startFrom) &&
          (search.startTo == null || project.startDate <= search.startTo),
      )
      .sort((a, b) => byText(a.startDate, b.startDate) || byText(a.id, b.id));
    return { rows: matches.slice(page.offset, page.offset + page.limit), totalCount: matches.length };
  }

  // ---- consultants ----

  async resourcesById(ids: readonly string[]): Promise<Map<string, PsaResource>> {
    if (ids.length === 0) return new Map();
    const envelope = await this.kantata.lookup('resourcesById', '/users', 'only', ids, USER_PARAMS);
    const wanted = new Set(ids);
    return new Map((await this.resources(envelope)).filter((resource) => wanted.has(resource.id)).map((resource) => [resource.id, resource]));
  }

  async searchResources(search: ResourceSearch, page: PageRequest): Promise<SearchResult<PsaResource>> {
    const matches = await this.matchingResources('searchResources', search);
    return { rows: matches.slice(page.offset, page.offset + page.limit), totalCount: matches.length };
  }

  async resourcesMatching(search: ResourceSearch, limit: number): Promise<readonly PsaResource[]> {
    return (await this.matchingResources('resourcesMatching', search)).slice(0, limit);
  }

  // ---- milestones, staffing, time ----

  async milestonesByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaMilestone[]>> {
    await this.options.replicaReady();
    return this.replica.milestonesByProjectId(projectIds);
  }

  async resourceRequestsByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaResourceRequest[]>> {
    await this.options.replicaReady();
    return this.replica.requestsByProjectId(projectIds);
  }

  async assignmentsByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaAssignment[]>> {
    await this.options.replicaReady();
    return this.replica.assignmentsByProjectId(projectIds);
  }

  async assignmentsByResourceId(resourceIds: readonly string[]): Promise<Map<string, PsaAssignment[]>> {
    await this.options.replicaReady();
    return this.replica.assignmentsByResourceId(resourceIds);
  }

  async assignmentsByRequestId(requestIds: readonly string[]): Promise<Map<string, PsaAssignment>> {
    await this.options.replicaReady();
    return this.replica.assignmentsByRequestId(requestIds);
  }

  async timeTotalsByProjectId(projectIds: readonly string[]): Promise<Map<string, PsaTimeTotals>> {
    await this.options.replicaReady();
    return this.replica.timeTotalsByProjectId(projectIds);
  }

  async approvedTimeByPeriod(query: ApprovedTimeQuery): Promise<readonly PsaApprovedTime[]> {
    await this.options.replicaReady();
    return this.replica.approvedTimeByPeriod(query.resourceIds, query.fromDate, query.toDate, query.granularity);
  }

  // ---- helpers ----

  protected workspaceFilter() {
    return { ...WORKSPACE_PARAMS, external_reference_service_name: this.options.serviceName };
  }

  /** The project with this canonical ID, asked of Kantata (by its external reference). */
  protected async findWorkspace(projectId: string): Promise<PsaProject | null> {
    const envelope = await this.kantata.get('findProject', '/workspaces', { ...this.workspaceFilter(), external_reference_service_model_refs: projectId });
    return (await this.projects(envelope)).find((project) => project.id === projectId) ?? null;
  }

  private async context(envelope: Envelope): Promise<RecordContext> {
    return {
      fields: await this.catalog.all(),
      values: CustomValues.of(envelope),
      serviceName: this.options.serviceName,
      externalReferences: sideLoaded(envelope, 'external_references'),
      roles: sideLoaded(envelope, 'roles'),
      skills: sideLoaded(envelope, 'skills'),
    };
  }

  /** The envelope's workspaces as projects (psgraph's only), their canonical IDs noted in the replica. */
  protected async projects(envelope: Envelope): Promise<PsaProject[]> {
    const context = await this.context(envelope);
    const records = resultsOf(envelope, 'workspaces');
    const projects = records.flatMap((record) => {
      const project = toProject(record, context);
      return project ? [{ record, project }] : [];
    });
    this.options.commit(() => {
      for (const { record, project } of projects) {
        this.replica.applyWorkspace({
          id: record.id,
          project_id: project.id,
          currency: project.currency,
          start_date: project.startDate,
          updated_at: isoStamp(record['updated_at']),
        });
      }
    });
    return projects.map(({ project }) => project);
  }

  private async resources(envelope: Envelope): Promise<PsaResource[]> {
    const context = await this.context(envelope);
    return resultsOf(envelope, 'users').map((user) => toResource(user, context));
  }

  /** Every consultant the search matches, in the sandbox's order (name, then ID). */
  private async matchingResources(operation: string, search: ResourceSearch): Promise<PsaResource[]> {
    if ([search.ids, search.roles, search.regions].some((list) => list?.length === 0)) return [];
    let envelope: Envelope;
    if (search.ids) {
      envelope = await this.kantata.lookup(operation, '/users', 'only', search.ids, USER_PARAMS);
    } else {
      const regionIds = search.regions
        ? (await Promise.all(search.regions.map((region) => this.catalog.choiceId('homeRegion', region)))).filter((id): id is string => id !== undefined)
        : undefined;
      if (regionIds?.length === 0) return [];
      envelope = await this.kantata.list(operation, '/users', {
        ...USER_PARAMS,
        on_my_account: true,
        ...(regionIds ? { by_custom_choice_value: `${(await this.catalog.field('homeRegion')).id}:${regionIds.join(',')}` } : {}),
        ...(search.nameContains ? { by_full_name: search.nameContains } : {}),
      });
    }
    const name = search.nameContains == null ? null : asciiLower(search.nameContains);
    const skill = search.skill == null ? null : asciiLower(search.skill);
    return (await this.resources(envelope))
      .filter(
        (resource) =>
          (!search.ids || search.ids.includes(resource.id)) &&
          (!search.roles || search.roles.includes(resource.role.code)) &&
          (!search.regions || search.regions.includes(resource.region)) &&
          (skill === null || resource.skills.some((candidate) => asciiLower(candidate) === skill)) &&
          (name === null || asciiLower(resource.name).includes(name)),
      )
      .sort((a, b) => byText(a.name, b.name) || byText(a.id, b.id));
  }
}
