/**
 * PSA's subscription: staffing changes on a project, streamed from the bus, so any PSA replica serves any
 * subscriber whichever replica confirmed the assignment.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { type BusEvent, type EventBus, eventStream } from '../../platform/src/events/index.js';
import { isCanonicalProjectId, requireIdFormat } from '../../platform/src/index.js';
import { type PsaContext, createPsaLoaders } from './psaLoaders.js';

/** The PSA events that change an assignment. */
export const ASSIGNMENT_EVENT_TYPES = ['assignment.confirmed'] as const;

const STATUS_AFTER: Readonly<Record<(typeof ASSIGNMENT_EVENT_TYPES)[number], string>> = { 'assignment.confirmed': 'CONFIRMED' };

interface AssignmentEventData {
  readonly assignmentId: string;
  readonly projectId: string;
}

export function psaSubscriptionResolvers(bus: EventBus) {
  return {
    Subscription: {
      assignmentChanged: {
        subscribe: (_: unknown, args: { projectId: string }) => {
          const projectId = requireIdFormat('projectId', args.projectId, isCanonicalProjectId, 'a canonical project ID (prj_ + ULID)');
          return eventStream(bus, ASSIGNMENT_EVENT_TYPES, (event) => (event.data as unknown as AssignmentEventData).projectId === projectId);
        },
        resolve: async (event: BusEvent, _: unknown, context: PsaContext) => {
          const data = event.data as unknown as AssignmentEventData;
          // One subscription keeps one context: fresh loaders per event, or the first event's reads would be
          // served from cache to every later one.
          const loaders = createPsaLoaders(context.psa);
          (context as { loaders: PsaContext['loaders'] }).loaders = loaders;
          const assignment = (await loaders.assignmentsByProjectId.load(data.projectId)).find((candidate) => candidate.id === data.assignmentId);
          if (!assignment) throw new GraphQLError(`Assignment ${data.assignmentId} no longer exists.`, { extensions: { code: ErrorCode.NOT_FOUND } });
          return { eventId: event.id, change: event.type, assignment, status: STATUS_AFTER[event.type as keyof typeof STATUS_AFTER] ?? assignment.status, changedAt: event.occurredAt };
        },
      },
    },
  };
}
