/**
 * The ERP port's conformance suite: every read and write of the port, made on the sandbox (the reference) and on
 * the adapter under test over the same world, must give the same answer — the same records, the same sums and
 * report rows in the same order, the same refusals with the same codes and messages — and the same business
 * events (the ERP emits none). A vendor adapter "works" when this passes against a server that speaks its
 * vendor's wire format.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryEventBus } from '../../platform/src/events/index.js';
import { expectSameOutcome, recordEvents } from '../../platform/test/portConformance.js';
import type { World } from '../../sandboxes/src/world/world.js';
import type { BillingReportQuery, ErpAdapter } from '../src/erpPort.js';

export interface ErpPortsUnderTest {
  readonly world: World;
  readonly reference: ErpAdapter;
  readonly candidate: ErpAdapter;
}

/** Maps compared as their entries in key order: an adapter may fill a batch's map in any order. */
const entries = async <K, V>(map: Promise<Map<K, V>>) =>
  [...(await map).entries()].sort(([a], [b]) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));

const MISSING_ACCOUNT = '001000000000000AAA';
const MISSING_PROJECT = 'prj_01JFJG60M0Q0CQE75AR8B3HMHQ';
/** Accounts and projects the suite creates in both ERPs. */
const NEW_PROJECT = 'prj_01JFJG60M0Q0CQE75AR8B3NEW1';
const OTHER_NEW_PROJECT = 'prj_01JFJG60M0Q0CQE75AR8B3NEW2';

