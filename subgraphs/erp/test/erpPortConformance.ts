/**
 * The ERP port's conformance suite: every read and write of the port, made on the sandbox (the reference) and on
 * the adapter under test over the same world, must give the same answer — the same records, the same sums and
 * report rows in the same order, the same refusals with the same codes and messages — and the same business
 * events (the ERP emits none). A vendor adapter "works" when this passes against a server that speaks its
 * vendor's wire format. (One file, over 400 lines: the port's reads, writes, postings and billing are one suite, so
 * that every adapter runs all of it in the same order over the same state.)
 */
import { describe, expect, it } from 'vitest';
import { InMemoryEventBus } from '../../platform/src/events/index.js';
import { expectSameOutcome, recordEvents } from '../../platform/test/portConformance.js';
import type { World } from '../../sandboxes/src/world/world.js';
import type { BillingReportQuery, ErpAdapter } from '../src/erpPort.js';
import type { DeliveryPosting, ErpCreditNote, ErpInvoiceRecord, ErpInvoiceStatusUpdate, PostedDelivery } from '../src/erpPostingsPort.js';

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
/** A PSA resource no ERP employee has. */
const MISSING_RESOURCE = '99999999';

/** A posting with its instants as whether it has them: the two ERPs post and reverse at different moments. */
const stamped = (posting: PostedDelivery) => ({ ...posting, postedAt: posting.postedAt !== '', reversedAt: posting.reversedAt !== null });

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

    describePostingsConformance(ports, same);
    describeBillingConformance(ports, same);

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

/**
 * The postings port (`erpPostingsPort.ts`): the terms a posting is checked against, employees and periods, posting
 * (once per external ID, all or nothing, refused for the sandbox's reasons with its codes and messages), the
 * postings read back, and reversal. Run after the job upserts above, so that the terms of jobs made through the port
 * (their rate card's rates, their purchase order) are compared too.
 */
