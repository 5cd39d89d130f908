/**
 * The ERP subgraph's delivery-posting resolvers, for the posting process alone (`erpPostingsFor`): the context a
 * posting is checked against, and the postings and reversals themselves. Arguments are checked here (ID formats,
 * periods, amounts, external IDs); the ERP's rules (open period, open job, active employee) are the system's.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { inputError, isNumericId, money, requireIdFormat } from '../../platform/src/index.js';
import { amount, projectId } from './erpMutations.js';
import type { CurrencyCode, Region, Resolvers } from './generated/resolverTypes.js';
import type { DeliveryPosting } from './erpPostingsPort.js';

/** `time:<entry>:v<version>`, `expense:<id>:v<n>`, `milestone:<id>:v<n>`. */
export const EXTERNAL_ID = /^(time|expense|milestone):[1-9][0-9]{0,15}:v[1-9][0-9]{0,5}$/;
const externalId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (value) => EXTERNAL_ID.test(value), 'a posting key such as time:<entry ID>:v<version>');
/** At most what one call may carry: a quarter-end timesheet batch, not an unbounded list. */
const MAX_BATCH = 500;

function batch<T>(argument: string, items: readonly T[]): readonly T[] {
  if (items.length > MAX_BATCH)
    throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${argument}" holds ${items.length} items; at most ${MAX_BATCH} per call.`, { argument });
  return items;
}

export const erpPostingResolvers: Resolvers = {
  Query: {
    erpPostingContext: async (_, args, { postings }) => {
      const projectIds = batch('projectIds', args.projectIds).map((id, i) => projectId(`projectIds[${i}]`, id));
      const resourceIds = batch('resourceIds', args.resourceIds).map((id, i) =>
        requireIdFormat(`resourceIds[${i}]`, id, isNumericId, 'a numeric PSA resource ID'),
      );
      const periods = batch('periods', args.periods).map((period, i) => {
        if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(period))
          throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "periods[${i}]" must be a month, YYYY-MM.`, { argument: `periods[${i}]` });
        return period;
      });
      const [terms, employees, closed] = await Promise.all([
        postings.postingTermsByProjectId(projectIds),
        postings.employeesByResourceId(resourceIds),
        postings.periodsClosed(periods),
      ]);
      return {
        terms: [...terms.values()].map((term) => ({
          projectId: term.projectId,
          status: term.status,
          region: term.region as Region,
          contractType: term.job.contractType,
          currency: term.job.currency as CurrencyCode,
          poRequired: term.job.poRequired,
          budget: money(term.job.budgetMinor, term.job.currency),
          contractRates: term.contractRates.map((rate) => ({ ...rate, billRate: money(rate.billRateMinor, term.job.currency) })),
          purchaseOrder: term.purchaseOrder
            ? {
                number: term.purchaseOrder.number,
                expiresOn: term.purchaseOrder.expiresOn,
                amount: money(term.purchaseOrder.amountMinor, term.purchaseOrder.currency),
                consumed: money(term.purchaseOrder.consumedMinor, term.purchaseOrder.currency),
              }
            : null,
          postedBillable: money(term.postedBillableMinor, term.job.currency),
          postedCost: money(term.postedCostMinor, term.job.currency),
        })),
        employees: [...employees.values()].map((employee) => ({
          erpEmployeeId: String(employee.id),
          resourceId: employee.resourceId,
          active: employee.active,
        })),
        periods: [...closed].map(([period, isClosed]) => ({ period, closed: isClosed })),
      };
    },
    erpDeliveryPostings: async (_, args, { postings }) => {
      const id = projectId('projectId', args.projectId);
      return ((await postings.postingsByProjectId([id])).get(id) ?? []).map((posting) => ({
        externalId: posting.externalId,
        kind: posting.kind,
        status: posting.status,
        date: posting.date,
        billableAmount: money(posting.billableMinor, posting.currency),
        cost: money(posting.costMinor, posting.currency),
      }));
    },
  },

  Mutation: {
    postErpDelivery: (_, args, { postings }) =>
      postings.postDelivery(
        batch('postings', args.postings).map((input, i): DeliveryPosting => {
          const at = `postings[${i}]`;
          if ((input.kind === 'TIME') !== (input.minutes != null && input.rate != null && input.resourceId != null))
            throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${at}": time carries minutes, a rate and a consultant; nothing else does.`, { argument: at });
          if (input.minutes != null && !(Number.isInteger(input.minutes) && input.minutes > 0))
            throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${at}.minutes" must be a positive whole number.`, { argument: `${at}.minutes` });
          return {
            externalId: externalId(`${at}.externalId`, input.externalId),
            kind: input.kind,
            projectId: projectId(`${at}.projectId`, input.projectId),
            resourceId: input.resourceId == null ? null : requireIdFormat(`${at}.resourceId`, input.resourceId, isNumericId, 'a numeric PSA resource ID'),
            item: input.item ?? null,
            date: input.date,
            minutes: input.minutes ?? null,
            rateMinor: input.rate == null ? null : amount(`${at}.rate`, input.rate),
            billable: input.billable,
            billableMinor: amount(`${at}.billableAmount`, input.billableAmount),
            costMinor: amount(`${at}.cost`, input.cost),
            currency: input.currency,
            memo: input.memo,
          };
        }),
      ),
    reverseErpDelivery: (_, args, { postings }) =>
      postings.reverseDelivery(batch('externalIds', args.externalIds).map((id, i) => externalId(`externalIds[${i}]`, id))),
  },
};
