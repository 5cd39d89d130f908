export { dedupeById, matchesTypes } from './eventBus.js';
export type { BusEvent, ConsumeOptions, Consumer, DeadLetter, EventBus, Listener } from './eventBus.js';
export { InMemoryEventBus } from './inMemoryEventBus.js';
export { newEvent, newEventId } from './newEvent.js';
export { OUTBOX_DDL, appendToOutbox, startOutboxRelay } from './outbox.js';
export type { OutboxRelay, OutboxRelayOptions } from './outbox.js';
