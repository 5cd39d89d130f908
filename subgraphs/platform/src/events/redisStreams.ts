/**
 * What the Redis event bus's parts share: connections that reconnect by themselves, the stream entry format of an
 * event, the read sizes, and which failures are a lost connection (and so safe to retry).
 */
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  DisconnectsClientError,
  ErrorReply,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
} from 'redis';
import type { BusLog, ResolvedTiming } from './busSupport.js';
import type { BusEvent } from './eventBus.js';

export type RedisConnection = ReturnType<typeof createConnection>;

export interface StreamEntry {
  readonly id: string;
  readonly message: Record<string, string> | null;
}

/** Consumers read one new entry at a time, so the group's other consumers get the next one (fair sharing). */
export const READ_COUNT = 1;
/** Entries one XAUTOCLAIM takes, and XAUTOCLAIM calls per claim round (it scans COUNT × 10 PEL entries each). */
export const CLAIM_COUNT = 10;
export const CLAIM_CALLS_PER_ROUND = 10;
/** Stream entries one catch-up XRANGE reads. */
export const CATCH_UP_COUNT = 500;
/** Event IDs a subscriber remembers to drop the copy pub/sub and the catch-up read both bring. */
export const DEDUPE_WINDOW = 10_000;

export function createConnection(url: string) {
  return createClient({
    url,
    socket: {
      connectTimeout: 5_000,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1_000) + Math.floor(Math.random() * 50),
    },
  });
}

/** The envelope as stream fields (all strings; `data` as JSON). */
export function toFields(event: BusEvent): Record<string, string> {
  return {
    id: event.id,
    type: event.type,
    version: String(event.version),
    occurredAt: event.occurredAt,
    source: event.source,
    subject: event.subject,
    data: JSON.stringify(event.data ?? {}),
    ...(event.traceparent ? { traceparent: event.traceparent } : {}),
  };
}

export function fromFields(fields: Record<string, string>): BusEvent {
  const { id, type, version, occurredAt, source, subject, data, traceparent } = fields;
  if (id === undefined || type === undefined || data === undefined) throw new Error('missing id, type or data');
  return {
    id,
    type,
    version: Number(version ?? 1),
    occurredAt: occurredAt ?? '',
    source: source ?? '',
    subject: subject ?? '',
    data: JSON.parse(data) as Record<string, unknown>,
    ...(traceparent ? { traceparent } : {}),
  };
}

export function entriesOf(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  return reply.flatMap((stream: { messages?: StreamEntry[] }) => stream.messages ?? []);
}

/** The connection failed under a command (as opposed to Redis replying with an error, or a bug). */
export function isDisconnect(error: unknown): boolean {
  if (error instanceof ErrorReply) return false;
  return (
    error instanceof SocketClosedUnexpectedlyError ||
    error instanceof DisconnectsClientError ||
    error instanceof ClientClosedError ||
    error instanceof ClientOfflineError ||
    error instanceof ConnectionTimeoutError ||
    error instanceof SocketTimeoutError ||
    /^E[A-Z]+$/.test(String((error as NodeJS.ErrnoException | undefined)?.code ?? ''))
  );
}

/**
 * Runs `command`, again when the connection dropped under it (the retry waits in node-redis' offline queue
 * until the connection is back). Errors Redis replied with, and bugs, are not retried.
 */
export async function retryOnDisconnect<T>(command: () => Promise<T>, attempts: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await command();
    } catch (error) {
      if (!isDisconnect(error) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

/** The URL as written, with its password masked, for messages. */
export function redactUrl(url: string): string {
  try {
    const { password } = new URL(url);
    return password ? url.replace(`:${password}@`, ':***@') : url;
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * What a consumer and the fan-out use of their bus (`RedisEventBus` is the one implementation; the parts depend
 * on this, not on the bus, so that the bus can own them without an import cycle).
 */
export interface RedisBusContext {
  readonly stream: string;
  readonly channel: string;
  readonly commands: RedisConnection;
  readonly timing: ResolvedTiming & { readonly blockMs: number; readonly claimIntervalMs: number };
  readonly isClosed: boolean;
  readonly log: BusLog;
  /** A new connection that reconnects forever and reports a lost connection once. */
  connection(role: string): RedisConnection;
  /** Creates the group at the oldest retained event; an existing group keeps its position. */
  ensureGroup(group: string): Promise<void>;
  /** Redis' delivery count of a pending entry (undefined when it is no longer pending). */
  deliveryCount(group: string, id: string): Promise<number | undefined>;
  /** Copies the entry to the dead-letter stream and acknowledges it, in one MULTI. */
  deadLetter(group: string, consumer: string, entry: StreamEntry, deliveries: number, reason: string): Promise<void>;
}
