import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivationSubgraph } from '../src/activationSubgraph.js';
import { ACTIVATE, type SystemsUnderTest, run, startActivation, startSystems } from './activationHarness.js';

const EXCEPTION = `query Exception($id: ID!) {
  integrationException(id: $id) { id type status assignee recordType recordId field howToResolve run { id status } history { action by at detail } }
}`;

describe("the operations console's process API", () => {
  let systems: SystemsUnderTest;
  let activation: ActivationSubgraph;
  beforeAll(async () => {
    systems = await startSystems();
    activation = startActivation(systems);
  });
  afterAll(async () => {
    await activation.stop();
    await systems.stop();
  });

  /** Parks a run on TAX_ID_MISSING (the account's tax ID removed in CRM); answers the run, its exception and how to fix it. */
  async function parkOnMissingTaxId(opportunityId: string, key: string) {
    const accountId = systems.crmDb().prepare('SELECT account_id FROM opportunity WHERE id = ?').pluck().get(opportunityId) as string;
    const taxId = systems.crmDb().prepare('SELECT tax_id FROM account WHERE id = ?').pluck().get(accountId) as string;
    await run(systems.crm, `mutation { updateAccount(id: "${accountId}", input: { taxId: null }) { taxId } }`);
    const parked = (await run(activation, ACTIVATE, { opportunityId, key })).data!['activateProject'];
    expect(parked.status).toBe('EXCEPTION_OPEN');
    const fix = () => run(systems.crm, `mutation { updateAccount(id: "${accountId}", input: { taxId: "${taxId}" }) { taxId } }`);
    return { run: parked, exception: parked.exceptions.find((exception: { type: string }) => exception.type === 'TAX_ID_MISSING'), accountId, fix };
  }

  it('shows one exception with its record and fix, and records who assigned and noted it, and who retried it', async () => {
    const opportunityId = systems.cleanAwaitingOpportunities()[0]!;
    const parked = await parkOnMissingTaxId(opportunityId, 'console-one');

    const detail = (await run(activation, EXCEPTION, { id: parked.exception.id })).data!['integrationException'];
    expect(detail).toEqual({
      id: parked.exception.id,
      type: 'TAX_ID_MISSING',
      status: 'OPEN',
      assignee: null,
      recordType: 'Account',
      recordId: parked.accountId,
      field: 'Tax_Id__c',
      howToResolve: expect.stringMatching(/tax registration in CRM/),
      run: { id: parked.run.id, status: 'EXCEPTION_OPEN' },
      history: [],
    });

    await run(activation, `mutation { assignException(id: "${parked.exception.id}", assignee: "  sales.ops@firm.example ") { assignee } }`);
    const noted = await run(
      activation,
      `mutation { noteException(id: "${parked.exception.id}", text: "Asked the client for the VAT number") { assignee history { action by detail } } }`,
    );
    expect(noted.data!['noteException']).toEqual({
      assignee: 'sales.ops@firm.example',
      history: [
        { action: 'ASSIGNED', by: 'development', detail: 'sales.ops@firm.example' },
        { action: 'NOTED', by: 'development', detail: 'Asked the client for the VAT number' },
      ],
    });

    await parked.fix();
    const resolved = await run(
      activation,
      `mutation { resolveException(id: "${parked.exception.id}", resolution: { action: RETRY, note: "VAT entered" }) { status } }`,
    );
    expect(resolved.data!['resolveException']).toEqual({ status: 'RESOLVED' });
    await activation.runner.waitFor(parked.run.id, ['ACTIVE'], 10_000);
    // A second click changes nothing and records nothing.
    await run(activation, `mutation { resolveException(id: "${parked.exception.id}", resolution: { action: RETRY }) { status } }`);
    const after = (await run(activation, EXCEPTION, { id: parked.exception.id })).data!['integrationException'];
    expect(after.run.status).toBe('ACTIVE');
    expect(after.history.map(({ action, detail }: { action: string; detail: string }) => [action, detail])).toEqual([
      ['ASSIGNED', 'sales.ops@firm.example'],
      ['NOTED', 'Asked the client for the VAT number'],
      ['RETRIED', 'VAT entered'],
    ]);
    expect(after.history.every((entry: { at: string }) => !Number.isNaN(Date.parse(entry.at)))).toBe(true);

    // Unassigning is recorded too.
    const unassigned = await run(activation, `mutation { assignException(id: "${parked.exception.id}", assignee: null) { assignee history { action } } }`);
    expect(unassigned.data!['assignException'].assignee).toBeNull();
    expect(unassigned.data!['assignException'].history.at(-1)).toEqual({ action: 'UNASSIGNED' });
  });

  it('refuses a malformed or unknown exception ID and an empty note with stable codes', async () => {
    const malformed = await run(activation, EXCEPTION, { id: 'exc_1' });
    expect(malformed.errors![0]!.extensions!['code']).toBe('INVALID_ID');
    const unknown = await run(activation, `mutation { noteException(id: "exc_01J00000000000000000000000", text: "x") { id } }`);
    expect(unknown.errors![0]!.extensions!['code']).toBe('NOT_FOUND');
    const exceptionId = activation.store.exceptions.list({}).at(0)!.id;
    const empty = await run(activation, `mutation { noteException(id: "${exceptionId}", text: "   ") { id } }`);
    expect(empty.errors![0]).toMatchObject({ message: 'Argument "text" must be 1 to 2000 characters.', extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('counts a bulk retry in a preview, then retries every matching exception and the runs activate', async () => {
    const [first, second] = systems.cleanAwaitingOpportunities().slice(1, 3);
    const a = await parkOnMissingTaxId(first!, 'console-bulk-a');
    const b = await parkOnMissingTaxId(second!, 'console-bulk-b');
    const filter = '{ type: ["TAX_ID_MISSING"], system: [CRM], status: [RESOLVED] }';
    const preview = await run(activation, `mutation { retryExceptions(filter: ${filter}, preview: true) { exceptions runs retried } }`);
    expect(preview.data!['retryExceptions']).toEqual({ exceptions: 2, runs: 2, retried: 0 });
    expect(activation.store.exceptions.list({ statuses: ['OPEN'], types: ['TAX_ID_MISSING'] })).toHaveLength(2);

    await a.fix();
    await b.fix();
    const retried = await run(activation, `mutation { retryExceptions(filter: ${filter}) { exceptions runs retried } }`);
    expect(retried.data!['retryExceptions']).toEqual({ exceptions: 2, runs: 2, retried: 2 });
    await activation.runner.waitFor(a.run.id, ['ACTIVE'], 10_000);
    await activation.runner.waitFor(b.run.id, ['ACTIVE'], 10_000);
    const history = await run(activation, EXCEPTION, { id: b.exception.id });
    expect(history.data!['integrationException'].history).toEqual([expect.objectContaining({ action: 'RETRIED', by: 'development', detail: 'bulk retry' })]);
  });

  it('draws the activation trend per hour: every bucket present, the runs, failures, exceptions and median cycle time counted', async () => {
    const now = new Date();
    const from = new Date(now.getTime() - 3 * 3_600_000).toISOString();
    const to = now.toISOString();
    const response = await run(
      activation,
      `{ activationTrend(bucket: HOUR, from: "${from}", to: "${to}") { start end runsStarted runsActivated runsFailed exceptionsRaised medianCycleTimeSeconds } }`,
    );
    const points = response.data!['activationTrend'] as Array<Record<string, any>>;
    expect(points).toHaveLength(4);
    expect(points[0]!.start).toBe(`${from.slice(0, 13)}:00:00.000Z`);
    for (const point of points) expect(Date.parse(point.end) - Date.parse(point.start)).toBe(3_600_000);
    const sum = (field: string) => points.reduce((total, point) => total + point[field], 0);
    // The three runs of the tests above: each started, failed validation once, raised one exception, and activated.
    expect(sum('runsStarted')).toBe(activation.store.runs.searchRuns({}, { limit: 100, offset: 0 }).totalCount);
    expect(sum('runsStarted')).toBe(3);
    expect(sum('runsActivated')).toBe(3);
    expect(sum('runsFailed')).toBe(3);
    expect(sum('exceptionsRaised')).toBe(3);
    // The runs are a few seconds old: in the last bucket, or the one before when the test straddles the hour.
    const withRuns = points.filter((point) => point.runsActivated > 0);
    expect(withRuns.length).toBeGreaterThan(0);
    for (const point of withRuns) expect(point.medianCycleTimeSeconds).toBeGreaterThan(0);
    for (const point of points.filter((other) => other.runsActivated === 0)) expect(point.medianCycleTimeSeconds).toBeNull();
    expect(points[0]).toMatchObject({ runsStarted: 0, runsActivated: 0, medianCycleTimeSeconds: null });

    const byDay = await run(
      activation,
      `{ activationTrend(bucket: DAY, from: "${from}", to: "${to}", region: [APAC, EUROPE, NORTH_AMERICA, UK_IRELAND]) { runsStarted } }`,
    );
    expect(byDay.data!['activationTrend'].reduce((total: number, point: { runsStarted: number }) => total + point.runsStarted, 0)).toBe(3);
  });

  it('refuses an inverted window and one of too many buckets', async () => {
    const inverted = await run(activation, `{ activationTrend(bucket: DAY, from: "2026-11-02T00:00:00Z", to: "2026-11-01T00:00:00Z") { start } }`);
    expect(inverted.errors![0]!.extensions!['code']).toBe('INVALID_DATE_RANGE');
    const tooMany = await run(activation, `{ activationTrend(bucket: HOUR, from: "2026-01-01T00:00:00Z", to: "2026-11-01T00:00:00Z") { start } }`);
    expect(tooMany.errors![0]).toMatchObject({ message: expect.stringMatching(/at most 744/), extensions: { code: 'BAD_USER_INPUT' } });
  });
});
