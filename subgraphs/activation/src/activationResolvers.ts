/**
 * Resolvers of the activation subgraph. Arguments are validated at the entry points (ID formats, key length,
 * page sizes); reads go through the request's DataLoaders; commands go to the runner, which owns every change.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { connection, inputError, isCanonicalProjectId, isSalesforceId, pageRequest, referenceKey, requireIdFormat } from '../../platform/src/index.js';
import type { ActivationContext } from './activationLoaders.js';
import { cycleTimeSeconds } from './events/activationEvents.js';
import type { ResolutionAction } from './saga/activationRunner.js';
import type { ActivationRunRecord, ExceptionRecord, StepRecord, TransitionRecord } from './store/activationStore.js';

const RUN_ID = /^act_[0-9A-HJKMNP-TV-Z]{26}$/;
const EXCEPTION_ID = /^exc_[0-9A-HJKMNP-TV-Z]{26}$/;
const runId = (argument: string, id: string) => requireIdFormat(argument, id, (v) => RUN_ID.test(v), 'an activation run ID (act_ followed by a 26-character ULID)');
const exceptionId = (argument: string, id: string) => requireIdFormat(argument, id, (v) => EXCEPTION_ID.test(v), 'an exception ID (exc_ followed by a 26-character ULID)');
const opportunityId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Opportunity'), 'an 18-character Salesforce Opportunity ID (prefix 006)');

/** What fixing each kind of exception does, in the words the person fixing it needs. */
const HOW_TO_RESOLVE: Readonly<Record<string, string>> = {
  OPPORTUNITY_NOT_FOUND: 'Check the opportunity ID in CRM; cancel this run if it was a mistake.',
  OPPORTUNITY_NOT_WON: 'Move the opportunity to a won stage in CRM (that also starts activation by itself), or cancel this run.',
  OPPORTUNITY_ALREADY_ACTIVATED: 'The deal already has a project; cancel this run.',
  ACCOUNT_HIERARCHY_UNRESOLVED: "Fix the account's parent in CRM so the chain ends at a top-level account, then RETRY.",
  LEGAL_ENTITY_MISSING: 'Set up a legal entity (subsidiary) for the region in ERP, or correct the delivery region in CRM, then RETRY.',
  DELIVERY_REGION_CURRENCY_MISMATCH: "Price the deal in the delivering entity's currency, or change the delivery region in CRM, then RETRY.",
  TAX_ID_MISSING: "Enter the account's tax registration in CRM (updateAccount taxId), then RETRY: the ERP customer is created with it.",
  CONTRACT_TERMS_MISSING: 'Add priced line items to the opportunity in CRM, then RETRY.',
  CUSTOMER_ON_CREDIT_HOLD: 'Finance releases the credit hold on the customer in ERP, then RETRY.',
  PO_MISSING: "Enter the client's PO number on the opportunity in CRM (updateOpportunity poNumber), then RETRY.",
  ROLE_NOT_ON_RATE_CARD: "Add the role to the legal entity's rate card in ERP, or sell a priced role in CRM, then RETRY.",
  NO_PROJECT_MANAGER: 'Add a project or engagement manager in PSA, then RETRY.',
  COMPENSATION_FAILED: 'Remove or fix the leftover record in the owning system by hand, then WAIVE; or RETRY once the system accepts the undo.',
};

interface RunFilterInput {
  status?: string[] | null;
  opportunityId?: string | null;
  region?: string[] | null;
}

interface ExceptionFilterInput {
  status?: string[] | null;
  type?: string[] | null;
  region?: string[] | null;
  system?: string[] | null;
}

interface PageArgs {
  first?: number | null;
  after?: string | null;
}

