/**
 * The Redis bus's dead-letter replay, consumer-group figures and retention (see `redisEventBus.ts`).
 *
 * - A dead letter is an entry of `<stream>:dead`; its entry ID is its stable ID. Replaying marks it in the hash
 *   `<stream>:dead:replayed` (HSETNX, so two operators cannot both replay it) and appends the event to
 *   `<stream>:replay:<group>`, a stream only that group reads: the other groups, which handled the event
 *   already, never see it again.
 * - Retention trims a stream to the oldest entry some group still needs (its oldest pending entry, else the one
 *   after its last delivered) and never past the age cutoff: `XTRIM MINID`.
 */
import type { BusDeadLetter, BusEvent, ConsumerGroupStatus, TrimOutcome, TrimPolicy } from './eventBus.js';
import { assertSameEvent, DeadLetterReplayError } from './eventBus.js';
import { fromFields, type RedisConnection, retryOnDisconnect, type StreamEntry, toFields } from './redisStreams.js';

/** What these operations use of their bus. */
export interface RedisDeadLetterContext {
  readonly stream: string;
  readonly deadLetterStream: string;
  readonly commands: RedisConnection;
}

/** The stream only `group` reads: replayed dead letters of that group. */
export const replayStreamOf = (stream: string, group: string) => `${stream}:replay:${group}`;
const replayGroupsOf = (stream: string) => `${stream}:replay-groups`;
const replayedOf = (deadLetterStream: string) => `${deadLetterStream}:replayed`;
const STREAM_ID = /^(\d+)-(\d+)$/;

export async function deadLetterRecords(bus: RedisDeadLetterContext, group?: string): Promise<BusDeadLetter[]> {
  const [entries, replayed] = await Promise.all([
    bus.commands.xRange(bus.deadLetterStream, '-', '+') as Promise<StreamEntry[]>,
    bus.commands.hGetAll(replayedOf(bus.deadLetterStream)) as Promise<Record<string, string>>,
  ]);
  return entries
    .filter(({ message }) => message && (group === undefined || message['group'] === group))
    .map((entry) => toDeadLetter(entry, replayed[entry.id] ?? null));
}

export async function replayDeadLetter(bus: RedisDeadLetterContext, id: string, edited: BusEvent | undefined): Promise<BusDeadLetter> {
  const [entry] = STREAM_ID.test(id) ? ((await bus.commands.xRange(bus.deadLetterStream, id, id, { COUNT: 1 })) as StreamEntry[]) : [];
  if (!entry?.message) throw new DeadLetterReplayError('NOT_FOUND', `Dead letter ${id} does not exist (or was trimmed by the retention).`);
  const replayedKey = replayedOf(bus.deadLetterStream);
  const earlier = await bus.commands.hGet(replayedKey, id);
  if (earlier) throw new DeadLetterReplayError('ALREADY_REPLAYED', `Dead letter ${id} was replayed at ${earlier}.`);
  const letter = toDeadLetter(entry, null);
  assertSameEvent(letter.event, edited);
  const replayedAt = new Date().toISOString();
  // The mark first: of two replays racing, one wins it; the other is refused without appending anything.
  if (!(await bus.commands.hSetNX(replayedKey, id, replayedAt))) throw new DeadLetterReplayError('ALREADY_REPLAYED', `Dead letter ${id} was just replayed.`);
  try {
    await retryOnDisconnect(
      () =>
        bus.commands
          .multi()
          .xAdd(replayStreamOf(bus.stream, letter.group), '*', toFields(edited ?? letter.event))
          .sAdd(replayGroupsOf(bus.stream), letter.group)
          .exec(),
      5,
    );
  } catch (error) {
    await bus.commands.hDel(replayedKey, id);
    throw error;
  }
  return { ...letter, replayedAt };
}

export async function consumerGroups(bus: RedisDeadLetterContext): Promise<ConsumerGroupStatus[]> {
  const now = Date.now();
  const letters = await deadLetterRecords(bus);
  const statuses: ConsumerGroupStatus[] = [];
  for (const group of await groupsOf(bus.commands, bus.stream)) {
    const main = await backlog(bus.commands, bus.stream, group);
    const replays = await replayBacklog(bus.commands, replayStreamOf(bus.stream, group.name), group.name);
    const oldest = [main.oldestMs, replays.oldestMs].filter((ms): ms is number => ms !== null);
    statuses.push({
      name: group.name,
      pending: main.pending + replays.pending,
      undelivered: main.undelivered + replays.undelivered,
      lagSeconds: oldest.length === 0 ? null : Math.max(0, (now - Math.min(...oldest)) / 1000),
      deadLetters: letters.filter((letter) => letter.group === group.name && letter.replayedAt === null).length,
    });
  }
  return statuses.sort((a, b) => a.name.localeCompare(b.name));
}

