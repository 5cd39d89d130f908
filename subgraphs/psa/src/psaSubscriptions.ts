/**
 * PSA's subscription: staffing changes on a project, streamed from the bus, so any PSA replica serves any
 * subscriber whichever replica confirmed the assignment.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { type BusEvent, type EventBus, eventStream } from '../../platform/src/events/index.js';
import { isCanonicalProjectId, requireIdFormat } from '../../platform/src/index.js';
import type { Resolvers } from './generated/resolverTypes.js';
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

export function psaSubscriptionResolvers(bus: EventBus): Resolvers {
  return {
    Subscription: {
      assignmentChanged: {
        // Each event is delivered as the change it carries (read as the PSA has it now), under the field's name,
        // so graphql-js resolves the field from it: the generated types check the whole path, bus to payload.
        subscribe: (_, args, context) => {
          const projectId = requireIdFormat('projectId', args.projectId, isCanonicalProjectId, 'a canonical project ID (prj_ + ULID)');
          const events = eventStream(bus, ASSIGNMENT_EVENT_TYPES, (event) => assignmentEventData(event).projectId === projectId);
          return mapEvents(events, (event) => ({ assignmentChanged: assignmentChange(event, context) }));
        },
      },
    },
  };
}

/** What one assignment event changed, read when the event is delivered (a broken one fails that event alone). */
async function assignmentChange(event: BusEvent, context: PsaContext) {
  const data = assignmentEventData(event);
  // One subscription keeps one context: fresh loaders per event, or the first event's reads would be
  // served from cache to every later one.
  const loaders = createPsaLoaders(context.psa);
  context.loaders = loaders;
  const assignment = (await loaders.assignmentsByProjectId.load(data.projectId)).find((candidate) => candidate.id === data.assignmentId);
  if (!assignment) throw new GraphQLError(`Assignment ${data.assignmentId} no longer exists.`, { extensions: { code: ErrorCode.NOT_FOUND } });
  // The bus types an event's type as any string; the stream carries only ASSIGNMENT_EVENT_TYPES.
  return { eventId: event.id, change: event.type, assignment, status: STATUS_AFTER[event.type as keyof typeof STATUS_AFTER] ?? assignment.status, changedAt: event.occurredAt };
}

/**
 * `events` with each value mapped. Not an async generator: ending the subscription (return) must end `events` at
 * once, even while a next() waits for an event, or the bus subscription would outlive it.
 */
function mapEvents<T, U>(events: AsyncIterableIterator<T>, map: (value: T) => U): AsyncIterableIterator<U> {
  return {
    next: async () => {
      const result = await events.next();
      return result.done ? result : { value: map(result.value), done: false };
    },
    return: async () => {
      await events.return?.();
      return { value: undefined, done: true };
    },
    throw: async (error: unknown) => {
      await events.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
