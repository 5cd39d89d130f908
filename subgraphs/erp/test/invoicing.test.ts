/**
 * Billing as the ERP records it: what is due to be invoiced (unbilled billable postings, fixed-fee instalments,
 * retainers a month ahead), invoices recorded from billing's events with the newest event winning, the job's
 * billings and payments moving once, and nothing billed twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import type { Caller } from '../../platform/src/index.js';
import { temporaryDataDir } from '../../platform/test/testSupport.js';
import { type World, buildWorld } from '../../sandboxes/src/world/world.js';
import type { DeliveryPosting, ErpInvoiceStatusUpdate } from '../src/erpPostingsPort.js';
import { type ErpSubgraph, createErpSubgraph } from '../src/erpSubgraph.js';
import { type SandboxErp, openSandboxErp } from '../src/sandbox/sandboxErp.js';

const worldOptions = { scale: 0.3, seed: 5, asOf: '2026-11-01' };
/** A billing invoice ID (`in_` and 24 base-62 characters) numbered for the test. */
const invoiceId = (n: number) => `in_${String(n).padStart(24, '0')}`;

describe('billing in the ERP sandbox', () => {
  const data = temporaryDataDir('erp-invoicing');
  let erp: SandboxErp;
  let world: World;
  beforeAll(() => {
    world = buildWorld(worldOptions);
    erp = openSandboxErp(data.dir, worldOptions);
  });
  afterAll(() => {
    erp.close();
    data.remove();
  });

  const tmProject = () => world.projects.find((project) => project.status === 'ACTIVE' && project.contractType === 'TIME_AND_MATERIALS')!;
  const consultantOf = (project: (typeof world.projects)[number]) =>
    world.consultants[project.requests.find((request) => request.assignment?.status === 'CONFIRMED')!.assignment!.consultantIndex]!;
  const time = (externalId: string, date: string, billableMinor: number, billable = true): DeliveryPosting => {
    const project = tmProject();
    return {
      externalId,
      kind: 'TIME',
      projectId: project.id,
      resourceId: consultantOf(project).psaId,
      item: 'CONSULTANT',
      date,
      minutes: 60,
      rateMinor: billableMinor,
      billableMinor,
      costMinor: 5_000,
      billable,
      currency: project.currency,
      memo: externalId,
    };
  };
  const invoice = (overrides: Partial<ErpInvoiceStatusUpdate> = {}): ErpInvoiceStatusUpdate => ({
    invoiceId: invoiceId(1),
    number: 'INV-T-0001',
    projectId: tmProject().id,
    status: 'OPEN',
    date: '2026-11-01',
    asOf: '2026-11-01T09:00:00.000Z',
    currency: tmProject().currency,
    totalMinor: 30_000,
    amountPaidMinor: 0,
    sourceKeys: ['time:910000001:v1', 'time:910000002:v1'],
    ...overrides,
  });
  const billedOf = async (projectId: string) => (await erp.ledgerTotalsByProjectId([projectId])).get(projectId)!.billedMinor;

  it('lists unbilled billable postings up to the day, and fixed-fee instalments and retainers (on the eve of their month) not yet billed', async () => {
    const project = tmProject();
    await erp.postings.postDelivery([
      time('time:910000001:v1', '2026-10-05', 10_000),
      time('time:910000002:v1', '2026-10-06', 20_000),
      time('time:910000003:v1', '2026-10-07', 0, false),
      time('time:910000004:v1', '2026-11-03', 40_000),
    ]);
    const [due] = await erp.postings.billablesByProjectId('2026-10-31', [project.id]);
    expect(due!.postings.map((posting) => posting.externalId)).toEqual(['time:910000001:v1', 'time:910000002:v1']);
    expect(due!.scheduleLines).toEqual([]);

    // Nothing of the seeded history is due again: its schedule lines up to "today" were billed.
    const all = await erp.postings.billablesByProjectId('2026-10-31', null);
    expect(all.flatMap((project) => project.scheduleLines)).toEqual([]);
    const ahead = await erp.postings.billablesByProjectId('2026-11-30', null);
    const retainer = ahead.find((project) => project.contractType === 'RETAINER' && project.scheduleLines.length > 0);
    const fixed = ahead.find((project) => project.contractType === 'FIXED_FEE' && project.scheduleLines.length > 0);
    // A retainer's December line is due at the end of November; an instalment only once its own date has come.
    expect(retainer!.scheduleLines.map((line) => line.date)).toEqual(expect.arrayContaining(['2026-12-01']));
    for (const line of fixed?.scheduleLines ?? []) expect(line.date <= '2026-11-30').toBe(true);
    expect(retainer!.scheduleLines[0]!.sourceKey).toBe(`schedule:${retainer!.projectId}:${retainer!.scheduleLines[0]!.sequence}`);
  });

  it('records an invoice once, the newest event winning, and moves the job’s billings, payments and receivables', async () => {
    const project = tmProject();
    const billedBefore = await billedOf(project.id);
    expect(await erp.postings.recordInvoiceStatus(invoice())).toEqual({ applied: true });
    expect(await erp.postings.recordInvoiceStatus(invoice())).toEqual({ applied: false });
    expect(await billedOf(project.id)).toBe(billedBefore + 30_000);
    const [due] = await erp.postings.billablesByProjectId('2026-11-30', [project.id]);
    expect(due!.postings.map((posting) => posting.externalId)).toEqual(['time:910000004:v1']);
    expect((await erp.postings.billingPositionsByProjectId([project.id])).get(project.id)).toMatchObject({
      unbilledMinor: 40_000,
      unbilledPostings: 1,
      billedMinor: 30_000,
      paidMinor: 0,
      receivableMinor: 30_000,
    });

    expect(await erp.postings.recordInvoiceStatus(invoice({ status: 'PAID', amountPaidMinor: 30_000, asOf: '2026-11-10T09:00:00.000Z' }))).toEqual({
      applied: true,
    });
    // The posted event arriving late changes nothing.
    expect(await erp.postings.recordInvoiceStatus(invoice({ asOf: '2026-11-02T09:00:00.000Z' }))).toEqual({ applied: false });
    expect((await erp.postings.billingPositionsByProjectId([project.id])).get(project.id)).toMatchObject({ paidMinor: 30_000, receivableMinor: 0 });
    expect(await billedOf(project.id)).toBe(billedBefore + 30_000);
    const [recorded] = (await erp.postings.invoicesByProjectId([project.id])).get(project.id)!;
    expect(recorded).toMatchObject({ status: 'PAID', number: 'INV-T-0001', sourceKeys: ['time:910000001:v1', 'time:910000002:v1'] });
  });

  it('refuses to bill a posting another invoice bills, writing nothing; voiding frees it and takes the billing back', async () => {
    const project = tmProject();
    const second = invoiceId(2);
    const billedBefore = await billedOf(project.id);
    await expect(
      erp.postings.recordInvoiceStatus(invoice({ invoiceId: second, number: 'INV-T-0002', sourceKeys: ['time:910000004:v1', 'time:910000002:v1'] })),
    ).rejects.toMatchObject({ extensions: { code: ErrorCode.INVALID_STATE_TRANSITION } });
    expect((await erp.postings.invoicesByProjectId([project.id])).get(project.id)!.map((recorded) => recorded.invoiceId)).not.toContain(second);
    expect((await erp.postings.billingPositionsByProjectId([project.id])).get(project.id)!.unbilledPostings).toBe(1);

    // The paid invoice is voided (a refund in billing): its postings are billable again and its billing is taken back.
    await erp.postings.recordInvoiceStatus(invoice({ status: 'VOID', amountPaidMinor: 30_000, asOf: '2026-11-20T09:00:00.000Z' }));
    expect(await billedOf(project.id)).toBe(billedBefore - 30_000);
    const [due] = await erp.postings.billablesByProjectId('2026-11-30', [project.id]);
    expect(due!.postings.map((posting) => posting.externalId)).toEqual(['time:910000001:v1', 'time:910000002:v1', 'time:910000004:v1']);
    expect(await erp.postings.recordInvoiceStatus(invoice({ invoiceId: second, number: 'INV-T-0002', sourceKeys: ['time:910000004:v1'] }))).toEqual({
      applied: true,
    });
    expect((await erp.postings.unbilledWip()).find((wip) => wip.currency === project.currency)).toMatchObject({ unbilledMinor: 30_000, postings: 2 });
  });

  it('records a credit note once against its invoice, taking it off the job’s billings and receivables', async () => {
    const project = tmProject();
    const billedBefore = await billedOf(project.id);
    const position = async () => (await erp.postings.billingPositionsByProjectId([project.id])).get(project.id)!;
    const { billedMinor, receivableMinor } = await position();
    const credit = {
      creditNoteId: `cn_${'1'.padStart(24, '0')}`,
      invoiceId: invoiceId(2),
      projectId: project.id,
      date: '2026-11-21',
      currency: project.currency,
      totalMinor: 10_000,
      sourceKeys: ['time:910000004:v1'],
    };
    expect(await erp.postings.recordCreditNote(credit)).toEqual({ applied: true });
    expect(await erp.postings.recordCreditNote(credit)).toEqual({ applied: false });
    expect(await billedOf(project.id)).toBe(billedBefore - 10_000);
    expect(await position()).toMatchObject({ billedMinor: billedMinor - 10_000, receivableMinor: receivableMinor - 10_000 });
    expect((await erp.postings.invoicesByProjectId([project.id])).get(project.id)!.find((recorded) => recorded.invoiceId === invoiceId(2))!.creditedMinor).toBe(
      10_000,
    );
    // No more than the invoice's total, and only against an invoice ERP has.
    await expect(erp.postings.recordCreditNote({ ...credit, creditNoteId: `cn_${'2'.padStart(24, '0')}`, totalMinor: 30_000 })).rejects.toMatchObject({
      extensions: { code: ErrorCode.BAD_USER_INPUT },
    });
    await expect(erp.postings.recordCreditNote({ ...credit, creditNoteId: `cn_${'3'.padStart(24, '0')}`, invoiceId: invoiceId(99) })).rejects.toMatchObject({
      extensions: { code: ErrorCode.NOT_FOUND },
    });
    expect(await billedOf(project.id)).toBe(billedBefore - 10_000);
  });

  it('bills a schedule line once', async () => {
    const [retainer] = (await erp.postings.billablesByProjectId('2026-11-30', null)).filter((project) => project.contractType === 'RETAINER');
    const line = retainer!.scheduleLines[0]!;
    const update = (id: number): ErpInvoiceStatusUpdate => ({
      ...invoice({ invoiceId: invoiceId(id), projectId: retainer!.projectId, currency: retainer!.currency }),
      totalMinor: line.amountMinor,
      sourceKeys: [line.sourceKey],
    });
    await erp.postings.recordInvoiceStatus(update(11));
    expect((await erp.postings.billablesByProjectId('2026-11-30', [retainer!.projectId]))[0]?.scheduleLines ?? []).not.toContainEqual(line);
    await expect(erp.postings.recordInvoiceStatus(update(12))).rejects.toMatchObject({ extensions: { code: ErrorCode.INVALID_STATE_TRANSITION } });
  });
});

