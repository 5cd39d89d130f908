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
import type { MilestoneInvoiceUpdate, ProjectBillingStatusUpdate } from '../src/psaBillingStatusPort.js';
import type { PsaDelivery, PsaTimesheet } from '../src/psaDeliveryPort.js';
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

export interface PsaConformanceOptions {
  /**
   * The vendor whose adapter does not take billing status through psgraph yet: every billing status call must
   * answer SYSTEM_OPERATION_UNSUPPORTED naming it (never an empty answer that reads as "never billed").
   */
  readonly billingStatusUnsupportedBy?: string;
  /**
   * The delivery calls the adapter does not take through psgraph yet (each must answer SYSTEM_OPERATION_UNSUPPORTED
   * naming `system`); every other delivery call must answer as the sandbox does.
   */
  readonly deliveryUnsupported?: { readonly system: string; readonly operations: ReadonlyArray<keyof PsaDelivery> };
}

export function describePsaPortConformance(name: string, ports: () => PsaPortsUnderTest, options: PsaConformanceOptions = {}): void {
  describePsaBillingStatusConformance(name, ports, options);
  describePsaDeliveryConformance(name, ports, options);
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

/**
 * What billing reports back (`psaBillingStatusPort.ts`): recorded and read back, a replay and an older asOf
 * changing nothing, a newer one winning, unknown projects and milestones refused — the same on both adapters,
 * or, over a vendor that does not take it yet, refused with SYSTEM_OPERATION_UNSUPPORTED naming the vendor.
 */
export function describePsaBillingStatusConformance(
  name: string,
  ports: () => Pick<PsaPortsUnderTest, 'world' | 'reference' | 'candidate'>,
  options: PsaConformanceOptions = {},
): void {
  describe(`billing status in the PSA port over ${name}`, () => {
    const same = (what: string, call: (port: PsaAdapter['port']) => Promise<unknown>) =>
      expectSameOutcome(ports().reference.port, ports().candidate.port, call, what);
    const projects = () => ports().world.projects.filter((project) => project.milestones.length >= 2);
    const updates = () => {
      const project = projects()[5]!;
      const [firstMilestone, secondMilestone] = project.milestones.map((milestone) => milestone.psaId) as [string, string];
      const posted: ProjectBillingStatusUpdate = {
        projectId: project.id,
        asOf: '2026-11-02T09:30:00.000Z',
        currency: project.currency,
        billedMinor: 1_250_050,
        unbilledMinor: 480_000,
        lastInvoiceId: 'in_1QconformanceP',
        lastInvoiceNumber: 'PSG-0101',
        lastInvoiceStatus: 'OPEN',
      };
      const invoiced: MilestoneInvoiceUpdate = {
        milestoneId: firstMilestone,
        asOf: '2026-11-02T09:30:00.000Z',
        invoiceId: 'in_1QconformanceP',
        invoiceNumber: 'PSG-0101',
        invoiceStatus: 'OPEN',
      };
      return { project, firstMilestone, secondMilestone, posted, invoiced };
    };

    if (options.billingStatusUnsupportedBy) {
      const system = options.billingStatusUnsupportedBy;
      it(`answers SYSTEM_OPERATION_UNSUPPORTED naming ${system} for every billing status call`, async () => {
        const { project, firstMilestone, posted, invoiced } = updates();
        const port = ports().candidate.port.billingStatus;
        for (const call of [
          () => port.projectBillingStatusByProjectId([project.id]),
          () => port.milestoneInvoiceByMilestoneId([firstMilestone]),
          () => port.recordProjectBillingStatus(posted),
          () => port.recordMilestoneInvoice(invoiced),
        ]) {
          await expect(call()).rejects.toMatchObject({
            message: expect.stringMatching(new RegExp(` over ${system} is not supported by psgraph yet: do it in ${system} itself\\.$`)),
            extensions: { code: 'SYSTEM_OPERATION_UNSUPPORTED', system },
          });
        }
      });
      return;
    }

    it('records a project’s billing status, keeps the newest asOf however the events arrive, and refuses an unknown project', async () => {
      const { project, posted } = updates();
      const statuses = async (port: PsaAdapter['port']) =>
        withoutClock(await port.billingStatus.projectBillingStatusByProjectId([project.id, projects()[6]!.id, MISSING_PROJECT]));
      const paid: ProjectBillingStatusUpdate = { ...posted, asOf: '2026-11-20T16:00:00.000Z', unbilledMinor: 0, lastInvoiceStatus: 'PAID' };

      expect(await same('no billing status yet', statuses)).toEqual({ value: new Map() });
      expect(await same('recordProjectBillingStatus', (port) => port.billingStatus.recordProjectBillingStatus(posted))).toEqual({ value: { applied: true } });
      expect(await same('billing status after recording', statuses)).toEqual({ value: new Map([[project.id, posted]]) });
      expect(await same('recordProjectBillingStatus replayed', (port) => port.billingStatus.recordProjectBillingStatus(posted))).toEqual({
        value: { applied: false },
      });
      expect(await same('recordProjectBillingStatus newer', (port) => port.billingStatus.recordProjectBillingStatus(paid))).toEqual({
        value: { applied: true },
      });
      const late = { ...posted, asOf: '2026-11-20T15:59:59.999Z' };
      expect(await same('recordProjectBillingStatus older, arriving late', (port) => port.billingStatus.recordProjectBillingStatus(late))).toEqual({
        value: { applied: false },
      });
      // The same instant written with another offset is the same instant: not newer.
      const sameInstant = { ...posted, asOf: '2026-11-20T17:00:00.000+01:00' };
      expect(await same('recordProjectBillingStatus same instant', (port) => port.billingStatus.recordProjectBillingStatus(sameInstant))).toEqual({
        value: { applied: false },
      });
      expect(await same('billing status after the newer one', statuses)).toEqual({ value: new Map([[project.id, paid]]) });
      const neverInvoiced = { ...posted, projectId: projects()[6]!.id, lastInvoiceId: null, lastInvoiceNumber: null, lastInvoiceStatus: null, billedMinor: 0 };
      expect(await same('recordProjectBillingStatus without an invoice', (port) => port.billingStatus.recordProjectBillingStatus(neverInvoiced))).toEqual({
        value: { applied: true },
      });
      const refused = await same('recordProjectBillingStatus missing project', (port) =>
        port.billingStatus.recordProjectBillingStatus({ ...posted, projectId: MISSING_PROJECT }),
      );
      expect(refused).toEqual({ error: { code: 'NOT_FOUND', message: `Project ${MISSING_PROJECT} does not exist in the PSA.` } });
    });

    it('records a milestone’s invoice, a voided one too, newest asOf winning, and refuses an unknown milestone', async () => {
      const { firstMilestone, secondMilestone, invoiced } = updates();
      const invoices = async (port: PsaAdapter['port']) =>
        withoutClock(await port.billingStatus.milestoneInvoiceByMilestoneId([firstMilestone, secondMilestone, '99999999']));
      const voided: MilestoneInvoiceUpdate = { ...invoiced, asOf: '2026-11-05T12:00:00.000Z', invoiceStatus: 'VOID' };

      expect(await same('no milestone invoice yet', invoices)).toEqual({ value: new Map() });
      expect(await same('recordMilestoneInvoice', (port) => port.billingStatus.recordMilestoneInvoice(invoiced))).toEqual({ value: { applied: true } });
      expect(await same('recordMilestoneInvoice replayed', (port) => port.billingStatus.recordMilestoneInvoice(invoiced))).toEqual({
        value: { applied: false },
      });
      expect(await same('recordMilestoneInvoice voided', (port) => port.billingStatus.recordMilestoneInvoice(voided))).toEqual({ value: { applied: true } });
      expect(await same('recordMilestoneInvoice older, arriving late', (port) => port.billingStatus.recordMilestoneInvoice(invoiced))).toEqual({
        value: { applied: false },
      });
      expect(await same('milestone invoice after the void', invoices)).toEqual({ value: new Map([[firstMilestone, voided]]) });
      const reinvoiced: MilestoneInvoiceUpdate = {
        ...invoiced,
        asOf: '2026-11-06T08:00:00.000Z',
        invoiceId: 'in_1QconformanceR',
        invoiceNumber: null,
        invoiceStatus: 'DRAFT',
      };
      expect(await same('recordMilestoneInvoice on a new invoice', (port) => port.billingStatus.recordMilestoneInvoice(reinvoiced))).toEqual({
        value: { applied: true },
      });
      expect(await same('milestone invoice after the new invoice', invoices)).toEqual({ value: new Map([[firstMilestone, reinvoiced]]) });
      const refused = await same('recordMilestoneInvoice missing milestone', (port) =>
        port.billingStatus.recordMilestoneInvoice({ ...invoiced, milestoneId: '99999999' }),
      );
      expect(refused).toEqual({ error: { code: 'NOT_FOUND', message: 'Milestone 99999999 does not exist in the PSA.' } });
    });
  });
}

/**
 * Delivery (`psaDeliveryPort.ts`): timesheets read by ID, searched and paged, their entries; moved through submit,
 * approve, reject, reopen (un-approve) and correction with the same answers, refusals and events — and the calls an
 * adapter does not take yet refused naming its vendor. Timesheets come from the reference's own search, so both
 * adapters are asked about the same ones; only weeks that were ever submitted are compared (a vendor may have no
 * record of a week nobody submitted).
 */
export function describePsaDeliveryConformance(name: string, ports: () => PsaPortsUnderTest, options: PsaConformanceOptions = {}): void {
  describe(`delivery in the PSA port over ${name}`, () => {
    const same = (what: string, call: (port: PsaAdapter['port']) => Promise<unknown>) =>
      expectSameOutcome(ports().reference.port, ports().candidate.port, call, what);
    const unsupported = new Set(options.deliveryUnsupported?.operations ?? []);
    const submitted = ['SUBMITTED', 'APPROVED', 'REJECTED'] as const;
    /** Timesheets of the reference in a status, from the later weeks (those the other tests leave alone). */
    const sheets = async (status: PsaTimesheet['status'], count: number) => {
      const { rows, totalCount } = await ports().reference.port.delivery.searchTimesheets({ statuses: [status] }, { limit: 1, offset: 0 });
      const page = await ports().reference.port.delivery.searchTimesheets({ statuses: [status] }, { limit: count, offset: Math.max(0, totalCount - count) });
      return rows.length === 0 ? [] : page.rows;
    };

    it('reads timesheets by ID and by search, paged, with their entries', async () => {
      const some = [...(await sheets('APPROVED', 4)), ...(await sheets('SUBMITTED', 3)), ...(await sheets('REJECTED', 2))];
      const ids = some.map((sheet) => sheet.id);
      await same('timesheetsById', (port) => port.delivery.timesheetsById([...ids, '99999999', 'ts-1']));
      await same('timeEntriesByTimesheetId', (port) => port.delivery.timeEntriesByTimesheetId([...ids, '99999999']));
      const sample = some[0]!;
      for (const [label, search] of [
        ['submitted, approved or rejected', { statuses: submitted }],
        ['approved of one project', { statuses: ['APPROVED'], projectIds: [sample.projectId] }],
        ['of one consultant, by week', { statuses: submitted, resourceIds: [sample.resourceId], weekFrom: '2026-03-02', weekTo: '2026-09-28' }],
        ['rejected', { statuses: ['REJECTED'] }],
        ['no status', { statuses: [] }],
      ] as const) {
        await same(`searchTimesheets ${label}`, (port) => port.delivery.searchTimesheets(search, { limit: 25, offset: 0 }));
        await same(`searchTimesheets ${label}, page 3`, (port) => port.delivery.searchTimesheets(search, { limit: 25, offset: 50 }));
      }
    });

    it('approves, rejects, reopens, corrects and approves again with the same answers, refusals and events', async () => {
      const { referenceBus, candidateBus, referenceRelay, candidateRelay } = ports();
      const [toApprove, toReject] = await sheets('SUBMITTED', 2);
      const approved = (await ports().reference.port.delivery.searchTimesheets({ statuses: ['APPROVED'] }, { limit: 1, offset: 3 })).rows[0]!;
      const entries = (await ports().reference.port.delivery.timeEntriesByTimesheetId([approved.id])).get(approved.id)!;
      const referenceEvents = recordEvents(referenceBus);
      const candidateEvents = recordEvents(candidateBus);
      try {
        const delivery = (call: (port: PsaDelivery) => Promise<unknown>) => (port: PsaAdapter['port']) => call(port.delivery);
        await same(
          'approveTimesheet',
          delivery((port) => port.approveTimesheet(toApprove!.id)),
        );
        await same(
          'approveTimesheet again',
          delivery((port) => port.approveTimesheet(toApprove!.id)),
        );
        await same(
          'rejectTimesheet of an approved one',
          delivery((port) => port.rejectTimesheet(toApprove!.id, 'too late')),
        );
        await same(
          'rejectTimesheet',
          delivery((port) => port.rejectTimesheet(toReject!.id, 'Hours on the 3rd are for another project')),
        );
        await same(
          'approveTimesheet of a rejected one',
          delivery((port) => port.approveTimesheet(toReject!.id)),
        );
        await same(
          'reopenTimesheet of a rejected one',
          delivery((port) => port.reopenTimesheet(toReject!.id, 'fixing the 3rd')),
        );
        await same(
          'submitTimesheet after reopening',
          delivery((port) => port.submitTimesheet(toReject!.id)),
        );
        await same(
          'reopenTimesheet of a submitted one',
          delivery((port) => port.reopenTimesheet(toReject!.id, 'no')),
        );
        await same(
          'correctTimeEntry on an approved timesheet',
          delivery((port) => port.correctTimeEntry(entries[0]!.id, { minutes: 60 })),
        );
        await same(
          'reopenTimesheet of an approved one',
          delivery((port) => port.reopenTimesheet(approved.id, 'client asked for the split by task')),
        );
        await same(
          'correctTimeEntry while open',
          delivery((port) => port.correctTimeEntry(entries[0]!.id, { minutes: 75, billable: false })),
        );
        await same(
          'submitTimesheet',
          delivery((port) => port.submitTimesheet(approved.id)),
        );
        await same(
          'approveTimesheet as the next version',
          delivery((port) => port.approveTimesheet(approved.id)),
        );
        await same(
          'timeEntriesByTimesheetId after correcting',
          delivery((port) => port.timeEntriesByTimesheetId([approved.id])),
        );
        await same(
          'approveTimesheet missing',
          delivery((port) => port.approveTimesheet('99999999')),
        );
        await same(
          'correctTimeEntry missing',
          delivery((port) => port.correctTimeEntry('99999999', { minutes: 30 })),
        );
        await Promise.all([referenceRelay.flush(), candidateRelay.flush()]);
        await eventually(() => expect(candidateEvents.events).toEqual(referenceEvents.events));
        expect(referenceEvents.events.map((event) => [event.type, event.subject, event.data['version'] ?? null])).toEqual([
          ['timesheet.approved', toApprove!.id, toApprove!.version + 1],
          ['timesheet.rejected', toReject!.id, null],
          ['timesheet.submitted', toReject!.id, null],
          ['timesheet.unapproved', approved.id, approved.version],
          ['timesheet.submitted', approved.id, null],
          ['timesheet.approved', approved.id, approved.version + 1],
        ]);
      } finally {
        referenceEvents.stop();
        candidateEvents.stop();
      }
    });

    it('creates expenses and takes them through submit, approve, reject, reopen and approve again with the same answers, refusals and events', async () => {
      const { world, referenceBus, candidateBus, referenceRelay, candidateRelay } = ports();
      const projectIds = world.projects.map((project) => project.id).reverse();
      const assignments = [...(await ports().reference.port.assignmentsByProjectId(projectIds)).values()].flat();
      const staffed = assignments.find((assignment) => assignment.status !== 'TENTATIVE')!;
      const project = (await ports().reference.port.projectsById([staffed.projectId])).get(staffed.projectId)!;
      const onProject = new Set(assignments.filter((assignment) => assignment.projectId === project.id).map((assignment) => assignment.resourceId));
      const outsider = world.consultants.map((consultant) => consultant.psaId).find((id) => !onProject.has(id))!;
      const draft = {
        projectId: project.id,
        resourceId: staffed.resourceId,
        incurredOn: '2026-10-27',
        category: 'TRAVEL',
        description: 'Train to the client, return',
        amountMinor: 18_450,
        currency: project.currency,
        billable: true,
      } as const;
      const referenceEvents = recordEvents(referenceBus);
      const candidateEvents = recordEvents(candidateBus);
      try {
        const delivery = (call: (port: PsaDelivery) => Promise<unknown>) => (port: PsaAdapter['port']) => call(port.delivery);
        const created = async (what: string, call: (port: PsaDelivery) => Promise<{ id: string }>) => {
          await same(what, delivery(call));
          return (await ports().reference.port.delivery.searchExpenses({ projectIds: [project.id] }, { limit: 100, offset: 0 })).rows.at(-1)!.id;
        };
        const train = await created('createExpense', (port) => port.createExpense(draft));
        const dinner = await created('createExpense with a receipt, not billable', (port) =>
          port.createExpense({
            ...draft,
            incurredOn: '2026-10-28',
            category: 'MEALS',
            description: 'Team dinner',
            amountMinor: 6_200,
            billable: false,
            receiptRef: '4711',
          }),
        );
        await same(
          'createExpense on a missing project',
          delivery((port) => port.createExpense({ ...draft, projectId: MISSING_PROJECT })),
        );
        await same(
          'createExpense by a missing consultant',
          delivery((port) => port.createExpense({ ...draft, resourceId: '99999999' })),
        );
        await same(
          'createExpense by a consultant not staffed on the project',
          delivery((port) => port.createExpense({ ...draft, resourceId: outsider })),
        );
        await same(
          'expensesById',
          delivery((port) => port.expensesById([train, dinner, '99999999', 'exp-1'])),
        );
        for (const [what, call] of [
          ['approveExpense of a draft', (port: PsaDelivery) => port.approveExpense(train)],
          ['submitExpense', (port: PsaDelivery) => port.submitExpense(train)],
          ['submitExpense again', (port: PsaDelivery) => port.submitExpense(train)],
          ['approveExpense', (port: PsaDelivery) => port.approveExpense(train)],
          ['approveExpense again', (port: PsaDelivery) => port.approveExpense(train)],
          ['rejectExpense of an approved one', (port: PsaDelivery) => port.rejectExpense(train, 'too late')],
          ['submitExpense of another', (port: PsaDelivery) => port.submitExpense(dinner)],
          ['rejectExpense', (port: PsaDelivery) => port.rejectExpense(dinner, 'The receipt is illegible')],
          ['approveExpense of a rejected one', (port: PsaDelivery) => port.approveExpense(dinner)],
          ['reopenExpense of a rejected one', (port: PsaDelivery) => port.reopenExpense(dinner, 'a clearer scan')],
          ['submitExpense after reopening', (port: PsaDelivery) => port.submitExpense(dinner)],
          ['reopenExpense of a submitted one', (port: PsaDelivery) => port.reopenExpense(dinner, 'no')],
          ['approveExpense after resubmitting', (port: PsaDelivery) => port.approveExpense(dinner)],
          ['reopenExpense of an approved one', (port: PsaDelivery) => port.reopenExpense(train, 'billed to the wrong project')],
          ['submitExpense after un-approving', (port: PsaDelivery) => port.submitExpense(train)],
          ['approveExpense as the next version', (port: PsaDelivery) => port.approveExpense(train)],
          ['approveExpense missing', (port: PsaDelivery) => port.approveExpense('99999999')],
          ['searchExpenses of the project', (port: PsaDelivery) => port.searchExpenses({ projectIds: [project.id] }, { limit: 25, offset: 0 })],
          [
            'searchExpenses approved of the consultant',
            (port: PsaDelivery) => port.searchExpenses({ resourceIds: [staffed.resourceId], statuses: ['APPROVED'] }, { limit: 1, offset: 1 }),
          ],
          ['searchExpenses drafts', (port: PsaDelivery) => port.searchExpenses({ statuses: ['DRAFT'] }, { limit: 25, offset: 0 })],
        ] as const) {
          await same(what, delivery(call));
        }
        await Promise.all([referenceRelay.flush(), candidateRelay.flush()]);
        await eventually(() => expect(candidateEvents.events).toEqual(referenceEvents.events));
        expect(referenceEvents.events.map((event) => [event.type, event.subject, event.data['version'] ?? null])).toEqual([
          ['expense.approved', train, 1],
          ['expense.approved', dinner, 1],
          ['expense.unapproved', train, 1],
          ['expense.approved', train, 2],
        ]);
      } finally {
        referenceEvents.stop();
        candidateEvents.stop();
      }
    });

    it('completes milestones, approves them for billing, withdraws and approves again with the same answers, refusals and events', async () => {
      const { world, referenceBus, candidateBus, referenceRelay, candidateRelay } = ports();
      const projectIds = world.projects.map((project) => project.id).reverse();
      const all = [...(await ports().reference.port.milestonesByProjectId(projectIds)).values()].flat();
      const planned = all.find((milestone) => milestone.status === 'PLANNED' && milestone.billable)!;
      const approved = all.find((milestone) => milestone.status === 'APPROVED_FOR_BILLING')!;
      const unbillable = all.find((milestone) => milestone.status === 'COMPLETED' && !milestone.billable);
      const ids = [planned.id, approved.id, ...(unbillable ? [unbillable.id] : [])];
      const referenceEvents = recordEvents(referenceBus);
      const candidateEvents = recordEvents(candidateBus);
      try {
        const delivery = (call: (port: PsaDelivery) => Promise<unknown>) => (port: PsaAdapter['port']) => call(port.delivery);
        await same(
          'milestonesById',
          delivery((port) => port.milestonesById([...ids, '99999999', 'm-1'])),
        );
        await same(
          'approveMilestoneForBilling of a planned one',
          delivery((port) => port.approveMilestoneForBilling(planned.id)),
        );
        await same(
          'withdrawMilestoneBillingApproval of a planned one',
          delivery((port) => port.withdrawMilestoneBillingApproval(planned.id, 'no')),
        );
        await same(
          'completeMilestone',
          delivery((port) => port.completeMilestone(planned.id, '2026-10-30')),
        );
        await same(
          'completeMilestone again',
          delivery((port) => port.completeMilestone(planned.id, '2026-10-31')),
        );
        await same(
          'approveMilestoneForBilling',
          delivery((port) => port.approveMilestoneForBilling(planned.id)),
        );
        await same(
          'approveMilestoneForBilling again',
          delivery((port) => port.approveMilestoneForBilling(planned.id)),
        );
        await same(
          'withdrawMilestoneBillingApproval',
          delivery((port) => port.withdrawMilestoneBillingApproval(approved.id, 'The client disputes the acceptance')),
        );
        await same(
          'withdrawMilestoneBillingApproval again',
          delivery((port) => port.withdrawMilestoneBillingApproval(approved.id, 'again')),
        );
        await same(
          'approveMilestoneForBilling as the next version',
          delivery((port) => port.approveMilestoneForBilling(approved.id)),
        );
        if (unbillable) {
          await same(
            'approveMilestoneForBilling of an unbillable one',
            delivery((port) => port.approveMilestoneForBilling(unbillable.id)),
          );
        }
        await same(
          'completeMilestone missing',
          delivery((port) => port.completeMilestone('99999999', '2026-10-30')),
        );
        await same(
          'milestonesById after the changes',
          delivery((port) => port.milestonesById(ids)),
        );
        await same('milestonesByProjectId after the changes', (port) => port.milestonesByProjectId([planned.projectId, approved.projectId]));
        await Promise.all([referenceRelay.flush(), candidateRelay.flush()]);
        await eventually(() => expect(candidateEvents.events).toEqual(referenceEvents.events));
        expect(referenceEvents.events.map((event) => [event.type, event.subject, event.data['version'] ?? null])).toEqual([
          ['milestone.completed', planned.id, null],
          ['milestone.approved_for_billing', planned.id, 1],
          ['milestone.billing_approval_withdrawn', approved.id, 1],
          ['milestone.approved_for_billing', approved.id, 2],
        ]);
      } finally {
        referenceEvents.stop();
        candidateEvents.stop();
      }
    });

    if (unsupported.size > 0) {
      const system = options.deliveryUnsupported!.system;
      it(`answers SYSTEM_OPERATION_UNSUPPORTED naming ${system} for ${[...unsupported].join(', ')}`, async () => {
        const port = ports().candidate.port.delivery as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
        for (const operation of unsupported) {
          await expect(port[operation]!('1', '2026-11-02'), operation).rejects.toMatchObject({
            message: expect.stringMatching(new RegExp(` over ${system} is not supported by psgraph yet: do it in ${system} itself\\.$`)),
            extensions: { code: 'SYSTEM_OPERATION_UNSUPPORTED', system },
          });
        }
      });
    }
  });
}

/** Records without `updatedAt`: each adapter stamps it with its own clock. */
function withoutClock<T extends { readonly updatedAt: string }>(records: Map<string, T>): Map<string, Omit<T, 'updatedAt'>> {
  return new Map([...records].map(([id, { updatedAt: _updatedAt, ...record }]) => [id, record]));
}

/** Retries an expectation until it holds (events cross a bus). */
export { eventually };
