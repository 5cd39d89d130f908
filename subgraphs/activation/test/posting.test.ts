/**
 * Approved time from the PSA to ERP through the posting process, over real PSA and ERP subgraphs (HTTP) sharing an
 * event bus, counted in the stores: a clean approval posts each entry once however often its event arrives; each
 * broken rule holds its entries back with a billing exception that says what to fix, and nothing of them posts;
 * fixing the data at its source and retrying posts them; a waived problem posts as it is; a correction reverses
 * what was posted and the corrected version posts afresh. Every event published matches its contract.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../platform/src/events/index.js';
import { eventually, execute } from '../../platform/test/testSupport.js';
import type { ActivationSubgraph } from '../src/activationSubgraph.js';
import { type SystemsUnderTest, contractViolations, run, startActivation, startSystems } from './activationHarness.js';

/** The ID of the malformed approval one test sends on purpose. */
const MALFORMED = 'evt_01JFJG60M0Q0CQE75AR8B3HMHQ';

interface Sheet {
  id: string;
  version: number;
  projectId: string;
  jobId: number;
  entries: Array<{ id: string; workDate: string; minutes: number }>;
}

describe('posting approved time to ERP', () => {
  let systems: SystemsUnderTest;
  let activation: ActivationSubgraph;
  const used = new Set<string>();

  beforeAll(async () => {
    systems = await startSystems();
    activation = startActivation(systems);
  });
  afterAll(async () => {
    await activation?.stop();
    await systems?.stop();
  });

  /** A submitted timesheet on an open time-and-materials job whose every entry is billable, not used by another test. */
  const submittedSheet = (extra = '', contractType = 'TIME_AND_MATERIALS'): Sheet => {
    const candidates = systems
      .psaDb()
      .prepare(
        `SELECT t.id, t.version, t.project_id FROM timesheet t JOIN project p ON p.id = t.project_id
         WHERE t.status = 'SUBMITTED' AND p.contract_type = ?
           AND NOT EXISTS (SELECT 1 FROM time_entry e WHERE e.timesheet_id = t.id AND e.billable = 0) ${extra}
         ORDER BY t.id`,
      )
      .all(contractType) as Array<{ id: number; version: number; project_id: string }>;
    for (const candidate of candidates) {
      const job = systems.erpDb().prepare("SELECT id FROM job WHERE external_id = ? AND status = 'IN_PROGRESS'").get(candidate.project_id) as
        { id: number } | undefined;
      if (!job || used.has(candidate.project_id)) continue;
      used.add(candidate.project_id);
      const entries = systems
        .psaDb()
        .prepare('SELECT id, work_date AS workDate, minutes FROM time_entry WHERE timesheet_id = ? ORDER BY work_date, id')
        .all(candidate.id) as Sheet['entries'];
      return {
        id: String(candidate.id),
        version: candidate.version,
        projectId: candidate.project_id,
        jobId: job.id,
        entries: entries.map((entry) => ({ ...entry, id: String(entry.id) })),
      };
    }
    throw new Error('no submitted timesheet left on an open T&M job');
  };
  const psa = (query: string, variables: Record<string, unknown>) => execute(systems.psa, query, variables);
  const approve = async (sheet: Sheet) => {
    const approved = await psa(`mutation ($id: ID!) { approveTimesheet(id: $id) { status version } }`, { id: sheet.id });
    expect(approved.errors).toBeUndefined();
    await systems.psa.flushEvents();
    return approved.data!['approveTimesheet'].version as number;
  };
  const postingsOf = (sheet: Sheet) =>
    systems
      .erpDb()
      .prepare('SELECT external_id AS key, status, billable_minor AS billable FROM delivery_posting WHERE job_id = ? ORDER BY external_id')
      .all(sheet.jobId) as Array<{ key: string; status: string; billable: number }>;
  const keysOf = (sheet: Sheet, version: number) => sheet.entries.map((entry) => `time:${entry.id}:v${version}`).sort();
  const exceptionsOf = async (sheet: Sheet, status = 'OPEN') =>
    (
      await run(
        activation,
        `query ($p: ID!, $s: [BillingExceptionStatus!]) { billingExceptions(filter: { projectId: $p, status: $s }, first: 100) { nodes { id type status ownerSystem ownerTeam entityType entityId field expected actual message resolution sourceKey attempts } } }`,
        {
          p: sheet.projectId,
          s: [status],
        },
      )
    ).data!['billingExceptions'].nodes as Array<Record<string, any>>;
  const published = (type: string, predicate: (event: BusEvent) => boolean = () => true) =>
    systems.published().filter((event) => event.type === type && predicate(event));
  const settle = async () => {
    await systems.psa.flushEvents();
    await activation.flushEvents();
  };

  it('posts each entry of an approved timesheet once, however often its approval arrives', async () => {
    const sheet = submittedSheet();
    const version = await approve(sheet);
    await eventually(() => expect(postingsOf(sheet).map((row) => row.key)).toEqual(keysOf(sheet, version)));
    expect(postingsOf(sheet).every((row) => row.status === 'POSTED' && row.billable > 0)).toBe(true);

    const approval = published('timesheet.approved', (event) => event.subject === sheet.id)[0]!;
    await systems.bus.publish(approval);
    await systems.bus.publish(approval);
    await settle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await settle();
    expect(postingsOf(sheet).map((row) => row.key)).toEqual(keysOf(sheet, version));
    // ERP answered before the process recorded it: the lines are POSTED once it has.
    await eventually(async () => {
      const lines = await run(
        activation,
        `query ($id: ID!, $v: Int!) { timesheetPosting(timesheetId: $id, version: $v) { sourceKey status postedAt openExceptions { id } } }`,
        {
          id: sheet.id,
          v: version,
        },
      );
      expect(lines.data!['timesheetPosting'].map((line: { status: string }) => line.status)).toEqual(sheet.entries.map(() => 'POSTED'));
    });
    await settle();
    expect(published('delivery.posted_to_erp', (event) => event.subject === sheet.id)).toHaveLength(1);
  });

  it('holds back time billed off the contract rate with an exception saying what to fix, and posts it once the rate is fixed', async () => {
    const sheet = submittedSheet();
    // The contract in ERP says one thing, the PSA assignment another.
    systems.erpDb().prepare('UPDATE contract_rate SET bill_rate_minor = bill_rate_minor + 500 WHERE job_id = ?').run(sheet.jobId);
    const version = await approve(sheet);
    await eventually(async () => expect(await exceptionsOf(sheet)).toHaveLength(sheet.entries.length));
    expect(postingsOf(sheet)).toEqual([]);
    const exceptions = await exceptionsOf(sheet);
    expect(exceptions[0]).toMatchObject({
      type: 'RATE_MISMATCH',
      ownerSystem: 'PSA',
      ownerTeam: 'Delivery operations',
      entityType: 'TimeEntry',
      field: 'assignment.billRate',
    });
    expect(exceptions.map((exception) => exception.sourceKey).sort()).toEqual(keysOf(sheet, version));
    expect(published('billing_exception.raised', (event) => event.data['projectId'] === sheet.projectId)).toHaveLength(sheet.entries.length);

    // Retrying before the fix finds it again.
    const again = await run(activation, `mutation ($id: ID!) { retryBillingException(id: $id) { status attempts } }`, { id: exceptions[0]!.id });
    expect(again.data!['retryBillingException']).toEqual({ status: 'OPEN', attempts: 2 });

    systems.erpDb().prepare('UPDATE contract_rate SET bill_rate_minor = bill_rate_minor - 500 WHERE job_id = ?').run(sheet.jobId);
    for (const exception of exceptions) {
      const retried = await run(activation, `mutation ($id: ID!) { retryBillingException(id: $id) { status resolvedAt } }`, { id: exception.id });
      expect(retried.data!['retryBillingException'].status).toBe('RESOLVED');
    }
    expect(postingsOf(sheet).map((row) => row.key)).toEqual(keysOf(sheet, version));
    await settle();
    expect(published('billing_exception.resolved', (event) => event.data['projectId'] === sheet.projectId)).toHaveLength(sheet.entries.length);
  });

  it('holds back fixed-fee work beyond the budget, and posts it once the budget is raised', async () => {
    const sheet = submittedSheet('', 'FIXED_FEE');
    const budget = systems.erpDb().prepare('SELECT budget_minor FROM job WHERE id = ?').pluck().get(sheet.jobId) as number;
    systems.erpDb().prepare('UPDATE job SET budget_minor = 0 WHERE id = ?').run(sheet.jobId);
    const version = await approve(sheet);
    await eventually(async () => expect(await exceptionsOf(sheet)).toHaveLength(sheet.entries.length));
    expect(postingsOf(sheet)).toEqual([]);
    const exceptions = await exceptionsOf(sheet);
    expect(exceptions.every((exception) => exception.type === 'BUDGET_EXCEEDED')).toBe(true);
    expect(exceptions[0]).toMatchObject({
      ownerSystem: 'PSA',
      ownerTeam: 'Project management',
      entityType: 'Project',
      field: 'job.budget',
      actual: expect.stringMatching(/^0\.00 /),
    });

    systems.erpDb().prepare('UPDATE job SET budget_minor = ? WHERE id = ?').run(budget, sheet.jobId);
    for (const exception of exceptions) {
      const retried = await run(activation, `mutation ($id: ID!) { retryBillingException(id: $id) { status } }`, { id: exception.id });
      expect(retried.data!['retryBillingException'].status).toBe('RESOLVED');
    }
    // Time on a fixed fee posts as cost: nothing of it is billed by the hour.
    expect(postingsOf(sheet)).toEqual(keysOf(sheet, version).map((key) => ({ key, status: 'POSTED', billable: 0 })));
  });

  it('opens one exception per problem: a closed period, an unknown consultant, a missing PO', async () => {
    const sheet = submittedSheet();
    const period = sheet.entries[0]!.workDate.slice(0, 7);
    const resourceId = systems.psaDb().prepare('SELECT resource_id FROM timesheet WHERE id = ?').pluck().get(Number(sheet.id)) as string;
    systems.erpDb().prepare('UPDATE accounting_period SET closed = 1 WHERE period = ?').run(period);
    systems.erpDb().prepare('UPDATE employee SET inactive = 1 WHERE external_id = ?').run(resourceId);
    try {
      await approve(sheet);
      await eventually(async () => expect((await exceptionsOf(sheet)).length).toBeGreaterThanOrEqual(2 * sheet.entries.length));
      const types = new Set((await exceptionsOf(sheet)).map((exception) => exception.type));
      expect(types).toEqual(new Set(['CLOSED_PERIOD', 'UNKNOWN_CONSULTANT']));
      expect(postingsOf(sheet)).toEqual([]);
    } finally {
      systems.erpDb().prepare('UPDATE accounting_period SET closed = 0 WHERE period = ?').run(period);
      systems.erpDb().prepare('UPDATE employee SET inactive = 0 WHERE external_id = ?').run(resourceId);
    }
    // Both fixed at the source: one retry of each line posts it and resolves both of its exceptions.
    const byLine = new Map((await exceptionsOf(sheet)).map((exception) => [exception.sourceKey, exception.id]));
    for (const id of byLine.values()) await run(activation, `mutation ($id: ID!) { retryBillingException(id: $id) { status } }`, { id });
    expect(postingsOf(sheet)).toHaveLength(sheet.entries.length);
    expect(await exceptionsOf(sheet)).toEqual([]);

    const poSheet = submittedSheet(
      `AND p.id IN (SELECT value FROM json_each('${JSON.stringify(
        systems.erpDb().prepare('SELECT j.external_id FROM job j JOIN purchase_order o ON o.job_id = j.id').pluck().all(),
      )}'))`,
    );
    systems.erpDb().prepare('DELETE FROM purchase_order WHERE job_id = ?').run(poSheet.jobId);
    await approve(poSheet);
    await eventually(async () => expect(await exceptionsOf(poSheet)).toHaveLength(poSheet.entries.length));
    expect((await exceptionsOf(poSheet))[0]).toMatchObject({ type: 'MISSING_PO', ownerSystem: 'CRM', ownerTeam: 'Sales operations', entityType: 'Project' });
  });

  it('posts a waived problem as it is', async () => {
    const sheet = submittedSheet();
    systems.erpDb().prepare('UPDATE contract_rate SET bill_rate_minor = bill_rate_minor + 100 WHERE job_id = ?').run(sheet.jobId);
    await approve(sheet);
    await eventually(async () => expect(await exceptionsOf(sheet)).toHaveLength(sheet.entries.length));
    for (const exception of await exceptionsOf(sheet)) {
      const waived = await run(
        activation,
        `mutation ($id: ID!) { waiveBillingException(id: $id, note: "Rate agreed by email with the client") { status note resolvedBy } }`,
        {
          id: exception.id,
        },
      );
      expect(waived.data!['waiveBillingException']).toEqual({ status: 'WAIVED', note: 'Rate agreed by email with the client', resolvedBy: 'development' });
    }
    expect(postingsOf(sheet)).toHaveLength(sheet.entries.length);
    const missing = await run(activation, `mutation { retryBillingException(id: "bex_01JFJG60M0Q0CQE75AR8B3HMHQ") { status } }`);
    expect(missing.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
  });

  it('reverses what a version posted when the timesheet is corrected, and posts the corrected version', async () => {
    const sheet = submittedSheet();
    const version = await approve(sheet);
    await eventually(() => expect(postingsOf(sheet)).toHaveLength(sheet.entries.length));
    const ledger = () =>
      systems.erpDb().prepare("SELECT COALESCE(SUM(amount_minor), 0) FROM posting WHERE job_id = ? AND type = 'REVENUE'").pluck().get(sheet.jobId) as number;
    const posted = ledger();

    await psa(`mutation ($id: ID!) { reopenTimesheet(id: $id, reason: "hours on the wrong day") { status } }`, { id: sheet.id });
    await systems.psa.flushEvents();
    await eventually(() => expect(postingsOf(sheet).every((row) => row.status === 'REVERSED')).toBe(true));
    const withoutSheet = ledger();
    const billedBefore = postingsOf(sheet).reduce((sum, row) => sum + row.billable, 0);
    expect(withoutSheet).toBe(posted - billedBefore);

    await psa(`mutation ($id: ID!) { correctTimeEntry(id: $id, input: { hours: 2 }) { hours } }`, { id: sheet.entries[0]!.id });
    await psa(`mutation ($id: ID!) { submitTimesheet(id: $id) { status } }`, { id: sheet.id });
    const next = await approve(sheet);
    expect(next).toBe(version + 1);
    await eventually(() =>
      expect(
        postingsOf(sheet)
          .filter((row) => row.status === 'POSTED')
          .map((row) => row.key),
      ).toEqual(keysOf(sheet, next)),
    );
    expect(
      postingsOf(sheet)
        .filter((row) => row.status === 'REVERSED')
        .map((row) => row.key),
    ).toEqual(keysOf(sheet, version));
  });

  it('posts approved expenses and milestones approved for billing, holds back an expense in another currency, and reverses a withdrawal', async () => {
    const sheet = submittedSheet();
    const staffed = systems.psaDb().prepare('SELECT resource_id FROM timesheet WHERE id = ?').pluck().get(Number(sheet.id)) as string;
    const currency = systems.psaDb().prepare('SELECT currency FROM project WHERE id = ?').pluck().get(sheet.projectId) as string;
    const expense = async (amount: string, inCurrency: string) => {
      const created = await psa(`mutation ($input: CreateExpenseInput!) { createExpense(input: $input) { id } }`, {
        input: {
          projectId: sheet.projectId,
          resourceId: staffed,
          incurredOn: sheet.entries[0]!.workDate,
          category: 'TRAVEL',
          description: 'Client visit',
          amount,
          currency: inCurrency,
          billable: true,
        },
      });
      const id = created.data!['createExpense'].id as string;
      await psa(`mutation ($id: ID!) { submitExpense(id: $id) { status } }`, { id });
      await psa(`mutation ($id: ID!) { approveExpense(id: $id) { status } }`, { id });
      await systems.psa.flushEvents();
      return id;
    };
    const onTime = await expense('240.00', currency);
    const foreign = await expense('99.00', currency === 'EUR' ? 'USD' : 'EUR');
    await eventually(() => expect(postingsOf(sheet).map((row) => [row.key, row.billable])).toEqual([[`expense:${onTime}:v1`, 24_000]]));
    await eventually(async () =>
      expect((await exceptionsOf(sheet)).map((exception) => [exception.type, exception.entityType, exception.entityId])).toEqual([
        ['CURRENCY_MISMATCH', 'Expense', foreign],
      ]),
    );

    const milestone = systems
      .psaDb()
      .prepare("SELECT id, amount_minor FROM milestone WHERE project_id = ? AND status = 'PLANNED' AND billable = 1 ORDER BY sort_order LIMIT 1")
      .get(sheet.projectId) as { id: string; amount_minor: number } | undefined;
    const target =
      milestone ??
      (systems.psaDb().prepare("SELECT id, amount_minor, project_id FROM milestone WHERE status = 'PLANNED' AND billable = 1 ORDER BY id LIMIT 1").get() as {
        id: string;
        amount_minor: number;
        project_id: string;
      });
    await psa(`mutation ($id: ID!) { completeMilestone(id: $id, actualDate: "${sheet.entries[0]!.workDate}") { status } }`, { id: target.id });
    await psa(`mutation ($id: ID!) { approveMilestoneForBilling(id: $id) { status } }`, { id: target.id });
    await systems.psa.flushEvents();
    const milestonePosting = () =>
      systems.erpDb().prepare('SELECT status, billable_minor AS billable FROM delivery_posting WHERE external_id = ?').get(`milestone:${target.id}:v1`) as
        { status: string; billable: number } | undefined;
    await eventually(() => expect(milestonePosting()).toEqual({ status: 'POSTED', billable: target.amount_minor }));
    await psa(`mutation ($id: ID!) { withdrawMilestoneBillingApproval(id: $id, reason: "acceptance not signed") { status } }`, { id: target.id });
    await systems.psa.flushEvents();
    await eventually(() => expect(milestonePosting()).toEqual({ status: 'REVERSED', billable: target.amount_minor }));
  });

  it('reports posting health from the lines’ own timestamps, and lists what is stuck with its cause', async () => {
    const db = activation.store.sqlite.db;
    const counted = (sql: string) => db.prepare(sql).pluck().get() as number;
    const figures = await run(
      activation,
      `{ postingFigures { approvedLines postedLines heldBackLines pendingLines correctedLines exceptionRate approvedToErp { p50Seconds p99Seconds maxSeconds } openExceptions { type count } } }`,
    );
    expect(figures.errors).toBeUndefined();
    const health = figures.data!['postingFigures'];
    expect(health).toMatchObject({
      approvedLines: counted('SELECT COUNT(*) FROM delivery_line'),
      postedLines: counted("SELECT COUNT(*) FROM delivery_line WHERE status = 'POSTED'"),
      heldBackLines: counted("SELECT COUNT(*) FROM delivery_line WHERE status = 'EXCEPTION'"),
      pendingLines: 0,
      correctedLines: counted("SELECT COUNT(*) FROM delivery_line WHERE status IN ('REVERSED', 'WITHDRAWN')"),
    });
    expect(health.exceptionRate).toBeCloseTo(counted('SELECT COUNT(DISTINCT source_key) FROM billing_exception') / health.approvedLines, 10);
    expect(health.approvedToErp.p50Seconds).toBeGreaterThanOrEqual(0);
    expect(health.approvedToErp.p99Seconds).toBeLessThanOrEqual(health.approvedToErp.maxSeconds);
    expect(health.openExceptions.map((row: { type: string }) => row.type).sort()).toEqual(['CURRENCY_MISMATCH', 'MISSING_PO']);

    const future = await run(
      activation,
      `query ($from: DateTime!) { postingFigures(filter: { from: $from }) { approvedLines exceptionRate approvedToErp { p50Seconds } } }`,
      {
        from: new Date(Date.now() + 60_000).toISOString(),
      },
    );
    expect(future.data!['postingFigures']).toEqual({ approvedLines: 0, exceptionRate: null, approvedToErp: null });

    const stuck = await run(
      activation,
      `{ stuckPostings(olderThanMinutes: 0, first: 100) { sourceKey kind status project { id } openExceptions { type ownerTeam } } }`,
    );
    const lines = stuck.data!['stuckPostings'] as Array<{ status: string; openExceptions: unknown[] }>;
    expect(lines).toHaveLength(health.heldBackLines);
    expect(lines.every((line) => line.status === 'EXCEPTION' && line.openExceptions.length > 0)).toBe(true);
    expect((await run(activation, `{ stuckPostings(olderThanMinutes: 60) { sourceKey } }`)).data!['stuckPostings']).toEqual([]);
    expect((await run(activation, `{ stuckPostings(first: 0) { sourceKey } }`)).errors?.[0]?.extensions?.['code']).toBe('PAGE_SIZE_OUT_OF_RANGE');
  });

  it('reconciles a project across the PSA, the process and ERP, naming each difference and what each system says', async () => {
    const sheet = submittedSheet('AND (SELECT COUNT(*) FROM time_entry e WHERE e.timesheet_id = t.id) >= 2');
    const version = await approve(sheet);
    // Posted in ERP and recorded by the process.
    await eventually(() =>
      expect(activation.store.sqlite.db.prepare("SELECT COUNT(*) FROM delivery_line WHERE parent_id = ? AND status = 'POSTED'").pluck().get(sheet.id)).toBe(
        sheet.entries.length,
      ),
    );
    const reconcile = async () =>
      (
        await run(
          activation,
          `query ($p: ID!) { reconcileProject(projectId: $p) { project { id } lines erpPostings differences { type sourceKey psaRecord psa process erp detail } } }`,
          { p: sheet.projectId },
        )
      ).data!['reconcileProject'];
    const clean = await reconcile();
    expect(clean).toMatchObject({ project: { id: sheet.projectId }, differences: [] });
    expect(clean.lines).toBe(activation.store.sqlite.db.prepare('SELECT COUNT(*) FROM delivery_line WHERE project_id = ?').pluck().get(sheet.projectId));
    expect(clean.erpPostings).toBe(systems.erpDb().prepare('SELECT COUNT(*) FROM delivery_posting WHERE job_id = ?').pluck().get(sheet.jobId));

    const [first, second] = keysOf(sheet, version);
    // ERP changed behind the process's back, and a re-approval in the PSA whose events were lost.
    systems.erpDb().prepare('UPDATE delivery_posting SET cost_minor = cost_minor + 1 WHERE external_id = ?').run(first);
    systems.erpDb().prepare("UPDATE delivery_posting SET status = 'REVERSED', reversed_at = '2026-12-01T00:00:00.000Z' WHERE external_id = ?").run(second);
    systems.psaDb().prepare('UPDATE timesheet SET version = version + 1 WHERE id = ?').run(Number(sheet.id));
    const found = (await reconcile()).differences as Array<{ type: string; sourceKey: string | null; psa: string | null; erp: string | null }>;
    expect(found.filter((difference) => difference.type === 'AMOUNT_DIFFERS').map((difference) => difference.sourceKey)).toEqual([first]);
    expect(found.find((difference) => difference.type === 'MISSING_IN_ERP')).toMatchObject({ sourceKey: second, erp: 'REVERSED' });
    expect(found.find((difference) => difference.type === 'APPROVAL_NOT_TAKEN_IN')).toMatchObject({
      sourceKey: null,
      psa: expect.stringMatching(`^approved v${version + 1} on`),
    });
    // The lines of the version the PSA replaced are still posted (the second is reversed in ERP: already listed).
    expect(
      found
        .filter((difference) => difference.type === 'CORRECTION_NOT_APPLIED')
        .map((difference) => difference.sourceKey)
        .sort(),
    ).toEqual(keysOf(sheet, version));
    const bad = await run(activation, `{ reconcileProject(projectId: "nope") { lines } }`);
    expect(bad.errors?.[0]?.extensions?.['code']).toBe('INVALID_ID');
  });

  it('dead-letters an approval that does not match its contract, and posts nothing of it', async () => {
    const before = systems.erpDb().prepare('SELECT COUNT(*) FROM delivery_posting').pluck().get() as number;
    const malformed = {
      ...published('timesheet.approved')[0]!,
      id: 'evt_01JFJG60M0Q0CQE75AR8B3HMHQ',
      data: { timesheetId: '60000001', entries: 'all of them' },
    };
    await systems.bus.publish(malformed as BusEvent);
    await eventually(() =>
      expect(activation.store.deadLetters.list(100).find((letter) => letter.eventId === malformed.id)).toMatchObject({
        type: 'timesheet.approved',
        reason: expect.stringMatching(/^does not match timesheet.approved v1/),
      }),
    );
    expect(systems.erpDb().prepare('SELECT COUNT(*) FROM delivery_posting').pluck().get()).toBe(before);
  });

  it('publishes only events that match their contracts', async () => {
    await settle();
    // Everything but the malformed approval the dead-letter test sent on purpose.
    expect(contractViolations(systems.published().filter((event) => event.id !== MALFORMED))).toEqual([]);
    expect(published('delivery.posted_to_erp').length).toBeGreaterThan(0);
  });
});
