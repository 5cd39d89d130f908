/**
 * The PSA port's conformance suite: every read and write of the port, made on the sandbox (the reference) and on
 * the adapter under test over the same world, must give the same answer — the same records in the same order, the
 * same totals, the same refusals with the same codes and messages — and the same business events. A vendor
 * adapter "works" when this passes against a server that speaks its vendor's wire format.
 */
import { eventually } from '../../platform/test/testSupport.js';
import { describe, expect, it } from 'vitest';
import type { EventBus } from '../../platform/src/events/index.js';
import type { EventRelay } from '../../platform/src/index.js';
import { expectSameOutcome, recordEvents } from '../../platform/test/portConformance.js';
import type { World } from '../../sandboxes/src/world/world.js';
import type { PsaAdapter } from '../src/psaPort.js';

export interface PsaPortsUnderTest {
  readonly world: World;
  readonly reference: PsaAdapter;
  readonly candidate: PsaAdapter;
  /** Each adapter's events on a bus of its own. */
  readonly referenceBus: EventBus;
  readonly candidateBus: EventBus;
  readonly referenceRelay: EventRelay;
  readonly candidateRelay: EventRelay;
}

const MISSING_PROJECT = 'prj_01JFJG60M0Q0CQE75AR8B3HMHQ';

export function describePsaPortConformance(name: string, ports: () => PsaPortsUnderTest): void {
  describe(`the PSA port over ${name} answers as the sandbox does`, () => {
    const same = (what: string, call: (port: PsaAdapter['port']) => Promise<unknown>) =>
      expectSameOutcome(ports().reference.port, ports().candidate.port, call, what);
    const world = () => ports().world;
    const projects = () => world().projects;
    const projectIds = () => projects().map((project) => project.id);
    const consultantIds = () => world().consultants.map((consultant) => consultant.psaId);

    it('reads projects by canonical ID, missing ones absent', async () => {
      await same('projectsById', (port) => port.projectsById([...projectIds().slice(0, 30), MISSING_PROJECT]));
      await same('projectsById none', (port) => port.projectsById([]));
    });

    it('searches projects with every filter, paged and counted the same way', async () => {
      const sample = projects()[7]!;
      for (const [label, search] of [
        ['no filter', {}],
        ['active', { statuses: ['ACTIVE'] }],
        ['planned or on hold', { statuses: ['PLANNED', 'ON_HOLD'] }],
        ['regions', { regions: ['EUROPE', 'APAC'] }],
        ['service line and contract type', { serviceLines: [sample.serviceLine], contractTypes: ['FIXED_FEE', 'MILESTONE'] }],
        ['account', { accountId: world().accounts[sample.accountIndex]!.crmId }],
        ['active during', { activeFrom: '2026-03-01', activeTo: '2026-06-30' }],
        ['starting between', { startFrom: '2025-06-01', startTo: '2026-01-31' }],
        ['no status', { statuses: [] }],
        ['unknown region', { regions: ['ATLANTIS'] }],
      ] as const) {
        await same(`searchProjects ${label}`, (port) => port.searchProjects(search, { limit: 25, offset: 0 }));
        await same(`searchProjects ${label}, page 3`, (port) => port.searchProjects(search, { limit: 25, offset: 50 }));
      }
    });

    it('reads and searches consultants by ID, role, region, skill and name', async () => {
      await same('resourcesById', (port) => port.resourcesById([...consultantIds().slice(0, 25), '99999999']));
      const skilled = world().consultants.find((consultant) => consultant.skills.length > 0)!;
      for (const [label, search] of [
        ['no filter', {}],
        ['roles', { roles: ['DATA_ENGINEER', 'CONSULTANT'] }],
        ['region', { regions: ['NORTH_AMERICA'] }],
        ['skill, any case', { skill: skilled.skills[0]!.toLowerCase() }],
        ['name contains', { nameContains: 'an' }],
        ['name with LIKE wildcards', { nameContains: '%_' }],
        ['ids', { ids: consultantIds().slice(3, 9) }],
        ['no roles', { roles: [] }],
      ] as const) {
        await same(`searchResources ${label}`, (port) => port.searchResources(search, { limit: 20, offset: 0 }));
        await same(`searchResources ${label}, page 2`, (port) => port.searchResources(search, { limit: 20, offset: 20 }));
      }
      await same('resourcesMatching', (port) => port.resourcesMatching({ regions: ['EUROPE'], roles: ['CONSULTANT', 'ANALYST'] }, 7));
    });

    it('reads milestones, staffing requests and assignments by project, consultant and request', async () => {
      const ids = [...projectIds().slice(0, 40), MISSING_PROJECT];
      await same('milestonesByProjectId', (port) => port.milestonesByProjectId(ids));
      await same('resourceRequestsByProjectId', (port) => port.resourceRequestsByProjectId(ids));
      await same('assignmentsByProjectId', (port) => port.assignmentsByProjectId(ids));
      await same('assignmentsByResourceId', (port) => port.assignmentsByResourceId([...consultantIds().slice(0, 30), '99999999']));
      const requestIds = projects()
        .slice(0, 30)
        .flatMap((project) => project.requests.map((request) => request.psaId));
      await same('assignmentsByRequestId', (port) => port.assignmentsByRequestId([...requestIds, '99999999']));
    });

    it('sums booked time per project and approved time per consultant and period', async () => {
      await same('timeTotalsByProjectId', (port) => port.timeTotalsByProjectId([...projectIds().slice(0, 60), MISSING_PROJECT]));
      const resourceIds = consultantIds().slice(0, 40);
      for (const granularity of ['MONTH', 'WEEK'] as const) {
        await same(`approvedTimeByPeriod ${granularity}`, (port) =>
          port.approvedTimeByPeriod({ resourceIds, fromDate: '2026-01-15', toDate: '2026-06-10', granularity }),
        );
      }
    });

    it('creates a project once, opens and cancels its staffing requests with the same events, and deletes it', async () => {
      const { referenceBus, candidateBus, referenceRelay, candidateRelay } = ports();
      const template = projects()[3]!;
      const newProject = {
        id: 'prj_01JFJG60M0Q0CQE75AR8B3HMHA',
        accountId: world().accounts[template.accountIndex]!.crmId,
        code: 'PRJ-99001',
        name: 'Conformance · new engagement',
        region: template.region,
        serviceLine: template.serviceLine,
        contractType: template.contractType,
        currency: template.currency,
        startDate: '2027-01-04',
        endDate: '2027-06-30',
        managerId: world().consultants[template.managerIndex]!.psaId,
      };
      const requests = [
        { role: 'DATA_ENGINEER', hours: 120, startDate: '2027-01-04', endDate: '2027-03-31' },
        { role: 'PROJECT_MANAGER', hours: 42.5, startDate: '2027-01-04', endDate: '2027-06-30' },
      ];
      const referenceEvents = recordEvents(referenceBus);
      const candidateEvents = recordEvents(candidateBus);
      try {
        await same('createProject', (port) => port.createProject(newProject));
        await same('createProject again', (port) => port.createProject(newProject));
        await same('createProject of a seeded ID', (port) => port.createProject({ ...newProject, id: template.id }));
        await same('projectsById after create', (port) => port.projectsById([newProject.id]));
        await same('createResourceRequests', (port) => port.createResourceRequests(newProject.id, requests));
        await same('createResourceRequests missing project', (port) => port.createResourceRequests(MISSING_PROJECT, requests));
        await same('requests after create', (port) => port.resourceRequestsByProjectId([newProject.id]));
        await same('cancelResourceRequests', (port) => port.cancelResourceRequests(newProject.id));
        await same('cancelResourceRequests missing project', (port) => port.cancelResourceRequests(MISSING_PROJECT));
        await same('deleteProject', (port) => port.deleteProject(newProject.id));
        await same('deleteProject again', (port) => port.deleteProject(newProject.id));
        await same('projectsById after delete', (port) => port.projectsById([newProject.id]));
        await same('deleteProject of a staffed project', (port) => port.deleteProject(projects().find((project) => project.status === 'ACTIVE')!.id));
        await Promise.all([referenceRelay.flush(), candidateRelay.flush()]);
        await eventually(() => expect(candidateEvents.events).toEqual(referenceEvents.events));
        expect(referenceEvents.events.map((event) => event.type)).toEqual(['resource_request.created', 'resource_request.created']);
      } finally {
        referenceEvents.stop();
        candidateEvents.stop();
      }
    });

    it('confirms a tentative assignment once, fulfilling its request, and refuses closed and missing ones', async () => {
      const { referenceBus, candidateBus, referenceRelay, candidateRelay } = ports();
      const held = projects().flatMap((project) =>
        project.requests.filter((request) => request.status === 'HELD').map((request) => ({ project, request })),
      )[0]!;
      const closed = projects().flatMap((project) => project.requests.filter((request) => request.assignment?.status === 'CLOSED'))[0]!;
      const referenceEvents = recordEvents(referenceBus);
      const candidateEvents = recordEvents(candidateBus);
      try {
        await same('confirmAssignment', (port) => port.confirmAssignment(held.request.assignment!.psaId));
        await same('confirmAssignment again', (port) => port.confirmAssignment(held.request.assignment!.psaId));
        await same('request after confirmation', (port) => port.resourceRequestsByProjectId([held.project.id]));
        await same('confirmAssignment closed', (port) => port.confirmAssignment(closed.assignment!.psaId));
        await same('confirmAssignment missing', (port) => port.confirmAssignment('99999999'));
        await Promise.all([referenceRelay.flush(), candidateRelay.flush()]);
        await eventually(() => expect(candidateEvents.events).toEqual(referenceEvents.events));
        expect(referenceEvents.events.map((event) => [event.type, event.subject])).toEqual([['assignment.confirmed', held.request.assignment!.psaId]]);
      } finally {
        referenceEvents.stop();
        candidateEvents.stop();
      }
    });
  });
}

/** Retries an expectation until it holds (events cross a bus). */
export { eventually };
