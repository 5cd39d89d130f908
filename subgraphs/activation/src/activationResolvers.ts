/**
 * Resolvers of the activation subgraph. Arguments are validated at the entry points (ID formats, key length,
 * page sizes); reads go through the request's DataLoaders; commands go to the runner, which owns every change.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import {
  connection,
  existing,
  inputError,
  isCanonicalProjectId,
  isSalesforceId,
  pageRequest,
  referenceKey,
  requireIdFormat,
} from '../../platform/src/index.js';
import { cycleTimeSeconds } from './events/activationEvents.js';
import { latencyFigures } from './figures.js';
import { resolveRecorded } from './operationsResolvers.js';
import type { Resolvers } from './generated/resolverTypes.js';

const RUN_ID = /^act_[0-9A-HJKMNP-TV-Z]{26}$/;
const EXCEPTION_ID = /^exc_[0-9A-HJKMNP-TV-Z]{26}$/;
const runId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => RUN_ID.test(v), 'an activation run ID (act_ followed by a 26-character ULID)');
const exceptionId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => EXCEPTION_ID.test(v), 'an exception ID (exc_ followed by a 26-character ULID)');
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

export const activationResolvers: Resolvers = {
  Query: {
    activationRun: (_, args, { loaders }) => loaders.runById.load(runId('id', args.id)),
    activationRuns: (_, args, { store, loaders }) => {
      const page = pageRequest('activationRuns', args.first, args.after);
      const filter = args.filter ?? {};
      const result = store.runs.searchRuns(
        {
          statuses: filter.status,
          opportunityId: filter.opportunityId == null ? null : opportunityId('filter.opportunityId', filter.opportunityId),
          region: filter.region,
        },
        page,
      );
      for (const run of result.rows) loaders.runById.prime(run.id, run);
      return connection('activationRuns', page, result.rows, result.totalCount);
    },
    integrationExceptions: (_, args, { store, loaders }) => {
      const page = pageRequest('integrationExceptions', args.first, args.after);
      const filter = args.filter ?? {};
      const result = store.exceptions.search({ statuses: filter.status, types: filter.type, regions: filter.region, systems: filter.system }, page);
      for (const exception of result.rows) loaders.exceptionById.prime(exception.id, exception);
      return connection('integrationExceptions', page, result.rows, result.totalCount);
    },
    exceptionCounts: (_, args, { store }) => store.exceptions.counts(args.status ?? ['OPEN']),
    activationFigures: (_, args, { store }) => {
      const filter = args.filter ?? {};
      if (filter.from && filter.to && filter.from > filter.to) {
        throw inputError(ErrorCode.INVALID_DATE_RANGE, `Argument "filter" is inverted: from (${filter.from}) is after to (${filter.to}).`, {
          argument: 'filter',
        });
      }
      const runs = store.runs.activatedRuns(filter.from ?? null, filter.to ?? null, filter.region ?? null);
      const times = runs.map((run) => cycleTimeSeconds(run)!).sort((a, b) => a - b);
      const withExceptions = store.exceptions.runIdsWithExceptions(runs.map((run) => run.id));
      return {
        activatedCount: runs.length,
        touchlessRate: runs.length === 0 ? null : (runs.length - withExceptions.size) / runs.length,
        cycleTime: latencyFigures(times),
      };
    },
  },

  Mutation: {
    activateProject: async (_, args, { runner, awaitMs }) => {
      const key = args.input.idempotencyKey;
      if (key.length < 1 || key.length > 255) {
        throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "input.idempotencyKey" must be 1 to 255 characters.', { argument: 'input.idempotencyKey' });
      }
      const run = runner.activate(opportunityId('input.opportunityId', args.input.opportunityId), `client:${key}`, 'MUTATION');
      return runner.settled(run.id, awaitMs);
    },
    retryActivation: async (_, args, { runner, awaitMs }) => {
      const run = runner.retryRun(runId('runId', args.runId));
      return runner.settled(run.id, awaitMs);
    },
    cancelActivation: async (_, args, { runner, awaitMs }) => {
      const run = runner.cancelRun(runId('runId', args.runId), 'cancelled by cancelActivation');
      return runner.settled(run.id, awaitMs);
    },
    resolveException: (_, args, context) =>
      resolveRecorded(context, exceptionId('id', args.id), args.resolution.action, args.resolution.note ?? null, context.caller).exception,
  },

  ActivationRun: {
    __resolveReference: (reference, { loaders }) => loaders.runById.load(referenceKey('ActivationRun', reference.id, (id) => RUN_ID.test(id))),
    opportunity: (run) => ({ id: run.opportunityId }),
    project: (run) => (run.status === 'ACTIVE' ? { id: run.projectId } : null),
    steps: (run, _, { loaders }) => loaders.stepsByRunId.load(run.id),
    transitions: (run, _, { loaders }) => loaders.transitionsByRunId.load(run.id),
    exceptions: (run, _, { loaders }) => loaders.exceptionsByRunId.load(run.id),
    externalIds: async (run, _, { loaders }) => {
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
    cycleTimeSeconds: (run) => cycleTimeSeconds(run),
  },

  ActivationStep: {
    finishedAt: (step) => step.finishedAt,
  },

  ActivationTransition: {
    from: (transition) => transition.from,
  },

  IntegrationException: {
    __resolveReference: (reference, { loaders }) =>
      loaders.exceptionById.load(referenceKey('IntegrationException', reference.id, (id) => EXCEPTION_ID.test(id))),
    howToResolve: (exception) => HOW_TO_RESOLVE[exception.type] ?? 'Fix the record in the owning system, then RETRY.',
    run: (exception, _, { loaders }) => existing(loaders.runById.load(exception.runId), `Activation run ${exception.runId}`),
  },

  Project: {
    __resolveReference: (reference) => ({ id: referenceKey('Project', reference.id, isCanonicalProjectId) }),
    activation: (project, _, { loaders }) => loaders.runByProjectId.load(project.id),
  },
};