function describePostingsConformance(
  ports: () => ErpPortsUnderTest,
  same: (what: string, call: (port: ErpAdapter['port']) => Promise<unknown>) => Promise<unknown>,
): void {
  const world = () => ports().world;
  const project = () => world().projects.find((candidate) => candidate.status === 'ACTIVE' && world().opportunities[candidate.opportunityIndex]!.poRequired)!;
  const completed = () => world().projects.find((candidate) => candidate.status === 'COMPLETED')!;
  const consultant = () => {
    const request = project().requests.find((candidate) => candidate.assignment?.status === 'CONFIRMED')!;
    return world().consultants[request.assignment!.consultantIndex]!;
  };
  let role = '';
  const time = (externalId: string, overrides: Partial<DeliveryPosting> = {}): DeliveryPosting => ({
    externalId,
    kind: 'TIME',
    projectId: project().id,
    resourceId: consultant().psaId,
    item: role,
    date: '2026-10-20',
    minutes: 450,
    rateMinor: 20_000,
    billableMinor: 150_000,
    costMinor: 80_000,
    billable: true,
    currency: project().currency,
    memo: 'Week of 2026-10-19',
    ...overrides,
  });
  const expense = (externalId: string, overrides: Partial<DeliveryPosting> = {}): DeliveryPosting =>
    time(externalId, {
      kind: 'EXPENSE',
      item: 'TRAVEL',
      minutes: null,
      rateMinor: null,
      billableMinor: 12_345,
      costMinor: 12_345,
      memo: 'Train',
      ...overrides,
    });
  const milestone = (externalId: string): DeliveryPosting =>
    time(externalId, {
      kind: 'MILESTONE',
      resourceId: null,
      item: null,
      minutes: null,
      rateMinor: null,
      billableMinor: 500_000,
      costMinor: 0,
      memo: 'Go-live',
    });
  const byExternalId = (ids: readonly string[]) => async (port: ErpAdapter['port']) =>
    [...(await port.postings.postingsByExternalId(ids)).entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, posting]) => [id, stamped(posting)]);
  const byProject = (ids: readonly string[]) => async (port: ErpAdapter['port']) =>
    [...(await port.postings.postingsByProjectId(ids)).entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, list]) => [id, list.map(stamped)]);
  const terms = (ids: readonly string[]) => async (port: ErpAdapter['port']) =>
    [...(await port.postings.postingTermsByProjectId(ids)).entries()].sort(([a], [b]) => (a < b ? -1 : 1));

  it('reads posting terms: job status, region, contract rates, purchase order, posted so far; missing jobs absent', async () => {
    const projectIds = world().projects.map((candidate) => candidate.id);
    await same('postingTermsByProjectId', terms([...projectIds, NEW_PROJECT, OTHER_NEW_PROJECT, MISSING_PROJECT]));
    await same('postingTermsByProjectId none', terms([]));
    const reference = (await ports().reference.port.postings.postingTermsByProjectId([project().id, completed().id, OTHER_NEW_PROJECT])).get(project().id)!;
    // The comparison means something: the job has rates and a purchase order to compare.
    expect(reference.contractRates.length).toBeGreaterThan(0);
    expect(reference.purchaseOrder).not.toBeNull();
    role = reference.contractRates[0]!.role;
  });

  it('reads employees by PSA resource ID, and accounting periods by month (closed, open, absent)', async () => {
    const resourceIds = [...world().consultants.map((candidate) => candidate.psaId), MISSING_RESOURCE];
    await same('employeesByResourceId', async (port) =>
      [...(await port.postings.employeesByResourceId(resourceIds)).entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    const months: string[] = [];
    for (let year = 2019; year <= 2029; year++) for (let month = 1; month <= 12; month++) months.push(`${year}-${String(month).padStart(2, '0')}`);
    await same('periodsClosed', async (port) => [...(await port.postings.periodsClosed(months)).entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  });

  it('posts delivery once per external ID, all or nothing, refusing what the sandbox refuses', async () => {
    const ids = ['time:c1:v1', 'expense:c1:v1', 'milestone:c1:v1', 'time:c2:v1', 'time:c3:v1', 'time:c4:v1'];
    expect(await same('postDelivery', (port) => port.postings.postDelivery([time(ids[0]!), expense(ids[1]!), milestone(ids[2]!)]))).toEqual({
      value: ids.slice(0, 3).map((externalId) => ({ externalId, created: true })),
    });
    await same('postDelivery again, and one more', (port) =>
      port.postings.postDelivery([time(ids[0]!), expense(ids[1]!), milestone(ids[2]!), time(ids[3]!, { date: '2026-10-21', billable: false })]),
    );
    const refusals: Array<[string, DeliveryPosting]> = [
      ['a closed period', time(ids[5]!, { date: '2026-05-12' })],
      ['a period ERP does not have', time(ids[5]!, { date: '2031-06-02' })],
      ['a closed job', time(ids[5]!, { projectId: completed().id, currency: completed().currency })],
      ['a job ERP does not have', time(ids[5]!, { projectId: MISSING_PROJECT })],
      ['another currency', time(ids[5]!, { currency: project().currency === 'USD' ? 'GBP' : 'USD' })],
      ['an unknown consultant', expense(ids[5]!, { resourceId: MISSING_RESOURCE })],
    ];
    for (const [label, refused] of refusals) {
      const outcome = await same(`postDelivery refused: ${label}`, (port) => port.postings.postDelivery([time(ids[4]!), refused]));
      expect(outcome, label).toHaveProperty('error');
    }
    await same('nothing of a refused batch is posted', byExternalId([ids[4]!, ids[5]!]));
    await same('postingsByExternalId', byExternalId([...ids, 'time:missing:v1']));
    await same('postingsByProjectId', byProject([project().id, completed().id, MISSING_PROJECT]));
    await same('terms after posting', terms([project().id]));
  });

  it('reverses postings once, undoing what they count; a reversed external ID stays taken', async () => {
    expect(await same('reverseDelivery', (port) => port.postings.reverseDelivery(['time:c1:v1', 'expense:c1:v1', 'time:missing:v1', 'time:c1:v1']))).toEqual({
      value: [true, true, false, false].map((reversed, i) => ({ externalId: ['time:c1:v1', 'expense:c1:v1', 'time:missing:v1', 'time:c1:v1'][i], reversed })),
    });
    await same('reverseDelivery again', (port) => port.postings.reverseDelivery(['time:c1:v1', 'expense:c1:v1']));
    await same('postDelivery of a reversed posting', (port) => port.postings.postDelivery([time('time:c1:v1')]));
    await same('postDelivery of its correction', (port) => port.postings.postDelivery([time('time:c1:v2', { minutes: 480, billableMinor: 160_000 })]));
    await same('postings after the reversal', byProject([project().id]));
    await same('terms after the reversal', terms([project().id]));
  });

  it("counts the postings in the job's ledger and the billed-vs-unbilled report, reversals taken back", async () => {
    await same('ledgerTotalsByProjectId after postings', async (port) =>
      [...(await port.ledgerTotalsByProjectId([project().id, completed().id])).entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    const queries: BillingReportQuery[] = [
      { groupBy: ['PROJECT', 'MONTH'], projectIds: [project().id, completed().id] },
      { groupBy: ['MONTH'], fromMonth: '2026-09', toMonth: '2026-11' },
      { groupBy: ['REGION', 'MONTH'], regions: ['NORTH_AMERICA', 'EUROPE'], fromMonth: '2026-10' },
      { groupBy: ['PROJECT'] },
    ];
    for (const query of queries) await same(`billingReport after postings ${JSON.stringify(query)}`, (port) => port.billingReport(query));
  });
}

/**
 * The postings port's billing calls, after the postings above: what is due (the postings left unbilled, schedule
 * lines the seeded history did not bill), invoices recorded as of their billing events (the newest winning, the
 * sandbox's refusals with its codes and messages: nothing billed twice), credit notes once per ID, and what that
 * does to the invoices, billing positions, unbilled WIP, the job's ledger and the billed-vs-unbilled report.
 */
function describeBillingConformance(
  ports: () => ErpPortsUnderTest,
  same: (what: string, call: (port: ErpAdapter['port']) => Promise<unknown>) => Promise<unknown>,
): void {
  const world = () => ports().world;
  const project = () => world().projects.find((candidate) => candidate.status === 'ACTIVE' && world().opportunities[candidate.opportunityIndex]!.poRequired)!;
  const invoiceId = (n: number) => `in_${String(n).padStart(24, '0')}`;
  /** The invoices' instants as whether they have them: the two ERPs record them at different moments. */
  const stampedInvoice = (invoice: ErpInvoiceRecord) => ({ ...invoice, updatedAt: invoice.updatedAt !== '' });
  const stampedBillables = (list: Awaited<ReturnType<ErpAdapter['port']['postings']['billablesByProjectId']>>) =>
    list.map((due) => ({ ...due, postings: due.postings.map(stamped) }));
  let dueKeys: string[] = [];
  let scheduled = { projectId: '', currency: '', sourceKey: '' };

  const invoice = (overrides: Partial<ErpInvoiceStatusUpdate> = {}): ErpInvoiceStatusUpdate => ({
    invoiceId: invoiceId(1),
    number: 'INV-C-0001',
    projectId: project().id,
    status: 'DRAFT',
    date: '2026-11-01',
    asOf: '2026-11-01T09:00:00.000Z',
    currency: project().currency,
    totalMinor: 660_000,
    amountPaidMinor: 0,
    sourceKeys: dueKeys,
    ...overrides,
  });
  const creditNote = (overrides: Partial<ErpCreditNote> = {}): ErpCreditNote => ({
    creditNoteId: 'cn_000000000000000000000001',
    invoiceId: invoiceId(1),
    projectId: project().id,
    date: '2026-11-15',
    currency: project().currency,
    totalMinor: 60_000,
    sourceKeys: dueKeys.slice(0, 1),
    ...overrides,
  });
  const record = (what: string, update: ErpInvoiceStatusUpdate) => same(what, (port) => port.postings.recordInvoiceStatus(update));
  const refused = async (what: string, update: ErpInvoiceStatusUpdate) => expect(await record(what, update), what).toHaveProperty('error');
  const compareEverything = async (when: string) => {
    const projects = [project().id, scheduled.projectId, MISSING_PROJECT];
    await same(`invoicesByProjectId ${when}`, async (port) =>
      (await entries(port.postings.invoicesByProjectId(projects))).map(([id, list]) => [id, list.map(stampedInvoice)]),
    );
    await same(`billingPositionsByProjectId ${when}`, (port) => entries(port.postings.billingPositionsByProjectId(projects)));
    await same(`unbilledWip ${when}`, (port) => port.postings.unbilledWip());
    await same(`billablesByProjectId ${when}`, async (port) => stampedBillables(await port.postings.billablesByProjectId('2026-11-30', null)));
    await same(`ledgerTotalsByProjectId ${when}`, (port) => entries(port.ledgerTotalsByProjectId(projects)));
    const queries: BillingReportQuery[] = [
      { groupBy: ['PROJECT', 'MONTH'], projectIds: projects },
      { groupBy: ['MONTH'], fromMonth: '2026-10', toMonth: '2026-12' },
      { groupBy: ['REGION'] },
    ];
    for (const query of queries) await same(`billingReport ${when} ${JSON.stringify(query)}`, (port) => port.billingReport(query));
  };

  it('lists what is due: unbilled billable postings up to the day, instalments and retainers the seeded history did not bill', async () => {
    for (const upTo of ['2026-10-31', '2026-11-30', '2027-02-28'])
      await same(`billablesByProjectId all up to ${upTo}`, async (port) => stampedBillables(await port.postings.billablesByProjectId(upTo, null)));
    await same('billablesByProjectId of some', async (port) =>
      stampedBillables(await port.postings.billablesByProjectId('2026-11-30', [project().id, MISSING_PROJECT])),
    );
    const due = await ports().reference.port.postings.billablesByProjectId('2026-11-30', null);
    dueKeys = due.find((candidate) => candidate.projectId === project().id)!.postings.map((posting) => posting.externalId);
    // A job whose first lines the seeded history billed, and whose next one is due.
    const lines = due.find((candidate) => candidate.projectId !== project().id && (candidate.scheduleLines[0]?.sequence ?? 0) > 1)!;
    scheduled = { projectId: lines.projectId, currency: lines.currency, sourceKey: lines.scheduleLines[0]!.sourceKey };
    // The comparison means something: postings and schedule lines are due.
    expect(dueKeys.length).toBeGreaterThan(0);
  });

  it('records invoices as of their events, the newest winning, refusing what the sandbox refuses; nothing billed twice', async () => {
    expect(await record('recordInvoiceStatus draft', invoice())).toEqual({ value: { applied: true } });
    expect(await record('recordInvoiceStatus open', invoice({ status: 'OPEN', asOf: '2026-11-01T10:00:00.000Z' }))).toEqual({ value: { applied: true } });
    expect(await record('recordInvoiceStatus replayed', invoice({ status: 'OPEN', asOf: '2026-11-01T10:00:00.000Z' }))).toEqual({
      value: { applied: false },
    });
    await record('recordInvoiceStatus late', invoice({ status: 'DRAFT', asOf: '2026-11-01T09:30:00.000Z' }));
    const other = { invoiceId: invoiceId(2), number: 'INV-C-0002', status: 'OPEN' as const };
    await refused('a posting another invoice bills', invoice({ ...other, sourceKeys: [dueKeys[0]!] }));
    await refused('a job ERP does not have', invoice({ ...other, projectId: MISSING_PROJECT }));
    await refused('another currency', invoice({ ...other, currency: project().currency === 'USD' ? 'GBP' : 'USD' }));
    await refused('a posting ERP does not have', invoice({ ...other, sourceKeys: ['time:missing:v9'] }));
    await refused('a schedule line of another project', invoice({ ...other, sourceKeys: [scheduled.sourceKey] }));
    await refused(
      'a schedule line the seeded history billed',
      invoice({ ...other, projectId: scheduled.projectId, currency: scheduled.currency, sourceKeys: [`schedule:${scheduled.projectId}:1`] }),
    );
    await refused('an invoice on another project', invoice({ projectId: scheduled.projectId, currency: scheduled.currency, asOf: '2026-11-02T00:00:00.000Z' }));
    const instalment = {
      invoiceId: invoiceId(3),
      number: 'INV-C-0003',
      projectId: scheduled.projectId,
      currency: scheduled.currency,
      status: 'OPEN' as const,
      totalMinor: 250_000,
      sourceKeys: [scheduled.sourceKey],
    };
    expect(await record('recordInvoiceStatus of a schedule line', invoice(instalment))).toEqual({ value: { applied: true } });
    await refused('a schedule line billed by another invoice', invoice({ ...instalment, invoiceId: invoiceId(4), number: 'INV-C-0004' }));
    await compareEverything('after invoicing');
  });

  it('records credit notes once, against a recorded invoice, never for more than its total', async () => {
    expect(await same('recordCreditNote', (port) => port.postings.recordCreditNote(creditNote()))).toEqual({ value: { applied: true } });
    expect(await same('recordCreditNote again', (port) => port.postings.recordCreditNote(creditNote()))).toEqual({ value: { applied: false } });
    const refusals: Array<[string, ErpCreditNote]> = [
      ['an invoice ERP does not have', creditNote({ creditNoteId: 'cn_2', invoiceId: invoiceId(9) })],
      ['another project', creditNote({ creditNoteId: 'cn_2', projectId: scheduled.projectId })],
      ['another currency', creditNote({ creditNoteId: 'cn_2', currency: project().currency === 'USD' ? 'GBP' : 'USD' })],
      ['more than the invoice', creditNote({ creditNoteId: 'cn_2', totalMinor: 600_001 })],
    ];
    for (const [label, note] of refusals)
      expect(await same(`recordCreditNote refused: ${label}`, (port) => port.postings.recordCreditNote(note)), label).toHaveProperty('error');
    await compareEverything('after a credit note');
  });

  it('pays, writes off and voids: a voided invoice frees what it billed and takes its billing back in its period', async () => {
    await record('recordInvoiceStatus paid in part', invoice({ status: 'PAID', amountPaidMinor: 300_000, asOf: '2026-11-20T09:00:00.000Z' }));
    await record(
      'recordInvoiceStatus uncollectible',
      invoice({
        invoiceId: invoiceId(3),
        number: 'INV-C-0003',
        projectId: scheduled.projectId,
        currency: scheduled.currency,
        status: 'UNCOLLECTIBLE',
        totalMinor: 250_000,
        amountPaidMinor: 50_000,
        sourceKeys: [scheduled.sourceKey],
        asOf: '2026-11-21T09:00:00.000Z',
      }),
    );
    await compareEverything('after payments');
    await record('recordInvoiceStatus void', invoice({ status: 'VOID', amountPaidMinor: 300_000, asOf: '2026-11-22T09:00:00.000Z' }));
    await record(
      'recordInvoiceStatus void of a schedule line',
      invoice({
        invoiceId: invoiceId(3),
        number: 'INV-C-0003',
        projectId: scheduled.projectId,
        currency: scheduled.currency,
        status: 'VOID',
        totalMinor: 250_000,
        sourceKeys: [scheduled.sourceKey],
        asOf: '2026-11-23T09:00:00.000Z',
      }),
    );
    await compareEverything('after voiding');
    // What a voided invoice billed can be billed again.
    expect(
      await record(
        'recordInvoiceStatus rebilled',
        invoice({ invoiceId: invoiceId(5), number: 'INV-C-0005', status: 'OPEN', date: '2026-12-01', asOf: '2026-12-01T09:00:00.000Z' }),
      ),
    ).toEqual({
      value: { applied: true },
    });
    await compareEverything('after billing again');
  });
}
