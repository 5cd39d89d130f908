/**
 * The CRM port's conformance suite: every read and write of the port, made on the sandbox (the reference) and on
 * the adapter under test over the same world, must give the same answer — the same records in the same order, the
 * same totals, the same refusals with the same codes and messages — and the same business events. A vendor
 * adapter "works" when this passes against a server that speaks its vendor's wire format.
 */
import { eventually } from '../../platform/test/testSupport.js';
import { describe, expect, it } from 'vitest';
import type { EventBus } from '../../platform/src/events/index.js';
import type { EventRelay } from '../../platform/src/index.js';
import { expectSameOutcome, recordEvents } from '../../platform/test/portConformance.js';
import type { World } from '../../sandboxes/src/world/world.js';
import type { AccountBillingStatus, AccountBillingStatusUpdate, CrmAdapter } from '../src/crmPort.js';

export interface CrmPortsUnderTest {
  readonly world: World;
  readonly reference: CrmAdapter;
  readonly candidate: CrmAdapter;
  /** Each adapter's events on a bus of its own. */
  readonly referenceBus: EventBus;
  readonly candidateBus: EventBus;
  readonly referenceRelay: EventRelay;
  readonly candidateRelay: EventRelay;
}

export function describeCrmPortConformance(name: string, ports: () => CrmPortsUnderTest): void {
  describe(`the CRM port over ${name} answers as the sandbox does`, () => {
    const same = (what: string, call: (port: CrmAdapter['port']) => Promise<unknown>) =>
      expectSameOutcome(ports().reference.port, ports().candidate.port, call, what);
    const world = () => ports().world;
    const accountIds = () => world().accounts.map((account) => account.crmId);
    const opportunities = () => world().opportunities;
    const missingAccount = '001000000000000AAA';
    const missingOpportunity = '006000000000000AAA';

    it('reads accounts, their children and their whole parent chains by ID, missing ones absent', async () => {
      const withParents = world()
        .accounts.filter((account) => account.parentIndex !== null)
        .map((account) => account.crmId);
      await same('accountsById', (port) => port.accountsById([...accountIds().slice(0, 7), missingAccount]));
      await same('childAccountsByParentId', (port) => port.childAccountsByParentId(accountIds().slice(0, 40)));
      await same('ancestorsByAccountId', (port) => port.ancestorsByAccountId([...withParents.slice(0, 25), accountIds()[0]!, missingAccount]));
    });

    it('searches accounts with every filter, paged and counted the same way', async () => {
      for (const [label, search] of [
        ['no filter', {}],
        ['region', { regions: ['EUROPE', 'APAC'] }],
        ['top level', { topLevel: true }],
        ['children', { topLevel: false }],
        ['customers', { type: 'CUSTOMER' as const }],
        ['prospects in a region', { type: 'PROSPECT' as const, regions: ['NORTH_AMERICA'] }],
        ['name contains', { nameContains: 'an' }],
        ['name with LIKE wildcards', { nameContains: '%_' }],
        ['no region', { regions: [] }],
        ['parent', { parentId: world().accounts.find((account) => account.parentIndex !== null)!.crmId }],
      ] as const) {
        await same(`searchAccounts ${label}`, (port) => port.searchAccounts(search, { limit: 20, offset: 0 }));
        await same(`searchAccounts ${label}, page 3`, (port) => port.searchAccounts(search, { limit: 20, offset: 40 }));
      }
    });

    it('reads opportunities by ID, account and project, and their line items and owners', async () => {
      const ids = opportunities()
        .slice(0, 30)
        .map((opportunity) => opportunity.crmId);
      const linked = opportunities().filter((opportunity) => opportunity.projectIndex !== null);
      const projectIds = linked.slice(0, 10).map((opportunity) => world().projects[opportunity.projectIndex!]!.id);
      await same('opportunitiesById', (port) => port.opportunitiesById([...ids, missingOpportunity]));
      await same('opportunitiesByAccountId', (port) => port.opportunitiesByAccountId(accountIds().slice(0, 30)));
      await same('opportunitiesByProjectId', (port) => port.opportunitiesByProjectId([...projectIds, 'prj_01JFJG60M0Q0CQE75AR8B3HMHQ']));
      await same('lineItemsByOpportunityId', (port) => port.lineItemsByOpportunityId(ids));
      await same('usersById', (port) => port.usersById([...new Set(world().users.slice(0, 5)), '005000000000000AAA']));
    });

    it('searches opportunities with every filter, including pages deeper than SOQL offsets reach', async () => {
      for (const [label, search] of [
        ['no filter', {}],
        ['won', { isWon: true }],
        ['open', { isClosed: false }],
        ['stages', { stages: ['Negotiation/Review', 'Closed Won'] }],
        ['account', { accountId: world().accounts[3]!.crmId }],
        ['delivery region and service line', { deliveryRegions: ['EUROPE'], serviceLines: [opportunities()[0]!.serviceLine] }],
        ['contract types', { contractTypes: ['FIXED_FEE', 'MILESTONE'] }],
        ['close window', { closeFrom: '2026-01-01', closeTo: '2026-06-30' }],
        ['awaiting activation', { awaitingActivation: true }],
        ['not awaiting activation', { awaitingActivation: false }],
      ] as const) {
        await same(`searchOpportunities ${label}`, (port) => port.searchOpportunities(search, { limit: 25, offset: 0 }));
      }
      await same('searchOpportunities past offset 2,000', (port) => port.searchOpportunities({}, { limit: 25, offset: 2_050 }));
    });

    it('wins a deal, emitting opportunity.closed_won with the same data, and refuses an unknown stage', async () => {
      const { reference, candidate, referenceBus, candidateBus, referenceRelay, candidateRelay } = ports();
      const open = opportunities().find((opportunity) => opportunity.stageName === 'Negotiation/Review' && opportunity.projectIndex === null)!;
      const referenceEvents = recordEvents(referenceBus);
      const candidateEvents = recordEvents(candidateBus);
      try {
        await same('setOpportunityStage unknown', (port) => port.setOpportunityStage(open.crmId, 'Signed'));
        await same('setOpportunityStage won', (port) => port.setOpportunityStage(open.crmId, 'Closed Won'));
        await same('setOpportunityStage again', (port) => port.setOpportunityStage(open.crmId, 'Closed Won'));
        await same('setOpportunityStage missing', (port) => port.setOpportunityStage(missingOpportunity, 'Closed Won'));
        await Promise.all([referenceRelay.flush(), candidateRelay.flush()]);
        await eventually(() => expect(candidateEvents.events).toEqual(referenceEvents.events));
        expect(referenceEvents.events.map((event) => [event.type, event.subject])).toEqual([['opportunity.closed_won', open.crmId]]);
        expect(await reference.port.opportunitiesById([open.crmId])).toEqual(await candidate.port.opportunitiesById([open.crmId]));
      } finally {
        referenceEvents.stop();
        candidateEvents.stop();
      }
    });

    it('links a project to a won deal once, refuses a second project or a deal not won, and unlinks', async () => {
      const won = opportunities().filter((opportunity) => opportunity.stageName === 'Closed Won' && opportunity.projectIndex === null);
      const [first, second] = won;
      const notWon = opportunities().find((opportunity) => opportunity.stageName === 'Prospecting')!;
      const link = (opportunityId: string, projectId: string) => ({
        opportunityId,
        projectId,
        erpProjectId: '9001',
        psaProjectId: '7001',
        erpCustomerId: '5001',
      });
      const projectA = 'prj_01JFJG60M0Q0CQE75AR8B3HMHA';
      const projectB = 'prj_01JFJG60M0Q0CQE75AR8B3HMHB';
      await same('linkProject', (port) => port.linkProject(link(first!.crmId, projectA)));
      await same('linkProject again', (port) => port.linkProject(link(first!.crmId, projectA)));
      await same('linkProject second project', (port) => port.linkProject(link(first!.crmId, projectB)));
      await same('linkProject project taken', (port) => port.linkProject(link(second!.crmId, projectA)));
      await same('linkProject not won', (port) => port.linkProject(link(notWon.crmId, projectB)));
      await same('account after the link', (port) => port.accountsById([world().accounts[first!.accountIndex]!.crmId]));
      await same('reopening an activated deal', (port) => port.setOpportunityStage(first!.crmId, 'Negotiation/Review'));
      await same('unlinkProject other project', (port) => port.unlinkProject(first!.crmId, projectB));
      await same('unlinkProject', (port) => port.unlinkProject(first!.crmId, projectA));
      await same('opportunitiesByProjectId after unlink', (port) => port.opportunitiesByProjectId([projectA]));
    });

    it('corrects a PO number and a tax ID, and refuses a missing record', async () => {
      const deal = opportunities()[11]!;
      const account = world().accounts[12]!;
      await same('setOpportunityPoNumber', (port) => port.setOpportunityPoNumber(deal.crmId, 'PO-4711'));
      await same('setOpportunityPoNumber clear', (port) => port.setOpportunityPoNumber(deal.crmId, null));
      await same('setOpportunityPoNumber missing', (port) => port.setOpportunityPoNumber(missingOpportunity, 'PO-1'));
      await same('setAccountTaxId', (port) => port.setAccountTaxId(account.crmId, 'DE123456789'));
      await same('setAccountTaxId missing', (port) => port.setAccountTaxId(missingAccount, 'DE1'));
    });

    it('records an account’s billing status, keeps the newest asOf however the events arrive, and refuses an unknown account', async () => {
      const [first, second] = accountIds().slice(20, 22) as [string, string];
      const posted: AccountBillingStatusUpdate = {
        accountId: first,
        asOf: '2026-11-02T09:30:00.000Z',
        receivables: [
          { currency: 'USD', outstandingMinor: 1_250_050, overdueMinor: 0 },
          { currency: 'EUR', outstandingMinor: 99, overdueMinor: 99 },
        ],
        lastInvoiceId: 'in_1QconformanceA',
        lastInvoiceNumber: 'PSG-0042',
        lastInvoiceStatus: 'OPEN',
      };
      const paid: AccountBillingStatusUpdate = {
        ...posted,
        asOf: '2026-11-20T16:00:00.000Z',
        receivables: [],
        lastInvoiceStatus: 'PAID',
      };
      const statuses = async (port: CrmAdapter['port']) => withoutClock(await port.accountBillingStatusByAccountId([first, second, missingAccount]));

      expect(await same('no billing status yet', statuses)).toEqual({ value: new Map() });
      expect(await same('recordAccountBillingStatus', (port) => port.recordAccountBillingStatus(posted))).toEqual({ value: { applied: true } });
      expect(await same('billing status after recording', statuses)).toEqual({ value: new Map([[first, posted]]) });
      expect(await same('recordAccountBillingStatus replayed', (port) => port.recordAccountBillingStatus(posted))).toEqual({ value: { applied: false } });
      expect(await same('recordAccountBillingStatus newer', (port) => port.recordAccountBillingStatus(paid))).toEqual({ value: { applied: true } });
      const late = { ...posted, asOf: '2026-11-20T15:59:59.999Z' };
      expect(await same('recordAccountBillingStatus older, arriving late', (port) => port.recordAccountBillingStatus(late))).toEqual({
        value: { applied: false },
      });
      // The same instant written with another offset is the same instant: not newer.
      const sameInstant = { ...posted, asOf: '2026-11-20T17:00:00.000+01:00' };
      expect(await same('recordAccountBillingStatus same instant', (port) => port.recordAccountBillingStatus(sameInstant))).toEqual({
        value: { applied: false },
      });
      expect(await same('billing status after the newer one', statuses)).toEqual({ value: new Map([[first, paid]]) });
      const refused = await same('recordAccountBillingStatus missing account', (port) =>
        port.recordAccountBillingStatus({ ...posted, accountId: missingAccount }),
      );
      expect(refused).toEqual({ error: { code: 'NOT_FOUND', message: `Account ${missingAccount} does not exist in the CRM.` } });
      const updatedAt = (await ports().candidate.port.accountBillingStatusByAccountId([first])).get(first)?.updatedAt;
      expect(Date.parse(updatedAt!)).toBeGreaterThan(Date.now() - 60_000);
    });
  });
}

/** Billing statuses without `updatedAt`: each adapter stamps it with its own clock. */
function withoutClock(statuses: Map<string, AccountBillingStatus>): Map<string, AccountBillingStatusUpdate> {
  return new Map([...statuses].map(([id, { updatedAt: _updatedAt, ...status }]) => [id, status]));
}

/** Retries an expectation until it holds (events cross a bus). */
export { eventually };