export async function trimProcessed(bus: RedisDeadLetterContext, policy: TrimPolicy): Promise<TrimOutcome> {
  const eventsCutoff = `${policy.eventsBefore.getTime()}-0`;
  let events = await trimStream(bus.commands, bus.stream, eventsCutoff);
  for (const group of await bus.commands.sMembers(replayGroupsOf(bus.stream))) {
    events += await trimStream(bus.commands, replayStreamOf(bus.stream, group), eventsCutoff, group);
  }
  const deadCutoff = `${policy.deadLettersBefore.getTime()}-0`;
  const deadLetters = await bus.commands.xTrim(bus.deadLetterStream, 'MINID', deadCutoff);
  const replayedKey = replayedOf(bus.deadLetterStream);
  const trimmedMarks = (await bus.commands.hKeys(replayedKey)).filter((id) => compareIds(id, deadCutoff) < 0);
  if (trimmedMarks.length > 0) await bus.commands.hDel(replayedKey, trimmedMarks);
  return { events, deadLetters };
}

function toDeadLetter(entry: StreamEntry, replayedAt: string | null): BusDeadLetter {
  const message = entry.message ?? {};
  return {
    id: entry.id,
    event: fromFields(message),
    group: message['group'] ?? '',
    deliveries: Number(message['deliveries']),
    reason: message['reason'] ?? '',
    deadLetteredAt: message['deadLetteredAt'] ?? '',
    replayedAt,
  };
}

interface GroupInfo {
  readonly name: string;
  readonly lastDeliveredId: string;
  readonly lag: number | null;
}

async function groupsOf(commands: RedisConnection, stream: string): Promise<GroupInfo[]> {
  if (!(await commands.exists(stream))) return [];
  const groups = (await commands.xInfoGroups(stream)) as unknown as Array<Record<string, unknown>>;
  return groups.map((group) => ({
    name: String(group['name']),
    lastDeliveredId: String(group['last-delivered-id']),
    lag: typeof group['lag'] === 'number' ? group['lag'] : null,
  }));
}

/** A group's backlog on one stream: pending entries, entries after its last delivered, and the oldest of both. */
async function backlog(commands: RedisConnection, stream: string, group: GroupInfo) {
  const summary = await commands.xPending(stream, group.name);
  const [next] = (await commands.xRange(stream, `(${group.lastDeliveredId}`, '+', { COUNT: 1 })) as StreamEntry[];
  // Redis 7 counts the lag; when it cannot (entries deleted mid-range), count what is left (bounded).
  const undelivered = group.lag ?? (next ? ((await commands.xRange(stream, `(${group.lastDeliveredId}`, '+', { COUNT: 10_000 })) as StreamEntry[]).length : 0);
  const oldest = [summary.firstId, next?.id].filter((id): id is string => typeof id === 'string').map(idMs);
  return { pending: Number(summary.pending), undelivered, oldestMs: oldest.length === 0 ? null : Math.min(...oldest) };
}

/** Before the group's first consumer creates the group on its replay stream, every replayed entry there is undelivered. */
async function replayBacklog(commands: RedisConnection, stream: string, groupName: string) {
  const group = (await groupsOf(commands, stream)).find((candidate) => candidate.name === groupName);
  if (group) return backlog(commands, stream, group);
  const [first] = (await commands.xRange(stream, '-', '+', { COUNT: 1 })) as StreamEntry[];
  return { pending: 0, undelivered: first ? await commands.xLen(stream) : 0, oldestMs: first ? idMs(first.id) : null };
}

/**
 * Trims `stream` below the cutoff and below the oldest entry any of its groups still needs. A replay stream is
 * for one group: until that group's first consumer has created it there, nothing in it has been delivered.
 */
async function trimStream(commands: RedisConnection, stream: string, cutoff: string, ownGroup?: string): Promise<number> {
  let minId = cutoff;
  const groups = await groupsOf(commands, stream);
  if (ownGroup !== undefined && !groups.some((group) => group.name === ownGroup)) return 0;
  for (const group of groups) {
    const summary = await commands.xPending(stream, group.name);
    const needed = typeof summary.firstId === 'string' ? summary.firstId : successor(group.lastDeliveredId);
    if (compareIds(needed, minId) < 0) minId = needed;
  }
  if (!(await commands.exists(stream))) return 0;
  return commands.xTrim(stream, 'MINID', minId);
}

const idMs = (id: string) => Number(STREAM_ID.exec(id)?.[1] ?? 0);

function successor(id: string): string {
  const [, ms, seq] = STREAM_ID.exec(id) ?? [undefined, '0', '0'];
  return `${ms}-${BigInt(seq!) + 1n}`;
}

function compareIds(a: string, b: string): number {
  const [, aMs, aSeq] = STREAM_ID.exec(a) ?? [undefined, '0', '0'];
  const [, bMs, bSeq] = STREAM_ID.exec(b) ?? [undefined, '0', '0'];
  const byMs = BigInt(aMs!) - BigInt(bMs!);
  if (byMs !== 0n) return byMs < 0n ? -1 : 1;
  const bySeq = BigInt(aSeq!) - BigInt(bSeq!);
  return bySeq === 0n ? 0 : bySeq < 0n ? -1 : 1;
}
