/**
 * Resolvers of the PSA subgraph. Arguments are validated at the entry points (ID formats, page sizes, date
 * ranges, the utilization report's bounds); everything that reads the PSA goes through the request's DataLoaders,
 * except the two root lists and the utilization report, which are one search each.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import {
  connection,
  dateRange,
  existing,
  inputError,
  isCanonicalProjectId,
  isNumericId,
  isSalesforceId,
  isoFromDay,
  money,
  pageRequest,
  requireIdFormat,
  referenceKey,
} from '../../platform/src/index.js';
import type { Resolvers, UtilizationFilter } from './generated/resolverTypes.js';
import type { PsaContext } from './psaLoaders.js';
import type { PsaTimeTotals } from './psaPort.js';
import { utilizationPeriods } from './utilizationPeriods.js';

/** Two calendar years, a leap day included: the widest utilization period one call may ask for. */
export const MAX_UTILIZATION_DAYS = 731;
/** Months or weeks per utilization call; with the consultant cap it bounds a report to 2,400 rows. */
export const MAX_UTILIZATION_PERIODS = 24;
export const MAX_UTILIZATION_RESOURCES = 100;

const projectId = (argument: string, id: string) =>
  requireIdFormat(argument, id, isCanonicalProjectId, 'a canonical project ID (prj_ and a 26-character ULID)');
const resourceId = (argument: string, id: string) => requireIdFormat(argument, id, isNumericId, 'a numeric PSA consultant ID');
const accountId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Account'), 'an 18-character Salesforce Account ID (prefix 001)');

const hours = (minutes: number) => minutes / 60;

/** A project without any time booked has zero totals, not a null: the schema promises TimeTotals. */
function timeTotalsOf(totals: PsaTimeTotals | null, currency: string) {
  const approved = totals?.approvedMinutes ?? 0;
  const approvedBillable = totals?.approvedBillableMinutes ?? 0;
  return {
    timeEntryCount: totals?.timeEntryCount ?? 0,
    totalHours: hours(totals?.totalMinutes ?? 0),
    approvedHours: hours(approved),
    submittedHours: hours(totals?.submittedMinutes ?? 0),
    openHours: hours(totals?.openMinutes ?? 0),
    approvedBillableHours: hours(approvedBillable),
    approvedNonBillableHours: hours(approved - approvedBillable),
    approvedBillableValue: money(totals?.approvedBillableValueMinor ?? 0, currency),
    approvedCost: money(totals?.approvedCostMinor ?? 0, currency),
    lastEntryDate: totals?.lastEntryDate ?? null,
  };
}

async function utilization(filter: UtilizationFilter, { psa }: PsaContext) {
  const granularity = filter.granularity ?? 'MONTH';
  const resourceIds = filter.resourceIds == null ? null : [...new Set(filter.resourceIds.map((id) => resourceId('filter.resourceIds', id)))];
  const range = dateRange('filter.period', filter.period, MAX_UTILIZATION_DAYS);
  const periods = utilizationPeriods(range.fromDay!, range.toDay!, granularity);
  if (periods.length > MAX_UTILIZATION_PERIODS) {
    throw inputError(
      ErrorCode.BAD_USER_INPUT,
      `Argument "filter.period" covers ${periods.length} ${granularity === 'WEEK' ? 'weeks' : 'months'}; at most ${MAX_UTILIZATION_PERIODS} periods are allowed per call.`,
      { argument: 'filter.period', maximumPeriods: MAX_UTILIZATION_PERIODS },
    );
  }
  const tooManyResources = () =>
    inputError(
      ErrorCode.BAD_USER_INPUT,
      `Argument "filter" selects more than ${MAX_UTILIZATION_RESOURCES} consultants: narrow it with resourceIds, region or role.`,
      { argument: 'filter', maximumResources: MAX_UTILIZATION_RESOURCES },
    );
  if (resourceIds && resourceIds.length > MAX_UTILIZATION_RESOURCES) throw tooManyResources();
  // One more than allowed tells "too many" apart from "exactly the maximum" without a count.
  const resources = await psa.resourcesMatching({ ids: resourceIds, regions: filter.region, roles: filter.role }, MAX_UTILIZATION_RESOURCES + 1);
  if (resources.length > MAX_UTILIZATION_RESOURCES) throw tooManyResources();
  if (resources.length === 0) return [];

  const approved = await psa.approvedTimeByPeriod({
    resourceIds: resources.map((resource) => resource.id),
    fromDate: isoFromDay(range.fromDay!),
    toDate: isoFromDay(range.toDay!),
    granularity,
  });
  const approvedByKey = new Map(approved.map((row) => [`${row.resourceId}|${row.periodKey}`, row]));
  return resources.flatMap((resource) =>
    periods.map((period) => {
      const time = approvedByKey.get(`${resource.id}|${period.key}`);
      const capacityHours = (resource.weeklyCapacityHours * period.workingDays) / 5;
      const billableHours = hours(time?.billableMinutes ?? 0);
      return {
        resource,
        period: period.label,
        periodStart: isoFromDay(period.startDay),
        periodEnd: isoFromDay(period.endDay),
        capacityHours,
        billableHours,
        nonBillableHours: hours(time?.nonBillableMinutes ?? 0),
        // A period without working days (a weekend-only range) has no capacity to use.
        utilization: capacityHours > 0 ? billableHours / capacityHours : 0,
      };
    }),
  );
}

