/**
 * Delivery through the gateway, as people use it over HTTP with their own tokens: a delivery manager finds a
 * submitted timesheet and approves it (the PSA announces `timesheet.approved` on the bus, for posting to ERP), sees
 * no rates; finance, without `psa:write`, cannot approve; a client-portal user sees no timesheets at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../contracts/errorCodes.js';
import { loadIdentityOptions } from '../../gateway/src/guards/identity.js';
import type { BusEvent } from '../../subgraphs/platform/src/events/index.js';
import type { ErpSubgraph } from '../../subgraphs/erp/src/erpSubgraph.js';
import type { SandboxErp } from '../../subgraphs/erp/src/sandbox/sandboxErp.js';
import type { PsaSubgraph } from '../../subgraphs/psa/src/psaSubgraph.js';
import { IdentityProvider, PERSONAS, type PersonaClaims, clientUser } from '../support/identityProvider.js';
import { type Stack, startStack } from '../support/stack.js';
import { collect, eventually, wsClient } from '../support/subscriptions.js';

describe('timesheet approval through the gateway', () => {
  let idp: IdentityProvider;
  let stack: Stack;
  const published: BusEvent[] = [];
  const as = async (persona: PersonaClaims) => ({ authorization: await idp.bearer(persona) });

  beforeAll(async () => {
    idp = await IdentityProvider.start();
    stack = await startStack({
      privateData: true,
      signedPrincipals: true,
      gateway: { identity: loadIdentityOptions(idp.gatewayEnv), clientUsersOnGraphql: true },
    });
    stack.bus.subscribe(['timesheet.approved'], (event) => void published.push(event));
  });
  afterAll(async () => {
    await stack?.stop();
    await idp?.stop();
  });

  it('lets a delivery manager approve a submitted timesheet, once, without seeing its rates', async () => {
    const manager = await as(PERSONAS.deliveryManager);
    const found = await stack.query(
      `{ timesheets(filter: { status: [SUBMITTED] }, first: 1) { totalCount nodes { id version weekStart project { id name } resource { name } totalHours entries { hours billRate { amount } } } } }`,
      {},
      manager,
    );
    expect(found.status).toBe(200);
    const sheet = found.body.data.timesheets.nodes[0];
    expect(sheet.project.name).toEqual(expect.any(String));
    expect(sheet.entries.length).toBeGreaterThan(0);
    expect(sheet.entries.every((entry: { billRate: unknown }) => entry.billRate === null)).toBe(true);
    expect(found.body.errors!.every((error) => error.extensions?.['code'] === ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE)).toBe(true);

    const approve = `mutation ($id: ID!) { approveTimesheet(id: $id) { id status version approvedOn } }`;
    const approved = await stack.query(approve, { id: sheet.id }, manager);
    expect(approved.body.errors).toBeUndefined();
    expect(approved.body.data.approveTimesheet).toMatchObject({ id: sheet.id, status: 'APPROVED', version: sheet.version + 1 });
    const again = await stack.query(approve, { id: sheet.id }, manager);
    expect(again.body.data.approveTimesheet).toEqual(approved.body.data.approveTimesheet);

    await (stack.subgraphs.psa.service as unknown as PsaSubgraph).flushEvents();
    expect(published.map((event) => [event.subject, event.data['version'], (event.data['entries'] as unknown[]).length])).toEqual([
      [sheet.id, sheet.version + 1, sheet.entries.length],
    ]);
    const totals = await stack.query(`query ($id: ID!) { timesheet(id: $id) { status totalHours } }`, { id: sheet.id }, manager);
    expect(totals.body.data.timesheet).toEqual({ status: 'APPROVED', totalHours: sheet.totalHours });
  });

  it('posts the approved entries to ERP under the process layer’s own identity, and shows each line’s state to operations', async () => {
    const manager = await as(PERSONAS.deliveryManager);
    const found = await stack.query(
      `{ timesheets(filter: { status: [SUBMITTED] }, first: 100) { nodes { id version project { id contractType } entries { id billable } } } }`,
      {},
      manager,
    );
    const sheet = found.body.data.timesheets.nodes.find(
      (node: { project: { contractType: string }; entries: Array<{ billable: boolean }> }) =>
        node.project.contractType === 'TIME_AND_MATERIALS' && node.entries.every((entry) => entry.billable),
    );
    const approved = await stack.query(`mutation ($id: ID!) { approveTimesheet(id: $id) { version } }`, { id: sheet.id }, manager);
    const version = approved.body.data.approveTimesheet.version as number;
    await (stack.subgraphs.psa.service as unknown as PsaSubgraph).flushEvents();

    const operator = await as(PERSONAS.integrationEngineer);
    const posting = `query ($id: ID!, $v: Int!) { timesheetPosting(timesheetId: $id, version: $v) { sourceKey status openExceptions { type ownerTeam resolution } } }`;
    let lines: Array<{ sourceKey: string; status: string; openExceptions: unknown[] }> = [];
    await eventually(async () => {
      lines = (await stack.query(posting, { id: sheet.id, v: version }, operator)).body.data.timesheetPosting;
      return lines.length === sheet.entries.length && lines.every((line) => line.status !== 'PENDING');
    });
    // Whatever the seeded data holds for this project, every line is either in ERP or held back saying why.
    for (const line of lines) {
      if (line.status === 'POSTED') expect(line.openExceptions).toEqual([]);
      else
        expect(line).toMatchObject({
          status: 'EXCEPTION',
          openExceptions: [expect.objectContaining({ ownerTeam: expect.any(String), resolution: expect.stringMatching(/retry\.$/) })],
        });
    }
    expect(lines.filter((line) => line.status === 'POSTED').length).toBeGreaterThan(0);
    expect(lines.map((line) => line.sourceKey).sort()).toEqual(sheet.entries.map((entry: { id: string }) => `time:${entry.id}:v${version}`).sort());

    const asClient = await stack.query(posting, { id: sheet.id, v: version }, await as(clientUser(['001000000000000AAA'])));
    expect(asClient.body.errors?.[0]?.extensions?.['code']).toBe(ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE);
  });

  it('streams billing exceptions and posting progress to operations, hydrated with the project from the PSA', async () => {
    const manager = await as(PERSONAS.deliveryManager);
    const operator = await as(PERSONAS.integrationEngineer);
    const found = await stack.query(
      `{ timesheets(filter: { status: [SUBMITTED] }, first: 100) { nodes { id project { id name contractType } entries { id billable } } } }`,
      {},
      manager,
    );
    const sheet = [...found.body.data.timesheets.nodes]
      .reverse()
      .find(
        (node: { project: { contractType: string }; entries: Array<{ billable: boolean }> }) =>
          node.project.contractType === 'TIME_AND_MATERIALS' && node.entries.every((entry) => entry.billable),
      );
    const erpDb = (stack.subgraphs.erp.service as unknown as ErpSubgraph & { erp: SandboxErp }).erp.store.db;
    const jobId = erpDb.prepare('SELECT id FROM job WHERE external_id = ?').pluck().get(sheet.project.id) as number;
    erpDb.prepare('UPDATE contract_rate SET bill_rate_minor = bill_rate_minor + 100 WHERE job_id = ?').run(jobId);

    const client = wsClient(stack.gatewayUrl, operator);
    try {
      const changes = collect(
        client,
        `subscription ($p: ID) { billingExceptionChanged(projectId: $p) { change exception { id type ownerTeam project { id name } } } }`,
        { p: sheet.project.id },
      );
      const progress = collect(client, `subscription ($p: ID) { postingProgress(projectId: $p) { kind postedLines latencySeconds project { name } } }`, {
        p: sheet.project.id,
      });
      await eventually(() => stack.activation.service.activeSubscriptions() === 2, 5_000, 'both subscriptions upstream');
      await stack.query(`mutation ($id: ID!) { approveTimesheet(id: $id) { status } }`, { id: sheet.id }, manager);
      await (stack.subgraphs.psa.service as unknown as PsaSubgraph).flushEvents();
      const raised = await changes.waitFor(sheet.entries.length);
      expect(raised.map((event) => event.data.billingExceptionChanged)).toEqual(
        sheet.entries.map(() => ({
          change: 'RAISED',
          exception: {
            id: expect.stringMatching(/^bex_/),
            type: 'RATE_MISMATCH',
            ownerTeam: 'Delivery operations',
            project: { id: sheet.project.id, name: sheet.project.name },
          },
        })),
      );

      erpDb.prepare('UPDATE contract_rate SET bill_rate_minor = bill_rate_minor - 100 WHERE job_id = ?').run(jobId);
      const first = raised[0]!.data.billingExceptionChanged.exception.id as string;
      const retried = await stack.query(`mutation ($id: ID!) { retryBillingException(id: $id) { status } }`, { id: first }, operator);
      expect(retried.body.data.retryBillingException).toEqual({ status: 'RESOLVED' });
      const [, posted] = [await changes.waitFor(sheet.entries.length + 1), await progress.waitFor(1)];
      expect(changes.results.at(-1)!.data.billingExceptionChanged).toMatchObject({ change: 'RESOLVED', exception: { id: first } });
      expect(posted[0]!.data.postingProgress).toMatchObject({ kind: 'TIME', postedLines: 1, project: { name: sheet.project.name } });
      expect(posted[0]!.data.postingProgress.latencySeconds).toBeGreaterThanOrEqual(0);
    } finally {
      await client.dispose();
    }
  });

  it('does not let finance approve without psa:write, nor a client user see timesheets', async () => {
    const manager = await as(PERSONAS.deliveryManager);
    const submitted = await stack.query(`{ timesheets(filter: { status: [SUBMITTED] }, first: 1) { nodes { id } } }`, {}, manager);
    const id = submitted.body.data.timesheets.nodes[0].id as string;

    const byFinance = await stack.query(`mutation ($id: ID!) { approveTimesheet(id: $id) { status } }`, { id }, await as(PERSONAS.finance));
    expect(byFinance.body.errors?.[0]?.extensions?.['code']).toBe(ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE);
    expect(byFinance.body.data?.approveTimesheet ?? null).toBeNull();

    const account = (await stack.query(`{ projects(first: 1) { nodes { account { id } } } }`, {}, manager)).body.data.projects.nodes[0].account.id as string;
    const client = await as(clientUser([account], 'psa:write'));
    const listed = await stack.query(`{ timesheets { totalCount } }`, {}, client);
    expect(listed.body.errors?.[0]?.extensions?.['code']).toBe(ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE);
    const approve = await stack.query(`mutation ($id: ID!) { approveTimesheet(id: $id) { status } }`, { id }, client);
    expect(approve.body.errors?.[0]?.extensions?.['code']).toBe(ErrorCode.UNAUTHORIZED_FIELD_OR_TYPE);

    const still = await stack.query(`query ($id: ID!) { timesheet(id: $id) { status } }`, { id }, manager);
    expect(still.body.data.timesheet).toEqual({ status: 'SUBMITTED' });
  });
});
