/**
 * The Kantata adapter against a server that speaks Kantata OX's REST API (`test/wire/kantata/`): the PSA port's
 * conformance suite against the sandbox, then what only a real account does to a client — a token revoked
 * mid-run, 429 storms without Retry-After, outages, changes polled across a restart, a create whose answer is
 * lost — and credentials that never show. A world of scale 0.3 (the smallest of seed 7 with tentative staffing): the PSA's is the slowest to seed.
 */
import { writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { InMemoryEventBus } from '../../platform/src/events/index.js';
import { type EventRelay, Metrics, parseMetrics } from '../../platform/src/index.js';
import { Secret } from '../../platform/src/vendor/secrets.js';
import { recordEvents } from '../../platform/test/portConformance.js';
import { execute, temporaryDataDir } from '../../platform/test/testSupport.js';
import { buildWorld } from '../../sandboxes/src/world/world.js';
import { CUSTOM_FIELD_DEFINITIONS, choiceIdOf } from '../../../test/wire/kantata/kantataWireData.js';
import { changed } from '../../../test/wire/kantata/kantataWireQuery.js';
import { KantataWireServer } from '../../../test/wire/kantata/kantataWireServer.js';
import { ROLES } from '../../sandboxes/src/world/catalog.js';
import { openKantataPsa } from '../src/kantata/kantataAdapter.js';
import { type KantataConfig, loadKantataConfig } from '../src/kantata/kantataConfig.js';
import { loadPsaSystemConfig } from '../src/psaConfig.js';
import type { PsaAdapter } from '../src/psaPort.js';
import { createPsaSubgraph, sandboxPsaAdapter } from '../src/psaSubgraph.js';
import { type PsaPortsUnderTest, describePsaPortConformance, eventually } from './psaPortConformance.js';

const worldOptions = { scale: 0.3, seed: 7, asOf: '2026-11-01' };
const TOKEN = 'kantata-token-that-must-not-leak';

describe('the Kantata adapter', () => {
  const data = temporaryDataDir('kantata');
  const world = buildWorld(worldOptions);
  let wire: KantataWireServer;
  const opened: Array<{ adapter: PsaAdapter; relay?: EventRelay }> = [];

  const config = (overrides: Partial<KantataConfig> = {}): KantataConfig => ({
    apiUrl: wire.url,
    accessToken: new Secret(TOKEN),
    serviceName: 'psgraph',
    maxConcurrency: 4,
    timeoutMs: 5_000,
    pollIntervalMs: 60_000,
    ...overrides,
  });
  const open = (folder: string, overrides: Partial<KantataConfig> = {}, resilience = {}) => {
    const adapter = openKantataPsa(config(overrides), { dataDir: `${data.dir}/${folder}`, resilience });
    opened.push({ adapter });
    return adapter;
  };

  beforeAll(async () => {
    wire = await KantataWireServer.start({ world: worldOptions, dataDir: `${data.dir}/wire`, accessToken: TOKEN });
  });
  afterAll(async () => {
    for (const { adapter, relay } of opened) {
      await relay?.stop();
      await adapter.close();
    }
    await wire?.stop();
    data.remove();
  });

  describe('conformance', () => {
    let ports: PsaPortsUnderTest;
    beforeAll(async () => {
      const reference = sandboxPsaAdapter({ dataDir: `${data.dir}/sandbox`, world: worldOptions });
      const candidate = open('conformance');
      const referenceBus = new InMemoryEventBus();
      const candidateBus = new InMemoryEventBus();
      const referenceRelay = reference.relayEvents(referenceBus);
      const candidateRelay = candidate.relayEvents(candidateBus);
      opened.push({ adapter: reference, relay: referenceRelay }, { adapter: candidate, relay: candidateRelay });
      // The first sync lists every record once (the replica); nothing that stood before it is an event.
      await candidateRelay.flush();
      ports = { world, reference, candidate, referenceBus, candidateBus, referenceRelay, candidateRelay };
    });
    describePsaPortConformance('Kantata', () => ports, {
      deliveryUnsupported: {
        system: 'Kantata',
        operations: ['logTime'],
      },
    });
  });

  /** A resource request someone opens in Kantata itself, as psgraph's own are made (hours and dates on its resource). */
  const requestInKantata = (workspaceId: string, role: string, approverId: string, minutes: number, start: string, end: string) => {
    const field = (name: string) => Number(CUSTOM_FIELD_DEFINITIONS.find((definition) => definition.name === name)!.id);
    const created = wire.act('POST', '/resource_requests', {
      resource_request: {
        resource_workspace_id: Number(workspaceId),
        resource_role_id: 101 + ROLES.findIndex((candidate) => candidate.code === role),
        approver_ids: [Number(approverId)],
        custom_fields: [
          { custom_field_id: field('Requested Minutes'), value: String(minutes) },
          { custom_field_id: field('Requested Start'), value: start },
          { custom_field_id: field('Requested End'), value: end },
        ],
      },
    })!;
    return (created['results'] as Array<{ id: string }>)[0]!.id;
  };
  /** A tentative booking confirmed in Kantata (the resource's Booking Status set to Confirmed). */
  const confirmInKantata = (resourceId: string) =>
    wire.act('PUT', `/workspace_resources/${resourceId}`, {
      workspace_resource: { custom_fields: [{ custom_field_id: 7021, value: `[${choiceIdOf('7021', 1)}]` }] },
    });

  it('serves an account without the Billing Approval Note field, refusing only to withdraw a billing approval, and writing nothing', async () => {
    const note = wire.db.prepare("SELECT * FROM custom_fields WHERE id = '7032'").get() as Record<string, unknown>;
    wire.db.prepare("DELETE FROM custom_fields WHERE id = '7032'").run();
    changed(wire.db);
    try {
      const adapter = open('no-billing-note');
      const story = wire.db.prepare("SELECT id, workspace_id, updated_at FROM stories WHERE status = 'Approved for Billing' LIMIT 1").get() as {
        id: string;
        workspace_id: string;
        updated_at: string;
      };
      const project = world.projects.find((candidate) => candidate.psaId === story.workspace_id)!;
      expect((await adapter.port.milestonesByProjectId([project.id])).get(project.id)).toContainEqual(
        expect.objectContaining({ id: story.id, status: 'APPROVED_FOR_BILLING' }),
      );
      await expect(adapter.port.delivery.withdrawMilestoneBillingApproval(story.id, 'PO expired')).rejects.toMatchObject({
        message: expect.stringContaining('Kantata has no Story custom field "Billing Approval Note" visible to psgraph\'s user'),
        extensions: { code: ErrorCode.SYSTEM_PERMISSION_DENIED, system: 'Kantata' },
      });
      expect(wire.db.prepare('SELECT status, updated_at FROM stories WHERE id = ?').get(story.id)).toEqual({
        status: 'Approved for Billing',
        updated_at: story.updated_at,
      });
    } finally {
      wire.db
        .prepare('INSERT INTO custom_fields (id, name, subject_type, value_type, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(note['id'], note['name'], note['subject_type'], note['value_type'], note['created_at'], note['updated_at']);
      changed(wire.db);
    }
  });

  /** The values of a subject's custom fields in the account, by field ID (the API's formats). */
  const valuesIn = (subjectType: string, subjectId: string, fieldIds: readonly string[]) =>
    Object.fromEntries(
      (
        wire.db
          .prepare('SELECT custom_field_id, value FROM custom_field_values WHERE subject_type = ? AND subject_id = ? ORDER BY custom_field_id')
          .all(subjectType, subjectId) as Array<{ custom_field_id: string; value: string }>
      )
        .filter((row) => fieldIds.includes(row.custom_field_id))
        .map((row) => [row.custom_field_id, JSON.parse(row.value) as unknown]),
    );
  const PROJECT_BILLING_FIELDS = ['7041', '7042', '7043', '7044', '7045', '7046'];
  const MILESTONE_INVOICE_FIELDS = ['7051', '7052', '7053', '7054'];

  it('keeps billing status in custom field values, the as-of last: a write cut off before it is written again on replay, and an as-of set in Kantata wins', async () => {
    const adapter = open('billing-status', {}, { maxAttempts: 1 });
    const billing = adapter.port.billingStatus;
    const project = world.projects.filter((candidate) => candidate.milestones.length >= 2)[8]!;
    const posted = {
      projectId: project.id,
      asOf: '2026-11-03T10:00:00.000Z',
      currency: project.currency,
      billedMinor: 99_900,
      unbilledMinor: 1_000,
      lastInvoiceId: 'in_1Qwire',
      lastInvoiceNumber: 'PSG-0201',
      lastInvoiceStatus: 'OPEN' as const,
    };
    // Kantata takes the amounts and the invoice, then fails on the as-of.
    let writes = 0;
    wire.inject({ status: 503, match: (method, path) => method === 'POST' && path === '/custom_field_values' && ++writes === 2 });
    await expect(billing.recordProjectBillingStatus(posted)).rejects.toMatchObject({ extensions: { system: 'Kantata' } });
    expect(valuesIn('Workspace', project.psaId, PROJECT_BILLING_FIELDS)).toEqual({
      '7041': [99_900, project.currency],
      '7042': [1_000, project.currency],
      '7043': 'in_1Qwire',
      '7044': 'PSG-0201',
      '7045': 'OPEN',
    });
    expect(await billing.projectBillingStatusByProjectId([project.id])).toEqual(new Map());

    expect(await billing.recordProjectBillingStatus(posted)).toEqual({ applied: true });
    expect(valuesIn('Workspace', project.psaId, ['7046'])).toEqual({ '7046': posted.asOf });
    const [status] = (await billing.projectBillingStatusByProjectId([project.id])).values();
    expect(status).toEqual({ ...posted, updatedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) });

    // Someone moves the as-of on in Kantata: an older event writes nothing; a newer one clears the invoice.
    const asOfValue = wire.db
      .prepare("SELECT id FROM custom_field_values WHERE subject_type = 'Workspace' AND subject_id = ? AND custom_field_id = '7046'")
      .pluck()
      .get(project.psaId) as number;
    wire.act('PUT', `/custom_field_values/${asOfValue}`, { custom_field_value: { value: '2026-12-01T00:00:00.000Z' } });
    expect(await billing.recordProjectBillingStatus({ ...posted, asOf: '2026-11-30T23:59:59.999Z', billedMinor: 1 })).toEqual({ applied: false });
    const cleared = { ...posted, asOf: '2026-12-01T00:00:00.001Z', lastInvoiceId: null, lastInvoiceNumber: null, lastInvoiceStatus: null };
    expect(await billing.recordProjectBillingStatus(cleared)).toEqual({ applied: true });
    expect((await billing.projectBillingStatusByProjectId([project.id])).get(project.id)).toMatchObject(cleared);

    const milestoneId = project.milestones[1]!.psaId;
    const invoiced = { milestoneId, asOf: '2026-11-03T10:00:00.000Z', invoiceId: 'in_1Qwire', invoiceNumber: 'PSG-0201', invoiceStatus: 'PAID' as const };
    expect(await billing.recordMilestoneInvoice(invoiced)).toEqual({ applied: true });
    expect(valuesIn('Story', milestoneId, MILESTONE_INVOICE_FIELDS)).toEqual({
      '7051': 'in_1Qwire',
      '7052': 'PSG-0201',
      '7053': 'PAID',
      '7054': invoiced.asOf,
    });
    expect((await billing.milestoneInvoiceByMilestoneId([milestoneId])).get(milestoneId)).toMatchObject(invoiced);
  });

  it('refuses billing status calls naming a billing field the account lacks, writing nothing, and keeps the others', async () => {
    const asOf = wire.db.prepare("SELECT * FROM custom_fields WHERE id = '7054'").get() as Record<string, unknown>;
    wire.db.prepare("DELETE FROM custom_fields WHERE id = '7054'").run();
    changed(wire.db);
    try {
      const adapter = open('no-invoice-as-of');
      const project = world.projects.filter((candidate) => candidate.milestones.length >= 2)[9]!;
      const milestoneId = project.milestones[0]!.psaId;
      const before = wire.requests.length;
      const refusal = {
        message: expect.stringContaining('Kantata has no Story custom field "psgraph Invoice As Of" visible to psgraph\'s user'),
        extensions: { code: ErrorCode.SYSTEM_PERMISSION_DENIED, system: 'Kantata' },
      };
      await expect(
        adapter.port.billingStatus.recordMilestoneInvoice({
          milestoneId,
          asOf: '2026-11-03T10:00:00.000Z',
          invoiceId: 'in_1Q',
          invoiceNumber: null,
          invoiceStatus: 'OPEN',
        }),
      ).rejects.toMatchObject(refusal);
      await expect(adapter.port.billingStatus.milestoneInvoiceByMilestoneId([milestoneId])).rejects.toMatchObject(refusal);
      expect(wire.requests.slice(before).filter((request) => request.method !== 'GET')).toEqual([]);
      expect(valuesIn('Story', milestoneId, MILESTONE_INVOICE_FIELDS)).toEqual({});
      expect(await adapter.port.billingStatus.projectBillingStatusByProjectId([project.id])).toEqual(new Map());
    } finally {
      wire.db
        .prepare('INSERT INTO custom_fields (id, name, subject_type, value_type, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(asOf['id'], asOf['name'], asOf['subject_type'], asOf['value_type'], asOf['created_at'], asOf['updated_at']);
      changed(wire.db);
    }
  });

  it('reads its settings from the environment, the token also from a file, and never shows it', () => {
    const tokenFile = `${data.dir}/kantata-token`;
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const loaded = loadKantataConfig({ PSGRAPH_KANTATA_ACCESS_TOKEN_FILE: tokenFile, PSGRAPH_KANTATA_POLL_INTERVAL_MS: '5000' });
    expect(loaded).toMatchObject({ apiUrl: 'https://api.mavenlink.com/api/v1', serviceName: 'psgraph', maxConcurrency: 4, pollIntervalMs: 5_000 });
    expect(loaded.accessToken.reveal()).toBe(TOKEN);
    expect(`${JSON.stringify(loaded)} ${inspect(loaded)}`).not.toContain(TOKEN);
    expect(() => loadKantataConfig({})).toThrow(/PSGRAPH_KANTATA_ACCESS_TOKEN/);
    expect(loadPsaSystemConfig({})).toEqual({ system: 'sandbox' });
    expect(loadPsaSystemConfig({ PSGRAPH_PSA_SYSTEM: 'kantata', PSGRAPH_KANTATA_ACCESS_TOKEN: TOKEN })).toMatchObject({ system: 'kantata' });
    expect(() => loadPsaSystemConfig({ PSGRAPH_PSA_SYSTEM: 'certinia' })).toThrow(/PSGRAPH_PSA_SYSTEM/);
  });

  it('answers SYSTEM_OPERATION_UNSUPPORTED naming Kantata for logging time and for an expense in another currency than its project’s, without calling Kantata', async () => {
    const adapter = open('delivery');
    const project = world.projects.find(
      (candidate) => candidate.currency !== 'USD' && candidate.requests.some((request) => request.assignment?.status === 'CONFIRMED'),
    )!;
    const staffed = (await adapter.port.assignmentsByProjectId([project.id])).get(project.id)!.find((assignment) => assignment.status === 'CONFIRMED')!;
    const before = wire.apiRequests;
    await expect(adapter.port.delivery.logTime({ assignmentId: '1', workDate: '2026-11-02', minutes: 60 })).rejects.toMatchObject({
      message: expect.stringMatching(/^Logging time over Kantata is not supported by psgraph yet: do it in Kantata itself\.$/),
      extensions: { code: ErrorCode.SYSTEM_OPERATION_UNSUPPORTED, system: 'Kantata' },
    });
    const expense = {
      projectId: project.id,
      resourceId: staffed.resourceId,
      incurredOn: '2026-10-29',
      category: 'LODGING',
      description: 'Hotel, two nights',
      amountMinor: 31_000,
      currency: 'USD',
      billable: true,
    } as const;
    await expect(adapter.port.delivery.createExpense(expense)).rejects.toMatchObject({
      message: `Recording an expense in USD on project ${project.id}, whose currency is ${project.currency}, over Kantata is not supported by psgraph yet: do it in Kantata itself (Kantata records an expense in its project's currency).`,
      extensions: { code: ErrorCode.SYSTEM_OPERATION_UNSUPPORTED, system: 'Kantata' },
    });
    await expect(adapter.port.delivery.createExpense({ ...expense, currency: project.currency, receiptRef: 'scan-17.pdf' })).rejects.toMatchObject({
      extensions: { code: ErrorCode.BAD_USER_INPUT },
    });
    expect(wire.apiRequests).toBe(before);
    expect(wire.db.prepare('SELECT COUNT(*) FROM expenses WHERE workspace_id = ? AND notes = ?').pluck().get(project.psaId, expense.description)).toBe(0);
  });

  it('answers SYSTEM_PERMISSION_DENIED naming Kantata, once and without the token, when the token is revoked mid-run', async () => {
    const adapter = open('token');
    const id = world.projects[0]!.id;
    expect((await adapter.port.projectsById([id])).size).toBe(1);
    wire.revokeToken(TOKEN);
    try {
      const before = wire.apiRequests;
      const error = await adapter.port.projectsById([id]).catch((caught: unknown) => caught as Error);
      expect(error).toMatchObject({
        extensions: { code: ErrorCode.SYSTEM_PERMISSION_DENIED, system: 'Kantata', failure: 'AUTHENTICATION', vendorStatus: 401 },
      });
      expect((error as Error).message).toMatch(/Kantata refused psgraph's access token/);
      // Kantata's tokens do not expire: a refused one is not retried.
      expect(wire.apiRequests - before).toBe(1);
      expect(JSON.stringify({ message: (error as Error).message, error, inspected: inspect(error) })).not.toContain(TOKEN);
    } finally {
      wire.grantToken(TOKEN);
    }
    expect((await adapter.port.projectsById([id])).size).toBe(1);
  });

  it('rides out a storm of 429s (Kantata sends no Retry-After) and gives up with SYSTEM_UNAVAILABLE when it does not end', async () => {
    const adapter = open('storm', {}, { initialBackoffMs: 10, maxBackoffMs: 50, maxAttempts: 4 });
    const metrics = new Metrics();
    adapter.instrument(metrics);
    const id = world.projects[1]!.id;
    const tooMany = { errors: [{ type: 'system', message: 'Too many requests. Please retry your request after a small delay.' }] };
    wire.inject({ status: 429, body: tooMany, times: 2 });
    wire.inject({ status: 429, headers: { 'retry-after': '0' }, body: tooMany, times: 1 });
    expect((await adapter.port.projectsById([id])).size).toBe(1);
    expect(parseMetrics(await metrics.render()).get('psgraph_vendor_api_calls_total{system="Kantata",operation="projectsById",outcome="rate_limited"}')).toBe(
      3,
    );

    wire.inject({ status: 429, body: tooMany, times: 10 });
    try {
      await expect(adapter.port.projectsById([id])).rejects.toMatchObject({
        message: 'Kantata: Too many requests. Please retry your request after a small delay.',
        extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'Kantata', failure: 'RATE_LIMITED' },
      });
    } finally {
      wire.clearFaults();
    }
  });

  it('fails fast while Kantata is down, naming it, and recovers when it is back', async () => {
    const adapter = open('outage', {}, { maxAttempts: 1, failureThreshold: 2, cooldownMs: 300 });
    const id = world.projects[2]!.id;
    await adapter.port.projectsById([id]);
    await wire.pause();
    try {
      for (let i = 0; i < 2; i++)
        await expect(adapter.port.projectsById([id])).rejects.toMatchObject({ extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'Kantata' } });
      const before = wire.apiRequests;
      await expect(adapter.port.projectsById([id])).rejects.toThrow(/Kantata is unavailable: it failed 2 times in a row/);
      expect(wire.apiRequests).toBe(before);
    } finally {
      await wire.resume();
    }
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await adapter.port.projectsById([id])).size).toBe(1);
  });

  it('never sends a create twice: a lost answer is followed by a search, not by a second POST', async () => {
    const adapter = open('lost-answer', {}, { initialBackoffMs: 10, maxAttempts: 4 });
    const template = world.projects[5]!;
    const project = (id: string) => ({
      id,
      accountId: world.accounts[template.accountIndex]!.crmId,
      code: `PRJ-${id.slice(-4)}`,
      name: `Lost answer ${id.slice(-4)}`,
      region: template.region,
      serviceLine: template.serviceLine,
      contractType: template.contractType,
      currency: template.currency,
      startDate: '2027-02-01',
      endDate: '2027-04-30',
      managerId: world.consultants[template.managerIndex]!.psaId,
    });
    const isCreate = (method: string, path: string) => method === 'POST' && path === '/workspaces';
    const posts = () => wire.requests.filter((request) => isCreate(request.method, request.path)).length;
    const holding = (id: string) => wire.db.prepare('SELECT COUNT(*) FROM external_references WHERE service_model_ref = ?').pluck().get(id);

    // Kantata created the workspace, and its answer was lost.
    const created = 'prj_01JFJG60M0Q0CQE75AR8B3HMHC';
    wire.inject({ status: 503, afterwards: true, match: isCreate });
    let before = posts();
    expect(await adapter.port.createProject(project(created))).toMatchObject({ id: created, status: 'PLANNED' });
    expect(posts() - before).toBe(1);
    expect(holding(created)).toBe(1);

    // Kantata failed before creating anything: one POST, and the failure, named.
    const failed = 'prj_01JFJG60M0Q0CQE75AR8B3HMHD';
    wire.inject({ status: 503, body: { errors: [{ type: 'system', message: 'Service is unavailable' }] }, match: isCreate });
    before = posts();
    await expect(adapter.port.createProject(project(failed))).rejects.toMatchObject({ extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'Kantata' } });
    expect(posts() - before).toBe(1);
    expect(holding(failed)).toBe(0);
    expect(await adapter.port.deleteProject(created)).toBe(true);
  });

  it('turns changes polled across a restart into events, none missed and none repeated, and keeps time current', async () => {
    const held = world.projects.flatMap((project) => project.requests.filter((request) => request.status === 'HELD').map((request) => ({ project, request })));
    // The conformance suite confirmed the first; these two are still tentative.
    const [, first, second] = held;
    const target = world.projects.find((project) => project.status === 'ACTIVE')!;
    const approver = world.consultants[target.managerIndex]!.psaId;
    const bus = new InMemoryEventBus();
    const seen = recordEvents(bus);
    const summary = () => seen.events.map((event) => [event.type, event.subject]);
    try {
      const before = open('restart');
      const relay = before.relayEvents(bus);
      await relay.flush();
      // What the conformance suite changed minutes ago is news to a psgraph started now (the first listing leaves
      // out what was created in its clock-skew margin): not what this test counts.
      seen.events.length = 0;
      const totalsBefore = (await before.port.timeTotalsByProjectId([target.id])).get(target.id)!;
      const requestA = requestInKantata(target.psaId, 'ANALYST', approver, 960, '2026-11-16', '2026-12-18');
      confirmInKantata(first!.request.assignment!.psaId);
      await relay.flush();
      await eventually(() =>
        expect(summary()).toEqual([
          ['assignment.confirmed', first!.request.assignment!.psaId],
          ['resource_request.created', requestA],
        ]),
      );
      await relay.stop();
      await before.close();

      // While psgraph is down: a request opened, a booking confirmed, time logged and a timesheet approved.
      const requestB = requestInKantata(target.psaId, 'DEVELOPER', approver, 2400, '2027-01-04', '2027-02-26');
      confirmInKantata(second!.request.assignment!.psaId);
      const user = world.consultants[target.managerIndex]!.psaId;
      wire.logTime({ workspaceId: target.psaId, userId: user, date: '2026-10-28', minutes: 90, billable: true, rate: 20_000, costRate: 9_000 });
      const pending = wire.db
        .prepare("SELECT id FROM timesheet_submissions WHERE workspace_id = ? AND status = 'pending' LIMIT 1")
        .pluck()
        .get(target.psaId) as string;
      const pendingMinutes = wire.db.prepare('SELECT SUM(time_in_minutes) FROM time_entries WHERE recent_submission_id = ?').pluck().get(pending) as number;
      wire.act('PUT', `/timesheet_submissions/${pending}/approve`);
      // A milestone's billing approval withdrawn, its reason in the "Billing Approval Note" (the last one approved: the conformance suite left it alone).
      const story = wire.db
        .prepare("SELECT id, workspace_id FROM stories WHERE status = 'Approved for Billing' ORDER BY CAST(id AS INTEGER) DESC LIMIT 1")
        .get() as { id: string; workspace_id: string };
      wire.act('PUT', `/stories/${story.id}`, { story: { status: 'Completed', custom_fields: [{ custom_field_id: 7032, value: 'Scope reduced' }] } });

      // An expense logged, reported and approved in Kantata.
      const idOf = (envelope: Record<string, unknown> | undefined) => (envelope!['results'] as Array<{ id: string }>)[0]!.id;
      const taxi = idOf(
        wire.act('POST', '/expenses', {
          expense: {
            workspace_id: Number(target.psaId),
            user_id: Number(user),
            date: '2026-10-28',
            expense_category_id: 9001,
            category: 'Travel',
            amount_in_cents: 4_200,
            notes: 'Taxi',
          },
        }),
      );
      const report = idOf(
        wire.act('POST', '/expense_report_submissions', {
          expense_report_submission: { line_item_ids: [Number(taxi)], title: 'Taxi', workspace_id: Number(target.psaId), user_id: Number(user) },
        }),
      );
      wire.act('PUT', `/expense_report_submissions/${report}/approve`, { resolution: {} });

      const after = open('restart');
      const relayAfter = after.relayEvents(bus);
      opened.push({ adapter: after, relay: relayAfter });
      await relayAfter.flush();
      await eventually(() =>
        expect(summary()).toEqual([
          ['assignment.confirmed', first!.request.assignment!.psaId],
          ['resource_request.created', requestA],
          ['assignment.confirmed', second!.request.assignment!.psaId],
          ['resource_request.created', requestB],
          ['milestone.billing_approval_withdrawn', story.id],
          ['timesheet.approved', pending],
          ['expense.approved', taxi],
        ]),
      );
      expect(seen.events[6]!.data).toEqual({
        expenseId: taxi,
        version: 1,
        projectId: target.id,
        resourceId: user,
        incurredOn: '2026-10-28',
        category: 'TRAVEL',
        amountMinor: 4_200,
        currency: target.currency,
        billable: true,
        receiptRef: null,
        approvedOn: new Date().toISOString().slice(0, 10),
      });
      expect(seen.events[4]!.data).toEqual({
        milestoneId: story.id,
        version: 1,
        projectId: world.projects.find((project) => project.psaId === story.workspace_id)!.id,
        reason: 'Scope reduced',
      });
      expect(seen.events[5]!.data).toMatchObject({ timesheetId: pending, version: 1, approvedOn: new Date().toISOString().slice(0, 10) });
      expect(seen.events[3]!.data).toEqual({
        resourceRequestId: requestB,
        projectId: target.id,
        role: 'DEVELOPER',
        hours: 40,
        startDate: '2027-01-04',
        endDate: '2027-02-26',
      });
      expect(seen.events[2]!.data).toEqual({
        assignmentId: second!.request.assignment!.psaId,
        projectId: second!.project.id,
        resourceId: world.consultants[second!.request.assignment!.consultantIndex]!.psaId,
        resourceRequestId: second!.request.psaId,
        role: second!.request.role,
      });
      const totalsAfter = (await after.port.timeTotalsByProjectId([target.id])).get(target.id)!;
      expect(totalsAfter).toMatchObject({
        timeEntryCount: totalsBefore.timeEntryCount + 1,
        openMinutes: totalsBefore.openMinutes + 90,
        approvedMinutes: totalsBefore.approvedMinutes + pendingMinutes,
        submittedMinutes: totalsBefore.submittedMinutes - pendingMinutes,
      });
      expect((await after.port.resourceRequestsByProjectId([second!.project.id])).get(second!.project.id)).toContainEqual(
        expect.objectContaining({ id: second!.request.psaId, status: 'FULFILLED' }),
      );
    } finally {
      seen.stop();
    }
  });

  describe('through the PSA subgraph', () => {
    const PORTFOLIO = `query ($first: Int) { projects(first: $first, filter: { status: [ACTIVE] }) { totalCount nodes {
      id code status manager { id name role { code } } milestones { id status amount { amount currency } }
      resourceRequests { id status assignment { id status } }
      assignments { id status billRate { amount currency } resource { id name skills } }
      timeTotals { timeEntryCount approvedHours approvedBillableValue { amount currency } lastEntryDate } } } }`;
    let subgraph: ReturnType<typeof createPsaSubgraph>;
    beforeAll(() => {
      subgraph = createPsaSubgraph({ dataDir: `${data.dir}/subgraph`, world: worldOptions, production: false }, open('subgraph'));
    });
    afterAll(async () => {
      await subgraph?.stop();
    });

    it('costs Kantata as many calls for a page of 50 projects as for a page of 5', async () => {
      // The first query waits for the replica's first listing; the ones measured run on it.
      expect((await execute(subgraph, PORTFOLIO, { first: 1 })).errors).toBeUndefined();
      const callsFor = async (first: number) => {
        const before = wire.apiRequests;
        const result = await execute<{ projects: { nodes: unknown[] } }>(subgraph, PORTFOLIO, { first });
        expect(result.errors).toBeUndefined();
        expect(result.data!.projects.nodes).toHaveLength(first);
        return wire.apiRequests - before;
      };
      const five = await callsFor(5);
      expect(await callsFor(50)).toBe(five);
      expect(five).toBeGreaterThan(0);
    });

    it('counts every Kantata call on /metrics, by operation and outcome', async () => {
      await execute(subgraph, 'query ($id: ID!) { project(id: $id) { id milestones { id } } }', { id: world.projects[4]!.id });
      const metrics = parseMetrics(await subgraph.metrics.render());
      expect(metrics.get('psgraph_vendor_api_calls_total{system="Kantata",operation="projectsById",outcome="ok"}')).toBeGreaterThan(0);
      expect(metrics.get('psgraph_vendor_api_calls_total{system="Kantata",operation="sync:time_entries",outcome="ok"}')).toBeGreaterThan(0);
      expect(metrics.get('psgraph_vendor_circuit_open{system="Kantata"}') ?? metrics.get('psgraph_vendor_circuit_open')).toBe(0);
    });
  });
});
