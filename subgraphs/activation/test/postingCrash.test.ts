/**
 * The posting process killed mid-posting: its call to ERP went through (the time is posted there), its answer never
 * came back, and the process was SIGKILLed before recording anything. A fresh process takes the approval over from
 * the event bus when the dead one's lease ends, posts again — ERP takes each posting once by its key — and records
 * it. Counted in ERP's store: every entry posted exactly once, and the approval announced once. The same for an
 * invoice run killed after billing finalized its invoice: the next process records it, and bills nothing twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, freePort } from '../../../test/support/processes.js';
import { EmbeddedEventBus } from '../../platform/src/events/index.js';
import type { SandboxBilling } from '../../billing/src/sandbox/sandboxBilling.js';
import { execute } from '../../platform/test/testSupport.js';
import { type SystemsUnderTest, activationProcess, startSystems } from './activationHarness.js';

describe('the posting process killed after its ERP write, before recording it', () => {
  let systems: SystemsUnderTest;
  let port: number;
  const processes: RunningProcess[] = [];

  const start = (faults: unknown[] | null): RunningProcess => {
    const child = activationProcess(systems, port, faults);
    processes.push(child);
    return child;
  };

  beforeAll(async () => {
    // The embedded bus: one SQLite log in the data folder, shared by this process's PSA and the posting process.
    systems = await startSystems(undefined, (dataDir) => new EmbeddedEventBus({ dataDir }));
    port = await freePort();
  });
  afterAll(async () => {
    for (const child of processes) if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    await systems.stop();
  });

  it('posts every entry exactly once after a restart', async () => {
    const sheet = systems
      .psaDb()
      .prepare(
        `SELECT t.id, t.project_id FROM timesheet t JOIN project p ON p.id = t.project_id
         WHERE t.status = 'SUBMITTED' AND p.contract_type = 'TIME_AND_MATERIALS' AND (SELECT COUNT(*) FROM time_entry e WHERE e.timesheet_id = t.id) >= 2
         ORDER BY t.id LIMIT 1`,
      )
      .get() as { id: number; project_id: string };
    const entries = systems.psaDb().prepare('SELECT id FROM time_entry WHERE timesheet_id = ?').pluck().all(sheet.id) as number[];
    const jobId = systems.erpDb().prepare('SELECT id FROM job WHERE external_id = ?').pluck().get(sheet.project_id) as number;
    const posted = () =>
      systems.erpDb().prepare("SELECT external_id FROM delivery_posting WHERE job_id = ? AND status = 'POSTED' ORDER BY external_id").pluck().all(jobId);

    const first = start([{ operationName: 'PostDelivery', fault: 'hang', times: 1 }]);
    await first.waitFor(/ready at/, 30_000);
    const approved = await execute(systems.psa, `mutation ($id: ID!) { approveTimesheet(id: $id) { version } }`, { id: String(sheet.id) });
    const version = approved.data!['approveTimesheet'].version as number;
    await systems.psa.flushEvents();
    await first.waitFor(/fault: hanging after PostDelivery/, 20_000);
    // ERP has the postings; the process that made them never learnt so.
    const expected = entries.map((id) => `time:${id}:v${version}`).sort();
    expect(posted()).toEqual(expected);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = start(null);
    await second.waitFor(/ready at/, 30_000);
    const lines = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: `query ($id: ID!, $v: Int!) { timesheetPosting(timesheetId: $id, version: $v) { status } }`,
          variables: { id: String(sheet.id), v: version },
        }),
      });
      return ((await response.json()) as { data: { timesheetPosting: Array<{ status: string }> } }).data.timesheetPosting.map((line) => line.status);
    };
    // The dead process's lease on the approval ends (10 s by default); the new one posts it again and records it.
    const deadline = Date.now() + 30_000;
    while ((await lines()).some((status) => status !== 'POSTED') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await lines()).toEqual(entries.map(() => 'POSTED'));
    expect(posted()).toEqual(expected);
    expect(systems.erpDb().prepare('SELECT COUNT(*) FROM delivery_posting WHERE job_id = ?').pluck().get(jobId)).toBe(entries.length);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // Announced once: the first process never committed its record of the posting, so it never announced it.
    const announced = systems
      .published()
      .filter((event) => event.type === 'delivery.posted_to_erp' && event.subject === String(sheet.id) && event.data['version'] === version);
    expect(announced).toHaveLength(1);
  }, 90_000);

  it('invoices every posting exactly once after a kill between billing’s finalization and its record', async () => {
    const billingDb = () => (systems.billing.billing as unknown as SandboxBilling).store.db;
    const projectId = systems
      .erpDb()
      .prepare("SELECT j.external_id FROM delivery_posting d JOIN job j ON j.id = d.job_id WHERE d.status = 'POSTED' AND d.billed_invoice_id IS NULL LIMIT 1")
      .pluck()
      .get() as string;
    const due = systems
      .erpDb()
      .prepare(
        "SELECT d.external_id FROM delivery_posting d JOIN job j ON j.id = d.job_id WHERE j.external_id = ? AND d.status = 'POSTED' AND d.billable = 1 ORDER BY d.external_id",
      )
      .pluck()
      .all(projectId) as string[];
    const graphql = (query: string, variables: Record<string, unknown> = {}) =>
      fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      }).then(async (response) => (await response.json()) as { data?: Record<string, any>; errors?: unknown[] });

    const first = start([{ operationName: 'FinalizeInvoice', fault: 'hang', times: 1 }]);
    await first.waitFor(/ready at/, 30_000);
    // The run never answers: its finalization hangs after billing carried it out.
    void graphql(
      `
        mutation ($p: [ID!]) {
          runInvoicing(input: { periodEnd: "2026-12-31", projectIds: $p }) {
            run {
              id
            }
          }
        }
      `,
      { p: [projectId] },
    ).catch(() => undefined);
    await first.waitFor(/fault: hanging after FinalizeInvoice/, 20_000);
    const billed = () =>
      billingDb()
        .prepare(
          'SELECT l.source_key, i.status FROM invoice_line l JOIN invoice i ON i.id = l.invoice_id WHERE i.project_id = ? AND l.source_key IS NOT NULL ORDER BY l.source_key',
        )
        .raw()
        .all(projectId) as Array<[string, string]>;
    expect(billed()).toEqual(due.map((key) => [key, 'OPEN']));
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    // A fresh process carries the run on at start-up: it finds the invoice finalized and records it, creating nothing.
    const second = start(null);
    await second.waitFor(/ready at/, 30_000);
    const runs = async () =>
      ((await graphql('{ invoiceRuns(first: 5) { status invoices { status invoiceNumber } } }')).data?.['invoiceRuns'] ?? []) as Array<{
        status: string;
        invoices: Array<{ status: string; invoiceNumber: string | null }>;
      }>;
    const deadline = Date.now() + 30_000;
    while ((await runs())[0]?.invoices[0]?.status !== 'FINALIZED' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await runs()).toEqual([{ status: 'COMPLETED', invoices: [{ status: 'FINALIZED', invoiceNumber: expect.any(String) }] }]);
    expect(billed()).toEqual(due.map((key) => [key, 'OPEN']));
    expect(
      billingDb()
        .prepare('SELECT COUNT(*) FROM invoice WHERE project_id = ? AND id IN (SELECT invoice_id FROM invoice_line WHERE source_key IS NOT NULL)')
        .pluck()
        .get(projectId),
    ).toBe(1);
    // And the status reaches ERP: every posting billed by that one invoice.
    const erpBilled = () =>
      systems
        .erpDb()
        .prepare(
          'SELECT COUNT(DISTINCT billed_invoice_id) AS invoices, COUNT(*) AS postings FROM delivery_posting d JOIN job j ON j.id = d.job_id WHERE j.external_id = ? AND d.billed_invoice_id IS NOT NULL',
        )
        .get(projectId) as { invoices: number; postings: number };
    const erpDeadline = Date.now() + 30_000;
    while (erpBilled().postings < due.length && Date.now() < erpDeadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(erpBilled()).toEqual({ invoices: 1, postings: due.length });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);
});
