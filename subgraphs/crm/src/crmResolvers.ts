/**
 * Resolvers of the CRM subgraph. Arguments are validated at the entry points (ID formats, page sizes, date
 * ranges); everything that reads the CRM goes through the request's DataLoaders.
 */
import {
  connection,
  existing,
  dateRange,
  isCanonicalProjectId,
  isSalesforceId,
  isoFromDay,
  money,
  pageRequest,
  requireIdFormat,
  referenceKey,
} from '../../platform/src/index.js';
import type { Resolvers } from './generated/resolverTypes.js';

const accountId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Account'), 'an 18-character Salesforce Account ID (prefix 001)');
const opportunityId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Opportunity'), 'an 18-character Salesforce Opportunity ID (prefix 006)');

export const crmResolvers: Resolvers = {
  Query: {
    account: (_, args, { loaders }) => loaders.accountById.load(accountId('id', args.id)),
    accounts: async (_, args, { crm, loaders }) => {
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
    opportunity: (_, args, { loaders }) => loaders.opportunityById.load(opportunityId('id', args.id)),
    opportunities: async (_, args, { crm, loaders }) => {
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
    __resolveReference: (reference, { loaders }) => loaders.accountById.load(referenceKey('Account', reference.id, (id) => isSalesforceId(id, 'Account'))),
    billingAddress: (account) => ({
      street: account.street,
      city: account.city,
      state: account.state,
      postalCode: account.postalCode,
      country: account.country,
    }),
    owner: (account, _, { loaders }) => existing(loaders.userById.load(account.ownerId), `CRM user ${account.ownerId}`),
    parent: (account, _, { loaders }) => (account.parentId ? loaders.accountById.load(account.parentId) : null),
    children: (account, _, { loaders }) => loaders.childAccountsByParentId.load(account.id),
    hierarchy: async (account, _, { loaders }) => [...(await loaders.ancestorsByAccountId.load(account.id)), account],
    opportunities: (account, _, { loaders }) => loaders.opportunitiesByAccountId.load(account.id),
    externalIds: (account) => ({ erpCustomerId: account.erpCustomerId, billingCustomerId: account.billingCustomerId }),
    billingStatus: (account, _, { loaders }) => loaders.billingStatusByAccountId.load(account.id),
  },

  AccountReceivable: {
    outstanding: (receivable) => money(receivable.outstandingMinor, receivable.currency),
    overdue: (receivable) => money(receivable.overdueMinor, receivable.currency),
  },

  Opportunity: {
    __resolveReference: (reference, { loaders }) =>
      loaders.opportunityById.load(referenceKey('Opportunity', reference.id, (id) => isSalesforceId(id, 'Opportunity'))),
    account: (opportunity, _, { loaders }) => existing(loaders.accountById.load(opportunity.accountId), `Account ${opportunity.accountId}`),
    stage: (opportunity) => opportunity.stageName,
    amount: (opportunity) => money(opportunity.amountMinor, opportunity.currency),
    owner: (opportunity, _, { loaders }) => existing(loaders.userById.load(opportunity.ownerId), `CRM user ${opportunity.ownerId}`),
    lineItems: (opportunity, _, { loaders }) => loaders.lineItemsByOpportunityId.load(opportunity.id),
    project: (opportunity) => (opportunity.projectId ? { id: opportunity.projectId } : null),
    externalIds: (opportunity) => ({
      projectId: opportunity.projectId,
      erpProjectId: opportunity.erpProjectId,
      psaProjectId: opportunity.psaProjectId,
    }),
  },

  OpportunityLineItem: {
    unitPrice: (line) => money(line.unitPriceMinor, line.currency),
    totalPrice: (line) => money(Math.round(line.hours * line.unitPriceMinor), line.currency),
  },

  Project: {
    __resolveReference: (reference) => ({ id: referenceKey('Project', reference.id, isCanonicalProjectId) }),
    opportunity: (project, _, { loaders }) => loaders.opportunityByProjectId.load(project.id),
  },
};

/** Exposed for tests that compare the graph with the store. */
export const formatCloseDate = isoFromDay;
