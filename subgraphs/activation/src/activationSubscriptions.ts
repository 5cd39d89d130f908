/**
 * The activation subgraph's subscription: a run's progress, one update per status change, streamed from the
 * bus (`activation.progressed`, recorded in the transaction of the change), so any activation replica serves
 * any subscriber, whichever replica drives the run.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { type BusEvent, type EventBus, eventStream } from '../../platform/src/events/index.js';
import { existing, inputError, isSalesforceId, requireIdFormat } from '../../platform/src/index.js';
import { type ActivationContext, createActivationLoaders } from './activationLoaders.js';
import type { Resolvers, ResolversTypes, SubscriptionActivationUpdatedArgs, SubscriptionResolveFn } from './generated/resolverTypes.js';
import type { RunStatus } from './saga/activationStates.js';

/** `activation.progressed` as the run store writes it (contracts/events/activation.progressed.v1.schema.json). */
interface ProgressData {
  readonly runId: string;
  readonly opportunityId: string;
  readonly previousStatus: RunStatus;
  readonly status: RunStatus;
  readonly reason: string | null;
  readonly at: string;
}

const RUN_ID = /^act_[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * What `resolve` is: the generated type leaves its parent `any` (it cannot know what `subscribe` streams), so it
 * is named here as the bus event `subscribe` streams; what it returns is checked against ActivationUpdate.
 */
type ResolveUpdate = SubscriptionResolveFn<
  ResolversTypes['ActivationUpdate'],
  BusEvent<ProgressData>,
  ActivationContext,
  Partial<SubscriptionActivationUpdatedArgs>
>;

export function activationSubscriptionResolvers(bus: EventBus): Resolvers {
  return {
    Subscription: {
      activationUpdated: {
        subscribe: (_, args) => {
          if (args.runId == null && args.opportunityId == null) {
            throw inputError(ErrorCode.BAD_USER_INPUT, 'activationUpdated needs runId or opportunityId (or both).', { argument: 'runId' });
          }
          const runId =
            args.runId == null
              ? null
              : requireIdFormat('runId', args.runId, (v) => RUN_ID.test(v), 'an activation run ID (act_ followed by a 26-character ULID)');
          const opportunityId =
            args.opportunityId == null
              ? null
              : requireIdFormat(
                  'opportunityId',
                  args.opportunityId,
                  (v) => isSalesforceId(v, 'Opportunity'),
                  'an 18-character Salesforce Opportunity ID (prefix 006)',
                );
          return eventStream(bus, ['activation.progressed'], (event) => {
            // The bus carries any event's data untyped; activation.progressed's is what the run store wrote.
            const data = event.data as unknown as ProgressData;
            return (runId === null || data.runId === runId) && (opportunityId === null || data.opportunityId === opportunityId);
          });
        },
        resolve: (async (event, _, context) => {
          const data = event.data;
          // One subscription keeps one context: fresh loaders per event, so each update reads the run as it is now.
          const loaders = createActivationLoaders(context.store);
          context.loaders = loaders;
          const run = await existing(loaders.runById.load(data.runId), `Activation run ${data.runId}`);
          return { eventId: event.id, run, previousStatus: data.previousStatus, status: data.status, reason: data.reason, at: data.at };
        }) satisfies ResolveUpdate,
      },
    },
  };
}
