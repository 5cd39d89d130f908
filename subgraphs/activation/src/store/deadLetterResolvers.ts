/**
 * Dead letters through the process API: the list, and replay — one (as received, or edited) or every open one of a
 * type after a preview count — each recorded with who did it. Staff only; replays need `integration:operate`.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import type { BusEvent } from '../../../platform/src/events/index.js';
import { inputError } from '../../../platform/src/index.js';
import type { Resolvers } from '../generated/resolverTypes.js';

const MAX_LIST = 100;
const MAX_BULK_REPLAY = 1_000;

/** An operator's corrected event: JSON with at least the envelope's fields. */
export function editedEvent(json: string): BusEvent {
  let event: unknown;
  try {
    event = JSON.parse(json);
  } catch {
    throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "event" must be the event as JSON.', { argument: 'event' });
  }
  const candidate = event as Partial<BusEvent> | null;
  if (
    !candidate ||
    typeof candidate !== 'object' ||
    typeof candidate.id !== 'string' ||
    typeof candidate.type !== 'string' ||
    typeof candidate.data !== 'object'
  )
    throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "event" must be an event: an object with an id, a type and data.', { argument: 'event' });
  return candidate as BusEvent;
}

export const deadLetterResolvers: Resolvers = {
  Query: {
    deadLetters: (_, args, { store }) => {
      const first = args.first ?? 20;
      if (!Number.isInteger(first) || first < 1 || first > MAX_LIST)
        throw inputError(ErrorCode.PAGE_SIZE_OUT_OF_RANGE, `Argument "first" must be from 1 to ${MAX_LIST}.`, { argument: 'first' });
      return store.deadLetters.search({ statuses: args.status ?? null, type: args.type ?? null }, first);
    },
  },
  DeadLetter: {
    actions: (letter, _, { store }) => store.deadLetters.actions(letter.id),
  },
  Mutation: {
    replayDeadLetter: async (_, args, { store, bus, caller }) => {
      if (!/^[1-9][0-9]{0,15}$/.test(args.id)) throw inputError(ErrorCode.INVALID_ID, 'Argument "id" must be a dead letter ID (a number).', { argument: 'id' });
      if (!store.deadLetters.byId(args.id)) throw inputError(ErrorCode.NOT_FOUND, `Dead letter ${args.id} does not exist.`);
      const edited = args.event == null ? undefined : editedEvent(args.event);
      return store.deadLetters.replay(args.id, caller.subject, (event) => bus.publish(event), edited);
    },
    replayDeadLetters: async (_, args, { store, bus, caller }) => {
      const open = store.deadLetters.search({ statuses: ['OPEN'], type: args.type ?? null }, MAX_BULK_REPLAY + 1);
      if (open.length > MAX_BULK_REPLAY)
        throw inputError(ErrorCode.BAD_USER_INPUT, `More than ${MAX_BULK_REPLAY} open dead letters match; narrow by type.`, { argument: 'type' });
      if (args.preview) return { matched: open.length, replayed: 0 };
      // Oldest first, so that events reach their consumers in the order they first arrived.
      for (const letter of [...open].reverse()) await store.deadLetters.replay(letter.id, caller.subject, (event) => bus.publish(event));
      return { matched: open.length, replayed: open.length };
    },
  },
};
