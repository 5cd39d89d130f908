/**
 * Project to cash past ERP, over real PSA, ERP, billing and CRM subgraphs (HTTP) sharing an event bus, counted in
 * every store: approved time posted to ERP is invoiced by a run (one line per posting, traced to it), never twice
 * however often the run goes; billing's finalization, payment and void travel back to ERP (postings billed, the
 * job's billings and payments), CRM (the account's receivables and last invoice) and the PSA (billed and unbilled,
 * each milestone's invoice); a voided invoice frees its postings for the next run; an invoice billing could not be
 * reached for is carried on by a resumption, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxBilling } from '../../billing/src/sandbox/sandboxBilling.js';
import { parseMinor } from '../../platform/src/index.js';
import { eventually, execute } from '../../platform/test/testSupport.js';
import type { ActivationSubgraph } from '../src/activationSubgraph.js';
import type { FaultInjector, FaultKind } from '../src/systems/faults.js';
import { newEvent } from '../../platform/src/events/index.js';
import { type SystemsUnderTest, contractViolations, run, startActivation, startSystems } from './activationHarness.js';

interface Sheet {
  id: string;
  projectId: string;
  jobId: number;
  accountId: string;
}

const RUN = `mutation ($input: RunInvoicingInput!) { runInvoicing(input: $input) {
  run { id status periodEnd }
  invoices { key status invoice { id } invoiceNumber total { amount currency } lines { sourceKey amount { amount } } errorCode }
} }`;

describe('invoicing, and billing status back to every system', () => {
  let systems: SystemsUnderTest;
  let activation: ActivationSubgraph;
  const used = new Set<string>();
  /** When set, the next call it names fails so: by default carried out with its answer lost (a timeout). */
  let unreachable: string | null = null;
  let faultKind: FaultKind = 'timeout-after';
  const faults: FaultInjector = (call) => {
    if (call.operationName !== unreachable) return null;
    unreachable = null;
    return faultKind;
  };

  beforeAll(async () => {
    systems = await startSystems();
    activation = startActivation(systems, { faults });
  });
  afterAll(async () => {
    await activation?.stop();
    await systems?.stop();
  });

  const billingDb = () => (systems.billing.billing as SandboxBilling).store.db;
  const submittedSheet = (): Sheet => {
    const candidates = systems
      .psaDb()
      .prepare(
        `SELECT t.id, t.project_id FROM timesheet t JOIN project p ON p.id = t.project_id
         WHERE t.status = 'SUBMITTED' AND p.contract_type = 'TIME_AND_MATERIALS'
           AND NOT EXISTS (SELECT 1 FROM time_entry e WHERE e.timesheet_id = t.id AND e.billable = 0)
         ORDER BY t.id`,
      )
      .all() as Array<{ id: number; project_id: string }>;
    for (const candidate of candidates) {
      const job = systems
        .erpDb()
        .prepare(
          "SELECT j.id, c.external_id AS account FROM job j JOIN customer c ON c.id = j.customer_id WHERE j.external_id = ? AND j.status = 'IN_PROGRESS'",
        )
        .get(candidate.project_id) as { id: number; account: string } | undefined;
      if (!job || used.has(candidate.project_id)) continue;
      used.add(candidate.project_id);
      return { id: String(candidate.id), projectId: candidate.project_id, jobId: job.id, accountId: job.account };
    }
    throw new Error('no submitted timesheet left on an open T&M job');
  };
  /** Approves the sheet and waits until each entry is posted to ERP; the postings' keys and billable amounts. */
  const approvedAndPosted = async (sheet: Sheet) => {
    const approved = await execute(systems.psa, `mutation ($id: ID!) { approveTimesheet(id: $id) { status } }`, { id: sheet.id });
    expect(approved.errors).toBeUndefined();
    await systems.psa.flushEvents();
    const entries = systems.psaDb().prepare('SELECT COUNT(*) FROM time_entry WHERE timesheet_id = ?').pluck().get(sheet.id) as number;
    let postings: Array<{ key: string; billable: number }> = [];
    await eventually(() => {
      postings = systems
        .erpDb()
        .prepare("SELECT external_id AS key, billable_minor AS billable FROM delivery_posting WHERE job_id = ? AND status = 'POSTED' ORDER BY external_id")
        .all(sheet.jobId) as typeof postings;
      expect(postings).toHaveLength(entries);
    });
    return postings;
  };
  const invoicing = async (projectIds: string[], preview = false) => {
    const answer = await run(activation, RUN, { input: { periodEnd: '2026-11-30', projectIds, preview } });
    expect(answer.errors).toBeUndefined();
    return answer.data!['runInvoicing'] as { run: { id: string; status: string } | null; invoices: Array<Record<string, any>> };
  };
  const billingLines = (projectId: string) =>
    billingDb()
      .prepare(
        `SELECT l.source_key AS key, l.amount_minor AS amount, i.status FROM invoice_line l JOIN invoice i ON i.id = l.invoice_id
         WHERE i.project_id = ? AND l.source_key IS NOT NULL ORDER BY l.source_key, i.status`,
      )
      .all(projectId) as Array<{ key: string; amount: number; status: string }>;
  const erpBilled = (sheet: Sheet) =>
    systems
      .erpDb()
      .prepare('SELECT external_id AS key, billed_invoice_id AS invoice FROM delivery_posting WHERE job_id = ? ORDER BY external_id')
      .all(sheet.jobId) as Array<{
      key: string;
      invoice: string | null;
    }>;
  const settle = async () => {
    await systems.psa.flushEvents();
    await activation.flushEvents();
  };
  const statusSync = async (invoiceId: string) =>
    (await run(activation, `query ($id: ID!) { invoiceStatusSync(invoiceId: $id) { status erpAt crmAt psaAt skipped } }`, { id: invoiceId })).data![
      'invoiceStatusSync'
    ] as Array<{ status: string; erpAt: string | null; crmAt: string | null; psaAt: string | null; skipped: string | null }>;

  it('invoices posted time once, one line per posting, and tells ERP, CRM and the PSA', async () => {
    const sheet = submittedSheet();
    const postings = await approvedAndPosted(sheet);
    const total = postings.reduce((sum, posting) => sum + posting.billable, 0);

    const preview = await invoicing([sheet.projectId], true);
    expect(preview.run).toBeNull();
    expect(preview.invoices).toHaveLength(1);
    expect(preview.invoices[0]!['lines'].map((line: { sourceKey: string }) => line.sourceKey).sort()).toEqual(postings.map((posting) => posting.key));
    expect(billingLines(sheet.projectId)).toEqual([]);

    const outcome = await invoicing([sheet.projectId]);
    expect(outcome.run).toMatchObject({ status: 'COMPLETED' });
    expect(outcome.invoices).toHaveLength(1);
    const [invoice] = outcome.invoices;
    expect(invoice).toMatchObject({ status: 'FINALIZED', invoiceNumber: expect.any(String), errorCode: null });
    const invoiceId = invoice!['invoice'].id as string;
    expect(billingLines(sheet.projectId)).toEqual(postings.map((posting) => ({ key: posting.key, amount: posting.billable, status: 'OPEN' })));
    expect(billingDb().prepare('SELECT total_minor FROM invoice WHERE id = ?').pluck().get(invoiceId)).toBe(total);

    // Status back: ERP marks each posting billed by it; CRM and the PSA hear of it.
    await eventually(async () => {
      expect(erpBilled(sheet).every((posting) => posting.invoice === invoiceId)).toBe(true);
      const [posted] = await statusSync(invoiceId);
      expect(posted).toMatchObject({ status: 'OPEN', erpAt: expect.any(String), crmAt: expect.any(String), psaAt: expect.any(String), skipped: null });
    });
    const crmStatus = systems
      .crmDb()
      .prepare('SELECT last_invoice_id, last_invoice_status, receivables FROM account_billing_status WHERE account_id = ?')
      .get(sheet.accountId) as {
      last_invoice_id: string;
      last_invoice_status: string;
      receivables: string;
    };
    expect(crmStatus).toMatchObject({ last_invoice_id: invoiceId, last_invoice_status: 'OPEN' });
    expect(JSON.parse(crmStatus.receivables).length).toBeGreaterThan(0);
    expect(
      systems
        .psaDb()
        .prepare('SELECT last_invoice_id, last_invoice_status, unbilled_minor FROM project_billing_status WHERE project_id = ?')
        .get(sheet.projectId),
    ).toEqual({
      last_invoice_id: invoiceId,
      last_invoice_status: 'OPEN',
      unbilled_minor: 0,
    });

    // Again, and with the posted event replayed: nothing is billed twice.
    const again = await invoicing([sheet.projectId]);
    expect(again.invoices).toEqual([]);
    const posted = systems.published().find((event) => event.type === 'invoice.posted' && event.subject === invoiceId)!;
    await systems.bus.publish(posted);
    await settle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(billingLines(sheet.projectId)).toHaveLength(postings.length);
    const billings = systems.erpDb().prepare('SELECT COUNT(*) FROM erp_invoice WHERE invoice_id = ?').pluck().get(invoiceId);
    expect(billings).toBe(1);

    // Paid in billing: ERP takes the payment, CRM's receivables and the PSA's last status follow.
    const paid = await execute(systems.billing, `mutation ($id: ID!) { recordPayment(invoiceId: $id) { status } }`, { id: invoiceId });
    expect(paid.errors).toBeUndefined();
    await eventually(() => {
      expect(systems.erpDb().prepare('SELECT status, amount_paid_minor FROM erp_invoice WHERE invoice_id = ?').get(invoiceId)).toEqual({
        status: 'PAID',
        amount_paid_minor: total,
      });
      expect(systems.crmDb().prepare('SELECT last_invoice_status FROM account_billing_status WHERE account_id = ?').pluck().get(sheet.accountId)).toBe('PAID');
      expect(systems.psaDb().prepare('SELECT last_invoice_status FROM project_billing_status WHERE project_id = ?').pluck().get(sheet.projectId)).toBe('PAID');
    });
    expect(contractViolations(systems.published())).toEqual([]);
  });

  it('frees a voided invoice’s postings, and the next run bills them on a new invoice', async () => {
    const sheet = submittedSheet();
    const postings = await approvedAndPosted(sheet);
    const [first] = (await invoicing([sheet.projectId])).invoices;
    const firstId = first!['invoice'].id as string;
    await eventually(() => expect(erpBilled(sheet).every((posting) => posting.invoice === firstId)).toBe(true));

    expect((await execute(systems.billing, `mutation ($id: ID!) { voidInvoice(id: $id) { status } }`, { id: firstId })).errors).toBeUndefined();
    await eventually(() => expect(erpBilled(sheet).every((posting) => posting.invoice === null)).toBe(true));
    const [second] = (await invoicing([sheet.projectId])).invoices;
    const secondId = second!['invoice'].id as string;
    expect(secondId).not.toBe(firstId);
    await eventually(() => expect(erpBilled(sheet).every((posting) => posting.invoice === secondId)).toBe(true));
    // Each posting is on one live invoice; the voided one keeps its lines as a record.
    const live = billingLines(sheet.projectId).filter((line) => line.status !== 'VOID');
    expect(live.map((line) => line.key)).toEqual(postings.map((posting) => posting.key));

    // A credit note on the new invoice: ERP takes it off the job's billings once, CRM and the PSA hear of it.
    const credited = postings[0]!;
    const billedBefore = systems
      .erpDb()
      .prepare("SELECT SUM(amount_minor) FROM posting WHERE job_id = ? AND type = 'BILLING'")
      .pluck()
      .get(sheet.jobId) as number;
    const issued = await execute(
      systems.billing,
      `mutation ($input: IssueCreditNoteInput!) { issueCreditNote(input: $input) { created creditNote { id total { amount } } } }`,
      {
        input: { key: 'credit-1', invoiceId: secondId, reason: 'ORDER_CHANGE', memo: 'Hours agreed off', lines: [{ sourceKey: credited.key, amount: '1.00' }] },
      },
    );
    expect(issued.errors).toBeUndefined();
    const creditNoteId = issued.data!['issueCreditNote'].creditNote.id as string;
    await eventually(async () => {
      expect(systems.erpDb().prepare('SELECT invoice_id, total_minor FROM erp_credit_note WHERE credit_note_id = ?').get(creditNoteId)).toEqual({
        invoice_id: secondId,
        total_minor: 100,
      });
      const sync = (await statusSync(secondId)).find((row) => row.status === `CREDIT_NOTE ${creditNoteId}`);
      expect(sync).toMatchObject({ erpAt: expect.any(String), crmAt: expect.any(String), psaAt: expect.any(String) });
    });
    expect(systems.erpDb().prepare("SELECT SUM(amount_minor) FROM posting WHERE job_id = ? AND type = 'BILLING'").pluck().get(sheet.jobId)).toBe(
      billedBefore - 100,
    );
    const summary = await execute(
      systems.billing,
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Project { invoiceSummary { billed { amount } } } } }`,
      { r: [{ __typename: 'Project', id: sheet.projectId }] },
    );
    const billingBilled = parseMinor(summary.data!['_entities'][0].invoiceSummary.billed.amount);
    expect(systems.psaDb().prepare('SELECT billed_minor FROM project_billing_status WHERE project_id = ?').pluck().get(sheet.projectId)).toBe(billingBilled);
  });

  it('carries on an invoice whose finalization answer was lost, creating and finalizing it once', async () => {
    const sheet = submittedSheet();
    const postings = await approvedAndPosted(sheet);
    unreachable = 'FinalizeInvoice';
    const outcome = await invoicing([sheet.projectId]);
    expect(outcome.invoices).toMatchObject([{ status: 'CREATED' }]);
    const invoiceId = outcome.invoices[0]!['invoice'].id as string;
    expect(billingDb().prepare('SELECT status FROM invoice WHERE id = ?').pluck().get(invoiceId)).toBe('OPEN');
    expect((await run(activation, 'mutation { resumeInvoicing }')).data!['resumeInvoicing']).toBe(1);
    const [resumed] = (await run(activation, `query ($id: ID!) { invoiceRun(id: $id) { status invoices { status invoiceNumber } } }`, { id: outcome.run!.id }))
      .data!['invoiceRun'].invoices;
    expect(resumed).toEqual({ status: 'FINALIZED', invoiceNumber: expect.any(String) });
    expect(billingLines(sheet.projectId)).toEqual(postings.map((posting) => ({ key: posting.key, amount: posting.billable, status: 'OPEN' })));
    expect((await invoicing([sheet.projectId])).invoices).toEqual([]);
  });

  it('bills a retainer in advance and fixed-fee instalments when due, once', async () => {
    const due = (await run(activation, RUN, { input: { periodEnd: '2026-11-30', preview: true } })).data!['runInvoicing'].invoices as Array<
      Record<string, any>
    >;
    const retainer = due.find((invoice) => invoice['lines'].some((line: { sourceKey: string }) => line.sourceKey.startsWith('schedule:')));
    expect(retainer).toBeDefined();
    const projectId = retainer!['lines'][0].sourceKey.split(':')[1] as string;
    const [made] = (await invoicing([projectId])).invoices;
    expect(made).toMatchObject({ status: 'FINALIZED' });
    expect((await invoicing([projectId])).invoices).toEqual([]);
    await eventually(() =>
      expect(systems.erpDb().prepare('SELECT COUNT(*) FROM billed_schedule_line WHERE invoice_id = ?').pluck().get(made!['invoice'].id)).toBeGreaterThan(0),
    );
  });

  it('reports the project-to-cash figures and lists what is stuck with its cause, owner and fix', async () => {
    // A request confirmed two days after it was made.
    const projectId = [...used][0]!;
    const requested = new Date('2026-11-02T09:00:00.000Z');
    const confirmed = new Date('2026-11-04T09:00:00.000Z');
    await systems.bus.publish(
      newEvent('resource_request.created', {
        source: 'psa',
        subject: '77000001',
        occurredAt: requested,
        data: { resourceRequestId: '77000001', projectId, role: 'CONSULTANT', hours: 80, startDate: '2026-11-09', endDate: '2026-11-20' },
      }),
    );
    await systems.bus.publish(
      newEvent('assignment.confirmed', {
        source: 'psa',
        subject: '78000001',
        occurredAt: confirmed,
        data: { assignmentId: '78000001', projectId, resourceId: '40000001', resourceRequestId: '77000001', role: 'CONSULTANT' },
      }),
    );
    // An invoice billing cannot be reached for: planned, not created.
    const sheet = submittedSheet();
    await approvedAndPosted(sheet);
    unreachable = 'CreateInvoice';
    faultKind = 'unavailable';
    const [planned] = (await invoicing([sheet.projectId])).invoices;
    expect(planned).toMatchObject({ status: 'PLANNED', invoice: null });

    const FIGURES = `{ projectToCashFigures {
      approvalToInvoice { p50Seconds maxSeconds } invoiceToPayment { p50Seconds } staffingLeadTime { p50Seconds maxSeconds }
      unbilledWip { unbilled { amount currency } postings projects } syncLag { flow pending oldestSince ageSeconds } } }`;
    await eventually(async () => {
      const figures = (await run(activation, FIGURES)).data!['projectToCashFigures'];
      expect(figures.staffingLeadTime).toEqual({ p50Seconds: 172_800, maxSeconds: 172_800 });
    });
    const figures = (await run(activation, FIGURES)).data!['projectToCashFigures'];
    expect(figures.approvalToInvoice.p50Seconds).toBeGreaterThanOrEqual(0);
    expect(figures.invoiceToPayment.p50Seconds).toBeGreaterThanOrEqual(0);
    // The planned invoice's postings are unbilled in ERP until it is finalized.
    const wip = figures.unbilledWip.find((row: { unbilled: { currency: string } }) => row.unbilled.currency === planned!['total'].currency);
    expect(Number(wip.unbilled.amount)).toBeGreaterThanOrEqual(Number(planned!['total'].amount));
    expect(figures.syncLag.map((lag: { flow: string }) => lag.flow)).toEqual(['activation', 'posting', 'invoicing', 'billing-status']);
    expect(figures.syncLag.find((lag: { flow: string }) => lag.flow === 'invoicing')).toMatchObject({ pending: 1, ageSeconds: expect.any(Number) });

    const STUCK = `{ stuckTransactions(olderThanMinutes: 0) { kind reference project { id } since cause owner fix } }`;
    const stuck = (await run(activation, STUCK)).data!['stuckTransactions'] as Array<Record<string, any>>;
    expect(stuck).toContainEqual({
      kind: 'INVOICE_NOT_FINALIZED',
      reference: planned!['key'],
      project: { id: sheet.projectId },
      since: expect.any(String),
      cause: expect.stringContaining('not yet created'),
      owner: 'Integration engineering',
      fix: expect.stringContaining('resumeInvoicing'),
    });
    for (const item of stuck) expect(item['cause'] && item['owner'] && item['fix']).toBeTruthy();

    faultKind = 'timeout-after';
    expect((await run(activation, 'mutation { resumeInvoicing }')).data!['resumeInvoicing']).toBe(1);
    const after = (await run(activation, STUCK)).data!['stuckTransactions'] as Array<Record<string, any>>;
    expect(after.map((item) => item['reference'])).not.toContain(planned!['key']);
  });

  it('reconciles billing against ERP per project, on demand and on the schedule, naming each difference', async () => {
    const projectId = [...used][0]!;
    const RECONCILE = `query ($p: ID!) { reconcileProject(projectId: $p) { invoices billingBilled { amount } erpBilled { amount } differences { type sourceKey psaRecord erp billing detail } } }`;
    const clean = (await run(activation, RECONCILE, { p: projectId })).data!['reconcileProject'];
    expect(clean.invoices).toBe(1);
    expect(clean.billingBilled).toEqual(clean.erpBilled);
    expect(clean.differences).toEqual([]);

    // ERP loses the record of the invoice (a status that never arrived): both the invoice and the totals differ.
    const invoiceId = billingDb()
      .prepare(
        "SELECT i.id FROM invoice i WHERE i.project_id = ? AND i.status = 'PAID' AND EXISTS (SELECT 1 FROM invoice_line l WHERE l.invoice_id = i.id AND l.source_key IS NOT NULL)",
      )
      .pluck()
      .get(projectId) as string;
    const erp = systems.erpDb();
    const saved = erp.prepare('SELECT * FROM erp_invoice WHERE invoice_id = ?').get(invoiceId) as Record<string, unknown>;
    const sources = erp.prepare('SELECT * FROM erp_invoice_source WHERE invoice_id = ?').all(invoiceId) as Array<Record<string, unknown>>;
    erp.prepare('DELETE FROM erp_invoice_source WHERE invoice_id = ?').run(invoiceId);
    erp.prepare('DELETE FROM erp_invoice WHERE invoice_id = ?').run(invoiceId);
    const broken = (await run(activation, RECONCILE, { p: projectId })).data!['reconcileProject'];
    expect(broken.differences.map((difference: { type: string }) => difference.type).sort()).toEqual(['BILLED_TOTAL_DIFFERS', 'INVOICE_STATUS_NOT_IN_ERP']);
    expect(broken.differences.find((difference: { type: string }) => difference.type === 'INVOICE_STATUS_NOT_IN_ERP')).toMatchObject({
      billing: 'PAID',
      erp: null,
    });

    const scheduledAnswer = await run(
      activation,
      `mutation { runReconciliation { projectsChecked findings { project { id } differences { type } } failures { projectId reason } } }`,
    );
    expect(scheduledAnswer.errors).toBeUndefined();
    const scheduled = scheduledAnswer.data!['runReconciliation'];
    expect(scheduled.projectsChecked).toBeGreaterThanOrEqual(used.size);
    expect(scheduled.failures).toEqual([]);
    expect(scheduled.findings.map((finding: { project: { id: string } }) => finding.project.id)).toEqual([projectId]);
    const latest = (await run(activation, `{ latestReconciliation { projectsChecked findings { project { id } } } }`)).data!['latestReconciliation'];
    expect(latest).toEqual({ projectsChecked: scheduled.projectsChecked, findings: [{ project: { id: projectId } }] });

    const columns = Object.keys(saved);
    erp.prepare(`INSERT INTO erp_invoice (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`).run(...Object.values(saved));
    for (const source of sources)
      erp.prepare('INSERT INTO erp_invoice_source (invoice_id, source_key) VALUES (?, ?)').run(source['invoice_id'], source['source_key']);
    expect((await run(activation, RECONCILE, { p: projectId })).data!['reconcileProject'].differences).toEqual([]);
  });

  it('refuses a run for someone without billing:write, and bad arguments with their codes', async () => {
    const bad = await run(activation, RUN, { input: { periodEnd: '30/11/2026' } });
    expect(bad.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const badProject = await run(activation, RUN, { input: { periodEnd: '2026-11-30', projectIds: ['P-1'] } });
    expect(badProject.errors?.[0]?.extensions?.['code']).toBe('INVALID_ID');
  });
});
