/**
 * An account's billing status in the CRM, through the CRM subgraph over its sandbox: the process layer records it
 * (staff and client users may not), the newer billing event wins, and the account's leader reads it on the
 * account — a client user only on its own account.
 */
import { readFileSync } from 'node:fs';
import { type EnumTypeDefinitionNode, Kind, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import type { Caller } from '../../platform/src/index.js';
import { type GraphQLResponse, temporaryDataDir } from '../../platform/test/testSupport.js';
import { buildWorld } from '../../sandboxes/src/world/world.js';
import type { CrmContext } from '../src/crmLoaders.js';
import { type CrmSubgraph, createCrmSubgraph } from '../src/crmSubgraph.js';

const worldOptions = { scale: 0.3, seed: 7, asOf: '2026-11-01' };

const caller = (overrides: Partial<Caller>): Caller => ({
  subject: 'someone',
  scopes: new Set(['crm:write']),
  roles: new Set(['staff']),
  accountIds: null,
  process: false,
  ...overrides,
});
const PROCESS = caller({ subject: 'process:billing-status', roles: new Set(), process: true });
const STAFF = caller({ subject: 'account-leader' });

const RECORD = `mutation ($input: AccountBillingStatusInput!) {
  recordAccountBillingStatus(input: $input) { applied billingStatus { lastInvoiceNumber lastInvoiceStatus asOf } }
}`;
const READ = `query ($id: ID!) {
  account(id: $id) { id billingStatus { receivables { outstanding { amount currency } overdue { amount currency } } lastInvoiceNumber lastInvoiceStatus asOf updatedAt } }
}`;

describe('an account’s billing status in the CRM', () => {
  const data = temporaryDataDir('crm-billing-status');
  const world = buildWorld(worldOptions);
  const [ownAccount, otherAccount] = world.accounts.slice(4, 6).map((account) => account.crmId) as [string, string];
  const CLIENT = caller({ subject: 'client-user', roles: new Set(), accountIds: new Set([ownAccount]) });
  let crm: CrmSubgraph;
  beforeAll(() => {
    crm = createCrmSubgraph({ dataDir: data.dir, world: worldOptions, production: false });
  });
  afterAll(async () => {
    await crm.stop();
    data.remove();
  });

  const as = async (who: Caller, query: string, variables: Record<string, unknown>): Promise<GraphQLResponse<Record<string, any>>> => {
    const response = await crm.apollo.executeOperation({ query, variables }, { contextValue: crm.createContext(who) as never });
    if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
    return response.body.singleResult as GraphQLResponse<Record<string, any>>;
  };
  const input = (accountId: string, overrides: Record<string, unknown> = {}) => ({
    accountId,
    asOf: '2026-11-02T10:30:00+01:00',
    receivables: [{ currency: 'GBP', outstanding: '12500.5', overdue: '2000.00' }],
    lastInvoiceId: 'in_1QbillingStatus01',
    lastInvoiceNumber: 'PSG-0007',
    lastInvoiceStatus: 'OPEN',
    ...overrides,
  });

  it('refuses the write to staff and to client users, writing nothing', async () => {
    for (const who of [STAFF, CLIENT]) {
      const refused = await as(who, RECORD, { input: input(ownAccount) });
      expect(refused.errors?.[0]?.extensions?.['code']).toBe(ErrorCode.FORBIDDEN);
      expect(refused.errors?.[0]?.message).toBe(
        'Recording an account’s billing status is a write of the activation process; only its own identity may call it.',
      );
    }
    expect((await as(STAFF, READ, { id: ownAccount })).data).toEqual({ account: { id: ownAccount, billingStatus: null } });
  });

  it('records the status for the process identity, in UTC, and ignores a replay and an older event', async () => {
    const recorded = await as(PROCESS, RECORD, { input: input(ownAccount) });
    expect(recorded).toEqual({
      data: {
        recordAccountBillingStatus: {
          applied: true,
          billingStatus: { lastInvoiceNumber: 'PSG-0007', lastInvoiceStatus: 'OPEN', asOf: '2026-11-02T09:30:00.000Z' },
        },
      },
    });
    expect((await as(PROCESS, RECORD, { input: input(ownAccount) })).data!['recordAccountBillingStatus']).toMatchObject({ applied: false });
    const older = await as(PROCESS, RECORD, {
      input: input(ownAccount, { asOf: '2026-11-01T00:00:00Z', lastInvoiceStatus: 'DRAFT', lastInvoiceNumber: null }),
    });
    expect(older.data!['recordAccountBillingStatus']).toEqual({
      applied: false,
      billingStatus: { lastInvoiceNumber: 'PSG-0007', lastInvoiceStatus: 'OPEN', asOf: '2026-11-02T09:30:00.000Z' },
    });
    const paid = await as(PROCESS, RECORD, { input: input(ownAccount, { asOf: '2026-11-21T08:00:00Z', receivables: [], lastInvoiceStatus: 'PAID' }) });
    expect(paid.data!['recordAccountBillingStatus']).toEqual({
      applied: true,
      billingStatus: { lastInvoiceNumber: 'PSG-0007', lastInvoiceStatus: 'PAID', asOf: '2026-11-21T08:00:00.000Z' },
    });
  });

  it('shows staff the account’s receivables as money, and a client user its own account’s only', async () => {
    await as(PROCESS, RECORD, {
      input: input(otherAccount, { asOf: '2026-11-03T00:00:00Z', receivables: [{ currency: 'USD', outstanding: '10', overdue: '0' }] }),
    });
    const staffView = await as(STAFF, READ, { id: otherAccount });
    expect(staffView.errors).toBeUndefined();
    expect(staffView.data!['account'].billingStatus).toMatchObject({
      receivables: [{ outstanding: { amount: '10.00', currency: 'USD' }, overdue: { amount: '0.00', currency: 'USD' } }],
      lastInvoiceNumber: 'PSG-0007',
      lastInvoiceStatus: 'OPEN',
      asOf: '2026-11-03T00:00:00.000Z',
    });
    expect(Date.parse(staffView.data!['account'].billingStatus.updatedAt)).toBeGreaterThan(Date.now() - 60_000);

    const own = await as(CLIENT, READ, { id: ownAccount });
    expect(own.data!['account'].billingStatus).toMatchObject({ receivables: [], lastInvoiceStatus: 'PAID' });
    expect((await as(CLIENT, READ, { id: otherAccount })).data).toEqual({ account: null });
    const { crm: asClient } = crm.createContext(CLIENT) as CrmContext;
    expect([...(await asClient.accountBillingStatusByAccountId([ownAccount, otherAccount])).keys()]).toEqual([ownAccount]);
  });

  it('names exactly billing’s invoice statuses, so that every status billing reports can be recorded', () => {
    const values = (file: URL, name: string) =>
      parse(readFileSync(file, 'utf8'))
        .definitions.filter(
          (definition): definition is EnumTypeDefinitionNode => definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === name,
        )
        .flatMap((definition) => definition.values?.map((value) => value.name.value) ?? []);
    const billing = values(new URL('../../billing/schema.graphql', import.meta.url), 'InvoiceStatus');
    expect(billing.length).toBeGreaterThan(0);
    expect(values(new URL('../schema.graphql', import.meta.url), 'ReportedInvoiceStatus')).toEqual(billing);
  });

  it('refuses an unknown account, a repeated currency and more overdue than outstanding, with their codes', async () => {
    const missing = await as(PROCESS, RECORD, { input: input('001000000000000AAA') });
    expect(missing.errors?.[0]).toMatchObject({ message: 'Account 001000000000000AAA does not exist in the CRM.', extensions: { code: ErrorCode.NOT_FOUND } });
    const opportunityId = await as(PROCESS, RECORD, { input: input(world.opportunities[0]!.crmId) });
    expect(opportunityId.errors?.[0]?.extensions?.['code']).toBe(ErrorCode.INVALID_ID);
    const twice = await as(PROCESS, RECORD, {
      input: input(ownAccount, {
        receivables: [
          { currency: 'GBP', outstanding: '1', overdue: '0' },
          { currency: 'GBP', outstanding: '2', overdue: '0' },
        ],
      }),
    });
    expect(twice.errors?.[0]).toMatchObject({
      message: 'Argument "input.receivables[1].currency" repeats GBP: give one entry per currency.',
      extensions: { code: ErrorCode.BAD_USER_INPUT },
    });
    const overdue = await as(PROCESS, RECORD, { input: input(ownAccount, { receivables: [{ currency: 'GBP', outstanding: '1', overdue: '2' }] }) });
    expect(overdue.errors?.[0]?.extensions).toMatchObject({ code: ErrorCode.BAD_USER_INPUT, argument: 'input.receivables[0].overdue' });
    const fractions = await as(PROCESS, RECORD, { input: input(ownAccount, { receivables: [{ currency: 'GBP', outstanding: '1.001', overdue: '0' }] }) });
    expect(fractions.errors?.[0]?.extensions).toMatchObject({ code: ErrorCode.BAD_USER_INPUT, argument: 'input.receivables[0].outstanding' });
  });
});
