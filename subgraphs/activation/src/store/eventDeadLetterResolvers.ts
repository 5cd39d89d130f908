/**
 * The event bus's dead letters through the process API: the list, the consumer groups' figures, and replay — one
 * (as dead-lettered, or edited and checked against its contract) or every open one of a group or type after a
 * preview count — each recorded with who did it. Staff only; replays need `integration:operate`.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type BusDeadLetter, type BusEvent, DeadLetterReplayError } from '../../../platform/src/events/index.js';
import { inputError } from '../../../platform/src/index.js';
import { EventContracts } from '../events/eventContracts.js';
import type { ActivationContext } from '../activationLoaders.js';
import type { Resolvers } from '../generated/resolverTypes.js';
import { editedEvent } from './deadLetterResolvers.js';
import type { DeadLetterStatus } from './deadLetters.js';

const MAX_LIST = 100;
const MAX_BULK_REPLAY = 1_000;

let contracts: EventContracts | undefined;

/** An operator's corrected event: an event as JSON that matches the contract its type and version name. */
function checkedEdit(json: string): BusEvent {
  const event = editedEvent(json);
  contracts ??= new EventContracts();
  const check = contracts.check(event);
  if (!check.valid)
    throw inputError(ErrorCode.EVENT_CONTRACT_VIOLATION, `Argument "event" does not match its contract: ${check.reason}.`, {
      argument: 'event',
      reason: check.reason,
    });
  return event;
}

/** The bus's refusal as the API's error: a stable code, the bus's message. */
function replayError(error: unknown): never {
  if (!(error instanceof DeadLetterReplayError)) throw error;
  const code = { NOT_FOUND: ErrorCode.NOT_FOUND, ALREADY_REPLAYED: ErrorCode.DEAD_LETTER_ALREADY_REPLAYED, INVALID_EDIT: ErrorCode.BAD_USER_INPUT }[error.code];
  throw inputError(code, error.message, error.code === 'INVALID_EDIT' ? { argument: 'event' } : {});
}

async function replay(context: ActivationContext, id: string, edited: BusEvent | undefined): Promise<BusDeadLetter> {
  const letter = await context.bus.replayDeadLetter(id, edited);
  context.store.eventDeadLetters.recordReplay(letter, context.caller.subject, edited ?? letter.event, edited !== undefined);
  return letter;
}

/** The dead letters that match the filter (a group, a type, statuses: each when given), newest first. */
async function matching(context: ActivationContext, filter: { group?: string | null; type?: string | null; statuses?: readonly DeadLetterStatus[] | null }) {
  const letters = await context.bus.deadLetterRecords(filter.group ?? undefined);
  return letters
    .filter((letter) => !filter.type || letter.event.type === filter.type)
    .filter((letter) => !filter.statuses || filter.statuses.includes(letter.replayedAt === null ? 'OPEN' : 'REPLAYED'))
    .reverse();
}

export const eventDeadLetterResolvers: Resolvers = {
  Query: {
    eventDeadLetters: async (_, args, context) => {
      const first = args.first ?? 50;
      if (!Number.isInteger(first) || first < 1 || first > MAX_LIST)
        throw inputError(ErrorCode.PAGE_SIZE_OUT_OF_RANGE, `Argument "first" must be from 1 to ${MAX_LIST}.`, { argument: 'first' });
      const letters = (await matching(context, { group: args.group, type: args.type, statuses: args.status })).slice(0, first);
      const replayedBy = context.store.eventDeadLetters.replayedBy(letters.map((letter) => letter.id));
      return letters.map((letter) => context.store.eventDeadLetters.view(letter, replayedBy.get(letter.id) ?? null));
    },
    eventConsumerGroups: async (_, __, { bus }) => bus.consumerGroups(),
  },
  EventDeadLetter: {
    actions: (letter, _, { store }) => store.eventDeadLetters.actions(letter.id),
  },
  Mutation: {
    replayEventDeadLetter: async (_, args, context) => {
      const edited = args.event == null ? undefined : checkedEdit(args.event);
      const letter = await replay(context, args.id, edited).catch(replayError);
      return context.store.eventDeadLetters.view(letter, context.caller.subject);
    },
    replayEventDeadLetters: async (_, args, context) => {
      const open = await matching(context, { group: args.group, type: args.type, statuses: ['OPEN'] });
      if (open.length > MAX_BULK_REPLAY)
        throw inputError(ErrorCode.BAD_USER_INPUT, `More than ${MAX_BULK_REPLAY} open event dead letters match; narrow by group or type.`, {
          argument: 'type',
        });
      if (args.preview) return { matched: open.length, replayed: 0 };
      let replayed = 0;
      // Oldest first, so that each group gets its events back in the order it first had them.
      for (const letter of [...open].reverse()) {
        try {
          await replay(context, letter.id, undefined);
          replayed++;
        } catch (error) {
          // Another operator replayed it meanwhile: it is not this call's to count.
          if (!(error instanceof DeadLetterReplayError && error.code === 'ALREADY_REPLAYED')) replayError(error);
        }
      }
      return { matched: open.length, replayed };
    },
  },
};