describe('billing through the ERP subgraph', () => {
  const data = temporaryDataDir('erp-invoicing-graphql');
  let service: ErpSubgraph;
  let world: World;
  beforeAll(() => {
    world = buildWorld(worldOptions);
    service = createErpSubgraph({ dataDir: data.dir, world: worldOptions, production: false });
  });
  afterAll(async () => {
    await service.stop();
    data.remove();
  });
  const PROCESS: Caller = { subject: 'psgraph:activation', scopes: new Set(), roles: new Set(['process']), accountIds: null, process: true };
  const STAFF: Caller = { ...PROCESS, subject: 'staff-dana', roles: new Set(['finance']), process: false };
  const run = async (caller: Caller, query: string, variables: Record<string, unknown> = {}) => {
    const response = await service.apollo.executeOperation({ query, variables }, { contextValue: service.createContext(caller) as never });
    if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
    return response.body.singleResult as { data?: Record<string, any>; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  };
  const RECORD = `mutation ($input: ErpInvoiceStatusInput!) { recordErpInvoiceStatus(input: $input) { invoiceId applied } }`;
  const BILLABLES = `query ($upTo: Date!) { erpBillables(upTo: $upTo) { projectId contractType scheduleLines { sourceKey date amount { amount currency } } } }`;

  it('answers the process layer alone, and checks what it is given', async () => {
    const retainer = world.projects.find((project) => project.contractType === 'RETAINER' && project.status === 'ACTIVE')!;
    const billables = await run(PROCESS, BILLABLES, { upTo: '2026-11-30' });
    expect(billables.errors).toBeUndefined();
    const due = billables.data!['erpBillables'].find((project: { projectId: string }) => project.projectId === retainer.id);
    expect(due.scheduleLines[0]).toMatchObject({ sourceKey: expect.stringMatching(/^schedule:prj_/), amount: { currency: retainer.currency } });
    const input = {
      invoiceId: invoiceId(3),
      number: 'INV-G-1',
      projectId: retainer.id,
      status: 'OPEN',
      date: '2026-11-30',
      asOf: '2026-11-30T10:00:00.000Z',
      currency: retainer.currency,
      total: due.scheduleLines[0].amount.amount,
      amountPaid: '0.00',
      sourceKeys: [due.scheduleLines[0].sourceKey],
    };
    expect((await run(PROCESS, RECORD, { input })).data!['recordErpInvoiceStatus']).toEqual({ invoiceId: input.invoiceId, applied: true });
    expect((await run(PROCESS, RECORD, { input })).data!['recordErpInvoiceStatus']).toEqual({ invoiceId: input.invoiceId, applied: false });
    const invoices = await run(PROCESS, `query ($p: ID!) { erpInvoices(projectId: $p) { invoiceId status total { amount } sourceKeys } }`, { p: retainer.id });
    expect(invoices.data!['erpInvoices']).toEqual([
      { invoiceId: input.invoiceId, status: 'OPEN', total: { amount: input.total }, sourceKeys: input.sourceKeys },
    ]);

    for (const [query, variables] of [
      [RECORD, { input }],
      [BILLABLES, { upTo: '2026-11-30' }],
    ] as const) {
      expect((await run(STAFF, query, variables)).errors?.[0]?.extensions?.['code']).toBe(ErrorCode.FORBIDDEN);
    }
    expect((await run(PROCESS, RECORD, { input: { ...input, sourceKeys: ['hours:1'] } })).errors?.[0]?.extensions?.['code']).toBe(ErrorCode.INVALID_ID);
    expect((await run(PROCESS, RECORD, { input: { ...input, amountPaid: '999999999.00' } })).errors?.[0]?.extensions?.['code']).toBe(ErrorCode.BAD_USER_INPUT);
  });
});