export const psaResolvers: Resolvers = {
  Query: {
    project: (_, args, { loaders }) => loaders.projectById.load(projectId('id', args.id)),
    projects: async (_, args, { psa, loaders }) => {
      const page = pageRequest('projects', args.first, args.after);
      const filter = args.filter ?? {};
      dateRange('filter.activeDuring', filter.activeDuring);
      dateRange('filter.startDate', filter.startDate);
      const result = await psa.searchProjects(
        {
          statuses: filter.status,
          regions: filter.region,
          serviceLines: filter.serviceLine,
          contractTypes: filter.contractType,
          accountId: filter.accountId == null ? null : accountId('filter.accountId', filter.accountId),
          activeFrom: filter.activeDuring?.from,
          activeTo: filter.activeDuring?.to,
          startFrom: filter.startDate?.from,
          startTo: filter.startDate?.to,
        },
        page,
      );
      for (const project of result.rows) loaders.projectById.prime(project.id, project);
      return connection('projects', page, result.rows, result.totalCount);
    },
    resource: (_, args, { loaders }) => loaders.resourceById.load(resourceId('id', args.id)),
    resources: async (_, args, { psa, loaders }) => {
      const page = pageRequest('resources', args.first, args.after);
      const filter = args.filter ?? {};
      const result = await psa.searchResources({ roles: filter.role, regions: filter.region, skill: filter.skill, nameContains: filter.nameContains }, page);
      for (const resource of result.rows) loaders.resourceById.prime(resource.id, resource);
      return connection('resources', page, result.rows, result.totalCount);
    },
    utilization: (_, args, context) => utilization(args.filter, context),
  },

  Project: {
    __resolveReference: (reference, { loaders }) => loaders.projectById.load(referenceKey('Project', reference.id, isCanonicalProjectId)),
    account: (project) => ({ id: project.accountId }),
    manager: (project, _, { loaders }) => existing(loaders.resourceById.load(project.managerId), `Resource ${project.managerId}`),
    milestones: (project, _, { loaders }) => loaders.milestonesByProjectId.load(project.id),
    resourceRequests: (project, _, { loaders }) => loaders.resourceRequestsByProjectId.load(project.id),
    assignments: (project, _, { loaders }) => loaders.assignmentsByProjectId.load(project.id),
    timeTotals: async (project, _, { loaders }) => timeTotalsOf(await loaders.timeTotalsByProjectId.load(project.id), project.currency),
  },

  Resource: {
    __resolveReference: (reference, { loaders }) => loaders.resourceById.load(referenceKey('Resource', reference.id, isNumericId)),
    costRate: (resource) => money(resource.costRateMinor, resource.currency),
    billRate: (resource) => money(resource.billRateMinor, resource.currency),
    assignments: (resource, _, { loaders }) => loaders.assignmentsByResourceId.load(resource.id),
  },

  Milestone: {
    amount: (milestone) => (milestone.billable && milestone.amountMinor !== null ? money(milestone.amountMinor, milestone.currency) : null),
  },

  ResourceRequest: {
    assignment: (request, _, { loaders }) => loaders.assignmentByRequestId.load(request.id),
  },

  Assignment: {
    resource: (assignment, _, { loaders }) => existing(loaders.resourceById.load(assignment.resourceId), `Resource ${assignment.resourceId}`),
    billRate: (assignment) => money(assignment.billRateMinor, assignment.currency),
    costRate: (assignment) => money(assignment.costRateMinor, assignment.currency),
    project: (assignment, _, { loaders }) => existing(loaders.projectById.load(assignment.projectId), `Project ${assignment.projectId}`),
  },
};
