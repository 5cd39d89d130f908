export { dedupeById, matchesTypes } from './eventBus.js';
export type { BusEvent, ConsumeOptions, Consumer, DeadLetter, EventBus, Listener } from './eventBus.js';
export { InMemoryEventBus } from './inMemoryEventBus.js';
export { newEvent, newEventId } from './newEvent.js';