function percentile(sorted: readonly number[], p: number): number {
  // Nearest-rank percentile: the smallest value with at least p % of the values at or below it.
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const activationResolvers = {
  Query: {
    activationRun: (_: unknown, args: { id: string }, { loaders }: ActivationContext) => loaders.runById.load(runId('id', args.id)),
    activationRuns: (_: unknown, args: { filter?: RunFilterInput | null } & PageArgs, { store, loaders }: ActivationContext) => {
      const page = pageRequest('activationRuns', args.first, args.after);
      const filter = args.filter ?? {};
      const result = store.runs.searchRuns(
        { statuses: filter.status, opportunityId: filter.opportunityId == null ? null : opportunityId('filter.opportunityId', filter.opportunityId), region: filter.region },
        page,
      );
      for (const run of result.rows) loaders.runById.prime(run.id, run);
      return connection('activationRuns', page, result.rows, result.totalCount);
    },
    integrationExceptions: (_: unknown, args: { filter?: ExceptionFilterInput | null } & PageArgs, { store, loaders }: ActivationContext) => {
      const page = pageRequest('integrationExceptions', args.first, args.after);
      const filter = args.filter ?? {};
      const result = store.exceptions.search({ statuses: filter.status, types: filter.type, regions: filter.region, systems: filter.system }, page);
      for (const exception of result.rows) loaders.exceptionById.prime(exception.id, exception);
      return connection('integrationExceptions', page, result.rows, result.totalCount);
    },
    exceptionCounts: (_: unknown, args: { status?: string[] | null }, { store }: ActivationContext) => store.exceptions.counts(args.status ?? ['OPEN']),
    activationFigures: (_: unknown, args: { filter?: { from?: string | null; to?: string | null; region?: string[] | null } | null }, { store }: ActivationContext) => {
      const filter = args.filter ?? {};
      if (filter.from && filter.to && filter.from > filter.to) {
        throw inputError(ErrorCode.INVALID_DATE_RANGE, `Argument "filter" is inverted: from (${filter.from}) is after to (${filter.to}).`, { argument: 'filter' });
      }
      const runs = store.runs.activatedRuns(filter.from ?? null, filter.to ?? null, filter.region ?? null);
      const times = runs.map((run) => cycleTimeSeconds(run)!).sort((a, b) => a - b);
      const withExceptions = store.exceptions.runIdsWithExceptions(runs.map((run) => run.id));
      return {
        activatedCount: runs.length,
        touchlessRate: runs.length === 0 ? null : (runs.length - withExceptions.size) / runs.length,
        cycleTime:
          times.length === 0
            ? null
            : {
                p50Seconds: percentile(times, 50),
                p90Seconds: percentile(times, 90),
                p99Seconds: percentile(times, 99),
                meanSeconds: times.reduce((sum, time) => sum + time, 0) / times.length,
                maxSeconds: times[times.length - 1]!,
              },
      };
    },
  },

  Mutation: {
    activateProject: async (_: unknown, args: { input: { opportunityId: string; idempotencyKey: string } }, { runner, awaitMs }: ActivationContext) => {
      const key = args.input.idempotencyKey;
      if (key.length < 1 || key.length > 255) {
        throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "input.idempotencyKey" must be 1 to 255 characters.', { argument: 'input.idempotencyKey' });
      }
      const run = runner.activate(opportunityId('input.opportunityId', args.input.opportunityId), `client:${key}`, 'MUTATION');
      return runner.settled(run.id, awaitMs);
    },
    retryActivation: async (_: unknown, args: { runId: string }, { runner, awaitMs }: ActivationContext) => {
      const run = runner.retryRun(runId('runId', args.runId));
      return runner.settled(run.id, awaitMs);
    },
    cancelActivation: async (_: unknown, args: { runId: string }, { runner, awaitMs }: ActivationContext) => {
      const run = runner.cancelRun(runId('runId', args.runId), 'cancelled by cancelActivation');
      return runner.settled(run.id, awaitMs);
    },
    resolveException: (_: unknown, args: { id: string; resolution: { action: ResolutionAction; note?: string | null } }, { runner }: ActivationContext) =>
      runner.resolveException(exceptionId('id', args.id), args.resolution.action, args.resolution.note ?? null),
  },

  ActivationRun: {
    __resolveReference: (reference: { id: unknown }, { loaders }: ActivationContext) => loaders.runById.load(referenceKey('ActivationRun', reference.id, (id) => RUN_ID.test(id))),
    opportunity: (run: ActivationRunRecord) => ({ id: run.opportunityId }),
    project: (run: ActivationRunRecord) => (run.status === 'ACTIVE' ? { id: run.projectId } : null),
    steps: (run: ActivationRunRecord, _: unknown, { loaders }: ActivationContext) => loaders.stepsByRunId.load(run.id),
    transitions: (run: ActivationRunRecord, _: unknown, { loaders }: ActivationContext) => loaders.transitionsByRunId.load(run.id),
    exceptions: (run: ActivationRunRecord, _: unknown, { loaders }: ActivationContext) => loaders.exceptionsByRunId.load(run.id),
    externalIds: async (run: ActivationRunRecord, _: unknown, { loaders }: ActivationContext) => {
      const xref = await loaders.xrefByProjectId.load(run.projectId);
      return {
        projectId: run.projectId,
        opportunityId: run.opportunityId,
        accountId: xref?.accountId ?? null,
        erpCustomerId: xref?.erpCustomerId ?? null,
        erpProjectId: xref?.erpProjectId ?? null,
        erpProjectCode: xref?.erpProjectCode ?? null,
        erpBillingScheduleId: xref?.billingScheduleId ?? null,
        psaProjectId: xref?.psaProjectId ?? null,
      };
    },
    cycleTimeSeconds: (run: ActivationRunRecord) => cycleTimeSeconds(run),
  },

  ActivationStep: {
    finishedAt: (step: StepRecord) => step.finishedAt,
  },

  ActivationTransition: {
    from: (transition: TransitionRecord) => transition.from,
  },

  IntegrationException: {
    __resolveReference: (reference: { id: unknown }, { loaders }: ActivationContext) =>
      loaders.exceptionById.load(referenceKey('IntegrationException', reference.id, (id) => EXCEPTION_ID.test(id))),
    howToResolve: (exception: ExceptionRecord) => HOW_TO_RESOLVE[exception.type] ?? 'Fix the record in the owning system, then RETRY.',
    run: (exception: ExceptionRecord, _: unknown, { loaders }: ActivationContext) => loaders.runById.load(exception.runId),
  },

  Project: {
    __resolveReference: (reference: { id: unknown }) => ({ id: referenceKey('Project', reference.id, isCanonicalProjectId) }),
    activation: (project: { id: string }, _: unknown, { loaders }: ActivationContext) => loaders.runByProjectId.load(project.id),
  },
};
