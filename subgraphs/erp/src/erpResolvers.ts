/**
 * Resolvers of the ERP subgraph. Arguments are validated at the entry points (months, ID formats, list sizes);
 * everything that reads the ERP goes through the request's DataLoaders, except the report, which is one grouped
 * query by design.
 *
 * Account and Project fields load lazily by the entity's key rather than in `__resolveReference`, because this
 * subgraph also hands out `{ id }` Project references of its own (report rows) and resolves their fields itself.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import {
  type EntityReference,
  existing,
  inputError,
  isCanonicalProjectId,
  isSalesforceId,
  money,
  requireIdFormat,
  requireMonth,
  referenceKey,
} from '../../platform/src/index.js';
import type { BillingReportQuery } from './erpPort.js';
import type { ErpLoaders } from './erpLoaders.js';
import type { QueryBilledVsUnbilledArgs, Resolvers } from './generated/resolverTypes.js';

/** A report filter lists projects to pick out, not to export: a whole portfolio needs no filter at all. */
export const MAX_REPORT_PROJECT_IDS = 100;

const CANONICAL_PROJECT_ID = 'a canonical project ID (prj_ followed by a 26-character ULID)';

function billingReportQuery(args: QueryBilledVsUnbilledArgs): BillingReportQuery {
  if (args.groupBy.length === 0) {
    throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "groupBy" must name at least one of PROJECT, REGION, MONTH.', { argument: 'groupBy' });
  }
  const filter = args.filter ?? {};
  const fromMonth = requireMonth('filter.fromMonth', filter.fromMonth);
  const toMonth = requireMonth('filter.toMonth', filter.toMonth);
  if (fromMonth !== null && toMonth !== null && fromMonth > toMonth) {
    throw inputError(ErrorCode.INVALID_DATE_RANGE, `Argument "filter" is inverted: fromMonth (${fromMonth}) is after toMonth (${toMonth}).`, {
      argument: 'filter',
    });
  }
  const projectIds = filter.projectIds ?? null;
  if (projectIds !== null && projectIds.length > MAX_REPORT_PROJECT_IDS) {
    throw inputError(
      ErrorCode.BAD_USER_INPUT,
      `Argument "filter.projectIds" lists ${projectIds.length} projects; at most ${MAX_REPORT_PROJECT_IDS} are allowed.`,
      {
        argument: 'filter.projectIds',
        maximum: MAX_REPORT_PROJECT_IDS,
      },
    );
  }
  for (const id of projectIds ?? []) requireIdFormat('filter.projectIds', id, isCanonicalProjectId, CANONICAL_PROJECT_ID);
  return { groupBy: args.groupBy, fromMonth, toMonth, regions: filter.region ?? null, projectIds };
}

const customerOf = (account: EntityReference, loaders: ErpLoaders) => loaders.customerByAccountId.load(account.id);

function paymentTerms(days: number): { name: string; days: number } {
  return { name: days === 0 ? 'Due on receipt' : `Net ${days}`, days };
}

