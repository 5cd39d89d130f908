/**
 * The PSA as the system of record for delivery, through the PSA subgraph over its sandbox: timesheets, expenses and
 * milestones moved through their approvals and corrections, each change with exactly one business event that
 * matches its contract, refusals with stable codes, and client users kept out.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { EventContracts } from '../../activation/src/events/eventContracts.js';
import type { Caller } from '../../platform/src/index.js';
import { recordEvents } from '../../platform/test/portConformance.js';
import { execute, temporaryDataDir } from '../../platform/test/testSupport.js';
import { type PsaSubgraph, createPsaSubgraph } from '../src/psaSubgraph.js';
import type { SandboxPsa } from '../src/sandbox/sandboxPsa.js';

const worldOptions = { scale: 0.3, seed: 11, asOf: '2026-11-01' };
const contracts = new EventContracts();
const today = () => new Date().toISOString().slice(0, 10);

const TIMESHEET = `id status version approvedOn statusReason weekStart totalHours project { id } resource { id }
  entries { id workDate hours billable assignmentId role { code } billRate { amount currency } }`;

describe('delivery in the PSA: timesheets, expenses and milestones through their approvals', () => {
  const data = temporaryDataDir('psa-delivery');
  let psa: PsaSubgraph;
  let recorder: ReturnType<typeof recordEvents>;
  beforeAll(() => {
    psa = createPsaSubgraph({ dataDir: data.dir, world: worldOptions, production: false });
  });
  afterAll(async () => {
    await psa.stop();
    data.remove();
  });
  beforeEach(async () => {
    await psa.flushEvents();
    recorder?.stop();
    recorder = recordEvents(psa.bus);
  });

  const db = () => (psa.psa as SandboxPsa).store.db;
  const row = <T>(sql: string, ...params: unknown[]) =>
    db()
      .prepare(sql)
      .get(...params) as T;
  const gql = (query: string, variables: Record<string, unknown> = {}) => execute(psa, query, variables);
  /** The events emitted since the test began, each checked against its contract. */
  const events = async () => {
    await psa.flushEvents();
    for (const event of recorder.events) {
      const full = { id: 'evt_01JFJG60M0Q0CQE75AR8B3HMHQ', version: 1, occurredAt: new Date().toISOString(), source: 'psa', ...event };
      expect(contracts.check(full), `${event.type} against its contract`).toEqual({ valid: true });
    }
    return recorder.events;
  };
  const codeOf = (response: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) => response.errors?.[0]?.extensions?.['code'];

  it('approves a submitted timesheet once, with a new version and every entry in timesheet.approved', async () => {
    const sheet = row<{ id: number; version: number }>("SELECT id, version FROM timesheet WHERE status = 'SUBMITTED' ORDER BY id LIMIT 1");
    const entries = db().prepare('SELECT id, minutes, work_date FROM time_entry WHERE timesheet_id = ? ORDER BY work_date, id').all(sheet.id) as Array<{
      id: number;
      minutes: number;
      work_date: string;
    }>;
    const approved = await gql(`mutation ($id: ID!) { approveTimesheet(id: $id) { ${TIMESHEET} } }`, { id: String(sheet.id) });
    expect(approved.errors).toBeUndefined();
    expect(approved.data!['approveTimesheet']).toMatchObject({ status: 'APPROVED', version: sheet.version + 1, approvedOn: today(), statusReason: null });
    expect(approved.data!['approveTimesheet'].entries.map((entry: { id: string }) => entry.id)).toEqual(entries.map((entry) => String(entry.id)));

    const again = await gql(`mutation ($id: ID!) { approveTimesheet(id: $id) { status version } }`, { id: String(sheet.id) });
    expect(again.data!['approveTimesheet']).toEqual({ status: 'APPROVED', version: sheet.version + 1 });

    const emitted = await events();
    expect(emitted.map((event) => [event.type, event.subject])).toEqual([['timesheet.approved', String(sheet.id)]]);
    expect(emitted[0]!.data).toMatchObject({ timesheetId: String(sheet.id), version: sheet.version + 1, approvedOn: today() });
    expect(
      (emitted[0]!.data['entries'] as Array<{ timeEntryId: string; minutes: number; workDate: string }>).map((entry) => [
        entry.timeEntryId,
        entry.minutes,
        entry.workDate,
      ]),
    ).toEqual(entries.map((entry) => [String(entry.id), entry.minutes, entry.work_date]));
  });

  it('rejects a submitted timesheet with its reason, reopens it without an event, and refuses what its status forbids', async () => {
    const sheet = row<{ id: number }>("SELECT id FROM timesheet WHERE status = 'SUBMITTED' ORDER BY id DESC LIMIT 1");
    const id = String(sheet.id);
    const rejected = await gql(
      `mutation ($id: ID!) { rejectTimesheet(id: $id, reason: "  Hours on the 3rd are for another project ") { status statusReason } }`,
      { id },
    );
    expect(rejected.data!['rejectTimesheet']).toEqual({ status: 'REJECTED', statusReason: 'Hours on the 3rd are for another project' });
    const approve = await gql(`mutation ($id: ID!) { approveTimesheet(id: $id) { status } }`, { id });
    expect(codeOf(approve)).toBe(ErrorCode.INVALID_STATE_TRANSITION);
    expect(approve.errors![0]!.message).toBe(`Timesheet ${id} is rejected; only a submitted timesheet can be approved.`);
    const reopened = await gql(`mutation ($id: ID!) { reopenTimesheet(id: $id, reason: "fixing the 3rd") { status } }`, { id });
    expect(reopened.data!['reopenTimesheet']).toEqual({ status: 'OPEN' });
    expect((await events()).map((event) => event.type)).toEqual(['timesheet.rejected']);

    const blank = await gql(`mutation ($id: ID!) { rejectTimesheet(id: $id, reason: "   ") { status } }`, { id });
    expect(codeOf(blank)).toBe(ErrorCode.BAD_USER_INPUT);
    const missing = await gql(`mutation { approveTimesheet(id: "99999999") { status } }`);
    expect(codeOf(missing)).toBe(ErrorCode.NOT_FOUND);
    const malformed = await gql(`mutation { approveTimesheet(id: "ts-1") { status } }`);
    expect(codeOf(malformed)).toBe(ErrorCode.INVALID_ID);
  });

  it('corrects approved time: un-approve (the posted version to reverse), correct while open, approve again as the next version', async () => {
    const sheet = row<{ id: number; version: number; project_id: string }>(
      "SELECT t.id, t.version, t.project_id FROM timesheet t WHERE t.status = 'APPROVED' AND (SELECT COUNT(*) FROM time_entry e WHERE e.timesheet_id = t.id) >= 2 ORDER BY t.id LIMIT 1",
    );
    const id = String(sheet.id);
    const entry = row<{ id: number; minutes: number }>('SELECT id, minutes FROM time_entry WHERE timesheet_id = ? ORDER BY work_date, id LIMIT 1', sheet.id);
    const approvedHours = async () =>
      (
        await gql(`query ($r: [_Any!]!) { _entities(representations: $r) { ... on Project { timeTotals { approvedHours openHours } } } }`, {
          r: [{ __typename: 'Project', id: sheet.project_id }],
        })
      ).data!['_entities'][0].timeTotals as { approvedHours: number; openHours: number };
    const before = await approvedHours();
    const sheetMinutes = row<{ minutes: number }>('SELECT SUM(minutes) AS minutes FROM time_entry WHERE timesheet_id = ?', sheet.id).minutes;

    const locked = await gql(`mutation ($id: ID!) { correctTimeEntry(id: $id, input: { hours: 1 }) { hours } }`, { id: String(entry.id) });
    expect(codeOf(locked)).toBe(ErrorCode.INVALID_STATE_TRANSITION);

    await gql(`mutation ($id: ID!) { reopenTimesheet(id: $id, reason: "client asked for the split by task") { status } }`, { id });
    const corrected = await gql(`mutation ($id: ID!) { correctTimeEntry(id: $id, input: { hours: 1.25, billable: false }) { hours billable } }`, {
      id: String(entry.id),
    });
    expect(corrected.data!['correctTimeEntry']).toEqual({ hours: 1.25, billable: false });
    const whileOpen = await approvedHours();
    expect(whileOpen.approvedHours).toBeCloseTo(before.approvedHours - sheetMinutes / 60, 6);
    expect(whileOpen.openHours).toBeCloseTo(before.openHours + (sheetMinutes - entry.minutes + 75) / 60, 6);

    await gql(`mutation ($id: ID!) { submitTimesheet(id: $id) { status } }`, { id });
    const reapproved = await gql(`mutation ($id: ID!) { approveTimesheet(id: $id) { status version } }`, { id });
    expect(reapproved.data!['approveTimesheet']).toEqual({ status: 'APPROVED', version: sheet.version + 1 });
    expect((await approvedHours()).approvedHours).toBeCloseTo(before.approvedHours + (75 - entry.minutes) / 60, 6);

    const emitted = await events();
    expect(emitted.map((event) => [event.type, event.data['version'] ?? null])).toEqual([
      ['timesheet.unapproved', sheet.version],
      ['timesheet.submitted', null],
      ['timesheet.approved', sheet.version + 1],
    ]);
    const reposted = (emitted[2]!.data['entries'] as Array<{ timeEntryId: string; minutes: number; billable: boolean }>).find(
      (line) => line.timeEntryId === String(entry.id),
    );
    expect(reposted).toMatchObject({ minutes: 75, billable: false });
  });

  it('logs time on a confirmed assignment into the week’s timesheet, and refuses tentative bookings, bad hours and locked weeks', async () => {
    const assignment = row<{ id: string; project_id: string; resource_id: string; end_date: string }>(
      `SELECT a.id, a.project_id, a.resource_id, p.end_date FROM assignment a JOIN project p ON p.id = a.project_id
       WHERE a.status = 'CONFIRMED' AND p.status = 'ACTIVE' AND p.end_date >= '2026-12-01' AND p.start_date <= '2026-11-02' ORDER BY a.id LIMIT 1`,
    );
    const log = (assignmentId: string, workDate: string, hours: number) =>
      gql(`mutation ($input: LogTimeInput!) { logTime(input: $input) { id hours billable workDate timesheet { id status weekStart resource { id } } } }`, {
        input: { assignmentId, workDate, hours },
      });
    const first = await log(assignment.id, '2026-11-24', 7.5);
    expect(first.errors).toBeUndefined();
    expect(first.data!['logTime']).toMatchObject({
      hours: 7.5,
      billable: true,
      workDate: '2026-11-24',
      timesheet: { status: 'OPEN', weekStart: '2026-11-23' },
    });
    const second = await log(assignment.id, '2026-11-26', 2);
    expect(second.data!['logTime'].timesheet.id).toBe(first.data!['logTime'].timesheet.id);

    expect(codeOf(await log(assignment.id, '2026-11-25', 0.01))).toBe(ErrorCode.BAD_USER_INPUT);
    expect(codeOf(await log(assignment.id, '2026-11-25', 25))).toBe(ErrorCode.BAD_USER_INPUT);
    const tentative = row<{ id: string }>("SELECT id FROM assignment WHERE status = 'TENTATIVE' LIMIT 1");
    expect(codeOf(await log(tentative.id, '2026-11-25', 1))).toBe(ErrorCode.INVALID_STATE_TRANSITION);

    await gql(`mutation ($id: ID!) { submitTimesheet(id: $id) { status } }`, { id: first.data!['logTime'].timesheet.id });
    const locked = await log(assignment.id, '2026-11-27', 1);
    expect(codeOf(locked)).toBe(ErrorCode.INVALID_STATE_TRANSITION);
    expect(locked.errors![0]!.message).toMatch(/is submitted: reopen it before booking more time/);
    expect((await events()).map((event) => [event.type, event.data['minutes']])).toEqual([['timesheet.submitted', 570]]);
  });

  it('takes an expense from draft to approved and back for a correction, each approval a version of expense.approved', async () => {
    const staffed = row<{ project_id: string; resource_id: string }>(
      "SELECT project_id, resource_id FROM assignment WHERE status = 'CONFIRMED' ORDER BY id LIMIT 1",
    );
    const created = await gql(
      `mutation ($input: CreateExpenseInput!) { createExpense(input: $input) { id status version amount { amount currency } category billable receiptRef } }`,
      {
        input: {
          projectId: staffed.project_id,
          resourceId: staffed.resource_id,
          incurredOn: '2026-10-20',
          category: 'TRAVEL',
          description: 'Train to the client workshop',
          amount: '184.50',
          currency: 'GBP',
          receiptRef: 'receipts/2026/10/0042.pdf',
          billable: true,
        },
      },
    );
    expect(created.errors).toBeUndefined();
    const expense = created.data!['createExpense'];
    expect(expense).toMatchObject({ status: 'DRAFT', version: 0, amount: { amount: '184.50', currency: 'GBP' }, receiptRef: 'receipts/2026/10/0042.pdf' });
    const id = expense.id as string;
    const act = (mutation: string, extra = '') => gql(`mutation ($id: ID!) { ${mutation}(id: $id${extra}) { status version statusReason } }`, { id });
    expect(codeOf(await act('approveExpense'))).toBe(ErrorCode.INVALID_STATE_TRANSITION);
    expect((await act('submitExpense')).data!['submitExpense']).toMatchObject({ status: 'SUBMITTED' });
    expect((await act('approveExpense')).data!['approveExpense']).toMatchObject({ status: 'APPROVED', version: 1 });
    expect((await act('reopenExpense', ', reason: "wrong currency"')).data!['reopenExpense']).toMatchObject({
      status: 'DRAFT',
      version: 1,
      statusReason: 'wrong currency',
    });
    await act('submitExpense');
    expect((await act('approveExpense')).data!['approveExpense']).toMatchObject({ status: 'APPROVED', version: 2 });
    const emitted = await events();
    expect(emitted.map((event) => [event.type, event.data['version']])).toEqual([
      ['expense.approved', 1],
      ['expense.unapproved', 1],
      ['expense.approved', 2],
    ]);
    expect(emitted[0]!.data).toMatchObject({ amountMinor: 18450, currency: 'GBP', category: 'TRAVEL', billable: true, projectId: staffed.project_id });

    const listed = await gql(`query ($p: ID!) { expenses(filter: { projectId: $p, status: [APPROVED] }) { totalCount nodes { id } } }`, {
      p: staffed.project_id,
    });
    expect(listed.data!['expenses']).toEqual({ totalCount: 1, nodes: [{ id }] });

    const stranger = row<{ id: string }>(
      'SELECT id FROM resource WHERE id NOT IN (SELECT resource_id FROM assignment WHERE project_id = ?) LIMIT 1',
      staffed.project_id,
    );
    const refused = await gql(`mutation ($input: CreateExpenseInput!) { createExpense(input: $input) { id } }`, {
      input: {
        projectId: staffed.project_id,
        resourceId: stranger.id,
        incurredOn: '2026-10-20',
        category: 'MEALS',
        description: 'Lunch',
        amount: '12.00',
        currency: 'USD',
        billable: false,
      },
    });
    expect(codeOf(refused)).toBe(ErrorCode.INVALID_STATE_TRANSITION);
    const zero = await gql(`mutation ($input: CreateExpenseInput!) { createExpense(input: $input) { id } }`, {
      input: {
        projectId: staffed.project_id,
        resourceId: staffed.resource_id,
        incurredOn: '2026-10-20',
        category: 'MEALS',
        description: 'Lunch',
        amount: '0',
        currency: 'USD',
        billable: false,
      },
    });
    expect(codeOf(zero)).toBe(ErrorCode.BAD_USER_INPUT);
  });

  it('completes a milestone, approves it for billing and withdraws the approval, each with its event', async () => {
    const milestone = row<{ id: string; amount_minor: number; project_id: string }>(
      "SELECT id, amount_minor, project_id FROM milestone WHERE status = 'PLANNED' AND billable = 1 ORDER BY id LIMIT 1",
    );
    const act = (mutation: string, extra = '') =>
      gql(`mutation ($id: ID!) { ${mutation}(id: $id${extra}) { id status actualDate amount { amount } } }`, { id: milestone.id });
    expect(codeOf(await act('approveMilestoneForBilling'))).toBe(ErrorCode.INVALID_STATE_TRANSITION);
    expect((await act('completeMilestone', ', actualDate: "2026-10-30"')).data!['completeMilestone']).toMatchObject({
      status: 'COMPLETED',
      actualDate: '2026-10-30',
    });
    expect((await act('approveMilestoneForBilling')).data!['approveMilestoneForBilling']).toMatchObject({ status: 'APPROVED_FOR_BILLING' });
    expect((await act('approveMilestoneForBilling')).data!['approveMilestoneForBilling']).toMatchObject({ status: 'APPROVED_FOR_BILLING' });
    expect((await act('withdrawMilestoneBillingApproval', ', reason: "acceptance not signed"')).data!['withdrawMilestoneBillingApproval']).toMatchObject({
      status: 'COMPLETED',
    });
    const emitted = await events();
    expect(emitted.map((event) => [event.type, event.data['version'] ?? null])).toEqual([
      ['milestone.completed', null],
      ['milestone.approved_for_billing', 1],
      ['milestone.billing_approval_withdrawn', 1],
    ]);
    expect(emitted[1]!.data).toMatchObject({ amountMinor: milestone.amount_minor, projectId: milestone.project_id, actualDate: '2026-10-30' });

    const unbillable = row<{ id: string }>("SELECT id FROM milestone WHERE status = 'COMPLETED' AND billable = 0 LIMIT 1");
    const refused = await gql(`mutation ($id: ID!) { approveMilestoneForBilling(id: $id) { id } }`, { id: unbillable.id });
    expect(codeOf(refused)).toBe(ErrorCode.INVALID_STATE_TRANSITION);
    expect(refused.errors![0]!.message).toBe(`Milestone ${unbillable.id} is not billable; only billable milestones are approved for billing.`);
  });

  it('lists timesheets by project, consultant, status and week', async () => {
    const sheet = row<{ project_id: string; resource_id: string; n: number }>(
      "SELECT project_id, resource_id, COUNT(*) AS n FROM timesheet WHERE status = 'APPROVED' GROUP BY project_id, resource_id ORDER BY n DESC LIMIT 1",
    );
    const listed = await gql(
      `query ($p: ID!, $r: ID!) { timesheets(filter: { projectId: $p, resourceId: $r, status: [APPROVED] }, first: 100) { totalCount nodes { weekStart status } } }`,
      { p: sheet.project_id, r: sheet.resource_id },
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data!['timesheets'].totalCount).toBe(sheet.n);
    const weeks = listed.data!['timesheets'].nodes.map((node: { weekStart: string }) => node.weekStart);
    expect(weeks).toEqual([...weeks].sort());
    const inverted = await gql(`{ timesheets(filter: { weekStart: { from: "2026-10-01", to: "2026-09-01" } }) { totalCount } }`);
    expect(codeOf(inverted)).toBe(ErrorCode.INVALID_DATE_RANGE);
  });

  it('keeps client users away from timesheets, expenses and approvals', async () => {
    const client: Caller = {
      subject: 'client-user',
      scopes: new Set(['psa:write']),
      roles: new Set(),
      accountIds: new Set(['001000000000000AAA']),
      process: false,
    };
    const sheet = row<{ id: number }>("SELECT id FROM timesheet WHERE status = 'SUBMITTED' ORDER BY id LIMIT 1");
    const asClient = async (query: string) => {
      const response = await psa.apollo.executeOperation({ query }, { contextValue: psa.createContext(client) as never });
      return response.body.kind === 'single' ? response.body.singleResult : undefined;
    };
    expect(codeOf((await asClient(`{ timesheets { totalCount } }`))!)).toBe(ErrorCode.FORBIDDEN);
    expect(codeOf((await asClient(`mutation { approveTimesheet(id: "${sheet.id}") { status } }`))!)).toBe(ErrorCode.FORBIDDEN);
    expect(row<{ status: string }>('SELECT status FROM timesheet WHERE id = ?', sheet.id).status).toBe('SUBMITTED');
    expect(await events()).toEqual([]);
  });
});
