/**
 * Bus events as the async iterator a graphql-js subscription resolver returns: only some types, only those
 * passing a filter, each event once (fan-out is at-least-once), and bounded — a subscriber that falls behind
 * loses the oldest events rather than growing memory. Unsubscribes from the bus when the subscription ends.
 */
import { BoundedQueue } from '../boundedQueue.js';
import { type BusEvent, type EventBus, dedupeById } from './eventBus.js';

/** Events a subgraph subscriber may fall behind by (the gateway bounds each client's queue too). */
const SUBSCRIBER_QUEUE_CAPACITY = 1_000;

export function eventStream(bus: EventBus, types: readonly string[], filter: (event: BusEvent) => boolean): AsyncIterableIterator<BusEvent> {
  let unsubscribe = () => {};
  const queue = new BoundedQueue<BusEvent>({ capacity: SUBSCRIBER_QUEUE_CAPACITY, onClose: () => unsubscribe() });
  unsubscribe = bus.subscribe(
    types,
    dedupeById((event) => {
      if (filter(event)) queue.push(event);
    }),
  );
  return queue;
}