export function describeErpPortConformance(name: string, ports: () => ErpPortsUnderTest): void {
  describe(`the ERP port over ${name} answers as the sandbox does`, () => {
    const same = (what: string, call: (port: ErpAdapter['port']) => Promise<unknown>) =>
      expectSameOutcome(ports().reference.port, ports().candidate.port, call, what);
    const world = () => ports().world;
    const accountIds = () => world().accounts.map((account) => account.crmId);
    const projectIds = () => world().projects.map((project) => project.id);
    /** An account that is no customer in the ERP yet, and one that is. */
    const prospect = () => world().accounts.find((account) => account.erpCustomerId === null && account.parentIndex === null)!;
    const customer = () => world().accounts.find((account) => account.erpCustomerId !== null && account.parentIndex === null)!;

    it('reads the legal entities, all and by ID, a missing one absent', async () => {
      await same('legalEntities', (port) => port.legalEntities());
      await same('legalEntitiesById', (port) => entries(port.legalEntitiesById([1, 2, 3, 4, 5, 99])));
    });

    it('reads customers by CRM account ID, with terms, tax, credit hold, parent and subsidiary; missing ones absent', async () => {
      await same('customersByAccountId', (port) => entries(port.customersByAccountId([...accountIds(), MISSING_ACCOUNT])));
      await same('customersByAccountId none', (port) => entries(port.customersByAccountId([])));
    });

    it('reads jobs by project ID with their contracts and terms; missing ones absent', async () => {
      await same('jobsByProjectId', (port) => entries(port.jobsByProjectId([...projectIds(), MISSING_PROJECT])));
    });

    it('reads rate cards by ID and by subsidiary, and their lines in order', async () => {
      await same('rateCardsById', (port) => entries(port.rateCardsById([101, 102, 103, 104, 105, 1])));
      await same('rateCardsBySubsidiaryId', (port) => entries(port.rateCardsBySubsidiaryId([1, 2, 3, 4, 5, 99])));
      await same('rateCardLinesByRateCardId', (port) => entries(port.rateCardLinesByRateCardId([101, 102, 103, 104, 999])));
    });

    it('reads billing schedules by project and their lines in sequence', async () => {
      const schedules = await ports().reference.port.billingSchedulesByProjectId(projectIds());
      const scheduleIds = [...schedules.values()].map((schedule) => schedule.id);
      await same('billingSchedulesByProjectId', (port) => entries(port.billingSchedulesByProjectId([...projectIds(), MISSING_PROJECT])));
      await same('billingScheduleLinesByScheduleId', (port) => entries(port.billingScheduleLinesByScheduleId([...scheduleIds, 999_999])));
    });

    it("sums each job's ledger: budget, cost, recognized revenue, billed", async () => {
      await same('ledgerTotalsByProjectId', (port) => entries(port.ledgerTotalsByProjectId([...projectIds(), MISSING_PROJECT])));
    });

    it('reports recognized revenue and billings by every grouping and filter, rows in the same order', async () => {
      const someProjects = projectIds().slice(0, 12);
      const queries: Array<[string, BillingReportQuery]> = [
        ['project', { groupBy: ['PROJECT'] }],
        ['region', { groupBy: ['REGION'] }],
        ['month', { groupBy: ['MONTH'] }],
        ['region and month', { groupBy: ['REGION', 'MONTH'] }],
        ['month and project', { groupBy: ['MONTH', 'PROJECT'] }],
        ['project and region', { groupBy: ['PROJECT', 'REGION'] }],
        ['a window of months', { groupBy: ['MONTH'], fromMonth: '2026-03', toMonth: '2026-08' }],
        ['regions', { groupBy: ['PROJECT'], regions: ['EUROPE', 'APAC'] }],
        ['no region', { groupBy: ['REGION'], regions: [] }],
        ['projects', { groupBy: ['PROJECT', 'MONTH'], projectIds: [...someProjects, MISSING_PROJECT] }],
        ['every filter', { groupBy: ['REGION', 'MONTH'], fromMonth: '2026-01', toMonth: '2026-10', regions: ['NORTH_AMERICA'], projectIds: someProjects }],
      ];
      for (const [label, query] of queries) await same(`billingReport ${label}`, (port) => port.billingReport(query));
    });

    it('upserts a customer by external ID: created once, then updated, further subsidiaries related; a missing parent refused', async () => {
      const account = prospect();
      const upsert = {
        externalId: account.crmId,
        companyName: account.name,
        parentExternalId: customer().crmId,
        subsidiaryId: 1,
        additionalSubsidiaryIds: [2],
        currency: 'USD',
        taxId: 'US-12-3456789',
        paymentTermsDays: 45,
      };
      await same('upsertCustomer new', (port) => port.upsertCustomer(upsert));
      await same('upsertCustomer again', (port) => port.upsertCustomer(upsert));
      await same('upsertCustomer renamed, tax ID kept, parent removed, another subsidiary', (port) =>
        port.upsertCustomer({ ...upsert, companyName: `${account.name} Group`, taxId: null, parentExternalId: null, additionalSubsidiaryIds: [2, 3, 1] }),
      );
      await same('upsertCustomer existing, terms and subsidiary kept', (port) =>
        port.upsertCustomer({ ...upsert, externalId: customer().crmId, parentExternalId: null, subsidiaryId: 4, currency: 'AUD', paymentTermsDays: 60 }),
      );
      await same('upsertCustomer missing parent', (port) => port.upsertCustomer({ ...upsert, parentExternalId: MISSING_ACCOUNT }));
      await same('customers after the upserts', (port) => entries(port.customersByAccountId([account.crmId, customer().crmId])));
    });

    it('upserts a job: created once, then updated; refuses a missing customer, a currency without a rate card, a subsidiary the customer does not trade with', async () => {
      const upsert = {
        externalId: NEW_PROJECT,
        name: 'Data platform rollout',
        customerExternalId: prospect().crmId,
        subsidiaryId: 2,
        contractType: 'FIXED_FEE' as const,
        currency: 'GBP',
        valueMinor: 12_500_000,
        poRequired: true,
        poNumber: 'PO-77',
        startDate: '2026-11-02',
        endDate: '2027-04-30',
      };
      await same('upsertJob new', (port) => port.upsertJob(upsert));
      await same('upsertJob again', (port) => port.upsertJob(upsert));
      await same('upsertJob changed', (port) => port.upsertJob({ ...upsert, name: 'Data platform rollout, phase 1', valueMinor: 9_999_950, poNumber: null }));
      await same('upsertJob missing customer', (port) => port.upsertJob({ ...upsert, externalId: OTHER_NEW_PROJECT, customerExternalId: MISSING_ACCOUNT }));
      await same('upsertJob no rate card', (port) => port.upsertJob({ ...upsert, externalId: OTHER_NEW_PROJECT, currency: 'EUR' }));
      await same('upsertJob not trading', (port) => port.upsertJob({ ...upsert, externalId: OTHER_NEW_PROJECT, subsidiaryId: 4, currency: 'AUD' }));
      await same('jobs after the upserts', (port) => entries(port.jobsByProjectId([NEW_PROJECT, OTHER_NEW_PROJECT])));
      await same('ledger of a job without postings', (port) => entries(port.ledgerTotalsByProjectId([NEW_PROJECT])));
    });

    it('upserts a billing schedule, replacing its lines; refuses a job that does not exist', async () => {
      const lines = [
        { date: '2026-12-31', description: 'Milestone 1 of 3', amountMinor: 3_000_000 },
        { date: '2027-02-28', description: 'Milestone 2 of 3', amountMinor: 3_000_000 },
        { date: '2027-04-30', description: 'Milestone 3 of 3', amountMinor: 3_999_950 },
      ];
      const upsert = { projectExternalId: NEW_PROJECT, scheduleType: 'MILESTONE' as const, frequency: 'MILESTONE' as const, inArrears: true, lines };
      await same('upsertBillingSchedule new', (port) => port.upsertBillingSchedule(upsert));
      await same('upsertBillingSchedule again', (port) => port.upsertBillingSchedule(upsert));
      const timeAndMaterials = {
        ...upsert,
        scheduleType: 'TIME_AND_MATERIALS' as const,
        frequency: 'MONTHLY' as const,
        lines: [
          { date: '2026-11-30', description: 'Time and materials, month 1', amountMinor: null },
          { date: '2026-12-31', description: 'Time and materials, month 2', amountMinor: null },
        ],
      };
      await same('upsertBillingSchedule replaced', (port) => port.upsertBillingSchedule(timeAndMaterials));
      await same('upsertBillingSchedule a seeded job', (port) =>
        port.upsertBillingSchedule({ ...upsert, projectExternalId: projectIds()[3]!, scheduleType: 'RETAINER', frequency: 'MONTHLY', inArrears: false }),
      );
      await same('upsertBillingSchedule missing job', (port) => port.upsertBillingSchedule({ ...upsert, projectExternalId: MISSING_PROJECT }));
      const scheduleIds = async (port: ErpAdapter['port']) =>
        [...(await port.billingSchedulesByProjectId([NEW_PROJECT, projectIds()[3]!])).values()].map((schedule) => schedule.id);
      await same('schedules after the upserts', (port) => entries(port.billingSchedulesByProjectId([NEW_PROJECT, projectIds()[3]!])));
      await same('lines after the upserts', async (port) => entries(port.billingScheduleLinesByScheduleId(await scheduleIds(port))));
    });

    it('deletes a billing schedule and a job, refuses a job with dependents, and reports what is already gone as false', async () => {
      await same('deleteJob with postings and a schedule', (port) => port.deleteJob(projectIds()[0]!));
      await same('deleteJob with a schedule', (port) => port.deleteJob(NEW_PROJECT));
      await same('deleteBillingSchedule', (port) => port.deleteBillingSchedule(NEW_PROJECT));
      await same('deleteBillingSchedule again', (port) => port.deleteBillingSchedule(NEW_PROJECT));
      await same('deleteJob', (port) => port.deleteJob(NEW_PROJECT));
      await same('deleteJob again', (port) => port.deleteJob(NEW_PROJECT));
      await same('deleteJob missing', (port) => port.deleteJob(MISSING_PROJECT));
      await same('jobs after the deletes', (port) => entries(port.jobsByProjectId([NEW_PROJECT, projectIds()[0]!])));
      // The next job takes the next internal ID in both.
      await same('upsertJob after the delete', (port) =>
        port.upsertJob({
          externalId: OTHER_NEW_PROJECT,
          name: 'Discovery',
          customerExternalId: prospect().crmId,
          subsidiaryId: 1,
          contractType: 'TIME_AND_MATERIALS',
          currency: 'USD',
          valueMinor: 4_000_000,
          poRequired: false,
          poNumber: null,
          startDate: '2026-12-01',
          endDate: '2027-01-31',
        }),
      );
    });

    it('emits no business events, as the sandbox emits none', async () => {
      const { reference, candidate } = ports();
      const buses = [new InMemoryEventBus(), new InMemoryEventBus()];
      const seen = buses.map((bus) => recordEvents(bus));
      const relays = [reference.relayEvents(buses[0]!), candidate.relayEvents(buses[1]!)];
      try {
        await same('upsertBillingSchedule with events watched', (port) =>
          port.upsertBillingSchedule({
            projectExternalId: OTHER_NEW_PROJECT,
            scheduleType: 'FIXED_INTERVAL',
            frequency: 'MONTHLY',
            inArrears: true,
            lines: [],
          }),
        );
        await Promise.all(relays.map((relay) => relay.flush()));
        expect(seen[1]!.events).toEqual(seen[0]!.events);
        expect(seen[0]!.events).toEqual([]);
      } finally {
        for (const watcher of seen) watcher.stop();
        await Promise.all(relays.map((relay) => relay.stop()));
        await Promise.all(buses.map((bus) => bus.close()));
      }
    });
  });
}
