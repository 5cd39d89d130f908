/**
 * The posting process killed mid-posting: its call to ERP went through (the time is posted there), its answer never
 * came back, and the process was SIGKILLed before recording anything. A fresh process takes the approval over from
 * the event bus when the dead one's lease ends, posts again — ERP takes each posting once by its key — and records
 * it. Counted in ERP's store: every entry posted exactly once, and the approval announced once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, freePort } from '../../../test/support/processes.js';
import { EmbeddedEventBus } from '../../platform/src/events/index.js';
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
});
