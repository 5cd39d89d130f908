/**
 * Resolvers of the ERP subgraph. Arguments are validated at the entry points (months, ID formats, list sizes);
 * everything that reads the ERP goes through the request's DataLoaders, except the report, which is one grouped
 * query by design.
 *
 * Account and Project fields load lazily by the entity's key rather than in `__resolveReference`, because this
 * subgraph also hands out `{ id }` Project references of its own (report rows) and resolves their fields itself.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { inputError, isCanonicalProjectId, isSalesforceId, money, requireIdFormat, requireMonth,
  referenceKey, } from '../../platform/src/index.js';
import type {
  BillingReportQuery,
  BillingReportRow,
  ErpBillingSchedule,
  ErpBillingScheduleLine,
  ErpJob,
  ErpLedgerTotals,
  ErpLegalEntity,
  ErpRateCard,
  ErpRateCardLine,
  ErpReportDimension,
} from './erpPort.js';
import type { ErpContext, ErpLoaders } from './erpLoaders.js';

/** A report filter lists projects to pick out, not to export: a whole portfolio needs no filter at all. */
export const MAX_REPORT_PROJECT_IDS = 100;

interface BillingReportArgs {
  groupBy: ErpReportDimension[];
  filter?: {
    fromMonth?: string | null;
    toMonth?: string | null;
    region?: string[] | null;
    projectIds?: string[] | null;
  } | null;
}

interface EntityKey {
  readonly id: string;
}

const CANONICAL_PROJECT_ID = 'a canonical project ID (prj_ followed by a 26-character ULID)';

