/**
 * What billing reports back to the PSA: the billing status conformance suite over two sandboxes (the rule itself,
 * run where it is supported), then the PSA subgraph over its sandbox — the process layer records a project's
 * billing status and a milestone's invoice (staff and client users may not), staff read both, and a client user
 * reads its own projects' billed amount and milestone invoices but never the unbilled work in progress.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import type { Caller } from '../../platform/src/index.js';
import { type GraphQLResponse, temporaryDataDir } from '../../platform/test/testSupport.js';
import { buildWorld } from '../../sandboxes/src/world/world.js';
import type { PsaAdapter } from '../src/psaPort.js';
import { type PsaSubgraph, createPsaSubgraph, sandboxPsaAdapter } from '../src/psaSubgraph.js';
import { describePsaBillingStatusConformance } from './psaPortConformance.js';

const worldOptions = { scale: 0.1, seed: 13, asOf: '2026-11-01' };

const caller = (overrides: Partial<Caller>): Caller => ({
  subject: 'someone',
  scopes: new Set(['psa:write', 'finance:read']),
  roles: new Set(['staff']),
  accountIds: null,
  process: false,
  ...overrides,
});
const PROCESS = caller({ subject: 'process:billing-status', roles: new Set(), process: true });
const STAFF = caller({ subject: 'project-manager' });

const RECORD_PROJECT = `mutation ($input: ProjectBillingStatusInput!) {
  recordProjectBillingStatus(input: $input) { applied billingStatus { billed { amount currency } lastInvoiceStatus asOf } }
}`;
const RECORD_MILESTONE = `mutation ($input: MilestoneInvoiceInput!) {
  recordMilestoneInvoice(input: $input) { applied invoice { invoiceId invoiceNumber invoiceStatus asOf } }
}`;
const PORTAL_FIELDS = `billingStatus { billed { amount currency } lastInvoiceNumber lastInvoiceStatus asOf updatedAt }
  milestones { id invoice { invoiceId invoiceNumber invoiceStatus asOf invoice { id } } }`;
const READ = `query ($id: ID!) { project(id: $id) { id ${PORTAL_FIELDS} } }`;
const READ_UNBILLED = `query ($id: ID!) { project(id: $id) { billingStatus { unbilled { amount currency } } } }`;

describe('billing status in the PSA', () => {
  const data = temporaryDataDir('psa-billing-status');
  const world = buildWorld(worldOptions);
  const project = world.projects.filter((candidate) => candidate.milestones.length >= 2)[2]!;
  const otherProject = world.projects.find((candidate) => candidate.accountIndex !== project.accountIndex)!;
  const ownAccount = world.accounts[project.accountIndex]!.crmId;
  const CLIENT = caller({ subject: 'client-user', roles: new Set(), accountIds: new Set([ownAccount]) });
  const milestoneId = project.milestones[0]!.psaId;

  describe('over two sandboxes', () => {
    const adapters: PsaAdapter[] = [];
    beforeAll(() => {
      adapters.push(sandboxPsaAdapter({ dataDir: `${data.dir}/reference`, world: worldOptions }));
      adapters.push(sandboxPsaAdapter({ dataDir: `${data.dir}/candidate`, world: worldOptions }));
    });
    afterAll(async () => {
      for (const adapter of adapters) await adapter.close();
    });
    describePsaBillingStatusConformance('a second sandbox', () => ({ world, reference: adapters[0]!, candidate: adapters[1]! }));
  });

  describe('through the PSA subgraph', () => {
    let psa: PsaSubgraph;
    beforeAll(() => {
      psa = createPsaSubgraph({ dataDir: `${data.dir}/subgraph`, world: worldOptions, production: false });
    });
    afterAll(async () => {
      await psa.stop();
      data.remove();
    });

    const as = async (who: Caller, query: string, variables: Record<string, unknown>): Promise<GraphQLResponse<Record<string, any>>> => {
      const response = await psa.apollo.executeOperation({ query, variables }, { contextValue: psa.createContext(who) as never });
      if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
      return response.body.singleResult as GraphQLResponse<Record<string, any>>;
    };
    const projectInput = (projectId: string, overrides: Record<string, unknown> = {}) => ({
      projectId,
      asOf: '2026-11-02T10:30:00+01:00',
      currency: project.currency,
      billed: '12500.5',
      unbilled: '4800',
      lastInvoiceId: 'in_1QbillingStatus01',
      lastInvoiceNumber: 'PSG-0007',
      lastInvoiceStatus: 'OPEN',
      ...overrides,
    });
    const milestoneInput = (overrides: Record<string, unknown> = {}) => ({
      milestoneId,
      asOf: '2026-11-02T09:30:00Z',
      invoiceId: 'in_1QbillingStatus01',
      invoiceNumber: 'PSG-0007',
      invoiceStatus: 'OPEN',
      ...overrides,
    });
    const codeOf = (response: GraphQLResponse) => response.errors?.[0]?.extensions?.['code'];

    it('refuses both writes to staff and to client users, writing nothing', async () => {
      for (const who of [STAFF, CLIENT]) {
        const project_ = await as(who, RECORD_PROJECT, { input: projectInput(project.id) });
        expect(project_.errors?.[0]).toMatchObject({
          message: 'Recording a project’s billing status is a write of the activation process; only its own identity may call it.',
          extensions: { code: ErrorCode.FORBIDDEN },
        });
        expect(codeOf(await as(who, RECORD_MILESTONE, { input: milestoneInput() }))).toBe(ErrorCode.FORBIDDEN);
      }
      const read = await as(STAFF, READ, { id: project.id });
      expect(read.data!['project'].billingStatus).toBeNull();
      expect(read.data!['project'].milestones.every((milestone: { invoice: unknown }) => milestone.invoice === null)).toBe(true);
    });

    it('records both for the process identity, in UTC, ignoring a replay and an older event', async () => {
      expect(await as(PROCESS, RECORD_PROJECT, { input: projectInput(project.id) })).toEqual({
        data: {
          recordProjectBillingStatus: {
            applied: true,
            billingStatus: { billed: { amount: '12500.50', currency: project.currency }, lastInvoiceStatus: 'OPEN', asOf: '2026-11-02T09:30:00.000Z' },
          },
        },
      });
      expect((await as(PROCESS, RECORD_PROJECT, { input: projectInput(project.id) })).data!['recordProjectBillingStatus'].applied).toBe(false);
      const older = await as(PROCESS, RECORD_PROJECT, { input: projectInput(project.id, { asOf: '2026-11-01T00:00:00Z', billed: '1' }) });
      expect(older.data!['recordProjectBillingStatus']).toMatchObject({ applied: false, billingStatus: { billed: { amount: '12500.50' } } });

      expect(await as(PROCESS, RECORD_MILESTONE, { input: milestoneInput() })).toEqual({
        data: {
          recordMilestoneInvoice: {
            applied: true,
            invoice: { invoiceId: 'in_1QbillingStatus01', invoiceNumber: 'PSG-0007', invoiceStatus: 'OPEN', asOf: '2026-11-02T09:30:00.000Z' },
          },
        },
      });
      const voided = await as(PROCESS, RECORD_MILESTONE, { input: milestoneInput({ asOf: '2026-11-04T00:00:00Z', invoiceStatus: 'VOID' }) });
      expect(voided.data!['recordMilestoneInvoice']).toMatchObject({ applied: true, invoice: { invoiceStatus: 'VOID' } });
      const late = await as(PROCESS, RECORD_MILESTONE, { input: milestoneInput({ asOf: '2026-11-03T00:00:00Z', invoiceStatus: 'PAID' }) });
      expect(late.data!['recordMilestoneInvoice']).toMatchObject({ applied: false, invoice: { invoiceStatus: 'VOID' } });
    });

    it('shows staff the billed and unbilled amounts and each milestone’s invoice, with the invoice to hydrate from billing', async () => {
      const read = await as(STAFF, READ, { id: project.id });
      expect(read.errors).toBeUndefined();
      expect(read.data!['project'].billingStatus).toMatchObject({
        billed: { amount: '12500.50', currency: project.currency },
        lastInvoiceNumber: 'PSG-0007',
        lastInvoiceStatus: 'OPEN',
        asOf: '2026-11-02T09:30:00.000Z',
      });
      expect(Date.parse(read.data!['project'].billingStatus.updatedAt)).toBeGreaterThan(Date.now() - 60_000);
      expect(read.data!['project'].milestones[0]).toEqual({
        id: milestoneId,
        invoice: {
          invoiceId: 'in_1QbillingStatus01',
          invoiceNumber: 'PSG-0007',
          invoiceStatus: 'VOID',
          asOf: '2026-11-04T00:00:00.000Z',
          invoice: { id: 'in_1QbillingStatus01' },
        },
      });
      expect((await as(STAFF, READ_UNBILLED, { id: project.id })).data).toEqual({
        project: { billingStatus: { unbilled: { amount: '4800.00', currency: project.currency } } },
      });
    });

    it('shows a client user its own project’s billed amount and milestone invoices, but not unbilled work, nor another client’s project', async () => {
      await as(PROCESS, RECORD_PROJECT, { input: projectInput(otherProject.id) });
      const own = await as(CLIENT, READ, { id: project.id });
      expect(own.errors).toBeUndefined();
      expect(own.data!['project'].billingStatus).toMatchObject({ billed: { amount: '12500.50' }, lastInvoiceStatus: 'OPEN' });
      expect(own.data!['project'].milestones[0].invoice).toMatchObject({ invoiceStatus: 'VOID' });

      const unbilled = await as(CLIENT, READ_UNBILLED, { id: project.id });
      expect(unbilled.errors?.[0]).toMatchObject({
        message: "Unbilled work in progress is for the firm's staff only.",
        extensions: { code: ErrorCode.FORBIDDEN },
      });
      expect((await as(CLIENT, READ, { id: otherProject.id })).data).toEqual({ project: null });
    });

    it('refuses unknown projects and milestones, malformed IDs and amounts, and an invoice status without its invoice', async () => {
      const missing = 'prj_01JFJG60M0Q0CQE75AR8B3HMHQ';
      expect((await as(PROCESS, RECORD_PROJECT, { input: projectInput(missing) })).errors?.[0]).toMatchObject({
        message: `Project ${missing} does not exist in the PSA.`,
        extensions: { code: ErrorCode.NOT_FOUND },
      });
      expect((await as(PROCESS, RECORD_MILESTONE, { input: milestoneInput({ milestoneId: '99999999' }) })).errors?.[0]).toMatchObject({
        message: 'Milestone 99999999 does not exist in the PSA.',
        extensions: { code: ErrorCode.NOT_FOUND },
      });
      expect(codeOf(await as(PROCESS, RECORD_PROJECT, { input: projectInput('PRJ-1') }))).toBe(ErrorCode.INVALID_ID);
      expect(codeOf(await as(PROCESS, RECORD_MILESTONE, { input: milestoneInput({ milestoneId: 'ms-1' }) }))).toBe(ErrorCode.INVALID_ID);
      const negative = await as(PROCESS, RECORD_PROJECT, { input: projectInput(project.id, { asOf: '2027-01-01T00:00:00Z', unbilled: '-1' }) });
      expect(negative.errors?.[0]?.extensions).toMatchObject({ code: ErrorCode.BAD_USER_INPUT, argument: 'input.unbilled' });
      const statusAlone = await as(PROCESS, RECORD_PROJECT, { input: projectInput(project.id, { asOf: '2027-01-01T00:00:00Z', lastInvoiceId: null }) });
      expect(statusAlone.errors?.[0]).toMatchObject({
        message: 'Arguments "input.lastInvoiceId" and "input.lastInvoiceStatus" go together: give both or neither.',
        extensions: { code: ErrorCode.BAD_USER_INPUT },
      });
      expect((await as(STAFF, READ, { id: project.id })).data!['project'].billingStatus.asOf).toBe('2026-11-02T09:30:00.000Z');
    });
  });
});