export const erpResolvers: Resolvers = {
  Query: {
    legalEntities: async (_, __, { erp, loaders }) => {
      const entities = await erp.legalEntities();
      for (const entity of entities) loaders.legalEntityById.prime(entity.id, entity);
      return entities;
    },
    billedVsUnbilled: (_, args, { erp }) => erp.billingReport(billingReportQuery(args)),
  },

  BilledVsUnbilledRow: {
    project: (row) => (row.projectId === null ? null : { id: row.projectId }),
    recognizedRevenue: (row) => money(row.recognizedRevenueMinor, row.currency),
    billed: (row) => money(row.billedMinor, row.currency),
    unbilled: (row) => money(row.recognizedRevenueMinor - row.billedMinor, row.currency),
  },

  LegalEntity: {
    id: (entity) => String(entity.id),
    rateCard: (entity, _, { loaders }) => loaders.rateCardBySubsidiaryId.load(entity.id),
  },

  Account: {
    __resolveReference: (reference) => ({ id: referenceKey('Account', reference.id, (id) => isSalesforceId(id, 'Account')) }),
    customerNumber: async (account, _, { loaders }) => (await customerOf(account, loaders))?.entityId ?? null,
    erpCustomerId: async (account, _, { loaders }) => {
      const customer = await customerOf(account, loaders);
      return customer ? String(customer.id) : null;
    },
    legalEntity: async (account, _, { loaders }) => {
      const customer = await customerOf(account, loaders);
      return customer ? loaders.legalEntityById.load(customer.subsidiaryId) : null;
    },
    taxProfile: async (account, _, { loaders }) => {
      const customer = await customerOf(account, loaders);
      if (!customer) return null;
      const entity = await loaders.legalEntityById.load(customer.subsidiaryId);
      if (!entity) return null;
      return {
        taxId: customer.taxId,
        exempt: customer.taxExempt,
        regime: entity.taxRegime,
        // What the customer is charged: an exemption overrides the subsidiary's rate, as on the invoices.
        rate: customer.taxExempt ? 0 : entity.serviceTaxRateBasisPoints / 10_000,
      };
    },
    paymentTerms: async (account, _, { loaders }) => {
      const customer = await customerOf(account, loaders);
      return customer ? paymentTerms(customer.paymentTermsDays) : null;
    },
    creditStatus: async (account, _, { loaders }) => (await customerOf(account, loaders))?.creditStatus ?? null,
  },

  Project: {
    __resolveReference: (reference) => ({ id: referenceKey('Project', reference.id, isCanonicalProjectId) }),
    contract: (project, _, { loaders }) => loaders.jobByProjectId.load(project.id),
    billingSchedule: (project, _, { loaders }) => loaders.billingScheduleByProjectId.load(project.id),
    financials: (project, _, { loaders }) => loaders.ledgerTotalsByProjectId.load(project.id),
  },

  Contract: {
    erpProjectId: (job) => String(job.id),
    type: (job) => job.contractType,
    value: (job) => money(job.valueMinor, job.currency),
    paymentTerms: (job) => paymentTerms(job.paymentTermsDays),
    legalEntity: (job, _, { loaders }) => existing(loaders.legalEntityById.load(job.subsidiaryId), `Legal entity ${job.subsidiaryId}`),
    rateCard: (job, _, { loaders }) => existing(loaders.rateCardById.load(job.rateCardId), `Rate card ${job.rateCardId}`),
  },

  RateCard: {
    id: (rateCard) => String(rateCard.id),
    lines: (rateCard, _, { loaders }) => loaders.rateCardLinesByRateCardId.load(rateCard.id),
  },

  RateCardLine: {
    billRate: (line) => money(line.billRateMinor, line.currency),
  },

  BillingSchedule: {
    id: (schedule) => String(schedule.id),
    type: (schedule) => schedule.scheduleType,
    lines: (schedule, _, { loaders }) => loaders.billingScheduleLinesByScheduleId.load(schedule.id),
  },

  BillingScheduleLine: {
    amount: (line) => (line.amountMinor === null ? null : money(line.amountMinor, line.currency)),
  },

  ProjectFinancials: {
    budget: (totals) => money(totals.budgetMinor, totals.currency),
    cost: (totals) => money(totals.costMinor, totals.currency),
    recognizedRevenue: (totals) => money(totals.recognizedRevenueMinor, totals.currency),
    billed: (totals) => money(totals.billedMinor, totals.currency),
    unbilled: (totals) => money(totals.recognizedRevenueMinor - totals.billedMinor, totals.currency),
    margin: (totals) => money(totals.recognizedRevenueMinor - totals.costMinor, totals.currency),
    marginPercent: (totals) =>
      totals.recognizedRevenueMinor === 0 ? null : (totals.recognizedRevenueMinor - totals.costMinor) / totals.recognizedRevenueMinor,
  },
};
