/**
 * Proof by counting records: 10,000 approved time entries, 5 % of them faulty in each way a posting can be
 * (a rate off the contract, a closed period, a consultant ERP does not know, a contract whose PO is missing), go
 * through the posting process over real ERP and PSA subgraphs — every approval sent twice. Exactly the faulty
 * entries become exceptions and every other entry is in ERP once; fixing the data at its source (or waiving the
 * rate) and retrying posts the rest, once; and ERP's billable total equals the entries' value. An invoice run then
 * bills each posting once, the totals agree in ERP, billing, CRM and the PSA, and a payment reaches every one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BusEvent, newEvent } from '../../platform/src/events/index.js';
import type { SandboxBilling } from '../../billing/src/sandbox/sandboxBilling.js';
import { eventually, execute } from '../../platform/test/testSupport.js';
import type { ActivationSubgraph } from '../src/activationSubgraph.js';
import { type SystemsUnderTest, run, startActivation, startSystems } from './activationHarness.js';

const ENTRIES = 10_000;
const PER_SHEET = 5;
const UNKNOWN_CONSULTANT = '99999991';

interface PlannedEntry {
  readonly key: string;
  readonly valueMinor: number;
  readonly fault: 'RATE_MISMATCH' | 'CLOSED_PERIOD' | 'UNKNOWN_CONSULTANT' | 'MISSING_PO' | null;
}

describe('10,000 approved entries, 5 % faulty, through posting', () => {
  let systems: SystemsUnderTest;
  let activation: ActivationSubgraph;
  const planned: PlannedEntry[] = [];
  const events: BusEvent[] = [];
  /** The contract that loses its PO. */
  let withoutPoJobId = 0;

  beforeAll(async () => {
    systems = await startSystems();
    activation = startActivation(systems);
    const erp = systems.erpDb();
    const jobs = erp
      .prepare(
        `SELECT j.id, j.external_id AS projectId, j.currency, j.po_required AS poRequired, r.role, r.bill_rate_minor AS rate, r.effective_from AS "from"
         FROM job j JOIN contract_rate r ON r.job_id = j.id
         WHERE j.status = 'IN_PROGRESS' AND j.contract_type = 'TIME_AND_MATERIALS' AND r.effective_to IS NULL GROUP BY j.id ORDER BY j.id`,
      )
      .all() as Array<{ id: number; projectId: string; currency: string; poRequired: number; role: string; rate: number; from: string }>;
    const closed = erp.prepare('SELECT period FROM accounting_period WHERE closed = 1 ORDER BY period DESC').pluck().get() as string;
    // Contracts in force since before the last closed period, so that the only fault of a late entry is its period.
    const clean = jobs.filter((job) => job.poRequired === 0 && job.from <= `${closed}-15`);
    // One contract that requires a PO loses it: its sheets are the MISSING_PO ones.
    const withoutPo = jobs.find((job) => job.poRequired === 1)!;
    erp.prepare('DELETE FROM purchase_order WHERE job_id = ?').run(withoutPo.id);
    withoutPoJobId = withoutPo.id;
    const employees = erp.prepare('SELECT external_id FROM employee WHERE inactive = 0 ORDER BY id').pluck().all() as string[];
    const open = erp.prepare('SELECT period FROM accounting_period WHERE closed = 0 ORDER BY period').pluck().all() as string[];
    let entryId = 6_000_000_000;
    for (let sheet = 0; sheet < ENTRIES / PER_SHEET; sheet++) {
      // Sheet-level faults: one sheet in 200 by an unknown consultant, one in 200 on the contract without its PO.
      const sheetFault = sheet % 200 === 7 ? 'UNKNOWN_CONSULTANT' : sheet % 200 === 11 ? 'MISSING_PO' : null;
      const job = sheetFault === 'MISSING_PO' ? withoutPo : clean[sheet % clean.length]!;
      const period = open.find((candidate) => `${candidate}-01` >= job.from)!;
      const monday = new Date(`${period}-01T00:00:00Z`);
      monday.setUTCDate(monday.getUTCDate() + ((8 - monday.getUTCDay()) % 7) + 7 * (sheet % 3));
      const entries = Array.from({ length: PER_SHEET }, (_, day) => {
        const id = entryId++;
        // Entry-level faults: one entry in 50 billed off the rate, one in 50 dated in a closed period.
        const entryFault = sheetFault ?? (id % 50 === 3 ? 'RATE_MISMATCH' : id % 50 === 29 ? 'CLOSED_PERIOD' : null);
        const date = new Date(monday);
        date.setUTCDate(date.getUTCDate() + day);
        const workDate = entryFault === 'CLOSED_PERIOD' ? `${closed}-15` : date.toISOString().slice(0, 10);
        const rate = entryFault === 'RATE_MISMATCH' ? job.rate + 1_000 : job.rate;
        const minutes = 60 * (1 + (id % 8));
        planned.push({ key: `time:${id}:v1`, valueMinor: Math.floor((minutes * rate + 30) / 60), fault: entryFault });
        return {
          timeEntryId: String(id),
          assignmentId: '40000001',
          role: job.role,
          workDate,
          minutes,
          billable: true,
          billRateMinor: rate,
          costRateMinor: Math.round(rate / 2),
        };
      });
      events.push(
        newEvent('timesheet.approved', {
          source: 'psa',
          subject: String(81_000_000 + sheet),
          data: {
            timesheetId: String(81_000_000 + sheet),
            projectId: job.projectId,
            resourceId: sheetFault === 'UNKNOWN_CONSULTANT' ? UNKNOWN_CONSULTANT : employees[sheet % employees.length]!,
            weekStart: monday.toISOString().slice(0, 10),
            version: 1,
            approvedOn: '2026-11-02',
            currency: job.currency,
            entries,
          },
        }),
      );
    }
  }, 120_000);
  afterAll(async () => {
    await activation?.stop();
    await systems?.stop();
  });

  const erpPostings = () =>
    systems.erpDb().prepare("SELECT external_id AS key, billable_minor AS billable FROM delivery_posting WHERE external_id GLOB 'time:6*'").all() as Array<{
      key: string;
      billable: number;
    }>;
  const lineStatuses = () =>
    new Map(
      (
        activation.store.sqlite.db.prepare("SELECT source_key, status FROM delivery_line WHERE source_key GLOB 'time:6*'").all() as Array<{
          source_key: string;
          status: string;
        }>
      ).map((row) => [row.source_key, row.status]),
    );
  const settled = async () => {
    for (const deadline = Date.now() + 240_000; Date.now() < deadline;) {
      const statuses = lineStatuses();
      if (statuses.size === ENTRIES && [...statuses.values()].every((status) => status === 'POSTED' || status === 'EXCEPTION')) return statuses;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`not settled: ${lineStatuses().size} lines taken in`);
  };

  it('holds back exactly the faulty entries, posts every other one once, and posts the rest once fixed', async () => {
    const faulty = planned.filter((entry) => entry.fault !== null);
    expect(faulty.length / ENTRIES).toBeCloseTo(0.05, 2);
    // Every approval twice, the copies interleaved: duplicates and replays.
    for (const event of events) await systems.bus.publish(event);
    for (const event of events) await systems.bus.publish(event);
    const statuses = await settled();
    // Each faulty line's copy came back to the same problem (a second attempt): every copy has been handled.
    const openAttempts = () =>
      activation.store.sqlite.db
        .prepare("SELECT MIN(attempts) FROM billing_exception WHERE status = 'OPEN' AND source_key GLOB 'time:6*'")
        .pluck()
        .get() as number;
    for (const deadline = Date.now() + 120_000; openAttempts() < 2 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 250));
    expect(openAttempts()).toBe(2);

    const held = [...statuses].filter(([, status]) => status === 'EXCEPTION').map(([key]) => key);
    expect(held.sort()).toEqual(faulty.map((entry) => entry.key).sort());
    const posted = erpPostings();
    expect(posted.length).toBe(ENTRIES - faulty.length);
    expect(new Set(posted.map((row) => row.key)).size).toBe(posted.length);
    const exceptions = activation.store.sqlite.db
      .prepare("SELECT e.source_key AS key, e.type FROM billing_exception e WHERE e.status = 'OPEN' AND e.source_key GLOB 'time:6*'")
      .all() as Array<{ key: string; type: string }>;
    const faultOf = new Map(faulty.map((entry) => [entry.key, entry.fault]));
    // One exception per problem, each naming the problem the entry was given.
    expect(exceptions.length).toBe(faulty.length);
    for (const exception of exceptions) expect(exception.type, exception.key).toBe(faultOf.get(exception.key));

    // Fixed at their sources: the consultant is set up in ERP, the PO recorded, the period reopened for late
    // postings; the off-contract rate is accepted by finance (waived).
    const erp = systems.erpDb();
    erp
      .prepare('INSERT INTO employee (id, entity_id, name, external_id, subsidiary_id) VALUES (?, ?, ?, ?, (SELECT MIN(id) FROM subsidiary))')
      .run(999_991, 'EMP-999991', 'New Joiner', UNKNOWN_CONSULTANT);
    erp
      .prepare('INSERT INTO purchase_order (job_id, po_number, expires_on, amount_minor) VALUES (?, ?, ?, ?)')
      .run(withoutPoJobId, 'PO-LATE-1', '2030-12-31', 1_000_000_000);
    erp.prepare('UPDATE accounting_period SET closed = 0').run();
    for (const exception of activation.store.postings.searchExceptions({ statuses: ['OPEN'], types: ['RATE_MISMATCH'] }, { limit: 1_000, offset: 0 }).rows)
      await activation.poster.waive(exception.id, 'Rate agreed with the client', 'finance-frank');
    const others = faulty.filter((entry) => entry.fault !== 'RATE_MISMATCH').length;
    const retry = `mutation ($preview: Boolean) {
      retryBillingExceptions(filter: { type: [CLOSED_PERIOD, UNKNOWN_CONSULTANT, MISSING_PO] }, preview: $preview) { exceptions lines posted stillHeldBack }
    }`;
    // The queue by region adds up to the whole queue.
    const byRegion = await Promise.all(
      ['NORTH_AMERICA', 'UK_IRELAND', 'EUROPE', 'APAC'].map(
        async (region) =>
          (await run(activation, `query ($r: Region!) { billingExceptions(filter: { status: [OPEN], region: [$r] }) { totalCount } }`, { r: region })).data![
            'billingExceptions'
          ].totalCount as number,
      ),
    );
    expect(byRegion.reduce((sum, count) => sum + count, 0)).toBe(others);
    expect((await run(activation, retry, { preview: true })).data!['retryBillingExceptions']).toEqual({
      exceptions: others,
      lines: others,
      posted: 0,
      stillHeldBack: others,
    });
    expect((await run(activation, retry, { preview: false })).data!['retryBillingExceptions']).toEqual({
      exceptions: others,
      lines: others,
      posted: others,
      stillHeldBack: 0,
    });
    expect((await run(activation, retry, { preview: false })).data!['retryBillingExceptions']).toEqual({
      exceptions: 0,
      lines: 0,
      posted: 0,
      stillHeldBack: 0,
    });

    const all = erpPostings();
    expect(all.length).toBe(ENTRIES);
    expect(new Set(all.map((row) => row.key)).size).toBe(ENTRIES);
    expect([...lineStatuses().values()].every((status) => status === 'POSTED')).toBe(true);
    // ERP bills exactly what was approved, at the rate each entry was approved at (the waived ones included).
    expect(all.reduce((sum, row) => sum + row.billable, 0)).toBe(planned.reduce((sum, entry) => sum + entry.valueMinor, 0));
    expect(activation.store.postings.searchExceptions({ statuses: ['OPEN'] }, { limit: 1, offset: 0 }).totalCount).toBe(0);

    // Sent again once everything is posted: nothing changes.
    for (const event of events.slice(0, 50)) await systems.bus.publish(event);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(erpPostings().length).toBe(ENTRIES);
  }, 300_000);

  it('invoices each posting once, the totals reconcile across ERP, billing, CRM and the PSA, and a payment reaches all of them', async () => {
    const billingDb = () => (systems.billing.billing as SandboxBilling).store.db;
    const projects = [...new Set(events.map((event) => (event.data as { projectId: string }).projectId))].sort();
    const total = planned.reduce((sum, entry) => sum + entry.valueMinor, 0);
    const runInvoicing = async () => {
      const answer = await run(
        activation,
        `mutation ($input: RunInvoicingInput!) { runInvoicing(input: $input) { run { status } invoices { status invoice { id } } } }`,
        {
          input: { periodEnd: '2026-12-31', projectIds: projects },
        },
      );
      expect(answer.errors).toBeUndefined();
      return answer.data!['runInvoicing'] as { run: { status: string }; invoices: Array<{ status: string; invoice: { id: string } }> };
    };
    const outcome = await runInvoicing();
    expect(outcome.run.status).toBe('COMPLETED');
    expect(outcome.invoices.every((invoice) => invoice.status === 'FINALIZED')).toBe(true);
    // At most 250 lines each: at least ENTRIES / 250 invoices.
    expect(outcome.invoices.length).toBeGreaterThanOrEqual(ENTRIES / 250);
    const invoiceIds = outcome.invoices.map((invoice) => invoice.invoice.id);

    // Billing: each posting on exactly one line, the lines' total what was approved.
    const lines = billingDb().prepare("SELECT source_key AS key, amount_minor AS amount FROM invoice_line WHERE source_key GLOB 'time:6*'").all() as Array<{
      key: string;
      amount: number;
    }>;
    expect(lines.length).toBe(ENTRIES);
    expect(new Set(lines.map((line) => line.key)).size).toBe(ENTRIES);
    expect(lines.reduce((sum, line) => sum + line.amount, 0)).toBe(total);
    const billedInBilling = billingDb()
      .prepare('SELECT SUM(total_minor) FROM invoice WHERE id IN (SELECT value FROM json_each(?))')
      .pluck()
      .get(JSON.stringify(invoiceIds));
    expect(billedInBilling).toBe(total);

    // ERP: every posting billed by the invoice that bills it, the invoices' billings equal to billing's.
    const erp = systems.erpDb();
    await eventually(
      () =>
        expect(erp.prepare("SELECT COUNT(*) FROM delivery_posting WHERE external_id GLOB 'time:6*' AND billed_invoice_id IS NOT NULL").pluck().get()).toBe(
          ENTRIES,
        ),
      120_000,
    );
    expect(
      erp
        .prepare('SELECT COUNT(*), SUM(total_minor) FROM erp_invoice WHERE invoice_id IN (SELECT value FROM json_each(?))')
        .raw()
        .get(JSON.stringify(invoiceIds)),
    ).toEqual([invoiceIds.length, total]);
    const billedPairs = erp.prepare("SELECT external_id, billed_invoice_id FROM delivery_posting WHERE external_id GLOB 'time:6*'").raw().all() as Array<
      [string, string]
    >;
    const lineInvoice = new Map(
      (billingDb().prepare("SELECT source_key, invoice_id FROM invoice_line WHERE source_key GLOB 'time:6*'").raw().all() as Array<[string, string]>).map(
        ([key, id]) => [key, id],
      ),
    );
    expect(billedPairs.every(([key, invoiceId]) => lineInvoice.get(key) === invoiceId)).toBe(true);

    // CRM and the PSA: every project's status arrived; the PSA's billed is billing's, nothing left unbilled.
    await eventually(() => {
      const synced = activation.store.sqlite.db
        .prepare(
          'SELECT COUNT(*) FROM invoice_sync WHERE invoice_id IN (SELECT value FROM json_each(?)) AND erp_at IS NOT NULL AND crm_at IS NOT NULL AND psa_at IS NOT NULL',
        )
        .pluck()
        .get(JSON.stringify(invoiceIds));
      expect(synced).toBe(invoiceIds.length);
    }, 120_000);
    for (const projectId of projects) {
      const psa = systems.psaDb().prepare('SELECT billed_minor, unbilled_minor FROM project_billing_status WHERE project_id = ?').get(projectId) as {
        billed_minor: number;
        unbilled_minor: number;
      };
      const billed = billingDb()
        .prepare("SELECT COALESCE(SUM(total_minor), 0) FROM invoice WHERE project_id = ? AND status IN ('OPEN', 'PAID', 'UNCOLLECTIBLE')")
        .pluck()
        .get(projectId);
      expect(psa).toEqual({ billed_minor: billed, unbilled_minor: 0 });
    }

    // Again: nothing is due, nothing is billed twice.
    expect((await runInvoicing()).invoices).toEqual([]);
    expect(billingDb().prepare("SELECT COUNT(*) FROM invoice_line WHERE source_key GLOB 'time:6*'").pluck().get()).toBe(ENTRIES);

    // A payment reaches ERP, CRM, the PSA and a subscriber of the bus.
    const heard: BusEvent[] = [];
    const unsubscribe = systems.bus.subscribe(['invoice.paid'], (event) => heard.push(event));
    const paidId = invoiceIds[0]!;
    expect((await execute(systems.billing, `mutation ($id: ID!) { recordPayment(invoiceId: $id) { status } }`, { id: paidId })).errors).toBeUndefined();
    const paidProject = billingDb().prepare('SELECT project_id FROM invoice WHERE id = ?').pluck().get(paidId) as string;
    await eventually(() => {
      expect(heard.map((event) => event.subject)).toContain(paidId);
      expect(erp.prepare('SELECT status FROM erp_invoice WHERE invoice_id = ?').pluck().get(paidId)).toBe('PAID');
      const account = erp.prepare('SELECT c.external_id FROM job j JOIN customer c ON c.id = j.customer_id WHERE j.external_id = ?').pluck().get(paidProject);
      expect(systems.crmDb().prepare('SELECT last_invoice_id, last_invoice_status FROM account_billing_status WHERE account_id = ?').get(account)).toEqual({
        last_invoice_id: paidId,
        last_invoice_status: 'PAID',
      });
      expect(systems.psaDb().prepare('SELECT last_invoice_status FROM project_billing_status WHERE project_id = ?').pluck().get(paidProject)).toBe('PAID');
    });
    unsubscribe();
  }, 300_000);
});
