/**
 * Resolvers of the CRM subgraph. Arguments are validated at the entry points (ID formats, page sizes, date
 * ranges); everything that reads the CRM goes through the request's DataLoaders.
 */
import {
  connection,
  dateRange,
  isCanonicalProjectId,
  isSalesforceId,
  isoFromDay,
  money,
  pageRequest,
  requireIdFormat,
  referenceKey,
} from '../../platform/src/index.js';
import type { CrmAccount, CrmLineItem, CrmOpportunity } from './crmPort.js';
import type { CrmContext } from './crmLoaders.js';

interface AccountFilterInput {
  region?: string[] | null;
  parentId?: string | null;
  topLevel?: boolean | null;
  type?: 'CUSTOMER' | 'PROSPECT' | null;
  nameContains?: string | null;
}

interface OpportunityFilterInput {
  stage?: string[] | null;
  isWon?: boolean | null;
  isClosed?: boolean | null;
  accountId?: string | null;
  deliveryRegion?: string[] | null;
  serviceLine?: string[] | null;
  contractType?: string[] | null;
  closeDate?: { from?: string | null; to?: string | null } | null;
  awaitingActivation?: boolean | null;
}

const accountId = (argument: string, id: string) => requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Account'), 'an 18-character Salesforce Account ID (prefix 001)');
const opportunityId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Opportunity'), 'an 18-character Salesforce Opportunity ID (prefix 006)');

export const crmResolvers = {
  Query: {
    account: (_: unknown, args: { id: string }, { loaders }: CrmContext) => loaders.accountById.load(accountId('id', args.id)),
    accounts: async (_: unknown, args: { filter?: AccountFilterInput | null; first?: number | null; after?: string | null }, { crm, loaders }: CrmContext) => {
      const page = pageRequest('accounts', args.first, args.after);
      const filter = args.filter ?? {};
      const result = await crm.searchAccounts(
        {
          regions: filter.region,
          parentId: filter.parentId == null ? null : accountId('filter.parentId', filter.parentId),
          topLevel: filter.topLevel,
          type: filter.type,
          nameContains: filter.nameContains,
        },
        page,
      );
      for (const account of result.rows) loaders.accountById.prime(account.id, account);
      return connection('accounts', page, result.rows, result.totalCount);
    },
    opportunity: (_: unknown, args: { id: string }, { loaders }: CrmContext) => loaders.opportunityById.load(opportunityId('id', args.id)),
    opportunities: async (_: unknown, args: { filter?: OpportunityFilterInput | null; first?: number | null; after?: string | null }, { crm, loaders }: CrmContext) => {
      const page = pageRequest('opportunities', args.first, args.after);
      const filter = args.filter ?? {};
      dateRange('filter.closeDate', filter.closeDate);
      const result = await crm.searchOpportunities(
        {
          stages: filter.stage,
          isWon: filter.isWon,
          isClosed: filter.isClosed,
          accountId: filter.accountId == null ? null : accountId('filter.accountId', filter.accountId),
          deliveryRegions: filter.deliveryRegion,
          serviceLines: filter.serviceLine,
          contractTypes: filter.contractType,
          closeFrom: filter.closeDate?.from,
          closeTo: filter.closeDate?.to,
          awaitingActivation: filter.awaitingActivation,
        },
        page,
      );
      for (const opportunity of result.rows) loaders.opportunityById.prime(opportunity.id, opportunity);
      return connection('opportunities', page, result.rows, result.totalCount);
    },
  },

  Account: {
    __resolveReference: (reference: { id: unknown }, { loaders }: CrmContext) =>
      loaders.accountById.load(referenceKey('Account', reference.id, (id) => isSalesforceId(id, 'Account'))),
    billingAddress: (account: CrmAccount) => ({
      street: account.street,
      city: account.city,
      state: account.state,
      postalCode: account.postalCode,
      country: account.country,
    }),
    owner: (account: CrmAccount, _: unknown, { loaders }: CrmContext) => loaders.userById.load(account.ownerId),
    parent: (account: CrmAccount, _: unknown, { loaders }: CrmContext) => (account.parentId ? loaders.accountById.load(account.parentId) : null),
    children: (account: CrmAccount, _: unknown, { loaders }: CrmContext) => loaders.childAccountsByParentId.load(account.id),
    hierarchy: async (account: CrmAccount, _: unknown, { loaders }: CrmContext) => [...(await loaders.ancestorsByAccountId.load(account.id)), account],
    opportunities: (account: CrmAccount, _: unknown, { loaders }: CrmContext) => loaders.opportunitiesByAccountId.load(account.id),
    externalIds: (account: CrmAccount) => ({ erpCustomerId: account.erpCustomerId, billingCustomerId: account.billingCustomerId }),
  },

  Opportunity: {
    __resolveReference: (reference: { id: unknown }, { loaders }: CrmContext) =>
      loaders.opportunityById.load(referenceKey('Opportunity', reference.id, (id) => isSalesforceId(id, 'Opportunity'))),
    account: (opportunity: CrmOpportunity, _: unknown, { loaders }: CrmContext) => loaders.accountById.load(opportunity.accountId),
    stage: (opportunity: CrmOpportunity) => opportunity.stageName,
    amount: (opportunity: CrmOpportunity) => money(opportunity.amountMinor, opportunity.currency),
    owner: (opportunity: CrmOpportunity, _: unknown, { loaders }: CrmContext) => loaders.userById.load(opportunity.ownerId),
    lineItems: (opportunity: CrmOpportunity, _: unknown, { loaders }: CrmContext) => loaders.lineItemsByOpportunityId.load(opportunity.id),
    project: (opportunity: CrmOpportunity) => (opportunity.projectId ? { id: opportunity.projectId } : null),
    externalIds: (opportunity: CrmOpportunity) => ({
      projectId: opportunity.projectId,
      erpProjectId: opportunity.erpProjectId,
      psaProjectId: opportunity.psaProjectId,
    }),
  },

  OpportunityLineItem: {
    unitPrice: (line: CrmLineItem) => money(line.unitPriceMinor, line.currency),
    totalPrice: (line: CrmLineItem) => money(Math.round(line.hours * line.unitPriceMinor), line.currency),
  },

  Project: {
    __resolveReference: (reference: { id: unknown }) => ({ id: referenceKey('Project', reference.id, isCanonicalProjectId) }),
    opportunity: (project: { id: string }, _: unknown, { loaders }: CrmContext) => loaders.opportunityByProjectId.load(project.id),
  },
};

/** Exposed for tests that compare the graph with the store. */
export const formatCloseDate = isoFromDay;