function billingReportQuery(args: BillingReportArgs): BillingReportQuery {
  if (args.groupBy.length === 0) {
    throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "groupBy" must name at least one of PROJECT, REGION, MONTH.', { argument: 'groupBy' });
  }
  const filter = args.filter ?? {};
  const fromMonth = requireMonth('filter.fromMonth', filter.fromMonth);
  const toMonth = requireMonth('filter.toMonth', filter.toMonth);
  if (fromMonth !== null && toMonth !== null && fromMonth > toMonth) {
    throw inputError(ErrorCode.INVALID_DATE_RANGE, `Argument "filter" is inverted: fromMonth (${fromMonth}) is after toMonth (${toMonth}).`, { argument: 'filter' });
  }
  const projectIds = filter.projectIds ?? null;
  if (projectIds !== null && projectIds.length > MAX_REPORT_PROJECT_IDS) {
    throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "filter.projectIds" lists ${projectIds.length} projects; at most ${MAX_REPORT_PROJECT_IDS} are allowed.`, {
      argument: 'filter.projectIds',
      maximum: MAX_REPORT_PROJECT_IDS,
    });
  }
  for (const id of projectIds ?? []) requireIdFormat('filter.projectIds', id, isCanonicalProjectId, CANONICAL_PROJECT_ID);
  return { groupBy: args.groupBy, fromMonth, toMonth, regions: filter.region ?? null, projectIds };
}

const customerOf = (account: EntityKey, loaders: ErpLoaders) => loaders.customerByAccountId.load(account.id);

function paymentTerms(days: number): { name: string; days: number } {
  return { name: days === 0 ? 'Due on receipt' : `Net ${days}`, days };
}

export const erpResolvers = {
  Query: {
    legalEntities: async (_: unknown, __: unknown, { erp, loaders }: ErpContext) => {
      const entities = await erp.legalEntities();
      for (const entity of entities) loaders.legalEntityById.prime(entity.id, entity);
      return entities;
    },
    billedVsUnbilled: (_: unknown, args: BillingReportArgs, { erp }: ErpContext) => erp.billingReport(billingReportQuery(args)),
  },

  BilledVsUnbilledRow: {
    project: (row: BillingReportRow) => (row.projectId === null ? null : { id: row.projectId }),
    recognizedRevenue: (row: BillingReportRow) => money(row.recognizedRevenueMinor, row.currency),
    billed: (row: BillingReportRow) => money(row.billedMinor, row.currency),
    unbilled: (row: BillingReportRow) => money(row.recognizedRevenueMinor - row.billedMinor, row.currency),
  },

  LegalEntity: {
    id: (entity: ErpLegalEntity) => String(entity.id),
    rateCard: (entity: ErpLegalEntity, _: unknown, { loaders }: ErpContext) => loaders.rateCardBySubsidiaryId.load(entity.id),
  },

  Account: {
    __resolveReference: (reference: { id: unknown }) => ({ id: referenceKey('Account', reference.id, (id) => isSalesforceId(id, 'Account')) }),
    customerNumber: async (account: EntityKey, _: unknown, { loaders }: ErpContext) => (await customerOf(account, loaders))?.entityId ?? null,
    erpCustomerId: async (account: EntityKey, _: unknown, { loaders }: ErpContext) => {
      const customer = await customerOf(account, loaders);
      return customer ? String(customer.id) : null;
    },
    legalEntity: async (account: EntityKey, _: unknown, { loaders }: ErpContext) => {
      const customer = await customerOf(account, loaders);
      return customer ? loaders.legalEntityById.load(customer.subsidiaryId) : null;
    },
    taxProfile: async (account: EntityKey, _: unknown, { loaders }: ErpContext) => {
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
    paymentTerms: async (account: EntityKey, _: unknown, { loaders }: ErpContext) => {
      const customer = await customerOf(account, loaders);
      return customer ? paymentTerms(customer.paymentTermsDays) : null;
    },
    creditStatus: async (account: EntityKey, _: unknown, { loaders }: ErpContext) => (await customerOf(account, loaders))?.creditStatus ?? null,
  },

  Project: {
    __resolveReference: (reference: { id: unknown }) => ({ id: referenceKey('Project', reference.id, isCanonicalProjectId) }),
    contract: (project: EntityKey, _: unknown, { loaders }: ErpContext) => loaders.jobByProjectId.load(project.id),
    billingSchedule: (project: EntityKey, _: unknown, { loaders }: ErpContext) => loaders.billingScheduleByProjectId.load(project.id),
    financials: (project: EntityKey, _: unknown, { loaders }: ErpContext) => loaders.ledgerTotalsByProjectId.load(project.id),
  },

  Contract: {
    erpProjectId: (job: ErpJob) => String(job.id),
    type: (job: ErpJob) => job.contractType,
    value: (job: ErpJob) => money(job.valueMinor, job.currency),
    paymentTerms: (job: ErpJob) => paymentTerms(job.paymentTermsDays),
    legalEntity: (job: ErpJob, _: unknown, { loaders }: ErpContext) => loaders.legalEntityById.load(job.subsidiaryId),
    rateCard: (job: ErpJob, _: unknown, { loaders }: ErpContext) => loaders.rateCardById.load(job.rateCardId),
  },

  RateCard: {
    id: (rateCard: ErpRateCard) => String(rateCard.id),
    lines: (rateCard: ErpRateCard, _: unknown, { loaders }: ErpContext) => loaders.rateCardLinesByRateCardId.load(rateCard.id),
  },

  RateCardLine: {
    billRate: (line: ErpRateCardLine) => money(line.billRateMinor, line.currency),
  },

  BillingSchedule: {
    id: (schedule: ErpBillingSchedule) => String(schedule.id),
    type: (schedule: ErpBillingSchedule) => schedule.scheduleType,
    lines: (schedule: ErpBillingSchedule, _: unknown, { loaders }: ErpContext) => loaders.billingScheduleLinesByScheduleId.load(schedule.id),
  },

  BillingScheduleLine: {
    amount: (line: ErpBillingScheduleLine) => (line.amountMinor === null ? null : money(line.amountMinor, line.currency)),
  },

  ProjectFinancials: {
    budget: (totals: ErpLedgerTotals) => money(totals.budgetMinor, totals.currency),
    cost: (totals: ErpLedgerTotals) => money(totals.costMinor, totals.currency),
    recognizedRevenue: (totals: ErpLedgerTotals) => money(totals.recognizedRevenueMinor, totals.currency),
    billed: (totals: ErpLedgerTotals) => money(totals.billedMinor, totals.currency),
    unbilled: (totals: ErpLedgerTotals) => money(totals.recognizedRevenueMinor - totals.billedMinor, totals.currency),
    margin: (totals: ErpLedgerTotals) => money(totals.recognizedRevenueMinor - totals.costMinor, totals.currency),
    marginPercent: (totals: ErpLedgerTotals) =>
      totals.recognizedRevenueMinor === 0 ? null : (totals.recognizedRevenueMinor - totals.costMinor) / totals.recognizedRevenueMinor,
  },
};
