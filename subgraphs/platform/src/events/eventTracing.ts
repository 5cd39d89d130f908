/**
 * Trace context inside events, so that a trace goes on across the bus: an event records the W3C `traceparent`
 * of a PRODUCER span made when the event is built (inside the change that causes it), and each consumer handles
 * the event in a CONSUMER span whose parent is that context. So closing a deal in CRM, the activation run it
 * starts and the ERP and PSA writes of that run are one trace. The field is the CloudEvents distributed-tracing
 * extension's `traceparent`, beside the envelope's other metadata, never in `data`; an event without it (from
 * an older publisher) is handled in a trace of its own.
 */
import { SpanKind, activeTraceparent, contextFromTraceparent, tracingOn, withSpan } from '../telemetry/index.js';
import type { BusEvent } from './eventBus.js';

/** Messaging attributes of the semantic conventions; the bus is psgraph's own, so `messaging.system` says so. */
function messagingAttributes(event: BusEvent, operation: 'send' | 'process', group?: string): Record<string, string> {
  return {
    'messaging.system': 'psgraph',
    'messaging.operation.type': operation,
    'messaging.destination.name': event.type,
    'messaging.message.id': event.id,
    ...(group ? { 'messaging.consumer.group.name': group } : {}),
  };
}

/** The `traceparent` to record in an event being built now (undefined with tracing off or outside any trace). */
export function publishingTraceparent(event: BusEvent): string | undefined {
  if (!tracingOn()) return undefined;
  return withSpan(`send ${event.type}`, messagingAttributes(event, 'send'), () => activeTraceparent(), { kind: SpanKind.PRODUCER });
}

/** Runs a consumer's handler for one event in a CONSUMER span continuing the trace the event carries. */
export function handleInEventSpan<T>(event: BusEvent, group: string, handle: () => Promise<T>): Promise<T> {
  if (!tracingOn()) return handle();
  return withSpan(`process ${event.type}`, messagingAttributes(event, 'process', group), handle, {
    kind: SpanKind.CONSUMER,
    parent: contextFromTraceparent(event.traceparent),
  });
}
