/**
 * Builds bus events with time-ordered unique IDs, so that consumers can deduplicate and readers can order.
 */
import { randomBytes } from 'node:crypto';
import type { BusEvent } from './eventBus.js';
import { publishingTraceparent } from './eventTracing.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID: 48-bit millisecond time then 80 random bits, Crockford base 32, sortable by time. */
export function newEventId(now = Date.now()): string {
  let time = '';
  let rest = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[rest % 32] + time;
    rest = Math.floor(rest / 32);
  }
  const random = randomBytes(16);
  let entropy = '';
  for (let i = 0; i < 16; i++) entropy += CROCKFORD[random[i]! % 32];
  return `evt_${time}${entropy}`;
}

export function newEvent<TData extends Record<string, unknown>>(
  type: string,
  fields: { source: string; subject: string; data: TData; version?: number; occurredAt?: Date },
): BusEvent<TData> {
  const occurredAt = fields.occurredAt ?? new Date();
  const event: BusEvent<TData> = {
    id: newEventId(occurredAt.getTime()),
    type,
    version: fields.version ?? 1,
    occurredAt: occurredAt.toISOString(),
    source: fields.source,
    subject: fields.subject,
    data: fields.data,
  };
  const traceparent = publishingTraceparent(event);
  return traceparent ? { ...event, traceparent } : event;
}
