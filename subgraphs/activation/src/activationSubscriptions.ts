/**
 * The activation subgraph's subscription: a run's progress, one update per status change, streamed from the
 * bus (`activation.progressed`, recorded in the transaction of the change), so any activation replica serves
 * any subscriber, whichever replica drives the run.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { type BusEvent, type EventBus, eventStream } from '../../platform/src/events/index.js';
import { inputError, isSalesforceId, requireIdFormat } from '../../platform/src/index.js';
import { type ActivationContext, createActivationLoaders } from './activationLoaders.js';

interface ProgressData {
  readonly runId: string;
  readonly opportunityId: string;
  readonly previousStatus: string;
  readonly status: string;
  readonly reason: string | null;
  readonly at: string;
}

const RUN_ID = /^act_[0-9A-HJKMNP-TV-Z]{26}$/;

export function activationSubscriptionResolvers(bus: EventBus) {
  return {
    Subscription: {
      activationUpdated: {
        subscribe: (_: unknown, args: { runId?: string | null; opportunityId?: string | null }) => {
          if (args.runId == null && args.opportunityId == null) {
            throw inputError(ErrorCode.BAD_USER_INPUT, 'activationUpdated needs runId or opportunityId (or both).', { argument: 'runId' });
          }
          const runId = args.runId == null ? null : requireIdFormat('runId', args.runId, (v) => RUN_ID.test(v), 'an activation run ID (act_ followed by a 26-character ULID)');
          const opportunityId =
            args.opportunityId == null
              ? null
              : requireIdFormat('opportunityId', args.opportunityId, (v) => isSalesforceId(v, 'Opportunity'), 'an 18-character Salesforce Opportunity ID (prefix 006)');
          return eventStream(bus, ['activation.progressed'], (event) => {
            const data = event.data as unknown as ProgressData;
            return (runId === null || data.runId === runId) && (opportunityId === null || data.opportunityId === opportunityId);
          });
        },
        resolve: async (event: BusEvent, _: unknown, context: ActivationContext) => {
          const data = event.data as unknown as ProgressData;
          // One subscription keeps one context: fresh loaders per event, so each update reads the run as it is now.
          const loaders = createActivationLoaders(context.store);
          (context as { loaders: ActivationContext['loaders'] }).loaders = loaders;
          const run = await loaders.runById.load(data.runId);
          if (!run) throw new GraphQLError(`Activation run ${data.runId} does not exist.`, { extensions: { code: ErrorCode.NOT_FOUND } });
          return { eventId: event.id, run, previousStatus: data.previousStatus, status: data.status, reason: data.reason, at: data.at };
        },
      },
    },
  };
}
