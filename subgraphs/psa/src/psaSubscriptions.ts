/**
 * PSA's subscription: staffing changes on a project, streamed from the bus, so any PSA replica serves any
 * subscriber whichever replica confirmed the assignment.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { type BusEvent, type EventBus, eventStream } from '../../platform/src/events/index.js';
import { isCanonicalProjectId, requireIdFormat, requireStaff } from '../../platform/src/index.js';
import type { Resolvers, ResolversTypes, SubscriptionAssignmentChangedArgs, SubscriptionResolveFn } from './generated/resolverTypes.js';
import { type PsaContext, createPsaLoaders } from './psaLoaders.js';
import type { AssignmentStatus } from './psaPort.js';

/** The PSA events that change an assignment. */
export const ASSIGNMENT_EVENT_TYPES = ['assignment.confirmed'] as const;

const STATUS_AFTER: Readonly<Record<(typeof ASSIGNMENT_EVENT_TYPES)[number], AssignmentStatus>> = { 'assignment.confirmed': 'CONFIRMED' };

interface AssignmentEventData {
  readonly assignmentId: string;
  readonly projectId: string;
}

// The bus carries each event's data as untyped JSON; its shape is the event's contract (assignment.confirmed.v1).
const assignmentEventData = (event: BusEvent) => event.data as unknown as AssignmentEventData;

/**
 * What `resolve` is: the generated type leaves its parent `any` (it cannot know what `subscribe` streams), so it
 * is named here as the bus event `subscribe` streams; what it returns is checked against AssignmentChange.
 */
type ResolveAssignmentChange = SubscriptionResolveFn<ResolversTypes['AssignmentChange'], BusEvent, PsaContext, SubscriptionAssignmentChangedArgs>;

export function psaSubscriptionResolvers(bus: EventBus): Resolvers {
  return {
    Subscription: {
      assignmentChanged: {
        subscribe: (_, args, { caller }) => {
          requireStaff(caller, 'Staffing changes');
          const projectId = requireIdFormat('projectId', args.projectId, isCanonicalProjectId, 'a canonical project ID (prj_ + ULID)');
          return eventStream(bus, ASSIGNMENT_EVENT_TYPES, (event) => assignmentEventData(event).projectId === projectId);
        },
        resolve: (async (event, _, context) => {
          const data = assignmentEventData(event);
          // One subscription keeps one context: fresh loaders per event, or the first event's reads would be
          // served from cache to every later one.
          const loaders = createPsaLoaders(context.psa, context.delivery, context.billingStatus);
          context.loaders = loaders;
          const assignment = (await loaders.assignmentsByProjectId.load(data.projectId)).find((candidate) => candidate.id === data.assignmentId);
          if (!assignment) throw new GraphQLError(`Assignment ${data.assignmentId} no longer exists.`, { extensions: { code: ErrorCode.NOT_FOUND } });
          // The bus types an event's type as any string; the stream carries only ASSIGNMENT_EVENT_TYPES.
          const status = STATUS_AFTER[event.type as keyof typeof STATUS_AFTER] ?? assignment.status;
          return { eventId: event.id, change: event.type, assignment, status, changedAt: event.occurredAt };
        }) satisfies ResolveAssignmentChange,
      },
    },
  };
}
